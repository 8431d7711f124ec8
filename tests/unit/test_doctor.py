"""doctor's checks against fake rustc/qemu programs on a controlled PATH."""

from __future__ import annotations

import os
from pathlib import Path

from zigwheel.doctor import (
    MISSING,
    OK,
    WARNING,
    Check,
    DoctorReport,
    check_cache,
    check_qemu,
    check_rust_targets,
    check_zig,
    host_arch,
    run_doctor,
)
from zigwheel.rustenv import rust_std_installed
from zigwheel.targets import resolve_target

X86 = resolve_target("x86_64", "2_17")
ARM = resolve_target("aarch64", "2_17")


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


def test_missing_target_with_rustup_says_rustup_target_add(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    (bin_dir / "rustup").write_text("#!/bin/sh\n")
    (bin_dir / "rustup").chmod(0o755)
    checks = by_name(check_rust_targets([X86, ARM], {"PATH": str(bin_dir)}))
    assert checks["rustc"].status == OK
    assert checks["rustc std x86_64-unknown-linux-gnu"].status == OK
    missing = checks["rustc std aarch64-unknown-linux-gnu"]
    assert missing.status == MISSING
    assert missing.fix == "rustup target add aarch64-unknown-linux-gnu"


def test_rustc_from_env_decides(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_rustc(bin_dir, "rustc", tmp_path / "sysroot", ["x86_64-unknown-linux-gnu"])
    other = fake_rustc(
        tmp_path / "other",
        "rustc-web",
        tmp_path / "sysroot2",
        ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"],
    )
    env = {"PATH": str(bin_dir), "RUSTC": str(other)}
    checks = by_name(check_rust_targets([X86, ARM], env))
    assert checks["rustc std aarch64-unknown-linux-gnu"].status == WARNING
    assert checks["RUSTC std aarch64-unknown-linux-gnu"].status == OK
    assert "(used by cargo)" in checks["RUSTC"].detail


def test_no_rustc_at_all(tmp_path: Path) -> None:
    checks = check_rust_targets([X86], {"PATH": str(tmp_path)})
    assert [(c.name, c.status) for c in checks] == [("rustc", MISSING)]


def test_qemu_found_or_warned(tmp_path: Path) -> None:
    foreign = ARM if host_arch() != "aarch64" else X86
    assert check_qemu([foreign], {"PATH": str(tmp_path)})[0].status == WARNING
    program = tmp_path / f"qemu-{foreign.qemu}-static"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    (check,) = check_qemu([foreign, foreign], {"PATH": str(tmp_path)})
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
    report = run_doctor([X86], dict(os.environ, ZIGWHEEL_CACHE_DIR=str(tmp_path)))
    names = [check.name for check in report.checks]
    assert names[:5] == ["host", "zig", "cache", "maturin", "cargo"]
    assert by_name(report.checks)["zig"].status == OK
