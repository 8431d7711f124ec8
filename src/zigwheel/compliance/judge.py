"""Check stage 5, judging the claimed tags: which hold, why the others fail, offending symbols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zigwheel.compliance.evaluate import Evaluation
from zigwheel.compliance.findings import (
    ArchDetail,
    ClaimDetail,
    Finding,
    FindingKind,
    LibcDetail,
    PolicyDetail,
)
from zigwheel.compliance.policy import GLIBC, MUSL, PlatformTag, Policy, PolicyLadder, build_flag
from zigwheel.compliance.read import Elf
from zigwheel.compliance.report import OffendingSymbol

# What building again for the claimed policy changes: the libc versions the link asks for and
# the instruction set it is compiled for (not the libraries it needs).
_REBUILD_FIXES = frozenset(
    {FindingKind.TOO_NEW_SYMBOL_VERSION, FindingKind.ISA_EXTENSION, FindingKind.ISA_UNREADABLE}
)


@dataclass(frozen=True)
class Judgement:
    """Whether every claimed tag holds, the findings of those that do not."""

    holds: bool
    findings: tuple[Finding, ...]
    restrictive: Policy | None  # the rules of the oldest claimed tag of the wheel's own libc


def claim_problem(
    tag: PlatformTag, policies: PolicyLadder, evaluations: Mapping[str, Evaluation]
) -> Finding | None:
    """A finding when ``tag`` cannot name these ELF files at all (another arch, libc or OS)."""
    if tag.tag == "any":
        return Finding(FindingKind.ANY_TAG_WITH_ELF, tag=tag.tag, detail=ArchDetail(policies.arch))
    if tag.libc is None:
        return Finding(FindingKind.NOT_LINUX_TAG, tag=tag.tag)
    if tag.baseline != policies.arch:
        detail = ArchDetail(policies.arch, claimed=tag.arch)
        return Finding(FindingKind.ARCH_MISMATCH, tag=tag.tag, detail=detail)
    if tag.libc in (GLIBC, MUSL) and tag.libc not in evaluations:
        libc = LibcDetail(found=policies.libc, expected=tag.libc)
        return Finding(FindingKind.LIBC_MISMATCH, tag=tag.tag, detail=libc)
    return None


def _broken(tag: PlatformTag, rules: Policy, found: Evaluation) -> Finding:
    better = found.overall if not found.overall.is_linux else None
    if better is None and found.satisfied:
        better = max(found.satisfied, key=lambda p: p.priority)
    detail = ClaimDetail(
        policy=rules.name,
        flag=build_flag(rules),
        better=better.tag if better is not None else None,
        bundle=bool(found.external.get(rules.name)),
        rebuild=any(reason.kind in _REBUILD_FIXES for reason in found.reasons[rules.name]),
    )
    return Finding(FindingKind.CLAIM_BROKEN, tag=tag.tag, detail=detail)


def judge_claims(
    tags: Sequence[PlatformTag], policies: PolicyLadder, evaluations: Mapping[str, Evaluation]
) -> Judgement:
    """Each claimed tag against the evaluations: its reasons and advice when it does not hold."""
    holds = True
    findings: list[Finding] = []
    restrictive: tuple[tuple[int, int], Policy] | None = None
    for tag in tags:
        problem = claim_problem(tag, policies, evaluations)
        if problem is not None:
            findings.append(problem)
            holds = False
            continue
        if tag.libc not in evaluations or tag.version is None:
            continue  # linux_<arch>: the content always satisfies it
        found = evaluations[str(tag.libc)]
        rules = found.ladder.get(tag.policy_name or "") or found.ladder.for_version(tag.version)
        if rules is None:
            detail = PolicyDetail(str(tag.libc), policies.arch, found.ladder.highest.tag)
            findings.append(Finding(FindingKind.NO_SUCH_POLICY, tag=tag.tag, detail=detail))
            holds = False
            continue
        if tag.libc == policies.libc and (restrictive is None or tag.version < restrictive[0]):
            restrictive = (tag.version, rules)
        if any(p.version is not None and p.version <= tag.version for p in found.satisfied):
            continue
        holds = False
        findings.extend(reason.for_tag(tag.tag) for reason in found.reasons[rules.name])
        findings.append(_broken(tag, rules, found))
    return Judgement(holds, tuple(findings), restrictive[1] if restrictive else None)


def offending_symbols(
    rules: Policy, accepted: Sequence[Elf], top: Sequence[Elf]
) -> dict[str, tuple[OffendingSymbol, ...]]:
    """Per accepted member, the imports ``rules`` forbids: blacklisted, or of too new a version."""
    top_paths = {e.path for e in top}
    result: dict[str, tuple[OffendingSymbol, ...]] = {}
    for elf in accepted:
        offending: list[OffendingSymbol] = []
        seen: set[tuple[str, str | None, str]] = set()
        if elf.path in top_paths:  # the ELF files blacklisted_symbols judges
            for lib in sorted(set(rules.blacklist) & set(elf.info.needed)):
                for sym in elf.info.undefined:
                    key = (sym.name, sym.version, lib)
                    if not sym.weak and sym.name in rules.blacklist[lib] and key not in seen:
                        seen.add(key)
                        offending.append(OffendingSymbol(*key))
        for sym in elf.info.undefined:
            if sym.version is None or sym.library is None:
                continue
            if sym.library.startswith("ld-linux") or sym.library in ("ld64.so.1", "ld64.so.2"):
                continue
            key = (sym.name, sym.version, sym.library)
            if key not in seen and not rules.allows_version(sym.version):
                seen.add(key)
                offending.append(OffendingSymbol(*key))
        # RECORD may list a member twice: both entries add to its one report, as they always did.
        result[elf.path] = result.get(elf.path, ()) + tuple(offending)
    return result


__all__ = ["Judgement", "claim_problem", "judge_claims", "offending_symbols"]
