"""What `zigwheel check` finds wrong with a wheel, as values: kind, tag, member, typed detail."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Union


class FindingKind(enum.Enum):
    """Every kind of problem the check reports; the values are stable, kebab-case ids."""

    # The input itself
    NO_SUCH_PATH = "no-such-path"
    NO_WHEELS_IN_FOLDER = "no-wheels-in-folder"
    BAD_WHEEL_NAME = "bad-wheel-name"
    NOT_A_FILE = "not-a-file"
    WHEEL_UNREADABLE = "wheel-unreadable"
    # Reading the archive
    UNSAFE_MEMBER_NAME = "unsafe-member-name"
    NO_RECORD = "no-record"
    MISSING_MEMBER = "missing-member"
    UNLISTED_MEMBER = "unlisted-member"
    RECORD_MISMATCH = "record-mismatch"
    DUPLICATE_MEMBER = "duplicate-member"
    UNREADABLE_MEMBER = "unreadable-member"
    ELF_VIEWS_DISAGREE = "elf-views-disagree"
    EXTENSION_SUFFIX_MISMATCH = "extension-suffix-mismatch"
    # Selecting the ELF files
    PURELIB_ELF = "purelib-elf"
    MIXED_LIBC = "mixed-libc"
    OTHER_LIBC = "other-libc"
    PLATFORM_TAG_WITHOUT_ELF = "platform-tag-without-elf"
    NO_ELF_FOR_ARCH = "no-elf-for-arch"
    # Evaluating a policy
    LIBRARY_NOT_ALLOWED = "library-not-allowed"
    LIBPYTHON_LINKED = "libpython-linked"
    BLACKLISTED_SYMBOL = "blacklisted-symbol"
    TOO_NEW_SYMBOL_VERSION = "too-new-symbol-version"
    ISA_UNREADABLE = "isa-unreadable"
    ISA_EXTENSION = "isa-extension"
    PYFPE_BUILD = "pyfpe-build"
    UCS2_BUILD = "ucs2-build"
    # Judging the claimed tags
    ANY_TAG_WITH_ELF = "any-tag-with-elf"
    NOT_LINUX_TAG = "not-linux-tag"
    ARCH_MISMATCH = "arch-mismatch"
    LIBC_MISMATCH = "libc-mismatch"
    NO_SUCH_POLICY = "no-such-policy"
    CLAIM_BROKEN = "claim-broken"


@dataclass(frozen=True)
class PathDetail:
    """The path given on the command line that the finding is about."""

    path: str


@dataclass(frozen=True)
class ErrorDetail:
    """Why a file or member could not be read, in the reader's words."""

    error: str


@dataclass(frozen=True)
class RecordDetail:
    """What RECORD says of a member (``listed``) against what the archive holds (``actual``)."""

    field: str  # "size", or the hash algorithm ("sha256")
    listed: str
    actual: str


@dataclass(frozen=True)
class SuffixDetail:
    """An extension module's file-name suffix against the ones the wheel's tags can import."""

    found: str  # e.g. "cpython-311-x86_64-linux-gnu"
    expected: tuple[str, ...]  # the suffixes (without ".so") that would import, e.g. "abi3"


@dataclass(frozen=True)
class MembersDetail:
    """The members a finding is about, when it is about several at once."""

    members: tuple[str, ...]


@dataclass(frozen=True)
class LibcDetail:
    """A libc an ELF file links (``found``) against the one expected of it."""

    found: str  # "glibc" or "musl"
    expected: str | None = None  # the wheel's (or tag's) libc
    soname: str | None = None  # the DT_NEEDED entry that gave the other libc away


@dataclass(frozen=True)
class ArchDetail:
    """The architecture of the ELF files (``arch``), against a tag's or the ones found."""

    arch: str | None
    claimed: str | None = None  # the architecture a tag names
    found: tuple[str, ...] = ()  # architectures (or ELF machines) of the ELF files present


@dataclass(frozen=True)
class LibraryDetail:
    """An external library the members link and the policy neither allows nor finds bundled."""

    members: tuple[str, ...]
    library: str
    policy: str  # policy name, e.g. "manylinux_2_17"


@dataclass(frozen=True)
class SymbolsDetail:
    """Imported symbols a policy forbids: blacklisted (version None) or of a too-new version."""

    members: tuple[str, ...]
    library: str
    policy: str
    symbols: tuple[str, ...]  # sorted, unique; may be empty for a version no symbol names
    version: str | None = None


@dataclass(frozen=True)
class IsaDetail:
    """An instruction-set requirement beyond the architecture's baseline, or why it is unknown."""

    arch: str
    level: str | None = None  # e.g. "x86_64_v3"
    error: str | None = None


@dataclass(frozen=True)
class PolicyDetail:
    """A claimed tag no policy of the ladder matches."""

    libc: str
    arch: str
    oldest: str  # the most compatible policy's tag for that architecture


@dataclass(frozen=True)
class ClaimDetail:
    """A claimed tag that does not hold, and the ways out."""

    policy: str  # the policy the tag claims
    flag: str  # the `zigwheel build` option that targets it, e.g. "--manylinux 2_17"
    better: str | None  # a tag the content does satisfy, if any
    bundle: bool  # the content needs libraries from the host
    # Rebuilding for the policy can help (too-new symbol versions, ISA level); False when only
    # libraries or symbols stand in the way, which a rebuild with the same flag never changes.
    rebuild: bool = True


Detail = Union[
    PathDetail,
    ErrorDetail,
    RecordDetail,
    SuffixDetail,
    MembersDetail,
    LibcDetail,
    ArchDetail,
    LibraryDetail,
    SymbolsDetail,
    IsaDetail,
    PolicyDetail,
    ClaimDetail,
]


@dataclass(frozen=True)
class Finding:
    """One problem: what kind, for which claimed tag and member (when it has one), and the data."""

    kind: FindingKind
    tag: str | None = None
    member: str | None = None
    detail: Detail | None = None

    def for_tag(self, tag: str) -> Finding:
        """The same finding, as a reason why ``tag`` does not hold."""
        return replace(self, tag=tag)


__all__ = [
    "ArchDetail",
    "ClaimDetail",
    "Detail",
    "ErrorDetail",
    "Finding",
    "FindingKind",
    "IsaDetail",
    "LibcDetail",
    "LibraryDetail",
    "MembersDetail",
    "PathDetail",
    "PolicyDetail",
    "RecordDetail",
    "SuffixDetail",
    "SymbolsDetail",
]
