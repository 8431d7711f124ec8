"""Recognise known build, install and upload failures in a log and explain cause and fix."""

from __future__ import annotations

import codecs
import functools
import importlib
import re
import string
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from zigwheel.errors import DataError, UnreadableInputError
from zigwheel.resources import data_dir, load_toml

# The regex parser of the standard library (private, stable for decades; sre_parse before
# 3.11): it tells which literal text a pattern needs, so lines without it are never matched.
_NEW_RE = sys.version_info >= (3, 11)
_sre: Any = importlib.import_module("re._constants" if _NEW_RE else "sre_constants")
_sre_parse: Any = importlib.import_module("re._parser" if _NEW_RE else "sre_parse")
_REPEATS = tuple(
    getattr(_sre, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(_sre, name)
)

EXPLANATIONS_FILE = "explanations.toml"
SCHEMA = 1

# Lines longer than this are cut before matching: logs can hold minified blobs, and a regex over a
# megabyte-long line is wasted time.
MAX_LINE = 4000
# A title sequence (OSC) ends at BEL; never past a line's end, as whole blocks are cleaned.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\n]*\x07")
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


def clean_line(line: str) -> str:
    """One log line without ANSI colour codes, trailing whitespace or an over-long tail."""
    return _ANSI.sub("", line).rstrip()[:MAX_LINE]


def clean_lines(text: str) -> list[str]:
    """The log's lines without ANSI colour codes, trailing whitespace or over-long tails."""
    return [clean_line(line) for line in text.splitlines()]


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(dict(values))


# How many distinct values one collected group keeps: a log with 40 000 different offending
# versions must not grow a list (nor an explanation) without end.
MAX_COLLECTED = 50
# Every line break str.splitlines knows, so that line numbers agree with it.
_LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_LONG_LINE = re.compile(f"^(.{{{MAX_LINE}}}).+$", re.MULTILINE)
READ_BLOCK = 1 << 20  # characters read from a log at a time


class _RuleState:
    """What one rule has seen so far: its first matching line, captures and collected values."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.first: tuple[int, str] | None = None
        self.captured: dict[str, str] = {}
        # dicts as ordered sets: membership is O(1) (a list made 40k distinct lines quadratic).
        self.collected: dict[str, dict[str, None]] = {name: {} for name in rule.collect}

    def feed(self, number: int, line: str) -> None:
        for pattern in self.rule.patterns:
            for match in pattern.finditer(line):
                if self.first is None:
                    self.first = (number, line.strip())
                for name, value in match.groupdict().items():
                    if value is None:
                        continue
                    text = value.strip()
                    values = self.collected.get(name)
                    if values is None:
                        self.captured.setdefault(name, text)
                    elif len(values) < MAX_COLLECTED:
                        values.setdefault(text)

    def explanation(self) -> Explanation | None:
        if self.first is None:
            return None
        rule = self.rule
        collected = {name: "; ".join(vals) for name, vals in self.collected.items() if vals}
        details = {**self.captured, **collected}
        values = {**rule.defaults, **details}
        return Explanation(
            id=rule.id,
            title=rule.title,
            cause=_fill(rule.cause, values),
            fix=_fill(rule.fix, values),
            matched_line=self.first[1],
            line_number=self.first[0],
            details=details,
        )


def _literal_runs(items: Sequence[tuple[Any, Any]]) -> list[str]:
    """The runs of literal characters every match of a parsed regex sequence contains."""
    runs: list[str] = []
    current: list[str] = []
    for op, value in items:
        if op is _sre.LITERAL:
            current.append(chr(value))
            continue
        if current:
            runs.append("".join(current))
            current = []
        if op is _sre.SUBPATTERN:
            runs += _literal_runs(value[-1])
        elif op in _REPEATS and value[0] >= 1:
            runs += _literal_runs(value[2])
    if current:
        runs.append("".join(current))
    return runs


def _gate(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lowercase strings one of which every line the pattern matches holds; None if unknown."""
    try:
        parsed = list(_sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # the parser is private: any surprise means "no gate"
        return None
    runs = _literal_runs(parsed)
    if runs:
        return (max(runs, key=len).lower(),)
    if len(parsed) == 1 and parsed[0][0] is _sre.BRANCH:  # a|b at the top: one gate per side
        sides = [_literal_runs(list(side)) for side in parsed[0][1][1]]
        if all(sides):
            return tuple(max(side, key=len).lower() for side in sides)
    return None


class _Gates:
    """Which lines of a block are worth matching: those holding a literal some pattern needs.

    str.find runs at memory speed; only the lines it finds go through the regular
    expressions, so a log costs a few scans, not every pattern at every position. Patterns
    without a literal are matched on every line (none of the shipped ones is).
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        gates = [_gate(pattern) for rule in rules for pattern in rule.patterns]
        self.every_line = any(gate is None for gate in gates)
        self.literals = sorted({text for gate in gates if gate for text in gate})

    def line_starts(self, text: str) -> list[int] | None:
        """Offsets of the candidate lines of ``text`` (whole lines); None: take every line."""
        low = text.lower()
        if self.every_line or len(low) != len(text):  # a case mapping that changes lengths
            return None
        starts: set[int] = set()
        for literal in self.literals:
            found = low.find(literal)
            while found != -1:
                starts.add(low.rfind("\n", 0, found) + 1)
                end = low.find("\n", found)
                found = low.find(literal, end + 1) if end != -1 else -1
        return sorted(starts)


class _Scanner:
    """Feeds a log, block by block, to every rule; memory stays bounded by the block size."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.states = [_RuleState(rule) for rule in rules]
        self.gates = _Gates(rules)
        self.line = 0  # lines finished before the current block
        self.pending = ""  # the unfinished last line of the previous block

    def feed(self, block: str) -> None:
        raw = self.pending + block
        held = "\r" if raw.endswith("\r") else ""  # maybe the first half of a \r\n
        text = _LINE_BREAK.sub("\n", raw[: len(raw) - len(held)])
        cut = text.rfind("\n") + 1
        self.pending = text[cut:] + held
        if cut:
            self._scan(text[:cut])

    def finish(self) -> list[Explanation]:
        if self.pending:
            self._scan(self.pending + "\n")
            self.pending = ""
        found = [item for state in self.states if (item := state.explanation()) is not None]
        return sorted(found, key=lambda item: item.line_number)

    def _scan(self, text: str) -> None:
        """``text`` holds whole lines, each ending with a newline."""
        text = _ANSI.sub("", text)  # before the gates: a colour code may split a phrase
        # Cut over-long lines as clean_line does, in one pass: a pattern starting with a
        # repeated class is quadratic on a megabyte-long line.
        text = _LONG_LINE.sub(r"\1", text)
        starts = self.gates.line_starts(text)
        if starts is None:
            for offset, line in enumerate(text.split("\n")[:-1], start=1):
                self._line(self.line + offset, line)
        else:
            position, number = 0, self.line  # number: lines before ``position``
            for start in starts:
                number += text.count("\n", position, start)
                end = text.find("\n", start)
                self._line(number + 1, text[start:end])
                number += 1
                position = end + 1
        self.line += text.count("\n")

    def _line(self, number: int, raw: str) -> None:
        line = raw.rstrip()[:MAX_LINE]
        for state in self.states:
            state.feed(number, line)


def explain_blocks(blocks: Iterable[str], rules: Iterable[Rule] | None = None) -> list[Explanation]:
    """Every known failure in the log given as consecutive pieces of text, in order of appearance.

    Linear in the log's size; memory is that of one piece plus a bounded amount per rule.
    """
    scanner = _Scanner(tuple(load_rules() if rules is None else rules))
    for block in blocks:
        scanner.feed(block)
    return scanner.finish()


def explain(text: str, rules: Iterable[Rule] | None = None) -> list[Explanation]:
    """Every known failure found in ``text``, in the order they first appear in it."""
    return explain_blocks(
        (text[index : index + READ_BLOCK] for index in range(0, len(text), READ_BLOCK)), rules
    )


def read_blocks(handle: BinaryIO) -> Iterator[str]:
    """A binary stream as text blocks (undecodable bytes replaced), READ_BLOCK bytes at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while block := handle.read(READ_BLOCK):
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)


def explain_file(path: Path, rules: Iterable[Rule] | None = None) -> list[Explanation]:
    """``explain`` over a log file, read block by block; UnreadableInputError if it can't be."""
    try:
        with path.open("rb") as handle:
            return explain_blocks(read_blocks(handle), rules)
    except OSError as err:
        msg = f"cannot read the log {path}: {err.strerror or err}"
        raise UnreadableInputError(
            msg, hint="pass a readable log file, or - for standard input"
        ) from err


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
