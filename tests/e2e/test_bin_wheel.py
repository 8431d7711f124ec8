"""A `bindings = "bin"` wheel (examples/hello-bin): built for two arches, its program run by
`zigwheel test` on the host, under qemu-user and in a glibc 2.31 root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from zigwheel.runtime import wheeltest

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "hello-bin"
PROGRAM = "hello_bin-0.1.0.data/scripts/hello-bin"


def _zigwheel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args], capture_output=True, text=True, check=False,
        cwd=cwd, timeout=900,
    )  # fmt: skip


def test_the_plan_of_a_bin_crate_has_no_interpreter(tmp_path: Path) -> None:
    """Its wheels are py3-none: no interpreter is chosen, passed to maturin or shown."""
    args = ("build", str(EXAMPLE), "-t", "x86_64,aarch64", "--print-plan", "-o", str(tmp_path))
    document = json.loads(_zigwheel(*args, "--json", cwd=tmp_path).stdout)["plan"]
    assert document["bindings"] == "bin"
    assert [job["interpreters"] for job in document["jobs"]] == [[], []]
    human = _zigwheel(*args, cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert f"project: {EXAMPLE} (bindings: bin)" in human.stdout
    header = next(line for line in human.stdout.splitlines() if line.startswith("target "))
    assert header.split() == ["target", "policy", "rust", "triple", "zig", "triple", "rustc"]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_bin_example_builds_a_py3_none_wheel_holding_its_program(
    arch: str, example_wheel: Callable[..., Path]
) -> None:
    wheel = example_wheel("hello-bin", arch)
    assert wheel.name == (
        f"hello_bin-0.1.0-py3-none-manylinux2014_{arch}.manylinux_2_17_{arch}.whl"
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        mode = archive.getinfo(PROGRAM).external_attr >> 16
    assert PROGRAM in names
    assert mode & 0o111, oct(mode)  # executable once unpacked
    assert not [name for name in names if name.endswith(".so")]
    assert wheeltest.read_wheel(wheel).programs == ("hello-bin",)


def _host_glibc() -> str:
    return os.confstr("CS_GNU_LIBC_VERSION") or "unknown"


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    ("arch", "where", "kind", "libc"),
    [
        ("x86_64", "host", "host", None),
        ("aarch64", "bookworm_arm64", "qemu", "glibc 2.36"),
        ("x86_64", "bullseye_amd64", "loader", "glibc 2.31"),
    ],
)
def test_zigwheel_test_runs_the_program_of_a_bin_wheel_with_version(
    arch: str, where: str, kind: str, libc: str | None, *, example_wheel: Callable[..., Path],
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:  # fmt: skip
    """No test command: the program runs with --version, on the root's own glibc."""
    wheel = example_wheel("hello-bin", arch)
    root = [] if where == "host" else ["--root", str(request.getfixturevalue(where))]
    done = _zigwheel("test", "--json", *root, str(wheel), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["status"] == "passed", result
    assert result["kind"] == kind
    assert result["command"] == "hello-bin --version"
    running = f"hello-bin 0.1.0 (running on {libc or _host_glibc()})"
    assert running in result["output"], result["output"]
    assert "each program of the wheel ran with --version" in result["reason"]
    human = _zigwheel("test", *root, "--command", "hello-bin world", str(wheel), cwd=tmp_path)
    assert human.returncode == 0, human.stdout + human.stderr
    assert "command hello-bin world: ok" in human.stdout
    assert "hello, world" in human.stdout


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    ("arch", "root", "libc"),
    [("aarch64", "bookworm_arm64", "glibc 2.36"), ("x86_64", "bullseye_amd64", "glibc 2.31")],
)
def test_an_unsealed_root_runs_the_program_through_its_loader_or_qemu(
    arch: str, root: str, libc: str, *, example_wheel: Callable[..., Path],
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:  # fmt: skip
    """Without unshare the root is not sealed: the program is still started by the root's
    loader (with the root's libraries) or by qemu-user with the root as its prefix."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "qemu-aarch64-static", "qemu-aarch64"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    result = wheeltest.run_wheel_test(
        example_wheel("hello-bin", arch), env={**os.environ, "PATH": str(bin_dir)},
        root=request.getfixturevalue(root), command="hello-bin --version",
    )  # fmt: skip
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.sealed.startswith("not sealed"), result.sealed
    assert f"hello-bin 0.1.0 (running on {libc})" in result.output


@pytest.mark.slow
@pytest.mark.network
def test_a_natively_built_program_fails_on_glibc_2_31_naming_the_missing_version(
    example_wheel: Callable[..., Path], bullseye_amd64: Path
) -> None:
    wheel = example_wheel("hello-bin", "x86_64", native=True)
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=bullseye_amd64)
    assert result.status == wheeltest.FAILED, result.to_json()
    assert result.reason.startswith("hello-bin --version exited with code 1 (no test command"), (
        result.reason
    )
    assert "not found (the environment has glibc 2.31)" in result.reason
