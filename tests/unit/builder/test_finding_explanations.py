"""build explains a non-compliant wheel by its findings' kinds; every kind's explanation exists."""

from __future__ import annotations

import pytest

from zigwheel.builder import jobs
from zigwheel.builder.jobs import FINDING_EXPLANATIONS, compliance_explanations
from zigwheel.compliance.findings import Finding, FindingKind, SymbolsDetail
from zigwheel.compliance.report import ElfReport, OffendingSymbol, WheelReport
from zigwheel.compliance.words import render_finding
from zigwheel.errors import DataError
from zigwheel.explain import explain_by_id, load_rules

TAG = "manylinux_2_17_x86_64"


def _too_new(version: str, *symbols: str) -> Finding:
    names = tuple(sorted(symbols))
    detail = SymbolsDetail(("m.so",), "libc.so.6", "manylinux_2_17", names, version)
    return Finding(FindingKind.TOO_NEW_SYMBOL_VERSION, tag=TAG, member="m.so", detail=detail)


def _report(*findings: Finding) -> WheelReport:
    return WheelReport("w.whl", "w.whl", [TAG], "manylinux_2_38_x86_64", False, findings, [])


def test_every_finding_kind_has_an_entry_and_each_explanation_exists() -> None:
    assert set(FINDING_EXPLANATIONS) == set(FindingKind)
    ids = {rule.id for rule in load_rules()}
    named = {rule_id for rule_id in FINDING_EXPLANATIONS.values() if rule_id is not None}
    symbol_ids = {rule_id for rule_id, _names in jobs._SYMBOL_EXPLANATIONS}
    assert named | symbol_ids <= ids, sorted((named | symbol_ids) - ids)


def test_explanations_come_from_findings_not_from_log_text() -> None:
    too_new = _too_new("GLIBC_2.38", "__isoc23_strtol", "__isoc23_sscanf")
    thread = _too_new("GLIBC_2.18", "__cxa_thread_atexit_impl")
    report = _report(too_new, thread)
    found = compliance_explanations(report, "manylinux_2_17")
    assert [e.id for e in found] == [
        "zig-build-needs-newer-glibc", "cxa-thread-atexit-impl", "isoc23-symbols",
    ]  # fmt: skip
    general, cxa, isoc23 = found
    assert general.details == {
        "policy": "manylinux_2_17",
        "versions": "GLIBC_2.18, GLIBC_2.38",
        "content": "manylinux_2_38_x86_64",
    }
    assert "cannot provide GLIBC_2.18, GLIBC_2.38" in general.cause
    assert "--manylinux (manylinux_2_38_x86_64)" in general.fix
    # Each explanation is numbered as the finding it explains in the report; without offending
    # symbols in the ELF reports its matched line is the finding's words.
    assert (general.matched_line, general.line_number) == (render_finding(too_new), 1)
    assert (cxa.matched_line, cxa.line_number) == (render_finding(thread), 2)
    elf = ElfReport(
        "m.so", "x86_64", ["libc.so.6"], {},
        [OffendingSymbol(s, "GLIBC_2.38", "libc.so.6") for s in ("__isoc23_strtol", "a", "b", "c")],
    )  # fmt: skip
    with_elf = WheelReport("w.whl", "w.whl", [TAG], "unknown", False, [too_new], [elf])
    (first, _isoc23) = compliance_explanations(with_elf, "manylinux_2_17")
    assert first.matched_line == (
        "symbols: __isoc23_strtol@GLIBC_2.38, a@GLIBC_2.38, b@GLIBC_2.38, c@GLIBC_2.38"
    )
    assert isoc23.details == {"function": "sscanf"}  # the first such symbol, sorted
    assert "__isoc23_sscanf" in isoc23.cause


def test_findings_without_an_explanation_give_none() -> None:
    version_only = _too_new("GLIBC_2.34")  # a version no imported symbol asks for
    assert compliance_explanations(_report(version_only), "manylinux_2_17") == []
    assert compliance_explanations(_report(Finding(FindingKind.NO_RECORD)), "manylinux_2_17") == []


def test_explain_by_id_refuses_unknown_ids_and_unfilled_placeholders() -> None:
    with pytest.raises(DataError, match="no explanation 'no-such-id'"):
        explain_by_id("no-such-id", {}, matched_line="", line_number=0)
    with pytest.raises(DataError, match="needs 'versions'"):
        explain_by_id(
            "zig-build-needs-newer-glibc", {"policy": "manylinux_2_17"},
            matched_line="", line_number=0,
        )  # fmt: skip
