"""Check stage 1, reading the archive: which members are ELF files, each one parsed."""

from __future__ import annotations

import contextlib
import posixpath
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from zigwheel.compliance.archive import WheelArchive, unsafe_member_name
from zigwheel.compliance.elf import ElfInfo, is_elf, module_init_names, parse_elf
from zigwheel.compliance.findings import ErrorDetail, Finding, FindingKind
from zigwheel.errors import UnreadableInputError

_WORKERS = 2  # members inflated at once
# Members above this size are inflated and parsed one at a time, so memory holds at most one big
# member (up to Limits.max_member_bytes) and one smaller one, not two multi-GB CUDA libraries.
_BIG_MEMBER = 256 << 20


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


def _members(archive: WheelArchive, findings: list[Finding]) -> list[str]:
    for member in archive.names:
        if unsafe_member_name(member):
            findings.append(Finding(FindingKind.UNSAFE_MEMBER_NAME, member=member))
    record = archive.record_names()
    if record is None:
        findings.append(Finding(FindingKind.NO_RECORD))
        return list(archive.iter_files())
    return record


def parse_member(archive: WheelArchive, member: str, lock: threading.Lock | None = None) -> Elf:
    """Inflate and parse one ELF member; UnreadableInputError when that fails.

    With ``lock``, a member bigger than 256 MiB is inflated only while holding it.
    """
    init = module_init_names(posixpath.basename(member))
    big = lock is not None and archive.size(member) > _BIG_MEMBER
    with lock if big and lock is not None else contextlib.nullcontext():
        info = parse_elf(archive.read(member), init_names=list(init))
    if info.python_init is None:
        return Elf(member, info)
    return Elf(member, info, extension=True, py_major=init[info.python_init])


def _loader(archive: WheelArchive) -> Callable[[str], Elf | str]:
    lock = threading.Lock()

    def load(member: str) -> Elf | str:
        try:
            return parse_member(archive, member, lock)
        except UnreadableInputError as err:
            return str(err)

    return load


def read_wheel(archive: WheelArchive) -> WheelContent:
    """Every ELF member the wheel's RECORD lists (or, without one, every file), parsed."""
    findings: list[Finding] = []
    readable = True
    candidates: list[str] = []
    for member in _members(archive, findings):
        if member.endswith((".py", "/")):
            continue
        if not archive.has(member):
            findings.append(Finding(FindingKind.MISSING_MEMBER, member=member))
            continue
        try:
            if is_elf(archive.head(member)):
                candidates.append(member)
        except UnreadableInputError as err:
            findings.append(
                Finding(FindingKind.UNREADABLE_MEMBER, member=member, detail=ErrorDetail(str(err)))
            )
            readable = False
    # Inflating (zlib releases the GIL) and parsing overlap across a few threads; the results
    # keep RECORD order, which decides the architecture and libc like auditwheel.
    workers = min(_WORKERS, len(candidates)) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_loader(archive), candidates))
    elves: list[Elf] = []
    for member, loaded in zip(candidates, results):
        if isinstance(loaded, str):
            findings.append(
                Finding(FindingKind.UNREADABLE_MEMBER, member=member, detail=ErrorDetail(loaded))
            )
            readable = False
        else:
            elves.append(loaded)
    return WheelContent(tuple(elves), frozenset(archive.directories()), tuple(findings), readable)


__all__ = ["Elf", "WheelContent", "parse_member", "read_wheel"]
