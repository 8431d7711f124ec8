"""doctor's checks against fake rustc/qemu programs on a controlled PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zigwheel.builder.jobs import plan_build
from zigwheel.builder.project import Project
from zigwheel.builder.settings import FlagValues, resolve_settings
from zigwheel.errors import ToolchainError
from zigwheel.host import Host
from zigwheel.toolchain.doctor import (
    MISSING,
    OK,
    WARNING,
    Check,
    DoctorReport,
    check_cache,
    check_qemu,
    check_rust_targets,
    check_zig,
    run_doctor,
)
from zigwheel.toolchain.rustenv import choose_rustc, rust_std_installed
from zigwheel.toolchain.targets import resolve_target

X86 = resolve_target("x86_64", "2_17")
ARM = resolve_target("aarch64", "2_17")
PROJECT = Path("/project")
HOST = Host.detect()


def fake_rustc(folder: Path, name: str, sysroot: Path, triples: list[str]) -> Path:
    for triple in triples:
        lib = sysroot / "lib" / "rustlib" / triple / "lib"
        lib.mkdir(parents=True)
        (lib / "libstd-0123abcd.rlib").write_bytes(b"!<arch>\n")
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --version) echo "{name} 1.90.0 (fake)";; '
        f'--print) echo "{sysroot}";; *) exit 1;; esac\n'
    )
    program.chmod(0o755)
    return program


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_rust_std_detection(tmp_path: Path) -> None:
    fake_rustc(tmp_path / "bin", "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    assert rust_std_installed(tmp_path / "sysroot", "x86_64-unknown-linux-gnu")
    assert not rust_std_installed(tmp_path / "sysroot", "aarch64-unknown-linux-gnu")


def _rustup(bin_dir: Path) -> None:
    (bin_dir / "rustup").write_text("#!/bin/sh\n")
    (bin_dir / "rustup").chmod(0o755)


def test_missing_target_with_rustup_says_rustup_target_add(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    _rustup(bin_dir)
    checks = by_name(check_rust_targets([X86, ARM], {"PATH": str(bin_dir)}, system=()))
    assert checks["rustc"].status == OK
    assert checks["x86_64-unknown-linux-gnu"].status == OK
    missing = checks["aarch64-unknown-linux-gnu"]
    assert missing.status == MISSING
    assert missing.fix == "rustup target add aarch64-unknown-linux-gnu"


def test_without_rustup_the_fix_is_still_a_command(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    checks = by_name(check_rust_targets([ARM], {"PATH": str(bin_dir)}, system=()))
    fix = checks["aarch64-unknown-linux-gnu"].fix
    assert "run: rustup target add aarch64-unknown-linux-gnu" in fix
    assert "https://rustup.rs" in fix


def test_doctor_names_the_rustc_build_will_use(tmp_path: Path) -> None:
    """The rustc on PATH lacks aarch64's std, a system one has it: ok, and RUSTC will be set."""
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    system = fake_rustc(
        tmp_path / "usr" / "bin", "rustc", tmp_path / "sysroot2", ["aarch64-unknown-linux-gnu"]
    )
    env = {"PATH": str(bin_dir)}
    checks = by_name(check_rust_targets([X86, ARM], env, system=[str(system)]))
    arm = checks["aarch64-unknown-linux-gnu"]
    assert arm.status == OK
    assert arm.detail == f"std from {system} (RUSTC will be set for that target)"
    # The very same decision is the one build makes.
    choice = choose_rustc("aarch64-unknown-linux-gnu", env, system=[str(system)])
    assert choice.override == str(system)
    assert choose_rustc("x86_64-unknown-linux-gnu", env, system=[str(system)]).override is None


def test_an_explicit_rustc_is_respected_even_without_the_std(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    path_rustc = fake_rustc(
        bin_dir,
        "rustc",
        tmp_path / "sysroot",
        ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"],
    )
    mine = fake_rustc(tmp_path / "my", "rustc-mine", tmp_path / "s2", ["x86_64-unknown-linux-gnu"])
    env = {"PATH": str(bin_dir), "RUSTC": str(mine)}
    checks = by_name(check_rust_targets([X86, ARM], env, system=()))
    assert checks["RUSTC"].status == OK
    assert str(mine) in checks["RUSTC"].detail
    assert checks["x86_64-unknown-linux-gnu"].status == OK
    arm = checks["aarch64-unknown-linux-gnu"]
    assert arm.status == MISSING
    assert arm.fix.startswith(f"unset RUSTC ({path_rustc} has the std)")
    choice = choose_rustc("aarch64-unknown-linux-gnu", env, system=())
    assert choice.rustc is None
    error = choice.error(env)
    assert str(error) == f"RUSTC={mine} has no standard library for aarch64-unknown-linux-gnu"


def test_no_rustc_at_all(tmp_path: Path) -> None:
    checks = check_rust_targets([X86], {"PATH": str(tmp_path)})
    assert [(c.name, c.status) for c in checks] == [("rustc", MISSING)]


def test_qemu_found_or_warned(tmp_path: Path) -> None:
    foreign = ARM if HOST.arch != "aarch64" else X86
    assert check_qemu([foreign], {"PATH": str(tmp_path)}, HOST)[0].status == WARNING
    program = tmp_path / f"qemu-{foreign.qemu}-static"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    (check,) = check_qemu([foreign, foreign], {"PATH": str(tmp_path)}, HOST)
    assert check.status == OK
    assert check.detail == str(program)


def test_zig_is_found_through_the_package_not_path() -> None:
    # An empty PATH does not hide the ziglang package: zig is found via the import system.
    check = check_zig({"PATH": ""})
    assert check.status == OK
    assert "zig 0.15.2" in check.detail


def test_cache_check(tmp_path: Path) -> None:
    assert check_cache({"ZIGWHEEL_CACHE_DIR": str(tmp_path / "c")}).status == OK
    blocker = tmp_path / "file"
    blocker.write_text("x")
    check = check_cache({"ZIGWHEEL_CACHE_DIR": str(blocker / "c")})
    assert check.status == MISSING
    assert "ZIGWHEEL_CACHE_DIR" in check.fix


def test_report_ok_and_json() -> None:
    report = DoctorReport([Check("a", OK, "fine"), Check("b", WARNING, "meh", "do x")])
    assert report.ok
    assert report.to_json()["checks"][1] == {  # type: ignore[index]
        "name": "b",
        "status": "warning",
        "detail": "meh",
        "fix": "do x",
    }
    assert not DoctorReport([Check("c", MISSING, "gone")]).ok


def test_full_run_on_this_machine(tmp_path: Path) -> None:
    report = run_doctor([X86], dict(os.environ, ZIGWHEEL_CACHE_DIR=str(tmp_path)), HOST)
    names = [check.name for check in report.checks]
    assert names[:5] == ["host", "zig", "cache", "maturin", "cargo"]
    assert by_name(report.checks)["zig"].status == OK


def test_doctor_refuses_an_unknown_policy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zigwheel", "doctor", "--manylinux", "garbage"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown policy 'garbage'" in result.stderr


def _plan(env: dict[str, str]) -> None:
    project = Project(
        PROJECT, PROJECT / "Cargo.toml", "demo", True, None, {}, frozenset(), abi3_minimum="3.9"
    )
    settings = resolve_settings(
        pyproject={}, env=env, flags=FlagValues(targets=["aarch64"]),
        project_dir=PROJECT, host_arch="x86_64",
    )  # fmt: skip
    plan_build(project, settings, env)


def test_build_plan_reports_cargo_first_and_respects_rustc(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["aarch64-unknown-linux-gnu"])
    mine = fake_rustc(tmp_path / "my", "rustc-mine", tmp_path / "s2", ["x86_64-unknown-linux-gnu"])
    env = {"PATH": str(bin_dir), "RUSTC": str(mine)}
    with pytest.raises(ToolchainError, match="cargo was not found"):
        _plan(env)
    (bin_dir / "cargo").write_text("#!/bin/sh\n")
    (bin_dir / "cargo").chmod(0o755)
    with pytest.raises(ToolchainError, match="has no standard library for aarch64") as caught:
        _plan(env)
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("unset RUSTC")
    del env["RUSTC"]
    _plan(env)  # the rustc on PATH has the std: no error
