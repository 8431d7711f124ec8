"""zig cc argument-rewrite rules and probes (toolchains/rewrites.toml): load, select, render."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zigwheel.errors import DataError
from zigwheel.platforms import Libc
from zigwheel.resources import load_toml, toolchains_dir
from zigwheel.toolchain.targets import Arch, Target

REWRITES_FILE = "rewrites.toml"
ACTIONS = (
    "drop",
    "drop-with-next",
    "replace",
    "replace-prefix",
    "unwrap-if-file",
    "keep",
    "response-file",
)
# Characters allowed in patterns, prefixes and replacements: none of them is special to sh inside
# a `case` pattern or a ${var#prefix} expansion, so rendering needs no escaping beyond quoting.
_SAFE = r"A-Za-z0-9_=,./+:@%\-"
_PATTERN_RE = re.compile(rf"^[{_SAFE}*]+$")
_LITERAL_RE = re.compile(rf"^[{_SAFE}]*$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PROBE_ARG_RE = re.compile(r"^-[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Rule:
    """One rewrite rule: which arguments it matches, what it does, and for which targets."""

    id: str
    match: tuple[str, ...]
    action: str
    why: str
    with_args: tuple[str, ...] = ()
    prefix: str = ""
    to: str = ""
    arches: tuple[str, ...] = ()  # empty: every architecture
    libcs: tuple[str, ...] = ()  # empty: every libc

    def applies_to(self, target: Target) -> bool:
        """True when the rule's ``when`` conditions hold for ``target``."""
        if self.arches and target.arch.value not in self.arches:
            return False
        return not (self.libcs and target.libc not in self.libcs)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        document: dict[str, Any] = {"id": self.id, "match": list(self.match), "action": self.action}
        if self.with_args:
            document["with"] = list(self.with_args)
        if self.action in ("replace-prefix", "unwrap-if-file"):
            document["prefix"] = self.prefix
        if self.action == "replace-prefix":
            document["to"] = self.to
        document["why"] = self.why
        return document


@dataclass(frozen=True)
class Probe:
    """A command line of one argument that asks the compiler about itself (``cc --version``)."""

    id: str
    args: tuple[str, ...]
    why: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {"id": self.id, "args": list(self.args), "why": self.why}


def _fail(rule_id: str, problem: str) -> DataError:
    msg = f"{REWRITES_FILE}: rule {rule_id!r} {problem}"
    return DataError(msg, hint="fix the rule in toolchains/rewrites.toml")


def _strings(value: Any, rule_id: str, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(rule_id, f"needs {field} as a list of strings")
    return tuple(value)


def _prefix_and_to(
    raw: Mapping[str, Any], rule_id: str, action: str, match: tuple[str, ...]
) -> tuple[str, str]:
    prefix = raw.get("prefix", "")
    to = raw.get("to", "")
    if not isinstance(prefix, str) or not isinstance(to, str):
        raise _fail(rule_id, "needs prefix and to as strings")
    if not _LITERAL_RE.match(prefix) or not _LITERAL_RE.match(to):
        raise _fail(rule_id, "has a prefix or to with unsafe characters")
    if action in ("replace-prefix", "unwrap-if-file"):
        if not prefix:
            raise _fail(rule_id, f"is a {action} rule without a prefix")
        if not all(pattern.startswith(prefix) for pattern in match):
            raise _fail(rule_id, "has a match pattern that does not start with its prefix")
    return prefix, to


def _when(raw: Mapping[str, Any], rule_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    when = raw.get("when", {})
    if not isinstance(when, dict) or set(when) - {"arch", "libc"}:
        raise _fail(rule_id, "has a `when` other than {arch = [...], libc = [...]}")
    arches = _strings(when.get("arch", []), rule_id, "when.arch")
    for arch in arches:
        if arch not in {member.value for member in Arch}:
            raise _fail(rule_id, f"names unknown architecture {arch!r}")
    libcs = _strings(when.get("libc", []), rule_id, "when.libc")
    if set(libcs) - {libc.value for libc in Libc}:
        raise _fail(rule_id, "has a when.libc other than glibc or musl")
    return arches, libcs


def parse_rule(raw: Mapping[str, Any]) -> Rule:
    """Validate one ``[[rule]]`` table."""
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        msg = f"{REWRITES_FILE}: a rule has a missing or malformed id ({rule_id!r})"
        raise DataError(msg, hint="give every rule an id of lowercase letters, digits and -")
    unknown = set(raw) - {"id", "match", "action", "why", "with", "prefix", "to", "when"}
    if unknown:
        raise _fail(rule_id, f"has unknown fields {sorted(unknown)}")
    match = _strings(raw.get("match"), rule_id, "match")
    if not match or not all(_PATTERN_RE.match(pattern) for pattern in match):
        raise _fail(rule_id, "needs match patterns made of safe characters")
    action = raw.get("action")
    if action not in ACTIONS:
        raise _fail(rule_id, f"has unknown action {action!r} (known: {', '.join(ACTIONS)})")
    why = raw.get("why")
    if not isinstance(why, str) or not why.strip():
        raise _fail(rule_id, "needs a why")
    with_args = _strings(raw.get("with", []), rule_id, "with")
    if action == "replace" and not with_args:
        raise _fail(rule_id, "is a replace rule without `with`")
    if not all(_LITERAL_RE.match(arg) and arg for arg in with_args):
        raise _fail(rule_id, "has a `with` argument with unsafe characters")
    prefix, to = _prefix_and_to(raw, rule_id, action, match)
    arches, libcs = _when(raw, rule_id)
    return Rule(
        id=rule_id,
        match=match,
        action=action,
        why=why.strip(),
        with_args=with_args,
        prefix=prefix,
        to=to,
        arches=arches,
        libcs=libcs,
    )


def parse_rules(document: Mapping[str, Any]) -> tuple[Rule, ...]:
    """Validate a whole rewrites document; rule ids must be unique."""
    raw_rules = document.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        msg = f"{REWRITES_FILE} has no [[rule]] tables"
        raise DataError(msg, hint="reinstall zigwheel; its rewrite rules are missing")
    rules = tuple(parse_rule(raw) for raw in raw_rules)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise _fail(rule.id, "appears twice")
        seen.add(rule.id)
    return rules


def parse_probe(raw: Mapping[str, Any]) -> Probe:
    """Validate one ``[[probe]]`` table."""
    probe_id = raw.get("id")
    if not isinstance(probe_id, str) or not _ID_RE.match(probe_id):
        msg = f"{REWRITES_FILE}: a probe has a missing or malformed id ({probe_id!r})"
        raise DataError(msg, hint="give every probe an id of lowercase letters, digits and -")
    unknown = set(raw) - {"id", "args", "why"}
    if unknown:
        raise _fail(probe_id, f"has unknown fields {sorted(unknown)}")
    args = _strings(raw.get("args"), probe_id, "args")
    # Exact options only: they become sh case words and C string literals unescaped.
    if not args or not all(_PROBE_ARG_RE.match(arg) for arg in args):
        raise _fail(probe_id, "needs args made of options such as --version (no wildcard)")
    why = raw.get("why")
    if not isinstance(why, str) or not why.strip():
        raise _fail(probe_id, "needs a why")
    return Probe(id=probe_id, args=args, why=why.strip())


def parse_probes(document: Mapping[str, Any]) -> tuple[Probe, ...]:
    """Validate the ``[[probe]]`` tables of a rewrites document (at least ``--version``)."""
    raw_probes = document.get("probe")
    if not isinstance(raw_probes, list) or not raw_probes:
        msg = f"{REWRITES_FILE} has no [[probe]] tables"
        raise DataError(msg, hint="reinstall zigwheel; its compiler probes are missing")
    probes = tuple(parse_probe(raw) for raw in raw_probes)
    ids: set[str] = set()
    args: set[str] = set()
    for probe in probes:
        if probe.id in ids or args.intersection(probe.args):
            raise _fail(probe.id, "appears twice (its id or one of its args)")
        ids.add(probe.id)
        args.update(probe.args)
    return probes


@functools.lru_cache(maxsize=1)
def _document() -> Mapping[str, Any]:
    return load_toml(toolchains_dir() / REWRITES_FILE)


@functools.lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """Load and validate the rules of toolchains/rewrites.toml (once per process)."""
    return parse_rules(_document())


@functools.lru_cache(maxsize=1)
def load_probes() -> tuple[Probe, ...]:
    """Load and validate the probes of toolchains/rewrites.toml (once per process)."""
    return parse_probes(_document())


def probe_args(probes: Sequence[Probe] | None = None) -> tuple[str, ...]:
    """Every argument that, alone on a command line, is a probe."""
    chosen = load_probes() if probes is None else probes
    return tuple(arg for probe in chosen for arg in probe.args)


def rules_for(target: Target, rules: Sequence[Rule] | None = None) -> list[Rule]:
    """The rules that apply to ``target``, in order."""
    return [rule for rule in (load_rules() if rules is None else rules) if rule.applies_to(target)]


class _Emitter:
    """sh statements that output arguments, for the argument loop or a response file.

    Argument mode never copies the argument list while looping (``set -- "$@" x`` per argument
    would make a long link line quadratic): it appends *references* to ``zw_out`` -- ``"${7}"``
    for an argument kept as it was, ``"$zw_v7"`` for a computed one -- and the shim runs
    ``eval "set -- $zw_out"`` once after the loop.
    """

    def __init__(self, var: str, *, response_file: bool) -> None:
        self.var = var
        self.response_file = response_file

    def keep(self) -> str:
        if self.response_file:
            return f"printf '%s\\n' \"${self.var}\""
        return 'zw_out="$zw_out \\"\\${$zw_i}\\""'

    def literal(self, words: Sequence[str]) -> str:
        # Validated literals contain no character special to sh, so they need no quoting.
        joined = " ".join(shlex.quote(word) for word in words)
        if self.response_file:
            return f"printf '%s\\n' {joined}"
        return f'zw_out="$zw_out {joined}"'

    def computed(self, expression: str) -> str:
        if self.response_file:
            return f"printf '%s\\n' {expression}"
        return f'zw_v={expression}; eval "zw_v$zw_i=\\$zw_v"; zw_out="$zw_out \\"\\$zw_v$zw_i\\""'


def render_case_arms(rules: Sequence[Rule], *, var: str, response_file: bool) -> str:
    """Render ``rules`` as the arms of ``case $var in ... esac`` (POSIX sh).

    In argument mode the arms add to ``zw_out`` (see _Emitter); in response-file mode they print
    one line per argument. ``zw_skip`` / ``zw_rskip`` tell the loop to drop the next argument.
    """
    emit = _Emitter(var, response_file=response_file)
    skip_var = "zw_rskip" if response_file else "zw_skip"
    arms: list[str] = []
    for rule in rules:
        pattern = "|".join(rule.match)
        if rule.action == "drop":
            body = ":"
        elif rule.action == "drop-with-next":
            body = f"{skip_var}=1"
        elif rule.action == "replace":
            body = emit.literal(rule.with_args)
        elif rule.action == "replace-prefix":
            body = emit.computed(f'"{rule.to}${{{var}#{rule.prefix}}}"')
        elif rule.action == "unwrap-if-file":
            rest = f'"${{{var}#{rule.prefix}}}"'
            # A response file line is escaped (backslash before space and backslash).
            test = f'zw_unescape {rest}; [ -f "$zw_u" ]' if response_file else f"[ -f {rest} ]"
            body = f"if {test}; then {emit.computed(rest)}; else {emit.keep()}; fi"
        elif rule.action == "response-file" and not response_file:
            body = f'zw_filter_response_file "${{{var}#@}}"; {emit.keep()}'
        else:  # keep, or a response file named inside a response file
            body = emit.keep()
        arms.append(f"    {pattern}) {body} ;;  # {rule.id}")
    arms.append(f"    *) {emit.keep()} ;;")
    return "\n".join(arms)


def apply_rules(
    rules: Sequence[Rule],
    args: Sequence[str],
    *,
    is_file: Any = None,
) -> list[str]:
    """Apply ``rules`` to ``args`` in Python, as the rendered sh does (response files aside).

    No zigwheel command calls this and the shims never run it. It is kept in the package as the
    reference model of the rules: tests/unit/test_rewrite.py runs the rendered sh on generated
    argument lists and compares its output with this independent implementation.
    ``is_file`` replaces ``os.path.isfile`` in tests.
    """
    import fnmatch  # noqa: PLC0415 - only the tests that compare it with the sh need it
    import os.path  # noqa: PLC0415

    check_file = is_file or os.path.isfile
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        rule = next((r for r in rules if any(fnmatch.fnmatchcase(arg, p) for p in r.match)), None)
        if rule is None or rule.action in ("keep", "response-file"):
            out.append(arg)
        elif rule.action == "drop-with-next":
            skip = True
        elif rule.action == "replace":
            out.extend(rule.with_args)
        elif rule.action == "replace-prefix":
            out.append(rule.to + arg[len(rule.prefix) :])
        elif rule.action == "unwrap-if-file":
            rest = arg[len(rule.prefix) :]
            out.append(rest if check_file(rest) else arg)
        # drop: nothing
    return out
