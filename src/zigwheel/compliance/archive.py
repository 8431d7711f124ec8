"""Read a wheel without unpacking it: file-name tags, RECORD rows, members streamed in budgets."""

from __future__ import annotations

import csv
import hashlib
import os
import posixpath
import struct
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from zigwheel.errors import UnreadableInputError

_CHUNK = 1 << 20
# What zipfile and the inflaters raise for a member whose bytes are damaged or lie.
_MEMBER_READ_ERRORS = (
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    ValueError,
    NotImplementedError,
)
_INFLATE: Any = None  # ISA-L's inflate, when installed: the zlib API, about twice as fast
try:
    from isal import isal_zlib

    _INFLATE = isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; a platform without its wheel
    pass
_HASH_THREAD_BYTES = 16 << 20


@dataclass(frozen=True)
class Limits:
    """Absolute budgets that keep a hostile wheel (zip bomb, absurd sizes) from costing unbounded
    memory and time, and never refuse a wheel that exists.

    A ratio cap refuses real wheels (a small library of zero-filled tables inflates hundreds of
    times), so the budgets count bytes: each member is inflated in chunks and counted as it
    streams (a header that lies is caught), at most ``max_member_bytes`` per member (the biggest
    CUDA libraries are about 2 GB) and ``max_wheel_bytes`` for the whole wheel, which bounds
    the time a bomb of many members costs (zeros inflate at about 1 GB/s).
    """

    max_member_bytes: int = 3 << 30  # one member, inflated
    max_wheel_bytes: int = 16 << 30  # all members read from one wheel, inflated
    max_members: int = 200_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RecordEntry:
    """One row of a wheel's RECORD: path, ``algorithm=digest`` (may be empty) and size."""

    path: str
    hash: str
    size: str


# What scan keeps of a member, decided from its first chunk: all of it (True), none (False) or
# the chunks that meet any of these byte ranges [start, end).
Keep = bool | Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Scanned:
    """One member inflated: its size, its digest (when asked for) and the bytes kept (None when
    none were), as (file offset, chunk) in the chunks they were inflated in."""

    size: int
    digest: bytes | None
    pieces: tuple[tuple[int, bytes], ...] | None


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name that matter for a platform check."""

    filename: str
    project: str
    version: str
    platforms: tuple[str, ...]  # sorted, de-duplicated platform tags (compressed sets expanded)
    pythons: tuple[tuple[str, str], ...] = ()  # sorted (interpreter, abi) tags, e.g. cp311, abi3


def parse_wheel_name(filename: str) -> WheelName:
    """Parse ``filename`` with packaging's rules; UnreadableInputError if it is not a wheel name."""
    try:
        project, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError) as err:
        msg = f"{filename} is not a wheel file name ({err})"
        raise UnreadableInputError(
            msg, hint="name it like project-1.0-cp39-abi3-linux_x86_64.whl"
        ) from err
    platforms = tuple(sorted({tag.platform for tag in tags}))
    pythons = tuple(sorted({(tag.interpreter, tag.abi) for tag in tags}))
    return WheelName(filename, str(project), str(version), platforms, pythons)


def unsafe_member_name(name: str) -> bool:
    """True for member names an installer must refuse: absolute, drive-letter or ``..`` paths."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.replace("\\", "/").split("/"))


class _Digest:
    """A hash fed chunk by chunk; with ``threaded``, on a thread of its own while the next chunk
    inflates (both release the GIL), so hashing a big member costs no time beside inflating."""

    def __init__(self, algorithm: str, *, threaded: bool) -> None:
        self._hash = hashlib.new(algorithm)
        self._pool = ThreadPoolExecutor(max_workers=1) if threaded else None
        self._pending: list[Future[None]] = []

    def update(self, chunk: bytes) -> None:
        if self._pool is None:
            self._hash.update(chunk)
            return
        self._pending.append(self._pool.submit(self._hash.update, chunk))
        if len(self._pending) > 4:  # few chunks wait for the hash: memory stays small
            self._pending.pop(0).result()

    def finish(self) -> bytes:
        """The digest of every chunk given (waits for the hashing thread, then stops it)."""
        if self._pool is not None:
            for future in self._pending:
                future.result()
            self._pool.shutdown(wait=True)
        return self._hash.digest()


def _meets(ranges: Keep, start: int, size: int) -> bool:
    """True when the ``size`` bytes from ``start`` on meet one of ``ranges``."""
    end = start + size
    return not isinstance(ranges, bool) and any(a < end and start < b for a, b in ranges)


class WheelArchive:
    """An open wheel; members are read into memory one at a time, within ``limits``."""

    def __init__(self, path: Path, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self._inflated = 0
        self._lock = threading.Lock()
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (
            OSError,
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            ValueError,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ) as err:
            msg = f"{path.name} is not a readable zip archive ({err})"
            raise UnreadableInputError(msg, hint="download or build the wheel again") from err
        if len(infos) > limits.max_members:
            self._zip.close()
            msg = (
                f"{path.name} has {len(infos)} members, more than the {limits.max_members} allowed"
            )
            raise UnreadableInputError(msg)
        self._infos = {info.filename: info for info in infos}
        self._counts = Counter(info.filename for info in infos)
        self._fd: int | None = None
        if _INFLATE is not None and hasattr(os, "pread"):
            try:
                self._fd = os.open(path, os.O_RDONLY)
            except OSError:
                self._fd = None

    def __enter__(self) -> WheelArchive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the zip file."""
        self._zip.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def names(self) -> list[str]:
        """Member names in archive order (directories included)."""
        return list(self._infos)

    def has(self, name: str) -> bool:
        """True when the archive holds a file member called ``name``."""
        return name in self._infos and not name.endswith("/")

    def directories(self) -> set[str]:
        """Every folder that exists in the archive ("" is the root), explicit or implied."""
        result = {""}
        for name in self._infos:
            parent = posixpath.dirname(name.rstrip("/")) if not name.endswith("/") else name[:-1]
            while parent and parent not in result:
                result.add(parent)
                parent = posixpath.dirname(parent)
        return result

    @property
    def duplicates(self) -> list[str]:
        """Member names the archive holds more than once (installers disagree on which wins)."""
        return sorted(name for name, count in self._counts.items() if count > 1)

    def record_path(self) -> str | None:
        """The one ``<dist-info>/RECORD`` member; None without exactly one."""
        records = [n for n in self._infos if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
        return records[0] if len(records) == 1 else None

    def record_entries(self) -> list[RecordEntry] | None:
        """The rows of ``<dist-info>/RECORD``, in order; None without exactly one RECORD."""
        record = self.record_path()
        if record is None:
            return None
        text = self.read(record).decode("utf-8", "replace")
        try:
            rows = list(csv.reader(text.splitlines()))
        except csv.Error as err:
            msg = f"{record} is not valid CSV ({err})"
            raise UnreadableInputError(msg) from err
        return [
            RecordEntry(row[0], row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else "")
            for row in rows
            if row and row[0]
        ]

    def record_names(self) -> list[str] | None:
        """Names listed in ``<dist-info>/RECORD``, in order; None without exactly one RECORD."""
        entries = self.record_entries()
        return None if entries is None else [entry.path for entry in entries]

    def head(self, name: str, size: int = 4) -> bytes:
        """The first ``size`` bytes of a member (decompresses only a little)."""
        info = self._member(name)
        try:
            with self._zip.open(info) as handle:
                return handle.read(size)
        except _MEMBER_READ_ERRORS as err:
            msg = f"member {name} cannot be read ({err})"
            raise UnreadableInputError(msg) from err

    def read(self, name: str) -> bytes:
        """The whole member, inflated in memory within the budgets."""
        scanned = self.scan(name, keep=lambda _head: True)
        assert scanned.pieces is not None
        return b"".join(chunk for _offset, chunk in scanned.pieces)

    def scan(
        self,
        name: str,
        *,
        keep: Callable[[bytes], Keep],
        algorithm: str | None = None,
        again: bool = False,
    ) -> Scanned:
        """Inflate one member in chunks, counting and hashing them as they stream.

        What ``keep`` says of the first chunk is kept in memory (an ELF file's loader tables),
        as its chunks: never copied into one buffer, which would cost about half the inflating
        time again for a big library. Other bytes are never held. With ``again`` the member was
        scanned before and is not counted against the wheel's budget a second time.
        """
        info = self._member(name)
        size = info.file_size
        if size > self.limits.max_member_bytes:
            msg = (
                f"member {name} inflates to {size} bytes, over the "
                f"{self.limits.max_member_bytes} cap for one member (zip bomb?)"
            )
            raise UnreadableInputError(msg)
        if not again:
            self._spend(name, size)
        digest = _Digest(algorithm, threaded=size > _HASH_THREAD_BYTES) if algorithm else None
        kept: list[tuple[int, bytes]] | None = None
        wanted: Keep = False
        total = 0
        try:
            for chunk in self._counted(info):
                if total == 0:
                    wanted = keep(chunk)
                    kept = [] if wanted is not False else None
                if kept is not None and (wanted is True or _meets(wanted, total, len(chunk))):
                    kept.append((total, chunk))
                if digest is not None:
                    digest.update(chunk)
                total += len(chunk)
        except UnreadableInputError:
            raise
        except _MEMBER_READ_ERRORS as err:
            msg = f"member {name} cannot be read ({err})"
            raise UnreadableInputError(msg) from err
        finally:
            result = digest.finish() if digest is not None else None
        if kept is None and size == 0 and keep(b"") is not False:
            kept = []
        return Scanned(total, result, None if kept is None else tuple(kept))

    def _counted(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's non-empty chunks, checked against the size its header gives."""
        total = 0
        for chunk in self._chunks(info):
            if chunk:
                total += len(chunk)
                if total > info.file_size:  # the header lied about the size
                    msg = f"member {info.filename} is larger than its header says"
                    raise UnreadableInputError(msg)
                yield chunk
        if total != info.file_size:
            msg = f"member {info.filename} is smaller than its header says"
            raise UnreadableInputError(msg)

    def inflate(self, name: str) -> Iterator[bytes]:
        """A member's bytes in chunks, with the inflater the check uses (no budget counted)."""
        return self._chunks(self._member(name))

    def _chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's bytes, inflated in chunks of at most 1 MiB.

        A deflated member is inflated here from its raw stream with ISA-L when it is installed
        (about twice zlib's speed on the libraries of real wheels), read with pread so threads
        share no file position; anything else goes through zipfile.
        """
        if (
            _INFLATE is None
            or self._fd is None
            or info.compress_type != zipfile.ZIP_DEFLATED
            or info.flag_bits & 0x1  # encrypted: zipfile says so in its own words
        ):
            with self._zip.open(info) as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk
            return
        header = os.pread(self._fd, 30, info.header_offset)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            msg = "bad local file header"
            raise zipfile.BadZipFile(msg)
        name_length, extra_length = struct.unpack_from("<HH", header, 26)
        offset = info.header_offset + 30 + name_length + extra_length
        remaining = info.compress_size
        inflater = _INFLATE.decompressobj(-15)
        crc = 0
        while not inflater.eof:
            if inflater.unconsumed_tail:
                raw = inflater.unconsumed_tail
            elif remaining > 0:
                raw = os.pread(self._fd, min(_CHUNK, remaining), offset)
                if not raw:
                    msg = "the archive ends inside the member"
                    raise EOFError(msg)
                offset += len(raw)
                remaining -= len(raw)
            else:
                raw = b""
            try:
                chunk = inflater.decompress(raw, _CHUNK)
            except _INFLATE.error as err:  # ISA-L's words for a corrupt stream
                raise zipfile.BadZipFile(str(err)) from err
            if not chunk and not raw:
                msg = "the compressed stream ends early"
                raise zipfile.BadZipFile(msg)
            crc = _INFLATE.crc32(chunk, crc)
            yield chunk
        if crc != info.CRC:
            msg = f"Bad CRC-32 for file {info.filename!r}"
            raise zipfile.BadZipFile(msg)

    def _spend(self, name: str, size: int) -> None:
        """Count ``size`` inflated bytes against the wheel's budget (before inflating them)."""
        with self._lock:  # members may be read from several threads
            if self._inflated + size > self.limits.max_wheel_bytes:
                msg = (
                    f"member {name}: the wheel's members inflate to more than "
                    f"{self.limits.max_wheel_bytes} bytes, over the cap for one wheel (zip bomb?)"
                )
                raise UnreadableInputError(msg)
            self._inflated += size

    def size(self, name: str) -> int:
        """The inflated size the archive's header gives for a member."""
        return self._member(name).file_size

    def _member(self, name: str) -> zipfile.ZipInfo:
        info = self._infos.get(name)
        if info is None:
            msg = f"member {name} is listed in RECORD but missing from the archive"
            raise UnreadableInputError(msg)
        return info

    def iter_files(self) -> Iterator[str]:
        """File members in archive order."""
        return (n for n in self._infos if not n.endswith("/"))
