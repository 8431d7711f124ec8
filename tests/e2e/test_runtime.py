"""Runtime proofs of the examples: aarch64 under qemu-user, glibc 2.31 in a Debian 11 root."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from zigwheel.runtime import wheeltest

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"

pytestmark = [pytest.mark.slow, pytest.mark.network]

EXAMPLE_MODULES = {"hello-abi3": "hello_abi3", "cmix": "cmix", "versioned": "versioned"}
ABI3_EXAMPLES = ["hello-abi3", "cmix"]


def _example(example_wheel: Callable[..., Path], name: str, arch: str, **kw: bool) -> Path:
    """The fixture's wheel of examples/<name> (skipped while the example is not in the checkout)."""
    if not (EXAMPLES / name / "Cargo.toml").is_file():
        pytest.skip(f"examples/{name} is not in this checkout")
    return example_wheel(name, arch, **kw)


def _imports(result: wheeltest.WheelTestResult) -> list[str]:
    return [m.module for m in result.modules if m.ok]


@pytest.mark.parametrize("name", sorted(EXAMPLE_MODULES))
def test_aarch64_wheel_imports_under_qemu_in_debian_arm64(
    name: str, example_wheel: Callable[..., Path], bookworm_arm64: Path
) -> None:
    wheel = _example(example_wheel, name, "aarch64")
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=bookworm_arm64)
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.kind == "qemu"
    assert result.python == "CPython 3.11, glibc 2.36, aarch64"
    assert any(m.split(".")[0] == EXAMPLE_MODULES[name] for m in _imports(result))


@pytest.mark.parametrize("name", ABI3_EXAMPLES)
def test_manylinux_2_17_x86_64_abi3_wheel_imports_in_debian_11(
    name: str, example_wheel: Callable[..., Path], bullseye_amd64: Path
) -> None:
    wheel = _example(example_wheel, name, "x86_64")
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=bullseye_amd64)
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.kind == "loader"
    assert result.python == "CPython 3.9, glibc 2.31, x86_64"
    assert any(m.split(".")[0] == EXAMPLE_MODULES[name] for m in _imports(result))


def test_cp311_wheel_is_refused_by_the_python_3_9_root(
    example_wheel: Callable[..., Path], bullseye_amd64: Path, tmp_path: Path
) -> None:
    wheel = _example(example_wheel, "versioned", "x86_64")
    assert "-cp311-cp311-" in wheel.name
    # The root alone in a folder: no root with a built CPython 3.11 beside it.
    alone = tmp_path / bullseye_amd64.name
    alone.symlink_to(bullseye_amd64)
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=alone)
    assert result.status == wheeltest.NOT_TESTED
    assert "cp311-cp311 does not load in CPython 3.9, glibc 2.31, x86_64" in result.reason
    assert result.reason.endswith(
        "a CPython 3.11 root would serve: build it with "
        "`zigwheel root python 3.11 --release bullseye --arch amd64`"
    )


def test_cp311_wheel_passes_its_own_tests_on_glibc_2_31_with_the_built_cpython(
    example_wheel: Callable[..., Path], bullseye_cpython311: Path
) -> None:
    """`--root debian:bullseye` for a cp311 wheel: the bullseye root with zig's CPython 3.11.

    The built Python has no ssl module: pytest comes from the host's pip, for its tags."""
    wheel = _example(example_wheel, "versioned", "x86_64")
    cache = bullseye_cpython311.parent.parent
    result = _zigwheel_test(wheel, "versioned", cache, "--root", "debian:bullseye")
    assert result["status"] == "passed", result
    assert result["python"] == "CPython 3.11, glibc 2.31, x86_64"
    assert result["libc"] == "glibc 2.31"
    assert str(bullseye_cpython311) in str(result["environment"])
    assert re.search(rf"\b{EXAMPLE_TESTS['versioned']} passed\b", str(result["output"]))


def test_native_host_build_fails_in_debian_11_with_the_loaders_glibc_message(
    example_wheel: Callable[..., Path], bullseye_amd64: Path
) -> None:
    wheel = _example(example_wheel, "cmix", "x86_64", native=True)
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=bullseye_amd64)
    assert result.status == wheeltest.FAILED, result.to_json()
    assert re.search(r"version `GLIBC_2\.(29|3\d)' not found", result.reason), result.reason
    assert "(the environment has glibc 2.31)" in result.reason


def test_cli_json_report_for_both_architectures(
    example_wheel: Callable[..., Path], bookworm_arm64: Path
) -> None:
    wheels = [
        _example(example_wheel, "hello-abi3", "aarch64"),
        _example(example_wheel, "hello-abi3", "x86_64"),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", "--json", *map(str, wheels)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ZIGWHEEL_CACHE_DIR": str(bookworm_arm64.parent.parent)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    kinds = {Path(r["path"]).name: (r["status"], r["kind"]) for r in report["results"]}
    assert kinds == {wheels[0].name: ("passed", "qemu"), wheels[1].name: ("passed", "host")}


# Each example's own tests, as its pytest reports them (cmix parametrizes one test four ways).
EXAMPLE_TESTS = {"hello-abi3": 4, "cmix": 6, "versioned": 2}


def _zigwheel_test(wheel: Path, name: str, cache: Path, *extra: str) -> dict[str, object]:
    """`zigwheel test --project examples/NAME WHEEL`: the example's pyproject names the
    test-command and test-requires; nothing is installed by hand."""
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", "--json", "--project", str(EXAMPLES / name),
         *extra, str(wheel)],
        capture_output=True, text=True, check=False, timeout=1800,
        env={**os.environ, "ZIGWHEEL_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("name", "arch", "where"),
    [
        *((name, "x86_64", "host") for name in sorted(EXAMPLE_TESTS)),
        *((name, "aarch64", "qemu") for name in sorted(EXAMPLE_TESTS)),
        *((name, "x86_64", "bullseye") for name in ABI3_EXAMPLES),  # cp39-abi3: Python 3.9 has it
    ],
)
def test_zigwheel_test_runs_each_examples_own_tests(
    name: str, arch: str, where: str, *, example_wheel: Callable[..., Path],
    bookworm_arm64: Path, bullseye_amd64: Path,
) -> None:  # fmt: skip
    wheel = _example(example_wheel, name, arch)
    cache = bookworm_arm64.parent.parent  # the cache holding the provisioned roots
    extra = ("--root", str(bullseye_amd64)) if where == "bullseye" else ()
    result = _zigwheel_test(wheel, name, cache, *extra)
    assert result["status"] == "passed", result
    assert result["kind"] == {"host": "host", "qemu": "qemu", "bullseye": "loader"}[where]
    assert re.search(rf"\b{EXAMPLE_TESTS[name]} passed\b", str(result["output"])), result["output"]


def _python_root(version: str, arch: str, libc: str) -> Path:
    """A root with zig's CPython (provisioned by .ci/provision.d/roots.sh; built when missing)."""
    from zigwheel.platforms import Libc  # noqa: PLC0415
    from zigwheel.runtime import python_root  # noqa: PLC0415

    built = python_root.ensure_python_root(version, arch=arch, libc=Libc(libc), env=os.environ)
    return built.path


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_musllinux_wheel_passes_its_own_tests_in_the_musl_root(arch: str, tmp_path: Path) -> None:
    """hello-abi3 at musllinux_1_2: checked, then its own tests in Debian's musl 1.2.3 with zig's
    CPython 3.11 (x86_64 through musl's loader, aarch64 under qemu-user), picked by its tags."""
    import zigwheel  # noqa: PLC0415
    from zigwheel.compliance.analysis import check_wheel  # noqa: PLC0415

    root = _python_root("3.11", arch, "musl")
    result = zigwheel.build(EXAMPLES / "hello-abi3", targets=[arch], musllinux="1_2",
                            out_dir=tmp_path, env=dict(os.environ))  # fmt: skip
    (wheel,) = result.wheels
    report = check_wheel(wheel.path)
    assert report.compliant, report.problems
    assert report.policy == f"musllinux_1_2_{arch}"
    # No --root: the host's glibc Python cannot load it, so the cached musl root is picked.
    tested = _zigwheel_test(wheel.path, "hello-abi3", root.parent.parent)
    assert tested["status"] == "passed", tested
    assert tested["libc"] == "musl"
    assert tested["python"] == f"CPython 3.11, musl, {arch}"
    assert str(root) in str(tested["environment"])
    assert re.search(rf"\b{EXAMPLE_TESTS['hello-abi3']} passed\b", str(tested["output"]))
