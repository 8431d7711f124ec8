"""The words for each check finding: the one place that turns a Finding into a problem line."""

from __future__ import annotations

from typing import TypeVar

from zigwheel.compliance.findings import (
    ArchDetail,
    ClaimDetail,
    ErrorDetail,
    Finding,
    FindingKind,
    IsaDetail,
    LibcDetail,
    LibraryDetail,
    MembersDetail,
    PathDetail,
    PolicyDetail,
    RecordDetail,
    SuffixDetail,
    SymbolsDetail,
)
from zigwheel.compliance.policy import MUSL

_MAX_SYMBOLS_SHOWN = 3
# Kinds whose line starts with "<tag>: " when they are a reason why a claimed tag fails.
_TAG_PREFIXED = frozenset(
    {
        FindingKind.LIBRARY_NOT_ALLOWED,
        FindingKind.LIBPYTHON_LINKED,
        FindingKind.BLACKLISTED_SYMBOL,
        FindingKind.TOO_NEW_SYMBOL_VERSION,
        FindingKind.ISA_UNREADABLE,
        FindingKind.ISA_EXTENSION,
        FindingKind.PYFPE_BUILD,
        FindingKind.UCS2_BUILD,
        FindingKind.PLATFORM_TAG_WITHOUT_ELF,
        FindingKind.NO_SUCH_POLICY,
    }
)
_D = TypeVar("_D")


def one_line(text: str) -> str:
    """``text`` with control characters (from names inside a hostile file) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def render_finding(finding: Finding) -> str:
    """The problem line of one finding, exactly as `zigwheel check` prints it (one line)."""
    body = _body(finding)
    if finding.tag is not None and finding.kind in _TAG_PREFIXED:
        body = f"{finding.tag}: {body}"
    return one_line(body)


def _detail(finding: Finding, kind: type[_D]) -> _D:
    detail = finding.detail
    if not isinstance(detail, kind):
        msg = f"a {finding.kind.value} finding carries {type(detail).__name__}, not {kind.__name__}"
        raise TypeError(msg)
    return detail


def _member(finding: Finding) -> str:
    return finding.member or "?"


def _member_problem(member: str, problem: str) -> str:
    """One line for a member that could not be read or parsed, naming the member once."""
    problem = problem.removeprefix(f"member {member} ").removeprefix(f"member {member}: ")
    return f"{member}: {problem}"


def _libc_word(libc: str | None) -> str:
    return "musl" if libc == MUSL else "glibc"


def _symbols(detail: SymbolsDetail) -> str:
    shown = ", ".join(detail.symbols[:_MAX_SYMBOLS_SHOWN])
    more = len(detail.symbols) - _MAX_SYMBOLS_SHOWN
    return f"{shown}{f' and {more} more' if more > 0 else ''}"


def _body(finding: Finding) -> str:  # noqa: PLR0911, PLR0912 - one branch per kind
    kind = finding.kind
    if kind in (FindingKind.BAD_WHEEL_NAME, FindingKind.WHEEL_UNREADABLE):
        return _detail(finding, ErrorDetail).error
    if kind is FindingKind.NO_SUCH_PATH:
        return f"{_detail(finding, PathDetail).path}: no such file or folder"
    if kind is FindingKind.NO_WHEELS_IN_FOLDER:
        return f"{_detail(finding, PathDetail).path} holds no .whl files"
    if kind is FindingKind.NOT_A_FILE:
        return f"{_detail(finding, PathDetail).path} is not a file"
    if kind is FindingKind.UNSAFE_MEMBER_NAME:
        return f"member name {_member(finding)!r} is unsafe (absolute or '..' path)"
    if kind is FindingKind.NO_RECORD:
        return "the wheel has no single .dist-info/RECORD file"
    if kind is FindingKind.MISSING_MEMBER:
        return f"{_member(finding)} is listed in RECORD but missing from the wheel"
    if kind is FindingKind.UNLISTED_MEMBER:
        return f"{_member(finding)} is in the wheel but not listed in RECORD (installers unpack it)"
    if kind is FindingKind.RECORD_MISMATCH:
        record = _detail(finding, RecordDetail)
        return (
            f"{_member(finding)}: its {record.field} is {record.actual}, "
            f"but RECORD says {record.listed}"
        )
    if kind is FindingKind.DUPLICATE_MEMBER:
        return f"the archive holds {_member(finding)} more than once"
    if kind is FindingKind.ELF_VIEWS_DISAGREE:
        return (
            f"{_member(finding)}: its section headers disagree with what the loader reads "
            f"({_detail(finding, ErrorDetail).error})"
        )
    if kind is FindingKind.EXTENSION_SUFFIX_MISMATCH:
        suffix = _detail(finding, SuffixDetail)
        expected = " or ".join(f".{s}.so" for s in suffix.expected) or "a plain .so"
        return (
            f"{_member(finding)} is named for .{suffix.found}.so, which the wheel's tags "
            f"cannot import (expected {expected})"
        )
    if kind is FindingKind.UNREADABLE_MEMBER:
        return _member_problem(_member(finding), _detail(finding, ErrorDetail).error)
    if kind is FindingKind.PURELIB_ELF:
        members = ", ".join(_detail(finding, MembersDetail).members)
        return (
            f"shared libraries in a purelib folder ({members}): "
            "a platform wheel must put them in platlib"
        )
    if kind is FindingKind.MIXED_LIBC:
        return f"{_member(finding)} mixes glibc and musl ({_detail(finding, LibcDetail).soname})"
    if kind is FindingKind.OTHER_LIBC:
        libc = _detail(finding, LibcDetail)
        wheel = "musllinux" if libc.expected == MUSL else "manylinux"
        return f"{_member(finding)} links {_libc_word(libc.found)} in a {wheel} wheel"
    if kind is FindingKind.PLATFORM_TAG_WITHOUT_ELF:
        return "the wheel contains no ELF file; tag it '-none-any' instead"
    if kind is FindingKind.NO_ELF_FOR_ARCH:
        arch = _detail(finding, ArchDetail)
        where = arch.arch or "the claimed architecture"
        return f"no ELF file for {where} (found {', '.join(arch.found)})"
    if kind in (FindingKind.LIBRARY_NOT_ALLOWED, FindingKind.LIBPYTHON_LINKED):
        lib = _detail(finding, LibraryDetail)
        return (
            f"{', '.join(lib.members)} links {lib.library}, which {lib.policy} does not allow "
            "and the wheel does not bundle"
        )
    if kind is FindingKind.BLACKLISTED_SYMBOL:
        sym = _detail(finding, SymbolsDetail)
        return (
            f"{', '.join(sym.members)} uses {', '.join(sym.symbols)} from {sym.library}, "
            f"which {sym.policy} forbids"
        )
    if kind is FindingKind.TOO_NEW_SYMBOL_VERSION:
        sym = _detail(finding, SymbolsDetail)
        text = f"{', '.join(sym.members)} needs {sym.version} from {sym.library}"
        return f"{text} ({_symbols(sym)})" if sym.symbols else text
    if kind is FindingKind.ISA_UNREADABLE:
        return f"{_member(finding)}: {_detail(finding, IsaDetail).error}"
    if kind is FindingKind.ISA_EXTENSION:
        isa = _detail(finding, IsaDetail)
        return (
            f"{_member(finding)} needs {isa.level} instructions (only baseline "
            f"{isa.arch} is portable)"
        )
    if kind is FindingKind.PYFPE_BUILD:
        return f"{_member(finding)} uses PyFPE_jbuf (an fpectl build of Python)"
    if kind is FindingKind.UCS2_BUILD:
        return f"{_member(finding)} was built for a narrow-unicode (UCS2) Python"
    return _claim_body(finding)


def _claim_body(finding: Finding) -> str:
    kind, tag = finding.kind, finding.tag or "?"
    if kind is FindingKind.ANY_TAG_WITH_ELF:
        arch = _detail(finding, ArchDetail)
        return f"the wheel is tagged 'any' but contains {arch.arch} ELF files"
    if kind is FindingKind.NOT_LINUX_TAG:
        return f"{tag} is not a Linux platform tag"
    if kind is FindingKind.ARCH_MISMATCH:
        arch = _detail(finding, ArchDetail)
        return f"{tag} is for {arch.claimed}, but the ELF files are {arch.arch}"
    if kind is FindingKind.LIBC_MISMATCH:
        libc = _detail(finding, LibcDetail)
        return f"{tag} promises {libc.expected}, but the ELF files are built for {libc.found}"
    if kind is FindingKind.NO_SUCH_POLICY:
        policy = _detail(finding, PolicyDetail)
        return (
            f"no {policy.libc} policy that old exists for {policy.arch} "
            f"(the oldest is {policy.oldest})"
        )
    if kind is FindingKind.CLAIM_BROKEN:
        claim = _detail(finding, ClaimDetail)
        ways = [f"rebuild with `zigwheel build {claim.flag}`"] if claim.rebuild else []
        if claim.better is not None:
            ways.append(f"claim {claim.better} instead")
        advice = ", or ".join(ways)
        if claim.bundle:
            bundle = "bundle the libraries it lacks into the wheel (`auditwheel repair`)"
            advice = f"{advice}; {bundle}" if advice else bundle
        return f"{tag} does not hold: {advice}" if advice else f"{tag} does not hold"
    msg = f"no words for the finding kind {kind.value}"
    raise ValueError(msg)


__all__ = ["one_line", "render_finding"]
