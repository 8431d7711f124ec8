"""The check's result types: one wheel's verdict, its ELF files, and their JSON form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zigwheel.compliance.findings import Finding
from zigwheel.compliance.words import render_finding
from zigwheel.output import JSON_VERSION

# The `policy` values that are not platform tags: "any" for a wheel without ELF files, and
# "unknown" when there is no verdict: the wheel (or one of its members) could not be read, or
# none of its ELF files is for an architecture a wheel tag can name.
PURE_POLICY = "any"
UNKNOWN_POLICY = "unknown"


@dataclass(frozen=True)
class OffendingSymbol:
    """An imported symbol the most restrictive claimed tag forbids.

    Either its version is too new, or the policy blacklists the symbol of that library
    (e.g. libz's ``_tr_flush_block``); a blacklisted symbol is usually unversioned: version None.
    """

    symbol: str
    version: str | None
    library: str

    @property
    def label(self) -> str:
        """``symbol@version``, or ``symbol (blacklisted in library)`` for an unversioned import."""
        if self.version:
            return f"{self.symbol}@{self.version}"
        return f"{self.symbol} (blacklisted in {self.library})"

    def to_json(self) -> dict[str, str | None]:
        """JSON form: {"symbol", "version" (null when unversioned), "library"}."""
        return {"symbol": self.symbol, "version": self.version, "library": self.library}


@dataclass(frozen=True)
class ElfReport:
    """What one ELF file in the wheel needs."""

    path: str
    arch: str | None
    needed: list[str]
    versions: dict[str, list[str]]
    offending: list[OffendingSymbol] = field(default_factory=list)
    note: str | None = None  # why the ELF was left out of the verdict, if it was

    def to_json(self) -> dict[str, Any]:
        """JSON form (schema version 1)."""
        return {
            "path": self.path,
            "arch": self.arch,
            "needed": list(self.needed),
            "versions": {lib: list(v) for lib, v in self.versions.items()},
            "offending": [o.to_json() for o in self.offending],
        }


@dataclass(frozen=True)
class WheelReport:
    """The verdict on one wheel: claimed tags, the policy its content satisfies, the findings."""

    wheel: str
    path: str
    claimed: list[str]
    policy: str
    compliant: bool
    findings: Sequence[Finding]  # stored as a tuple, in the order the stages found them
    elves: list[ElfReport]
    readable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))

    @property
    def problems(self) -> list[str]:
        """The findings in words, one line each."""
        return [render_finding(finding) for finding in self.findings]

    def to_json(self) -> dict[str, Any]:
        """JSON form (schema version 1, one entry of "wheels")."""
        return {
            "wheel": self.wheel,
            "path": self.path,
            "claimed": list(self.claimed),
            "policy": self.policy,
            "compliant": self.compliant,
            "problems": self.problems,
            "elves": [e.to_json() for e in self.elves],
        }


def reports_to_json(reports: Iterable[WheelReport]) -> dict[str, Any]:
    """The ``--json`` document for several wheels."""
    return {"version": JSON_VERSION, "wheels": [r.to_json() for r in reports]}


__all__ = [
    "JSON_VERSION",
    "PURE_POLICY",
    "UNKNOWN_POLICY",
    "ElfReport",
    "OffendingSymbol",
    "WheelReport",
    "reports_to_json",
]
