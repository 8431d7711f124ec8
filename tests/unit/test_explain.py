"""Unit tests for zigwheel.explain: the shipped data, the matcher and its substitutions."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from zigwheel.errors import DataError
from zigwheel.explain import clean_lines, explain, load_rules, parse_rules
from zigwheel.resources import data_dir, load_toml

LOGS = Path(__file__).resolve().parent.parent / "data" / "logs"
FIXTURES = sorted(LOGS.glob("*.log"))


def _fixture_id(path: Path) -> str:
    """``<id>.log`` or ``<id>--<variant>.log`` -> ``<id>``."""
    return path.stem.split("--")[0]


def _ids(text: str) -> list[str]:
    return [item.id for item in explain(text)]


def test_shipped_data_loads_and_ids_are_unique() -> None:
    rules = load_rules()
    ids = [rule.id for rule in rules]
    assert len(ids) == len(set(ids))
    assert len(rules) >= 15


def test_every_explanation_has_a_real_log_fixture() -> None:
    fixture_ids = {_fixture_id(path) for path in FIXTURES}
    missing = sorted({rule.id for rule in load_rules()} - fixture_ids)
    assert not missing, f"explanations without a log fixture in {LOGS.name}/: {missing}"
    unknown = sorted(fixture_ids - {rule.id for rule in load_rules()})
    assert not unknown, f"fixtures named after no explanation: {unknown}"


@pytest.mark.parametrize("log", FIXTURES, ids=[path.name for path in FIXTURES])
def test_fixture_is_explained(log: Path) -> None:
    found = explain(log.read_text(encoding="utf-8"))
    wanted = _fixture_id(log)
    match = next((item for item in found if item.id == wanted), None)
    assert match is not None, f"{log.name} explained as {[item.id for item in found]}"
    assert match.matched_line in [line.strip() for line in clean_lines(log.read_text())]
    assert not re.search(r"\{[a-z_]+\}", match.cause + match.fix)  # every placeholder filled
    assert match.cause
    assert match.title


@pytest.mark.parametrize(
    ("log", "rule_id", "needle"),
    [
        (
            "too-recent-versioned-symbols.log",
            "too-recent-versioned-symbols",
            "--manylinux manylinux_2_17",
        ),
        ("too-recent-versioned-symbols.log", "too-recent-versioned-symbols", "GLIBC_2.34"),
        ("too-recent-versioned-symbols.log", "too-recent-versioned-symbols", "GLIBC_2.29"),
        ("glibc-version-not-found.log", "glibc-version-not-found", "GLIBC_2.38"),
        ("unsupported-linker-arg.log", "unsupported-linker-arg", "`--fix-cortex-a53-843419`"),
        (
            "rust-target-missing.log",
            "rust-target-missing",
            "rustup target add aarch64-unknown-linux-gnu",
        ),
        ("python-symbols-undefined--zig.log", "python-symbols-undefined", "`_Py_Dealloc`"),
        ("system-library-not-found.log", "system-library-not-found", "-lz"),
        ("header-not-found.log", "header-not-found", "`zlib.h`"),
        ("isoc23-symbols.log", "isoc23-symbols", "__isoc23_strtol"),
        (
            "unsupported-wheel-platform.log",
            "unsupported-wheel-platform",
            "zigwheel check tinyarm-0.1.0-cp311-cp311-manylinux_2_17_aarch64.whl",
        ),
        ("pyo3-python-too-new.log", "pyo3-python-too-new", "3.13"),
    ],
)
def test_details_are_substituted(log: str, rule_id: str, needle: str) -> None:
    (match,) = [item for item in explain((LOGS / log).read_text()) if item.id == rule_id]
    assert needle in match.cause + " " + match.fix


def test_captured_details_are_reported() -> None:
    (match,) = explain((LOGS / "rust-target-missing.log").read_text())
    assert match.details == {"triple": "aarch64-unknown-linux-gnu"}
    assert match.line_number == 2  # the first matching line, not the line with the triple
    assert match.matched_line == "error[E0463]: can't find crate for `std`"


def test_collected_details_join_every_offending_library() -> None:
    (match,) = explain((LOGS / "too-recent-versioned-symbols--seed.log").read_text())
    assert match.details["versions"] == (
        "GLIBC_2.18, GLIBC_2.25, GLIBC_2.28, GLIBC_2.29, GLIBC_2.33, GLIBC_2.34; GLIBC_2.29"
    )


def test_defaults_fill_missing_details() -> None:
    (match,) = explain("error[E0463]: can't find crate for `core`\n")
    assert match.id == "rust-target-missing"
    assert "rustup target add <target triple>" in match.fix
    assert match.details == {}


def test_ansi_codes_are_ignored() -> None:
    text = "\x1b[31mERROR   \x1b[0m HTTPError: 403 Forbidden from http://127.0.0.1:1/\n"
    (match,) = explain(text)
    assert match.id == "upload-forbidden"
    assert match.matched_line.startswith("ERROR")


def test_explanations_are_ordered_by_first_appearance() -> None:
    text = "error: unsupported linker arg: -znostart-stop-gc\nFailed to find zig\n"
    assert _ids(text) == ["unsupported-linker-arg", "zig-not-found"]
    text = "Failed to find zig\nerror: unsupported linker arg: -znostart-stop-gc\n"
    assert _ids(text) == ["zig-not-found", "unsupported-linker-arg"]


def test_one_explanation_per_rule_even_when_it_matches_often() -> None:
    text = "\n".join(["error: unsupported linker arg: --a", "error: unsupported linker arg: --b"])
    (match,) = explain(text)
    assert match.details == {"arg": "--a"}


def test_unrelated_text_explains_nothing() -> None:
    assert explain("") == []
    assert explain("    Finished `release` profile [optimized] target(s) in 3.2s\n") == []


def test_over_long_lines_are_cut_before_matching() -> None:
    assert explain("x" * 100_000 + " unsupported linker arg: --late") == []


# --- validation of the data format -----------------------------------------------------------


def _document() -> dict[str, Any]:
    return copy.deepcopy(load_toml(data_dir() / "explanations.toml"))


def test_parse_rules_accepts_the_shipped_document() -> None:
    assert len(parse_rules(_document(), source="x")) == len(load_rules())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["explanation"].append(copy.deepcopy(d["explanation"][0])), "twice"),
        (lambda d: d["explanation"][0].pop("fix"), "lacks fix"),
        (lambda d: d["explanation"][0].update(patterns=["(unclosed"]), "does not compile"),
        (lambda d: d["explanation"][0].update(patterns=[]), "non-empty list"),
        (lambda d: d["explanation"][0].update(id="Not An Id"), "invalid id"),
        (lambda d: d["explanation"][0].update(fix="use {nothing}"), "nothing"),
        (lambda d: d["explanation"][0].update(colour="red"), "unknown keys"),
        (lambda d: d["explanation"][0].update(cause="  "), "empty"),
        (lambda d: d["explanation"][0].update(fix="a { b"), "braces"),
        (lambda d: d.update(schema=99), "schema"),
        (lambda d: d.update(explanation=[]), "no [[explanation]]"),
    ],
)
def test_parse_rules_rejects_broken_data(mutate: Any, message: str) -> None:
    document = _document()
    mutate(document)
    with pytest.raises(DataError, match=message.replace("[", r"\[")):
        parse_rules(document, source="explanations.toml")


def test_placeholder_must_be_captured_by_every_pattern_or_defaulted() -> None:
    entry: dict[str, object] = {
        "id": "x",
        "title": "t",
        "patterns": ["a (?P<what>\\w+)", "b"],
        "cause": "c",
        "fix": "f {what}",
    }
    document = {"schema": 1, "explanation": [entry]}
    with pytest.raises(DataError, match="what"):
        parse_rules(document, source="s")
    entry["defaults"] = {"what": "something"}
    (rule,) = parse_rules(document, source="s")
    assert [item.fix for item in explain("b\n", [rule])] == ["f something"]
    assert [item.fix for item in explain("a thing\n", [rule])] == ["f thing"]


def test_a_refused_connection_is_not_explained_as_rejected_credentials() -> None:
    # twine --verbose prints "username: __token__" on every upload; that line says nothing wrong.
    ids = _ids((LOGS / "upload-connection-failed.log").read_text())
    assert ids == ["upload-connection-failed"]
    assert "username: __token__" in (LOGS / "upload-connection-failed.log").read_text()


def _first_lines_one_by_one(text: str) -> dict[str, int]:
    """The reference: every rule's patterns over every cleaned line, no prefilter, no blocks."""
    first: dict[str, int] = {}
    for number, line in enumerate(clean_lines(text), start=1):
        for rule in load_rules():
            if rule.id not in first and any(p.search(line) for p in rule.patterns):
                first[rule.id] = number
    return first


@pytest.mark.parametrize("log", FIXTURES, ids=[path.name for path in FIXTURES])
@pytest.mark.parametrize("block", [7, 4096])
def test_block_reading_finds_what_line_by_line_matching_finds(log: Path, block: int) -> None:
    from zigwheel.explain import explain_blocks  # noqa: PLC0415

    text = log.read_text(encoding="utf-8")
    for variant in (text, text.replace("\n", "\r\n"), "\x1b[1m\x1b]0;title\x07" + text):
        pieces = [variant[i : i + block] for i in range(0, len(variant), block)]
        found = explain_blocks(pieces)
        assert {item.id: item.line_number for item in found} == _first_lines_one_by_one(variant)
        assert found == explain(variant)


def test_collected_values_are_bounded_and_linear() -> None:
    from zigwheel.explain import MAX_COLLECTED  # noqa: PLC0415

    lines = [f"offending versions: GLIBC_2.{index}" for index in range(20_000)]
    (item,) = [found for found in explain("\n".join(lines)) if found.id.startswith("too-recent")]
    assert item.details["versions"].split("; ") == [f"GLIBC_2.{i}" for i in range(MAX_COLLECTED)]
    assert item.line_number == 1
