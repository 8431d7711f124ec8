"""Check stage 1, reading the archive: every member against RECORD, each ELF member parsed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import posixpath
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from zigwheel.compliance.archive import Keep, RecordEntry, WheelArchive, unsafe_member_name
from zigwheel.compliance.elf import (
    BytesNotKept,
    ElfInfo,
    is_elf,
    loader_ranges,
    module_init_names,
    parse_elf_pieces,
)
from zigwheel.compliance.findings import ErrorDetail, Finding, FindingKind, RecordDetail
from zigwheel.errors import UnreadableInputError

_WORKERS = 2  # members inflated at once
# Members above this size are inflated and parsed one at a time, so memory holds at most one big
# member (up to Limits.max_member_bytes) and one smaller one, not two multi-GB CUDA libraries.
_BIG_MEMBER = 256 << 20
# RECORD's hashes must be sha256 or stronger (the wheel spec); these are the ones hashlib has.
_HASHES = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b"})
# Members a RECORD cannot list: itself is listed without a hash, its signatures not at all.
_UNLISTED_OK = ("RECORD.jws", "RECORD.p7s")
# What a member over 256 MiB is inflated under: a thread lock, or a process lock shared by the
# processes checking several wheels at once (compliance.batch).
MemberLock = AbstractContextManager[Any]


@dataclass(frozen=True)
class Elf:
    """One parsed ELF member of the wheel."""

    path: str  # member name inside the wheel
    info: ElfInfo
    extension: bool = False  # defines the module-init function its file name asks for
    py_major: int | None = None  # the Python major version that init function is for


@dataclass(frozen=True)
class WheelContent:
    """What reading the archive gave: the ELF members (RECORD order) and what went wrong."""

    elves: tuple[Elf, ...]
    directories: frozenset[str]  # every folder inside the wheel ("" is its root)
    findings: tuple[Finding, ...]
    readable: bool  # False when some member could not be read: no verdict rests on half a wheel


@dataclass(frozen=True)
class _Member:
    """What reading one member gave: its ELF (if it is one), RECORD findings or why it failed."""

    elf: Elf | None = None
    findings: tuple[Finding, ...] = ()
    error: str | None = None


def _members(
    archive: WheelArchive, findings: list[Finding]
) -> list[tuple[str, RecordEntry | None]]:
    """Every file member, RECORD's order first (it decides arch and libc), then the unlisted."""
    for member in archive.names:
        if unsafe_member_name(member):
            findings.append(Finding(FindingKind.UNSAFE_MEMBER_NAME, member=member))
    for member in archive.duplicates:
        findings.append(Finding(FindingKind.DUPLICATE_MEMBER, member=member))
    entries = archive.record_entries()
    if entries is None:
        findings.append(Finding(FindingKind.NO_RECORD))
        return [(member, None) for member in archive.iter_files()]
    record = archive.record_path()
    listed: dict[str, RecordEntry] = {}
    for entry in entries:
        listed.setdefault(entry.path, entry)
    order: list[tuple[str, RecordEntry | None]] = []
    for path, entry in listed.items():
        if path.endswith("/"):
            continue
        if not archive.has(path):
            findings.append(Finding(FindingKind.MISSING_MEMBER, member=path))
            continue
        order.append((path, None if path == record else entry))
    for member in archive.iter_files():
        if member in listed:
            continue
        # pip unpacks every member, listed or not: each is read, and an unlisted one is a problem
        signature = member.startswith(f"{record}.") and member.endswith(_UNLISTED_OK)
        if member != record and not signature:
            findings.append(Finding(FindingKind.UNLISTED_MEMBER, member=member))
        order.append((member, None))
    return order


def _record_findings(
    member: str, entry: RecordEntry, size: int, digest: bytes | None, algorithm: str | None
) -> tuple[Finding, ...]:
    found: list[Finding] = []
    if entry.size and entry.size != str(size):
        detail = RecordDetail("size", entry.size, str(size))
        found.append(Finding(FindingKind.RECORD_MISMATCH, member=member, detail=detail))
    if entry.hash:
        listed = entry.hash.partition("=")[2].rstrip("=")
        if algorithm is None:
            name = entry.hash.partition("=")[0]
            why = f"not checked ({name} is not sha256 or better)"
            detail = RecordDetail("hash", entry.hash, why)
            found.append(Finding(FindingKind.RECORD_MISMATCH, member=member, detail=detail))
        elif digest is not None:
            actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if actual != listed:
                detail = RecordDetail(algorithm, listed, actual)
                found.append(Finding(FindingKind.RECORD_MISMATCH, member=member, detail=detail))
    return tuple(found)


def _algorithm(entry: RecordEntry | None) -> str | None:
    if entry is None or not entry.hash:
        return None
    name = entry.hash.partition("=")[0]
    return name if name in _HASHES and name in hashlib.algorithms_available else None


def parse_member(
    archive: WheelArchive,
    member: str,
    lock: MemberLock | None = None,
    entry: RecordEntry | None = None,
) -> _Member:
    """Inflate one member once: check it against its RECORD row, parse it if it is an ELF file.

    With ``lock``, a member bigger than 256 MiB is inflated only while holding it. A member that
    cannot be read (or parsed) gives its error; the other findings are RECORD's.
    """
    big = lock is not None and archive.size(member) > _BIG_MEMBER
    algorithm = _algorithm(entry)
    # auditwheel's rule: a .py file is never taken for a library, whatever its bytes
    python = member.endswith(".py")

    def keep(head: bytes) -> Keep:
        if python or not is_elf(head):
            return False
        ranges = loader_ranges(head)
        return True if ranges is None else ranges

    try:
        with lock if big and lock is not None else contextlib.nullcontext():
            scanned = archive.scan(member, keep=keep, algorithm=algorithm)
            record = (
                _record_findings(member, entry, scanned.size, scanned.digest, algorithm)
                if entry is not None
                else ()
            )
            if scanned.pieces is None:
                return _Member(findings=record)
            init = module_init_names(posixpath.basename(member))
            try:
                info = parse_elf_pieces(scanned.pieces, scanned.size, init_names=list(init))
            except BytesNotKept:
                # A table where no linker puts one (in the code, among the debug sections):
                # inflate the member again, whole. A crafted file costs one more inflation.
                del scanned
                scanned = archive.scan(member, keep=lambda _head: True, again=True)
                assert scanned.pieces is not None
                info = parse_elf_pieces(scanned.pieces, scanned.size, init_names=list(init))
            del scanned  # the bytes go before the next big member comes in
    except UnreadableInputError as err:
        return _Member(error=str(err))
    if info.views_error is not None:  # a tool reading the section headers sees other needs
        detail = ErrorDetail(info.views_error)
        record += (Finding(FindingKind.ELF_VIEWS_DISAGREE, member=member, detail=detail),)
    if info.python_init is None:
        return _Member(Elf(member, info), record)
    return _Member(Elf(member, info, extension=True, py_major=init[info.python_init]), record)


def _loader(
    archive: WheelArchive, lock: MemberLock
) -> Callable[[tuple[str, RecordEntry | None]], _Member]:
    def load(item: tuple[str, RecordEntry | None]) -> _Member:
        return parse_member(archive, item[0], lock, item[1])

    return load


def read_wheel(archive: WheelArchive, lock: MemberLock | None = None) -> WheelContent:
    """Every member of the wheel read once and checked against RECORD; the ELF ones parsed.

    A member over 256 MiB is inflated only while holding ``lock`` (one of this call's own when
    None): memory holds one such member at a time among all who share the lock.
    """
    findings: list[Finding] = []
    readable = True
    members = _members(archive, findings)
    # Inflating (zlib releases the GIL) and parsing overlap across a few threads; the results
    # keep RECORD order, which decides the architecture and libc like auditwheel.
    workers = min(_WORKERS, len(members)) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_loader(archive, lock or threading.Lock()), members))
    elves: list[Elf] = []
    for (member, _entry), loaded in zip(members, results):
        findings.extend(loaded.findings)
        if loaded.error is not None:
            detail = ErrorDetail(loaded.error)
            findings.append(Finding(FindingKind.UNREADABLE_MEMBER, member=member, detail=detail))
            readable = False
        elif loaded.elf is not None:
            elves.append(loaded.elf)
    return WheelContent(tuple(elves), frozenset(archive.directories()), tuple(findings), readable)


__all__ = ["Elf", "MemberLock", "WheelContent", "parse_member", "read_wheel"]
