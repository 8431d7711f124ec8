"""Recognise known build, install and upload failures in a log and explain cause and fix."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from zigwheel.errors import DataError, UnreadableInputError
from zigwheel.resources import data_dir, load_toml

EXPLANATIONS_FILE = "explanations.toml"
SCHEMA = 1

# Lines longer than this are cut before matching: logs can hold minified blobs, and a regex over a
# megabyte-long line is wasted time.
MAX_LINE = 4000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "title", "patterns", "cause", "fix")


@dataclass(frozen=True)
class Rule:
    """One known failure: how to recognise it (patterns) and what to say about it."""

    id: str
    title: str
    patterns: tuple[re.Pattern[str], ...]
    cause: str
    fix: str
    defaults: Mapping[str, str] = field(default_factory=dict)
    collect: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Explanation:
    """A recognised failure in a log, with the details captured from it filled in."""

    id: str
    title: str
    cause: str
    fix: str
    matched_line: str
    line_number: int
    details: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this explanation."""
        return {
            "id": self.id,
            "title": self.title,
            "cause": self.cause,
            "fix": self.fix,
            "matched_line": self.matched_line,
            "line_number": self.line_number,
            "details": dict(self.details),
        }


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as err:
        msg = f"unbalanced braces in {text[:40]!r}...: {err}"
        raise ValueError(msg) from err


def _string_list(value: object) -> list[str] | None:
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _fail(message: str, hint: str = "fix the explanations data file") -> NoReturn:
    raise DataError(message, hint=hint)


def _check_shape(entry: object, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        _fail(f"{where} is not a table")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        _fail(
            f"{where} lacks {', '.join(missing)}", "every explanation needs " + ", ".join(_REQUIRED)
        )
    unknown = set(entry) - {*_REQUIRED, "defaults", "collect"}
    if unknown:
        _fail(f"{where} has unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(entry["id"], str) or not _ID.match(entry["id"]):
        _fail(f"{where} has an invalid id {entry['id']!r}", "ids are lowercase words joined by '-'")
    for key in ("title", "cause", "fix"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            _fail(f"{where} has an empty or non-text {key}")
    defaults = entry.get("defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        _fail(f"{where}: defaults must be a table of strings")
    collect = entry.get("collect", [])
    if not isinstance(collect, list) or not all(isinstance(name, str) for name in collect):
        _fail(f"{where}: collect must be a list of group names")
    return entry


def _compile_patterns(raw: object, where: str) -> tuple[re.Pattern[str], ...]:
    raw_patterns = _string_list(raw)
    if raw_patterns is None:
        _fail(f"{where}: patterns must be a non-empty list of strings")
    patterns: list[re.Pattern[str]] = []
    for text in raw_patterns:
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as err:
            msg = f"{where}: pattern {text!r} does not compile: {err}"
            raise DataError(msg, hint="fix the regular expression") from err
    return tuple(patterns)


def _parse_rule(raw: object, index: int, source: str) -> Rule:
    entry = _check_shape(raw, f"{source}: explanation #{index + 1}")
    where = f"{source}: explanation {entry['id']!r}"
    patterns = _compile_patterns(entry["patterns"], where)
    defaults: dict[str, str] = dict(entry.get("defaults", {}))
    collect: list[str] = list(entry.get("collect", []))
    try:
        used = _placeholders(entry["cause"]) | _placeholders(entry["fix"])
    except ValueError as err:
        msg = f"{where}: {err}"
        raise DataError(msg, hint="write literal braces as {{ and }}") from err
    in_every_pattern = set.intersection(*(set(p.groupindex) for p in patterns))
    unfillable = sorted(used - in_every_pattern - set(defaults))
    if unfillable:
        _fail(
            f"{where} uses {', '.join(unfillable)} that some patterns do not capture",
            "capture the name in every pattern or give it a default",
        )
    all_groups = set().union(*(set(p.groupindex) for p in patterns))
    stray = sorted((set(collect) | set(defaults)) - all_groups)
    if stray:
        _fail(f"{where} names groups {', '.join(stray)} that no pattern captures")
    return Rule(
        id=entry["id"],
        title=entry["title"].strip(),
        patterns=patterns,
        cause=" ".join(entry["cause"].split()),
        fix=" ".join(entry["fix"].split()),
        defaults=defaults,
        collect=frozenset(collect),
    )


def parse_rules(document: Mapping[str, Any], *, source: str) -> tuple[Rule, ...]:
    """Validate a parsed explanations document and return its rules; DataError when invalid."""
    if document.get("schema") != SCHEMA:
        msg = f"{source} has schema {document.get('schema')!r}, expected {SCHEMA}"
        raise DataError(msg, hint="reinstall zigwheel; the data does not match the code")
    entries = document.get("explanation")
    if not isinstance(entries, list) or not entries:
        msg = f"{source} defines no [[explanation]] entries"
        raise DataError(msg, hint="reinstall zigwheel; the package data is damaged")
    rules = [_parse_rule(entry, index, source) for index, entry in enumerate(entries)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            msg = f"{source} defines the explanation id {rule.id!r} twice"
            raise DataError(msg, hint="ids must be unique")
        seen.add(rule.id)
    return tuple(rules)


@functools.lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """The explanations shipped with zigwheel, validated (cached)."""
    path = data_dir() / EXPLANATIONS_FILE
    return parse_rules(load_toml(path), source=path.name)


def clean_lines(text: str) -> list[str]:
    """The log's lines without ANSI colour codes, trailing whitespace or over-long tails."""
    return [_ANSI.sub("", line).rstrip()[:MAX_LINE] for line in text.splitlines()]


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(dict(values))


def _explain_rule(rule: Rule, lines: Sequence[str]) -> Explanation | None:
    first: tuple[int, str] | None = None
    captured: dict[str, str] = {}
    collected: dict[str, list[str]] = {name: [] for name in rule.collect}
    for number, line in enumerate(lines, start=1):
        for pattern in rule.patterns:
            for match in pattern.finditer(line):
                if first is None:
                    first = (number, line.strip())
                for name, value in match.groupdict().items():
                    if value is None:
                        continue
                    text = value.strip()
                    if name in collected:
                        if text not in collected[name]:
                            collected[name].append(text)
                    else:
                        captured.setdefault(name, text)
    if first is None:
        return None
    details = {**captured, **{name: "; ".join(vals) for name, vals in collected.items() if vals}}
    values = {**rule.defaults, **details}
    return Explanation(
        id=rule.id,
        title=rule.title,
        cause=_fill(rule.cause, values),
        fix=_fill(rule.fix, values),
        matched_line=first[1],
        line_number=first[0],
        details=details,
    )


def explain(text: str, rules: Iterable[Rule] | None = None) -> list[Explanation]:
    """Every known failure found in ``text``, in the order they first appear in it."""
    lines = clean_lines(text)
    found = [
        explanation
        for rule in (load_rules() if rules is None else rules)
        if (explanation := _explain_rule(rule, lines)) is not None
    ]
    return sorted(found, key=lambda item: item.line_number)


def explain_by_id(
    rule_id: str,
    details: Mapping[str, str],
    *,
    matched_line: str,
    line_number: int,
    rules: Iterable[Rule] | None = None,
) -> Explanation:
    """The explanation ``rule_id``, filled from ``details`` (and its defaults); no log is matched.

    For failures zigwheel recognises itself (a check finding): the caller knows the id and the
    details, so no pattern runs. ``matched_line`` says what it was recognised in. A DataError for
    an unknown id or a placeholder neither the details nor the defaults fill.
    """
    rule = next((r for r in (load_rules() if rules is None else rules) if r.id == rule_id), None)
    if rule is None:
        msg = f"{EXPLANATIONS_FILE} has no explanation {rule_id!r}"
        raise DataError(msg, hint="reinstall zigwheel; the data does not match the code")
    values = {**rule.defaults, **details}
    try:
        cause, fix = _fill(rule.cause, values), _fill(rule.fix, values)
    except KeyError as err:
        msg = f"the explanation {rule_id!r} needs {err} and was not given it"
        raise DataError(msg, hint="give the explanation a default for it") from err
    return Explanation(
        id=rule.id,
        title=rule.title,
        cause=cause,
        fix=fix,
        matched_line=matched_line,
        line_number=line_number,
        details=dict(details),
    )


def read_log(path: Path) -> str:
    """Read a log file as text (undecodable bytes replaced); UnreadableInputError if it can't be."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as err:
        msg = f"cannot read the log {path}: {err.strerror or err}"
        raise UnreadableInputError(
            msg, hint="pass a readable log file, or - for standard input"
        ) from err
