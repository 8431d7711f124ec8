"""macOS and Windows hosts, constructed and passed in: plan, env, shims, doctor, test verdicts.

No platform module is patched: the CLI runs inside ``serving(host)`` (the host handed in),
the API takes ``host=``; everything else is this machine's real zig, rustc and files.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zigwheel import _proc
from zigwheel.cli import app
from zigwheel.cli._host import serving
from zigwheel.errors import ToolchainError, ZigwheelError
from zigwheel.host import Host, group_popen_options, stop_process_group
from zigwheel.platforms import Libc
from zigwheel.runtime import wheeltest

REPO = Path(__file__).resolve().parents[2]
DARWIN_ARM64 = Host("darwin", "arm64", package_manager="brew", rust_installer="system")
DARWIN_X86_64 = Host("darwin", "x86_64", package_manager="brew", rust_installer="rustup")
WINDOWS_AMD64 = Host("windows", "AMD64", package_manager="winget", rust_installer=None)
OTHER_HOSTS = [DARWIN_ARM64, DARWIN_X86_64, WINDOWS_AMD64]
IDS = ["darwin-arm64", "darwin-x86_64", "windows-amd64"]


@contextlib.contextmanager
def cache_dir(cache: Path | None) -> Iterator[None]:
    """ZIGWHEEL_CACHE_DIR set to ``cache`` for the block (left alone when None)."""
    if cache is None:
        yield
        return
    os.environ["ZIGWHEEL_CACHE_DIR"] = str(cache)
    try:
        yield
    finally:
        del os.environ["ZIGWHEEL_CACHE_DIR"]


def invoke(host: Host, args: list[str], cache: Path | None = None) -> tuple[int, str]:
    with cache_dir(cache), serving(host):
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.output


def refused(host: Host, args: list[str], cache: Path) -> ZigwheelError:
    """The error the CLI turns into its message, hint and exit code (cli.application.main)."""
    with cache_dir(cache), serving(host):
        result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ZigwheelError), result.output
    return result.exception


def test_the_host_model_spells_each_hosts_names() -> None:
    assert (DARWIN_ARM64.arch, DARWIN_X86_64.arch, WINDOWS_AMD64.arch) == (
        "aarch64",
        "x86_64",
        "x86_64",
    )
    assert all(host.libc is None for host in OTHER_HOSTS)
    assert not any(host.runs_linux_wheels for host in OTHER_HOSTS)
    venv = Path("venv")
    assert DARWIN_ARM64.venv_python(venv) == venv / "bin" / "python"
    assert WINDOWS_AMD64.venv_python(venv) == venv / "Scripts" / "python.exe"
    assert WINDOWS_AMD64.executable("rustc") == "rustc.exe"
    assert DARWIN_ARM64.executable("rustc") == "rustc"
    assert WINDOWS_AMD64.join_path(["a", "b"]) == "a;b"
    assert DARWIN_ARM64.join_path(["a", "b"]) == "a:b"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (Host("linux", "x86_64", rust_installer="rustup"), "rustup target add T"),
        (
            DARWIN_ARM64,
            "Homebrew's rust has no other targets; install rustup: brew install rustup && "
            "rustup-init (or https://rustup.rs), then rustup target add T",
        ),
        (
            WINDOWS_AMD64,
            "install rustup: winget install Rustlang.Rustup, or rustup-init.exe from "
            "https://rustup.rs, then run: rustup target add T",
        ),
        (
            Host("linux", "x86_64", package_manager="apt", rust_installer="system"),
            "apt-get install libstd-rust-dev:arm64 (or libstd-rust-web-dev:arm64 for rustc-web; "
            "the package matching /usr/bin/rustc), or install rustup (https://rustup.rs) and "
            "run: rustup target add T",
        ),
        (
            Host("linux", "x86_64", package_manager="dnf", rust_installer="system"),
            "install rustup: dnf install rustup && rustup-init (or https://rustup.rs), then "
            "run: rustup target add T",
        ),
        (
            Host("linux", "x86_64", package_manager="pacman", rust_installer="system"),
            "install rustup: pacman -S rustup (or https://rustup.rs), then run: "
            "rustup target add T",
        ),
    ],
)
def test_rust_std_hints_fit_the_hosts_own_tools(host: Host, expected: str) -> None:
    assert host.rust_std_hint("T", "/usr/bin/rustc", "arm64") == expected


def test_qemu_hints_fit_the_hosts_package_manager() -> None:
    hints = {
        manager: Host("linux", "x86_64", package_manager=manager).qemu_hint("aarch64")
        for manager in ("apt", "dnf", "apk", "pacman", None)
    }
    assert hints == {
        "apt": "install qemu-user-static: apt-get install qemu-user-static",
        "dnf": "install qemu-user-static: dnf install qemu-user-static",
        "apk": "install qemu-user-static: apk add qemu-aarch64",
        "pacman": "install qemu-user-static: pacman -S qemu-user-static",
        None: "install qemu-user (its static build) with the distribution's package manager",
    }
    assert DARWIN_ARM64.qemu_hint("x86_64").startswith("qemu-user exists on Linux only")


@pytest.mark.parametrize("host", OTHER_HOSTS, ids=IDS)
def test_doctor_says_what_does_not_apply(host: Host) -> None:
    _code, output = invoke(host, ["doctor", "-t", "x86_64,aarch64,armv7l", "--json"])
    checks = {check["name"]: check for check in json.loads(output)["checks"]}
    assert not [name for name in checks if name.startswith("qemu")]  # no qemu-user there
    runtime = checks["wheel tests"]
    assert runtime["status"] == "info"
    assert "does not apply on this host" in runtime["detail"]
    assert "a Linux machine, or CI" in runtime["fix"]
    host_check = checks["host"]
    if host.os == "darwin":
        assert host_check["status"] == "ok"
        assert host_check["detail"] == (
            f"macOS {host.arch} (macOS: supported, proven by the workflow .github/workflows/ci.yml)"
        )
    else:
        assert host_check["status"] == "ok"
        assert host_check["detail"] == (
            "Windows x86_64 (Windows, native shims: supported, proven by the workflow "
            ".github/workflows/ci.yml)"
        )
    # No rustc of this machine has armv7's std: the fix is this host's way to get it.
    armv7 = checks["armv7-unknown-linux-gnueabihf"]
    assert armv7["status"] == "missing"
    assert armv7["fix"] == host.rust_std_hint(
        "armv7-unknown-linux-gnueabihf", _cargo_rustc(), "armhf"
    )
    if host is DARWIN_X86_64:
        assert armv7["fix"] == "rustup target add armv7-unknown-linux-gnueabihf"


def _cargo_rustc() -> str:
    from zigwheel.toolchain.rustenv import default_rustc  # noqa: PLC0415

    rustc, _explicit = default_rustc(os.environ)
    assert rustc is not None
    return rustc


def test_doctor_text_names_the_host_and_the_checks_that_do_not_apply() -> None:
    code, output = invoke(DARWIN_ARM64, ["doctor", "-t", "x86_64"])
    assert code == 0, output
    assert "host: macOS aarch64 (macOS: supported, proven by the workflow" in output
    assert "info     wheel tests: wheel tests, qemu-user and Debian roots: does not apply" in output
    assert "tested on Linux and macOS" not in output


def _wheel(folder: Path, platform: str) -> Path:
    wheel = folder / f"w-1.0-cp39-abi3-{platform}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w.abi3.so", b"\x7fELF")
    return wheel


@pytest.mark.parametrize("host", OTHER_HOSTS, ids=IDS)
def test_wheels_are_not_tested_on_a_host_that_cannot_run_them(host: Host, tmp_path: Path) -> None:
    wheels = [
        _wheel(tmp_path, "manylinux_2_17_x86_64"),
        _wheel(tmp_path, "manylinux_2_17_aarch64"),
        _wheel(tmp_path, "musllinux_1_2_x86_64"),
    ]
    code, output = invoke(host, ["test", *map(str, wheels), "--json"])
    assert code == 0, output
    document = json.loads(output)
    assert [result["status"] for result in document["results"]] == ["not-tested"] * 3
    for result in document["results"]:
        assert result["reason"].startswith(f"not tested on this host ({host.describe()})")
        assert "a Linux machine, or CI" in result["reason"]
    strict, _ = invoke(host, ["test", str(wheels[0]), "--strict"])
    assert strict == 1  # not tested is no pass when the run must prove the wheels


@pytest.mark.parametrize("host", OTHER_HOSTS, ids=IDS)
def test_build_plan_defaults_to_the_hosts_architecture(host: Host) -> None:
    code, output = invoke(host, ["build", str(REPO / "examples" / "hello-abi3"),
                                 "--print-plan", "--json"])  # fmt: skip
    assert code == 0, output
    plan = json.loads(output)["plan"]
    assert plan["sources"]["targets"] == "default"
    (job,) = plan["jobs"]
    assert (job["platform_tag"], job["rust_triple"]) == (
        f"manylinux_2_17_{host.arch}",
        f"{host.arch}-unknown-linux-gnu",
    )


def test_shims_on_macos_are_sh_scripts_and_the_env_names_them(tmp_path: Path) -> None:
    code, output = invoke(DARWIN_ARM64, ["shims", "-t", "x86_64", "--json"], tmp_path / "cache")
    assert code == 0, output
    document = json.loads(output)
    assert document["form"] == "sh"
    assert set(document["env"]) >= {"CC_x86_64_unknown_linux_gnu", "CXX_x86_64_unknown_linux_gnu"}
    for role in ("cc", "c++", "linker", "ar", "ranlib"):
        path = Path(document["paths"][role])
        assert path.read_text().startswith("#!/bin/sh\n")
        assert os.access(path, os.X_OK)
        assert " " not in str(path)


@pytest.mark.slow  # a cold zig cache builds mingw first: a minute or two
def test_shims_on_windows_are_native_programs(tmp_path: Path) -> None:
    """cc.exe and friends: the native program zig built for Windows (a PE file), each with its
    rules file. Nothing here runs them; the workflow's windows-latest job does."""
    code, output = invoke(WINDOWS_AMD64, ["shims", "-t", "x86_64", "--json"], tmp_path / "cache")
    assert code == 0, output
    document = json.loads(output)
    assert document["form"] == "native"
    for role in ("cc", "c++", "linker", "ar", "ranlib"):
        path = Path(document["paths"][role])
        assert path.name == f"{role}.exe"
        data = path.read_bytes()
        assert data[:2] == b"MZ"
        pe = int.from_bytes(data[0x3C:0x40], "little")
        assert data[pe : pe + 6] == b"PE\0\0\x64\x86"  # IMAGE_FILE_MACHINE_AMD64
        rules = path.with_name(f"{role}.shim").read_text()
        assert rules.startswith("zigwheel-shim 1\n")
    assert document["env"]["CC_x86_64_unknown_linux_gnu"].endswith("cc.exe")
    cmake = Path(document["paths"]["cmake-toolchain"]).read_text()
    assert '"${CMAKE_CURRENT_LIST_DIR}/c++.exe"' in cmake
    code, output = invoke(WINDOWS_AMD64, ["shims", "-t", "x86_64", "--env"], tmp_path / "cache")
    assert code == 0, output
    cc = document["env"]["CC_x86_64_unknown_linux_gnu"]
    assert f"$env:CC_x86_64_unknown_linux_gnu = '{cc}'" in output.splitlines()
    assert "export " not in output


def test_env_lines_fit_the_hosts_shell() -> None:
    """PowerShell on Windows, POSIX sh elsewhere; a quote in a value stays one value in both."""
    assert WINDOWS_AMD64.env_assignment("CC", "C:\\it's\\cc.exe") == "$env:CC = 'C:\\it''s\\cc.exe'"
    assert DARWIN_ARM64.env_assignment("CC", "/a b/it's") == "export CC='/a b/it'\"'\"'s'"


def test_sh_shims_on_windows_are_refused_with_a_way_out(tmp_path: Path) -> None:
    os.environ["ZIGWHEEL_SHIM_FORM"] = "sh"
    try:
        error = refused(WINDOWS_AMD64, ["shims", "-t", "x86_64"], tmp_path / "cache")
    finally:
        del os.environ["ZIGWHEEL_SHIM_FORM"]
    assert error.exit_code == 2
    assert "sh shims do not run on Windows" in str(error)
    assert "unset ZIGWHEEL_SHIM_FORM" in (error.hint or "")
    assert not (tmp_path / "cache" / "shims").exists()


def test_a_cache_path_with_a_space_is_said_not_used(tmp_path: Path) -> None:
    error = refused(DARWIN_ARM64, ["shims", "-t", "x86_64"], tmp_path / "my cache")
    assert error.exit_code == 4
    assert "has a space in it" in str(error)
    assert "ZIGWHEEL_CACHE_DIR" in (error.hint or "")
    assert not (tmp_path / "my cache" / "shims").exists()


def test_a_python_without_a_glibc_answer_is_not_read_as_musl(tmp_path: Path) -> None:
    """The probe of a Python whose os.confstr says nothing (as on macOS): libc unknown, so a
    musllinux wheel is not tested, never judged by musl's tags."""
    from zigwheel.runtime import roots  # noqa: PLC0415

    script = "import os\ndel os.confstr\n" + roots.probe_script()
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    facts = wheeltest.parse_probe(output, "x86_64")
    assert facts.libc == ""  # this machine's loader is glibc's, not musl's
    assert wheeltest.linux_platforms("x86_64", "") == ["linux_x86_64"]
    assert "musllinux_1_2_x86_64" in wheeltest.linux_platforms("x86_64", "musl")
    musl_wheel = wheeltest.read_wheel(_wheel(tmp_path, "musllinux_1_2_x86_64"))
    reason = wheeltest.incompatibility(musl_wheel, facts)
    assert reason is not None
    assert "libc unknown" in reason
    assert wheeltest.incompatibility(musl_wheel, replace(facts, libc="musl")) is None


def test_a_program_of_another_architecture_is_a_clear_error(tmp_path: Path) -> None:
    program = tmp_path / "foreign"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x99\x99" + b"\0" * 48)
    program.chmod(0o755)
    with pytest.raises(ToolchainError) as info:
        _proc.run([program])
    assert "cannot run on this machine: Exec format error" in str(info.value)
    assert "another architecture or operating system" in (info.value.hint or "")
    assert info.value.__cause__ is not None
    assert getattr(info.value.__cause__, "errno", None) == errno.ENOEXEC
    program.chmod(0o644)
    with pytest.raises(ToolchainError, match="Permission denied") as denied:
        _proc.run([program], own_group=True)
    assert "chmod +x" in (denied.value.hint or "")


def test_a_process_group_is_stopped_with_its_children() -> None:
    """The POSIX form of the group stop, for real: a shell and its sleeping child both end."""
    process = subprocess.Popen(
        ["sh", "-c", "sleep 300 & echo $!; wait"],
        stdout=subprocess.PIPE,
        text=True,
        **group_popen_options(),
    )
    assert process.stdout is not None
    child = int(process.stdout.readline())
    stop_process_group(process, grace=5)
    assert process.returncode is not None
    process.stdout.close()
    # Killed, the orphaned child may linger as a zombie until its new parent reaps it.
    stat = Path(f"/proc/{child}/stat")
    deadline = time.monotonic() + 10
    while stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child of the stopped group still runs"
        time.sleep(0.05)
    assert group_popen_options("windows") == {"creationflags": 0x200}
    assert group_popen_options("linux") == {"start_new_session": True}


def test_a_linux_host_still_reads_as_before() -> None:
    host = Host("linux", "x86_64", libc=Libc.GLIBC, libc_version=(2, 36), package_manager="apt")
    assert host.runs_linux_wheels
    assert host.venv_python(Path("v")) == Path("v") / "bin" / "python"
