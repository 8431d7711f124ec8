"""Read a wheel without unpacking it: file-name tags, RECORD order, bounded in-memory members."""

from __future__ import annotations

import csv
import posixpath
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from zigwheel.errors import UnreadableInputError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile wheel (zip bomb, absurd sizes) from costing unbounded resources.

    The absolute caps fit real wheels (CUDA libraries inflate to 2 GB). The ratio caps are what
    stop a small wheel from inflating to gigabytes: real ELF files deflate 2-5x, zero-filled
    small files far more, so a high ratio is allowed only for small members, and a member above
    ``large_member_bytes`` may inflate at most ``large_ratio`` times (a 3 GB member needs a
    150 MB compressed one). The whole wheel may inflate ``wheel_ratio`` times its file size
    beyond ``wheel_floor``, which bounds the time a many-member bomb costs.
    """

    max_member_bytes: int = 3 << 30  # one member, inflated
    max_wheel_bytes: int = 16 << 30  # all members read from one wheel, inflated
    max_ratio: int = 200  # uncompressed/compressed, checked on members above ratio_floor
    ratio_floor: int = 1 << 20
    large_member_bytes: int = 64 << 20
    large_ratio: int = 20
    wheel_ratio: int = 20
    wheel_floor: int = 1 << 30
    max_members: int = 200_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name that matter for a platform check."""

    filename: str
    project: str
    version: str
    platforms: tuple[str, ...]  # sorted, de-duplicated platform tags (compressed sets expanded)


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
    return WheelName(filename, str(project), str(version), platforms)


def unsafe_member_name(name: str) -> bool:
    """True for member names an installer must refuse: absolute, drive-letter or ``..`` paths."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.replace("\\", "/").split("/"))


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
        try:
            archive_size = path.stat().st_size
        except OSError:
            archive_size = 0
        self._wheel_budget = min(
            limits.max_wheel_bytes, max(limits.wheel_floor, limits.wheel_ratio * archive_size)
        )

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

    def record_names(self) -> list[str] | None:
        """Names listed in ``<dist-info>/RECORD``, in order; None without exactly one RECORD."""
        records = [n for n in self._infos if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
        if len(records) != 1:
            return None
        text = self.read(records[0]).decode("utf-8", "replace")
        try:
            return [row[0] for row in csv.reader(text.splitlines()) if row and row[0]]
        except csv.Error as err:
            msg = f"{records[0]} is not valid CSV ({err})"
            raise UnreadableInputError(msg) from err

    def head(self, name: str, size: int = 4) -> bytes:
        """The first ``size`` bytes of a member (decompresses only a little)."""
        info = self._member(name)
        try:
            with self._zip.open(info) as handle:
                return handle.read(size)
        except (
            OSError,
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            RuntimeError,
            ValueError,
            NotImplementedError,
        ) as err:
            msg = f"member {name} cannot be read ({err})"
            raise UnreadableInputError(msg) from err

    def read(self, name: str) -> bytearray:
        """The whole member, inflated in memory within the size and ratio limits.

        The bytes go straight into one buffer of the size the header gives (joining chunks
        would hold a multi-GB member twice for a moment).
        """
        info = self._member(name)
        limits = self.limits
        size = info.file_size
        if size > limits.max_member_bytes:
            msg = f"member {name} inflates to {size} bytes, over the {limits.max_member_bytes} cap"
            raise UnreadableInputError(msg)
        ratio = limits.large_ratio if size > limits.large_member_bytes else limits.max_ratio
        if size > limits.ratio_floor and size > ratio * max(info.compress_size, 1):
            msg = (
                f"member {name} inflates {size // max(info.compress_size, 1)}x to {size} bytes, "
                f"over the {ratio}x cap for its size (zip bomb?)"
            )
            raise UnreadableInputError(msg)
        with self._lock:  # members may be read from several threads
            if self._inflated + size > self._wheel_budget:
                msg = (
                    f"member {name}: the wheel's members inflate to more than "
                    f"{self._wheel_budget} bytes, over the cap for a wheel of its size (zip bomb?)"
                )
                raise UnreadableInputError(msg)
            self._inflated += size
        buffer = bytearray(size)
        total = 0
        try:
            with self._zip.open(info) as handle:
                while True:
                    chunk = handle.read(_CHUNK)
                    if not chunk:
                        break
                    if total + len(chunk) > size:  # the header lied about the size
                        msg = f"member {name} is larger than its header says"
                        raise UnreadableInputError(msg)
                    buffer[total : total + len(chunk)] = chunk
                    total += len(chunk)
            if total != size:
                msg = f"member {name} is smaller than its header says"
                raise UnreadableInputError(msg)
        except UnreadableInputError:
            raise
        except (
            OSError,
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            RuntimeError,
            ValueError,
            NotImplementedError,
        ) as err:
            msg = f"member {name} cannot be read ({err})"
            raise UnreadableInputError(msg) from err
        return buffer

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
