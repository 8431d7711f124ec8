"""Check stage 4, evaluating each policy: why the content fails it; auditwheel's overall policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from zigwheel.compliance.elf import STT_FUNC, STT_NOTYPE
from zigwheel.compliance.findings import (
    Finding,
    FindingKind,
    IsaDetail,
    LibraryDetail,
    SymbolsDetail,
)
from zigwheel.compliance.policy import GLIBC, MUSL, PlatformTag, Policy, PolicyLadder, ladder
from zigwheel.compliance.read import Elf
from zigwheel.compliance.resolve import LIBPYTHON_RE, Resolution

_PYFPE = frozenset({"PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"})


@dataclass(frozen=True)
class Evaluation:
    """One ladder's verdict: each policy's failures, the policies satisfied, the overall one."""

    ladder: PolicyLadder
    reasons: Mapping[str, tuple[Finding, ...]]  # policy name -> why the content fails it
    satisfied: tuple[Policy, ...]
    overall: Policy  # auditwheel's overall policy
    external: Mapping[str, bool]  # policy name -> the content needs libraries from the host


def _keeps(policy: Policy) -> Callable[[str], bool]:
    def keep(lib: str) -> bool:
        return not ("ld-linux" in lib or lib in ("ld64.so.2", "ld64.so.1")) and (
            lib not in policy.whitelist
        )

    return keep


def external_libraries(policy: Policy, resolution: Resolution) -> tuple[Finding, ...]:
    """The libraries the top-level ELF files need that ``policy`` lacks and the wheel lacks too."""
    keep = _keeps(policy)
    found: dict[str, list[str]] = {}
    for elf in resolution.top:
        libs = resolution.trees[elf.path]
        pending = [lib for lib in elf.info.needed if keep(lib)]
        closure: set[str] = set()
        while pending:
            lib = pending.pop()
            if lib in closure:
                continue
            closure.add(lib)
            entry = libs.get(lib)
            pending.extend(d for d in (entry.needed if entry else ()) if keep(d))
        for lib in sorted(closure):
            entry = libs.get(lib)
            if entry is None or entry.in_wheel is None:
                found.setdefault(lib, []).append(elf.path)
    libpython, other = FindingKind.LIBPYTHON_LINKED, FindingKind.LIBRARY_NOT_ALLOWED
    return tuple(
        Finding(
            libpython if LIBPYTHON_RE.match(lib) else other,
            member=paths[0] if len(paths) == 1 else None,
            detail=LibraryDetail(tuple(paths), lib, policy.name),
        )
        for lib, paths in sorted(found.items())
    )


def blacklisted_symbols(policy: Policy, top: Sequence[Elf]) -> tuple[Finding, ...]:
    """The non-weak imports of the top-level ELF files that ``policy`` blacklists."""
    result: list[Finding] = []
    for elf in top:
        names: set[str] | None = None
        for lib in sorted(set(policy.blacklist) & set(elf.info.needed)):
            if names is None:
                names = {s.name for s in elf.info.undefined if not s.weak} | {"*"}
            hits = tuple(sorted(policy.blacklist[lib] & names))
            if hits:
                detail = SymbolsDetail((elf.path,), lib, policy.name, hits)
                found = Finding(FindingKind.BLACKLISTED_SYMBOL, member=elf.path, detail=detail)
                result.append(found)
    return tuple(result)


def _version_finding(
    policy: Policy, lib: str, version: str, paths: list[str], by_path: Mapping[str, Elf]
) -> Finding:
    members = tuple(dict.fromkeys(paths))
    symbols = {
        sym.name
        for path in members
        for sym in by_path[path].info.undefined
        if sym.version == version and sym.library == lib
    }
    detail = SymbolsDetail(members, lib, policy.name, tuple(sorted(symbols)), version)
    member = members[0] if len(members) == 1 else None
    return Finding(FindingKind.TOO_NEW_SYMBOL_VERSION, member=member, detail=detail)


def whole_wheel_findings(
    arch: str, accepted: Sequence[Elf], top: Sequence[Elf]
) -> tuple[Finding, ...]:
    """What fails every policy but linux: a non-baseline ISA, an fpectl or UCS2 Python build."""
    found: list[Finding] = []
    for elf in top:
        if elf.info.isa_error:
            detail = IsaDetail(arch, error=elf.info.isa_error)
            found.append(Finding(FindingKind.ISA_UNREADABLE, member=elf.path, detail=detail))
        elif elf.info.isa_level:
            detail = IsaDetail(arch, level=elf.info.isa_level)
            found.append(Finding(FindingKind.ISA_EXTENSION, member=elf.path, detail=detail))
    for elf in accepted:
        if not elf.extension:
            continue
        undefined = elf.info.undefined
        if any(s.name in _PYFPE and s.type in (STT_FUNC, STT_NOTYPE) for s in undefined):
            found.append(Finding(FindingKind.PYFPE_BUILD, member=elf.path))
        if elf.py_major == 2 and any(
            "PyUnicodeUCS2_" in s.name and s.type == STT_FUNC for s in undefined
        ):
            found.append(Finding(FindingKind.UCS2_BUILD, member=elf.path))
    return tuple(found)


def evaluate_policies(
    policies: PolicyLadder, accepted: Sequence[Elf], resolution: Resolution
) -> Evaluation:
    """Every policy's failures, and auditwheel's overall policy, for one ladder."""
    reasons: dict[str, list[Finding]] = {p.name: [] for p in policies}
    external: dict[str, bool] = {}
    blacklisted: dict[str, bool] = {}
    for p in policies:
        if p.is_linux:
            external[p.name] = blacklisted[p.name] = False
            continue
        libs_p = external_libraries(p, resolution)
        bl_p = blacklisted_symbols(p, resolution.top)
        external[p.name] = bool(libs_p)
        blacklisted[p.name] = bool(bl_p)
        reasons[p.name].extend(libs_p)
        reasons[p.name].extend(bl_p)

    versions: dict[tuple[str, str], list[str]] = {}
    for elf in accepted:
        for lib, version in elf.info.policy_versions():
            versions.setdefault((lib, version), []).append(elf.path)
    all_versions = {v for _, v in versions}
    by_path = {elf.path: elf for elf in accepted}
    for p in policies:
        if p.is_linux:
            continue
        for (lib, version), paths in sorted(versions.items()):
            if not p.allows_version(version):
                reasons[p.name].append(_version_finding(p, lib, version, paths, by_path))

    whole_wheel = whole_wheel_findings(policies.arch, accepted, resolution.top)
    for p in policies:
        if not p.is_linux:
            reasons[p.name].extend(whole_wheel)

    # auditwheel's overall tag: the minimum over its per-criterion maxima. For musl it keeps
    # only the newest musllinux policy (its answer on any non-musl host).
    candidates = list(policies)
    if policies.libc == MUSL and len(candidates) > 1:
        candidates = [policies.linux, min(candidates[1:], key=lambda p: p.priority)]

    def best(ok: Callable[[Policy], bool]) -> Policy:
        return max((p for p in candidates if p.is_linux or ok(p)), key=lambda p: p.priority)

    overall = min(
        (
            policies.versions_policy(all_versions, among=candidates),
            best(lambda p: not external[p.name]),
            best(lambda p: not blacklisted[p.name]),
            best(lambda _p: not whole_wheel),
        ),
        key=lambda p: p.priority,
    )
    satisfied = tuple(p for p in policies if not p.is_linux and not reasons[p.name])
    frozen = {name: tuple(found) for name, found in reasons.items()}
    return Evaluation(policies, frozen, satisfied, overall, external)


def evaluate_ladders(
    policies: PolicyLadder,
    tags: Sequence[PlatformTag],
    accepted: Sequence[Elf],
    resolution: Resolution,
    *,
    libc_evidence: bool,
) -> dict[str, Evaluation]:
    """The evaluation of the wheel's own ladder, and of the other libc's when a tag claims it.

    A wheel whose ELF files show no libc (static code) may claim both libcs' tags.
    """
    evaluations = {policies.libc: evaluate_policies(policies, accepted, resolution)}
    for tag in tags:
        other = tag.libc
        if other in (GLIBC, MUSL) and other not in evaluations and not libc_evidence:
            evaluations[other] = evaluate_policies(
                ladder(other, policies.arch), accepted, resolution
            )
    return evaluations


__all__ = [
    "Evaluation",
    "blacklisted_symbols",
    "evaluate_ladders",
    "evaluate_policies",
    "external_libraries",
    "whole_wheel_findings",
]
