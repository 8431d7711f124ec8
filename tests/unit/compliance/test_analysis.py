"""check_wheel on wheels without native code, unreadable inputs, JSON shape and exit codes."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from zigwheel.builder.jobs import compliance_explanations
from zigwheel.cli.check_cmd import exit_code, render
from zigwheel.compliance.analysis import (
    ElfReport,
    OffendingSymbol,
    WheelReport,
    check_paths,
    check_wheel,
    reports_to_json,
)
from zigwheel.compliance.archive import Limits
from zigwheel.compliance.findings import Finding, FindingKind, SymbolsDetail


def _wheel(folder: Path, name: str, members: dict[str, bytes]) -> Path:
    dist = name.split("-", 1)[0]
    members = dict(members)
    record = "".join(f"{m},,\n" for m in members) + f"{dist}-1.0.dist-info/RECORD,,\n"
    members[f"{dist}-1.0.dist-info/RECORD"] = record.encode()
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def test_pure_wheel_is_compliant(tmp_path: Path) -> None:
    report = check_wheel(_wheel(tmp_path, "pure-1.0-py3-none-any.whl", {"pure/__init__.py": b""}))
    assert report.readable
    assert report.compliant
    assert report.policy == "any"
    assert report.claimed == ["any"]


def test_platform_tag_without_native_code_is_flagged(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "p-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", {"p/__init__.py": b""})
    report = check_wheel(wheel)
    assert not report.compliant
    assert report.readable
    assert "no ELF file" in report.problems[0]


def test_unsafe_member_names_are_problems(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "u-1.0-py3-none-any.whl", {"../../evil.py": b"", "u/x.py": b""})
    report = check_wheel(wheel)
    assert not report.compliant
    assert any("unsafe" in p for p in report.problems)


def test_unreadable_inputs_give_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"PK\x03\x04 this is not a zip")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    missing = tmp_path / "gone-1.0-py3-none-any.whl"
    reports = check_paths([junk, other, missing])
    assert [r.readable for r in reports] == [False, False, False]
    for report in reports:
        assert not report.compliant
        assert len(report.problems) == 1
        assert "\n" not in report.problems[0]
    assert exit_code(reports) == 6


def test_folders_expand_and_json_shape(tmp_path: Path) -> None:
    _wheel(tmp_path, "b-1.0-py3-none-any.whl", {"b/__init__.py": b""})
    _wheel(tmp_path, "a-1.0-py3-none-any.whl", {"a/__init__.py": b""})
    reports = check_paths([tmp_path])
    assert [r.wheel for r in reports] == ["a-1.0-py3-none-any.whl", "b-1.0-py3-none-any.whl"]
    document = reports_to_json(reports)
    assert document["version"] == 1
    assert set(document["wheels"][0]) == {
        "wheel",
        "path",
        "claimed",
        "policy",
        "compliant",
        "problems",
        "elves",
    }
    assert exit_code(reports) == 0


def test_exit_code_precedence() -> None:
    def report(*, readable: bool, compliant: bool) -> WheelReport:
        return WheelReport("w.whl", "w.whl", [], "any", compliant, [], [], readable=readable)

    assert exit_code([report(readable=True, compliant=True)]) == 0
    assert exit_code([report(readable=True, compliant=False)]) == 1
    both = [report(readable=True, compliant=False), report(readable=False, compliant=False)]
    assert exit_code(both) == 6
    assert exit_code([]) == 0


def test_missing_folder_says_so(tmp_path: Path) -> None:
    (report,) = check_paths([tmp_path / "dist"])
    assert not report.readable
    assert report.problems == [f"{tmp_path / 'dist'}: no such file or folder"]
    assert report.policy == "unknown"


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
def test_unreadable_member_gives_no_verdict_but_other_members_are_read(tmp_path: Path) -> None:
    """A zip bomb member is one problem; no 'tag it none-any' verdict on half a wheel."""
    real = Path(sys.executable).resolve().read_bytes()
    wheel = _wheel(
        tmp_path,
        "p-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        {"p/bomb.so": b"\x7fELF" + bytes(8 << 20), "p/ok.so": real},
    )
    report = check_wheel(wheel, limits=Limits(max_member_bytes=4 << 20))
    assert not report.readable
    assert not report.compliant
    assert report.policy == "unknown"
    (problem,) = report.problems
    assert problem.startswith("p/bomb.so: ")
    assert "zip bomb" in problem
    assert [e.path for e in report.elves] == ["p/ok.so"]
    assert report.elves[0].needed
    assert exit_code([report]) == 6


def test_readable_report_groups_needs_by_library_and_folds_long_cells() -> None:
    long_path = "pkg/" + "deeply_nested_folder/" * 8 + "_core.cpython-311-x86_64-linux-gnu.so"
    elf = ElfReport(
        path=long_path,
        arch="x86_64",
        needed=["libstdc++.so.6", "libc.so.6", "libfoo.so"],
        versions={
            "libc.so.6": ["GLIBC_2.17", "GLIBC_2.2.5", "GLIBC_2.34"],
            "libstdc++.so.6": ["CXXABI_1.3", "GLIBCXX_3.4.9", "GLIBCXX_3.4.21"],
            "ld-linux-x86-64.so.2": ["GLIBC_2.3"],
        },
        offending=[
            OffendingSymbol("pthread_create", "GLIBC_2.34", "libc.so.6"),
            OffendingSymbol("_tr_flush_block", None, "libz.so.1"),
        ],
    )
    report = WheelReport(
        "w.whl", "w.whl", ["manylinux_2_17_x86_64"], "linux_x86_64", False, [], [elf]
    )
    narrow = Console(  # a terminal: a file or a log gets plain rows (issue 17)
        width=80, file=io.StringIO(), record=True, color_system=None, force_terminal=True
    )
    render(report, narrow)
    lines = narrow.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(i for i, line in enumerate(lines) if line.startswith("ELF "))
    width = lines[header].index("arch")
    column = "".join(line[:width].strip() for line in lines[header + 1 :])
    assert column == long_path  # folded over lines, not cut
    wide = Console(
        width=200, file=io.StringIO(), record=True, color_system=None, force_terminal=True
    )
    render(report, wide)
    rows = [" ".join(line.split()) for line in wide.export_text().splitlines()]
    assert any("libc.so.6 GLIBC_2.34" in row for row in rows)
    assert any("libstdc++.so.6 CXXABI_1.3, GLIBCXX_3.4.21" in row for row in rows)
    assert any("libfoo.so" in row for row in rows)
    assert any("pthread_create@GLIBC_2.34 libc.so.6" in row for row in rows)
    assert any("_tr_flush_block (blacklisted) libz.so.1" in row for row in rows)
    assert OffendingSymbol("_tr_flush_block", None, "libz.so.1").to_json()["version"] is None


def test_build_names_blacklisted_imports_without_a_version() -> None:
    too_new = Finding(
        FindingKind.TOO_NEW_SYMBOL_VERSION,
        tag="manylinux_2_17_x86_64",
        member="m.so",
        detail=SymbolsDetail(
            ("m.so",), "libc.so.6", "manylinux_2_17", ("pthread_create",), "GLIBC_2.34"
        ),
    )
    blacklisted = Finding(
        FindingKind.BLACKLISTED_SYMBOL,
        tag="manylinux_2_17_x86_64",
        member="m.so",
        detail=SymbolsDetail(("m.so",), "libz.so.1", "manylinux_2_17", ("_tr_flush_block",)),
    )
    findings = [too_new, blacklisted]
    report = WheelReport(
        "w.whl", "w.whl", ["manylinux_2_17_x86_64"], "linux_x86_64", False, findings, []
    )
    (explanation,) = compliance_explanations(report, "manylinux_2_17_x86_64")
    assert explanation.id == "zig-build-needs-newer-glibc"
    assert "None" not in explanation.cause + explanation.fix
    assert explanation.details["versions"] == "GLIBC_2.34"
    assert "uses _tr_flush_block from libz.so.1" in report.problems[1]
    only_blacklisted = WheelReport(
        "w.whl", "w.whl", ["manylinux_2_17_x86_64"], "linux_x86_64", False, [blacklisted], []
    )
    assert compliance_explanations(only_blacklisted, "manylinux_2_17_x86_64") == []
