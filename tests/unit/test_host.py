"""The host model: other hosts built by hand, and detection from a fake PATH."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from zigwheel.host import Host, detect_package_manager, detect_rust_installer
from zigwheel.platforms import Libc
from zigwheel.runtime import wheeltest
from zigwheel.toolchain.doctor import OK, WARNING, check_host, check_qemu
from zigwheel.toolchain.targets import resolve_target


def _programs(folder: Path, *names: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        program = folder / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return str(folder)


def test_a_darwin_arm64_host() -> None:
    host = Host("darwin", "arm64", package_manager="brew", rust_installer="rustup")
    assert host.arch == "aarch64"
    assert host.arch_row is not None
    assert host.arch_row.qemu == "aarch64"
    assert host.libc is None
    assert host.exe_suffix == ""
    assert host.path_separator == ":"
    assert host.describe() == "macOS aarch64"


def test_a_windows_amd64_host() -> None:
    host = Host("Windows", "AMD64", package_manager="winget")
    assert (host.os, host.arch) == ("windows", "x86_64")
    assert host.libc is None
    assert host.exe_suffix == ".exe"
    assert host.path_separator == ";"
    assert host.describe() == "Windows x86_64"


def test_a_linux_aarch64_host() -> None:
    host = Host("linux", "aarch64", libc=Libc.GLIBC, libc_version=(2, 36), package_manager="apt")
    assert host.arch == "aarch64"
    assert host.libc is Libc.GLIBC
    assert host.libc_text == "glibc 2.36"
    assert host.exe_suffix == ""
    assert host.describe() == "Linux aarch64, glibc 2.36"
    musl = Host("linux", "x86_64", libc=Libc.MUSL)
    assert musl.describe() == "Linux x86_64, musl"
    assert Host("linux", "mips64").arch_row is None


def test_hosts_compare_by_value() -> None:
    assert Host("darwin", "arm64") == Host("darwin", "aarch64")
    with pytest.raises(AttributeError):
        Host("darwin", "arm64").arch = "x86_64"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("system", "programs", "expected"),
    [
        ("linux", ["apt-get"], "apt"),
        ("linux", ["dnf"], "dnf"),
        ("linux", ["apk"], "apk"),
        ("linux", ["pacman"], "pacman"),
        ("linux", ["apk", "apt-get"], "apt"),  # preferred first
        ("linux", [], None),
        ("darwin", ["brew", "apt-get"], "brew"),
        ("darwin", ["apt-get"], None),
        ("windows", ["winget"], "winget"),
    ],
)
def test_package_manager_from_a_fake_path(
    tmp_path: Path, system: str, programs: list[str], expected: str | None
) -> None:
    assert detect_package_manager(system, _programs(tmp_path / "bin", *programs)) == expected


def test_rust_installer_from_a_fake_path(tmp_path: Path) -> None:
    assert detect_rust_installer(_programs(tmp_path / "none")) is None
    assert detect_rust_installer(_programs(tmp_path / "system", "rustc")) == "system"
    assert detect_rust_installer(_programs(tmp_path / "rustup", "rustc", "rustup")) == "rustup"


def test_detect_reads_this_machine_and_the_given_path(tmp_path: Path) -> None:
    path = _programs(tmp_path / "bin", "apt-get", "rustc", "brew")
    host = Host.detect({"PATH": path})
    assert host.rust_installer == "system"
    if sys.platform.startswith("linux"):
        assert host.os == "linux"
        assert host.package_manager == "apt"
        if host.libc is Libc.GLIBC:
            assert host.libc_version is not None
            assert host.libc_version[0] == 2
    elif sys.platform == "darwin":
        assert (host.os, host.package_manager, host.libc) == ("darwin", "brew", None)
    assert Host.detect({"PATH": str(tmp_path / "empty")}).package_manager is None


def test_doctor_asks_the_host_it_is_given(tmp_path: Path) -> None:
    assert check_host(Host("freebsd", "amd64")).status == WARNING
    check = check_host(Host("darwin", "arm64"))
    assert check.status == OK
    assert check.detail.startswith("macOS aarch64 (macOS: supported, proven by the workflow")
    arm, x86 = resolve_target("aarch64", "2_17"), resolve_target("x86_64", "2_17")
    on_arm = Host("linux", "arm64", libc=Libc.GLIBC)
    empty = {"PATH": str(tmp_path)}
    assert check_qemu([arm], empty, on_arm) == []  # the host's own arch needs no qemu
    (check,) = check_qemu([arm, x86], empty, on_arm)
    assert (check.name, check.status) == ("qemu x86_64", WARNING)
    assert "qemu-x86_64-static" in check.detail


def test_wheel_test_asks_the_host_it_is_given(tmp_path: Path) -> None:
    """An x86_64 wheel on an aarch64 host is a foreign wheel: no root, so it is not tested."""
    wheel = tmp_path / "w-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w.abi3.so", b"\x7fELF")
    host = Host("linux", "aarch64", libc=Libc.GLIBC)
    result = wheeltest.run_wheel_test(wheel, env={}, roots_dir=tmp_path / "none", host=host)
    assert result.status == wheeltest.NOT_TESTED
    assert result.reason.startswith("x86_64: not tested, no --root given")
    assert "--arch amd64`" in result.reason


def test_the_api_passes_its_host_to_every_wheel_test(tmp_path: Path) -> None:
    from zigwheel.api import run_tests  # noqa: PLC0415

    wheel = tmp_path / "w-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w.abi3.so", b"\x7fELF")
    env = {"ZIGWHEEL_CACHE_DIR": str(tmp_path / "cache"), "PATH": str(tmp_path / "empty")}
    run = run_tests([wheel], env=env, cwd=tmp_path, host=Host("linux", "riscv64"))
    (result,) = run.results
    assert result.status == wheeltest.NOT_TESTED
    assert result.reason.startswith("x86_64: not tested, no --root given")
