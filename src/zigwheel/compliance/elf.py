"""Read what a compliance check needs from one ELF file held in memory, as the loader reads it."""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zigwheel.compliance import elf_constants as C
from zigwheel.errors import UnreadableInputError
from zigwheel.platforms import registry

ELF_MAGIC = b"\x7fELF"

_EF_ARM_EABIMASK = 0xFF000000
_EF_ARM_EABI_VER5 = 0x05000000
_EF_ARM_ABI_FLOAT_HARD = 0x400

_SHN_UNDEF = 0
_STB_WEAK = 2
STT_NOTYPE = 0
STT_FUNC = 2

# Loaders are not libraries: their version needs never count (glibc's ld.so, ppc64/s390x ld64).
_LOADER_RE = re.compile(r"^(ld-linux.*|ld64\.so\.[12])$")

# Hard caps that keep a hostile file from costing unbounded time and memory. Every table is
# also bounded by the file's size; these caps bound the work per entry and the total output.
_MAX_DYNAMIC_TAGS = 1 << 16
_MAX_SECTIONS = 1 << 16
_MAX_SEGMENTS = 1 << 16
# One name (section, library, version, symbol) is read up to this many bytes: real names are far
# shorter (the longest C++ symbols seen in wheels are a few KiB), and a longer one only matters
# for display. Without it a string table lacking its NUL makes every name a copy of the table.
MAX_NAME_BYTES = 4096
# All distinct names of one ELF together: even a ~1 GB CUDA library needs about 1 MiB.
MAX_NAME_TOTAL = 32 << 20
# Version needs (.gnu.version_r entries) of one ELF: a real library has a few dozen.
MAX_VERSION_NEEDS = 1 << 14
# Note sections searched for the x86-64 ISA note, and the bytes scanned in them: real ELFs
# carry a handful of small notes (build id, ABI tag, GNU properties, perhaps SystemTap probes).
MAX_NOTE_SECTIONS = 64
MAX_NOTE_BYTES = 16 << 20


@dataclass(frozen=True)
class UndefinedSymbol:
    """A dynamic symbol this ELF imports, with the version it asks for (if any)."""

    name: str
    type: int  # STT_* value
    weak: bool
    version: str | None
    library: str | None


@dataclass(frozen=True)
class ElfInfo:
    """The dynamic-linking facts of one ELF file."""

    machine: str
    elfclass: int
    little_endian: bool
    osabi: str
    arch: str | None  # baseline arch (wheel tag spelling); None when not a wheel architecture
    arch_error: str | None
    isa_level: str | None  # "x86_64_v2".."x86_64_v4" when a GNU property note asks for it
    isa_error: str | None
    interpreter: str | None
    needed: tuple[str, ...]
    rpath: str | None
    runpath: str | None
    verneed: tuple[tuple[str, tuple[str, ...]], ...]  # (library, (version, ...)) in file order
    undefined: tuple[UndefinedSymbol, ...]
    python_init: str | None  # the defined module-init function found, e.g. "PyInit__core"
    # How the section headers disagree with what the loader reads (PT_DYNAMIC); None when they
    # agree or are absent. Everything above is the loader's view.
    views_error: str | None = None

    def compatible_with(self, other: ElfInfo) -> bool:
        """True when the loader could load ``other`` for this ELF (class, endianness, machine)."""
        abis = {self.osabi, other.osabi}
        linuxish = {"ELFOSABI_NONE", "ELFOSABI_SYSV", "ELFOSABI_GNU", "ELFOSABI_LINUX"}
        return (
            (len(abis) == 1 or abis <= linuxish)
            and self.elfclass == other.elfclass
            and self.little_endian == other.little_endian
            and self.machine == other.machine
        )

    def policy_versions(self) -> list[tuple[str, str]]:
        """(library, version) pairs that count for a policy: everything but the loader's."""
        return [
            (lib, version)
            for lib, versions in self.verneed
            if not _LOADER_RE.match(lib)
            for version in versions
        ]


def is_elf(head: bytes | bytearray) -> bool:
    """True when ``head`` starts with the ELF magic number."""
    return head[:4] == ELF_MAGIC


def module_init_names(file_name: str) -> dict[str, int]:
    """Module-init names that make ``file_name`` a Python extension -> Python major version."""
    module = file_name.split(".", 1)[0]
    return {f"PyInit_{module}": 3, f"init{module}": 2, f"_cffi_pypyinit_{module}": 2}


class BytesNotKept(Exception):
    """The parse needs bytes of the file that were dropped while it was inflated.

    Not a user's error (it never leaves the compliance package): the signal to read it whole.
    """


def parse_elf(
    data: bytes | bytearray | Sequence[bytes], *, init_names: Sequence[str] = ()
) -> ElfInfo:
    """Parse an ELF image, whole or as the chunks it was inflated in (never joined whole);
    raise UnreadableInputError (one sentence) when it is malformed."""
    chunks: Sequence[bytes | bytearray] = (
        [data] if isinstance(data, (bytes, bytearray)) else data
    )
    pieces, at = [], 0
    for chunk in chunks:
        pieces.append((at, chunk))
        at += len(chunk)
    return parse_elf_pieces(pieces, at, init_names=init_names)


def parse_elf_pieces(
    pieces: Sequence[tuple[int, bytes | bytearray]],
    size: int,
    *,
    init_names: Sequence[str] = (),
) -> ElfInfo:
    """Parse an ELF image of ``size`` bytes of which only ``pieces`` (file offset, bytes) were
    kept, in order; raise BytesNotKept when the parse needs a byte between them (read the file
    whole then: the verdict never depends on what was dropped)."""
    image = _Image(pieces, size)
    if image.size < 4 or not image.holds(0, ELF_MAGIC):
        msg = "not an ELF file (no ELF magic number)"
        raise UnreadableInputError(msg)
    try:
        return _parse(image, tuple(init_names))
    except (UnreadableInputError, BytesNotKept):
        raise
    except Exception as err:  # struct and slicing raise many unrelated types on corrupt input
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"malformed ELF: {detail[:200]}"
        raise UnreadableInputError(msg) from err


_PF_X = 1


def loader_ranges(head: bytes | bytearray) -> list[tuple[int, int]] | None:
    """The byte ranges [start, end) of an ELF file a parse reads in a real library, from its
    first bytes (the file and program headers); None to keep the whole file.

    The loader's tables (symbols, names, versions, hashes, relocations) sit in a segment the
    linker maps without execute rights, or in the first one, which also holds the headers; the
    code segment and the debug sections, most of a big library, are never read. Where a
    crafted file puts a table elsewhere the parse asks for the dropped bytes (BytesNotKept).
    """
    if len(head) < 52 or head[:4] != ELF_MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    is64 = head[4] == 2
    order = "<" if head[5] == 1 else ">"
    header = struct.Struct(order + ("16xHHIQQQIHHHHHH" if is64 else "16xHHIIIIIHHHHHH"))
    if len(head) < header.size:
        return None
    fields = header.unpack_from(head)
    phoff, shoff, phentsize, phnum, shentsize, shnum = (
        fields[4], fields[5], fields[8], fields[9], fields[10], fields[11]
    )  # fmt: skip
    if phentsize != (56 if is64 else 32) or not 0 < phnum <= _MAX_SEGMENTS:
        return None
    if phoff + phnum * phentsize > len(head):
        return None
    # (type, flags, offset, filesz) of each program header
    if is64:
        fmt = struct.Struct(order + "IIQQQQQQ")
        rows = [(t, f, off, filesz) for t, f, off, _v, _p, filesz, _m, _a
                in fmt.iter_unpack(head[phoff : phoff + phnum * phentsize])]  # fmt: skip
    else:
        fmt = struct.Struct(order + "IIIIIIII")
        rows = [(t, f, off, filesz) for t, off, _v, _p, filesz, _m, f, _a
                in fmt.iter_unpack(head[phoff : phoff + phnum * phentsize])]  # fmt: skip
    if not any(t == _PT_DYNAMIC for t, *_ in rows) or not any(t == _PT_LOAD for t, *_ in rows):
        return None  # an object file or a static executable: read by its section headers
    ranges = [(0, max(header.size, phoff + phnum * phentsize))]
    for kind, flags, offset, filesz in rows:
        if kind in (_PT_DYNAMIC, _PT_INTERP, _PT_NOTE) or (
            kind == _PT_LOAD and (offset == 0 or not flags & _PF_X)
        ):
            ranges.append((offset, offset + filesz))
    if shoff:
        # without e_shnum the count is in section 0: keep the rest of the file from there
        end = shoff + shnum * shentsize if shnum else 1 << 62
        ranges.append((shoff, end))
    return sorted(ranges)


class _Image:
    """Bounds-checked raw access to the ELF bytes.

    The bytes stay in the chunks they were inflated in: copying a big library into one buffer
    costs about half as much again as inflating it (bench/check.py), and the loader's tables
    are a small part of it. A read that spans two chunks joins just the bytes it needs; a read
    of bytes that were not kept raises BytesNotKept.
    """

    def __init__(self, pieces: Sequence[tuple[int, bytes | bytearray]], size: int) -> None:
        kept = [(offset, chunk) for offset, chunk in pieces if chunk]
        self._starts = [offset for offset, _chunk in kept]
        self._chunks = [chunk for _offset, chunk in kept]
        self.size = size
        self.order = "<"
        self.is64 = True
        self.name_bytes = 0  # bytes of names read so far, against MAX_NAME_TOTAL
        self._names: dict[tuple[int, int, int], str] = {}

    def _locate(self, offset: int, size: int) -> tuple[bytes | bytearray, int]:
        """A buffer that holds bytes [offset, offset + size) and where they start in it."""
        buffer, at, available = self._available(offset, size)
        if available < size:
            raise BytesNotKept
        return buffer, at

    def _available(self, offset: int, size: int) -> tuple[bytes | bytearray, int, int]:
        """A buffer with the kept bytes from ``offset`` on (at most ``size``), where they start
        in it and how many there are before the first byte that was not kept."""
        index = bisect_right(self._starts, offset) - 1
        if size <= 0:
            return b"", 0, 0
        if index < 0 or offset >= self._starts[index] + len(self._chunks[index]):
            return b"", 0, 0
        chunk, begin = self._chunks[index], self._starts[index]
        if offset + size <= begin + len(chunk):
            return chunk, offset - begin, size
        parts: list[memoryview] = []
        at, left = offset, size
        while left > 0 and index < len(self._chunks) and self._starts[index] <= at:
            chunk, begin = self._chunks[index], self._starts[index]
            part = memoryview(chunk)[at - begin : at - begin + left]
            parts.append(part)
            at += len(part)
            left -= len(part)
            index += 1
        return b"".join(parts), 0, size - left

    def check(self, offset: int, size: int, what: str) -> None:
        """UnreadableInputError unless bytes [offset, offset + size) lie inside the file."""
        if offset < 0 or size < 0 or offset + size > self.size:
            msg = f"malformed ELF: {what} lies outside the file"
            raise UnreadableInputError(msg)

    def region(self, offset: int, size: int, what: str) -> memoryview:
        self.check(offset, size, what)
        buffer, at = self._locate(offset, size)
        return memoryview(buffer)[at : at + size]

    def unpack(self, fmt: struct.Struct, offset: int, what: str) -> tuple[Any, ...]:
        """``fmt`` unpacked at ``offset``."""
        return fmt.unpack(self.region(offset, fmt.size, what))

    def holds(self, offset: int, key: bytes) -> bool:
        """True when the bytes at ``offset`` are ``key`` (False when they lie outside the file)."""
        if offset < 0 or offset + len(key) > self.size:
            return False
        buffer, at = self._locate(offset, len(key))
        return buffer[at : at + len(key)] == key

    def cstring(self, base: int, end: int, offset: int) -> str:
        """The NUL-terminated name at ``base + offset`` (before ``end``), cut at MAX_NAME_BYTES."""
        start = base + offset
        if offset < 0 or start >= end:
            return ""
        key = (base, end, offset)
        cached = self._names.get(key)  # many entries may point at one name: read it once
        if cached is not None:
            return cached
        wanted = max(0, min(end, start + MAX_NAME_BYTES, self.size) - start)
        buffer, at, available = self._available(start, wanted)
        stop = buffer.find(b"\0", at, at + available)
        if stop < 0:
            if available < wanted:  # the name may end in bytes that were not kept
                raise BytesNotKept
            stop = at + wanted
        self.name_bytes += stop - at
        if self.name_bytes > MAX_NAME_TOTAL:
            msg = f"malformed ELF: its names take more than {MAX_NAME_TOTAL} bytes"
            raise UnreadableInputError(msg)
        name = buffer[at:stop].decode("utf-8", "replace")
        self._names[key] = name
        return name


@dataclass(frozen=True)
class _Section:
    index: int
    type: int
    offset: int
    size: int
    link: int
    info: int


# ELF constants, by the names pyelftools gives them (copied by scripts/generate_elf_constants.py).
_PT_INTERP = C.PT_INTERP
_PT_DYNAMIC = C.PT_DYNAMIC
_PT_LOAD = C.PT_LOAD
_PT_NOTE = C.PT_NOTE
_SHT_NOBITS = C.SHT_NOBITS
_SHT_NOTE = C.SHT_NOTE
_SHT_VERSYM = C.SHT_VERSYM
_SHT_DYNSYM = C.SHT_DYNSYM
_SHT_VERNEED = C.SHT_VERNEED
_DT_NULL = C.DT_NULL
_DT_NEEDED = C.DT_NEEDED
_DT_RPATH = C.DT_RPATH
_DT_RUNPATH = C.DT_RUNPATH
_DT_STRTAB = C.DT_STRTAB
_DT_STRSZ = C.DT_STRSZ
_DT_SYMTAB = C.DT_SYMTAB
_DT_SYMENT = C.DT_SYMENT
_DT_HASH = C.DT_HASH
_DT_GNU_HASH = C.DT_GNU_HASH
_DT_VERSYM = C.DT_VERSYM
_DT_VERNEED = C.DT_VERNEED
_DT_VERNEEDNUM = C.DT_VERNEEDNUM
_EM_S390 = 22
_NT_GNU_PROPERTY_TYPE_0 = C.NT_GNU_PROPERTY_TYPE_0
_X86_ISA_1_NEEDED = C.GNU_PROPERTY_X86_ISA_1_NEEDED
_MACHINES = C.MACHINE_NAMES
_OSABIS = C.OSABI_NAMES


def _parse(image: _Image, init_names: tuple[str, ...]) -> ElfInfo:
    data = bytes(image.region(0, min(64, image.size), "the file header"))
    if len(data) < 52 or data[4] not in (1, 2) or data[5] not in (1, 2):
        msg = "malformed ELF: bad identification bytes (class, byte order or size)"
        raise UnreadableInputError(msg)
    elfclass = 64 if data[4] == 2 else 32
    little = data[5] == 1
    image.order, image.is64 = ("<" if little else ">"), elfclass == 64
    header = struct.Struct(image.order + ("HHIQQQIHHHHHH" if image.is64 else "HHIIIIIHHHHHH"))
    if len(data) < 16 + header.size:
        msg = "malformed ELF: the file header is truncated"
        raise UnreadableInputError(msg)
    (_type, e_machine, _version, _entry, phoff, shoff, flags, _ehsize, phentsize, phnum,
     shentsize, shnum, _shstrndx) = header.unpack_from(data, 16)  # fmt: skip
    machine = _MACHINES.get(e_machine, f"EM_{e_machine}")
    osabi = _OSABIS.get(data[7], f"ELFOSABI_{data[7]}")

    # the registry's rows say which (machine, class, byte order) is which wheel-tag baseline
    row = registry().by_elf(e_machine, elfclass, little)
    arch = row.name if row is not None else None
    arch_error = None if arch else f"unsupported machine {machine} ({elfclass}-bit)"
    if arch == "armv7l":
        if flags & _EF_ARM_EABIMASK != _EF_ARM_EABI_VER5:
            arch, arch_error = None, "ARM EABI is not version 5"
        elif not flags & _EF_ARM_ABI_FLOAT_HARD:
            arch, arch_error = None, "ARM soft-float is not armv7l"

    segments = _read_segments(image, phoff, phentsize, phnum)
    interpreter, dynamic = _read_dynamic(image, segments)
    by_index = _read_sections(image, shoff, shentsize, shnum)

    isa_level, isa_error = (None, None)
    if arch == "x86_64":
        regions = [(s.offset, s.size) for s in by_index if s.type == _SHT_NOTE]
        regions += [(off, size) for kind, off, _v, size in segments if kind == _PT_NOTE]
        isa_level, isa_error = _read_isa(image, regions)

    # What the loader reads: the tables PT_DYNAMIC points at. A file without them (an object
    # file, a static executable) is read by its section headers, which then hide nothing.
    sections = _section_tables(image, by_index)
    loader = _loader_tables(image, segments, dynamic, e_machine, sections)
    primary = sections if not dynamic.values and sections is not None else loader
    version_names, verneed = _read_verneed(image, primary.verneed, primary.strings)
    undefined, python_init = _read_dynsym(
        image, primary.symbols, primary.strings,
        versym_at=primary.versym, version_names=version_names, init_names=init_names,
    )  # fmt: skip
    needed, rpath, runpath = dynamic.needed, dynamic.rpath, dynamic.runpath
    # The section headers say the same, or the file hides something from tools that read them.
    views_error = None
    if primary is loader and sections is not None:
        views_error = _cross_check(
            image, sections, loader, verneed=verneed, undefined=undefined, init_names=init_names
        )
    return ElfInfo(
        machine=machine,
        elfclass=elfclass,
        little_endian=little,
        osabi=osabi,
        arch=arch,
        arch_error=arch_error,
        isa_level=isa_level,
        isa_error=isa_error,
        interpreter=interpreter,
        needed=tuple(needed),
        rpath=rpath,
        runpath=runpath,
        verneed=tuple(verneed),
        undefined=tuple(undefined),
        python_init=python_init,
        views_error=views_error,
    )


# (p_type, p_offset, p_vaddr, p_filesz) of each program header
_Segment = tuple[int, int, int, int]


def _read_segments(image: _Image, phoff: int, entsize: int, count: int) -> list[_Segment]:
    if not count:
        return []
    if entsize != (56 if image.is64 else 32) or count > _MAX_SEGMENTS:
        msg = f"malformed ELF: program header table ({count} x {entsize} bytes)"
        raise UnreadableInputError(msg)
    raw = image.region(phoff, count * entsize, "the program header table")
    if image.is64:
        fmt = struct.Struct(image.order + "IIQQQQQQ")
        return [(t, off, vaddr, filesz) for t, _f, off, vaddr, _p, filesz, _m, _a
                in fmt.iter_unpack(raw)]  # fmt: skip
    fmt = struct.Struct(image.order + "IIIIIIII")
    return [(t, off, vaddr, filesz) for t, off, vaddr, _p, filesz, _m, _f, _a
            in fmt.iter_unpack(raw)]  # fmt: skip


def _read_sections(
    image: _Image, shoff: int, entsize: int, count: int
) -> list[_Section]:
    """The section headers (their names are never read: a check goes by types, as tools do)."""
    if not shoff:
        return []
    if entsize != (64 if image.is64 else 40):
        msg = f"malformed ELF: section header entry size {entsize}"
        raise UnreadableInputError(msg)
    fmt = struct.Struct(image.order + ("IIQQQQIIQQ" if image.is64 else "IIIIIIIIII"))
    first = fmt.unpack_from(image.region(shoff, entsize, "the section header table"))
    if count == 0:
        count = first[5]  # more sections than e_shnum can hold: the count is in section 0
    if count > _MAX_SECTIONS:
        msg = f"malformed ELF: {count} sections"
        raise UnreadableInputError(msg)
    raw = image.region(shoff, count * entsize, "the section header table")
    headers = list(fmt.iter_unpack(raw))
    return [
        _Section(
            index=i,
            type=h[1],
            offset=h[4],
            size=h[5],
            link=h[6],
            info=h[7],
        )
        for i, h in enumerate(headers)
    ]


def _file_offset(segments: list[_Segment], address: int) -> int | None:
    for kind, offset, vaddr, filesz in segments:
        if kind == _PT_LOAD and vaddr <= address < vaddr + filesz:
            return offset + address - vaddr
    return None


@dataclass(frozen=True)
class _Dynamic:
    """The dynamic section's entries and the names it gives, as the loader reads them."""

    values: dict[int, int]  # tag -> value (the first of each tag)
    strings: tuple[int, int]  # the dynamic string table: file offsets [start, end)
    needed: list[str]
    rpath: str | None
    runpath: str | None


_NO_DYNAMIC = _Dynamic({}, (0, 0), [], None, None)


def _read_dynamic(  # noqa: PLR0912 - one branch per dynamic tag kind
    image: _Image, segments: list[_Segment]
) -> tuple[str | None, _Dynamic]:
    """Interpreter, DT_NEEDED, DT_RPATH and DT_RUNPATH from the first PT_INTERP/PT_DYNAMIC."""
    interpreter: str | None = None
    for kind, offset, _vaddr, size in segments:
        if kind == _PT_INTERP:
            interpreter = image.cstring(offset, min(offset + size, image.size), 0)
            break
    dynamic = next((s for s in segments if s[0] == _PT_DYNAMIC), None)
    if dynamic is None:
        return interpreter, _NO_DYNAMIC
    fmt = struct.Struct(image.order + ("qQ" if image.is64 else "iI"))
    entries: list[tuple[int, int]] = []
    offset = dynamic[1]
    while len(entries) < _MAX_DYNAMIC_TAGS:
        if offset < 0 or offset + fmt.size > image.size:
            msg = "malformed ELF: the dynamic section runs past the end of the file"
            raise UnreadableInputError(msg)
        tag, value = image.unpack(fmt, offset, "the dynamic section")
        entries.append((tag, value))
        if tag == _DT_NULL:
            break
        offset += fmt.size
    else:
        msg = "malformed ELF: the dynamic section has no end"
        raise UnreadableInputError(msg)
    values: dict[int, int] = {}
    for tag, value in entries:
        values.setdefault(tag, value)
    strtab = _file_offset(segments, values.get(_DT_STRTAB, -1))
    if strtab is None:
        msg = "malformed ELF: the dynamic string table is not in a loaded segment"
        raise UnreadableInputError(msg)
    end = image.size
    if _DT_STRSZ in values:
        end = min(end, strtab + values[_DT_STRSZ])
    needed: list[str] = []
    rpath = runpath = None
    for tag, value in entries:
        if tag == _DT_NEEDED:
            needed.append(image.cstring(strtab, end, value))
        elif tag == _DT_RPATH:
            rpath = image.cstring(strtab, end, value)
        elif tag == _DT_RUNPATH:
            runpath = image.cstring(strtab, end, value)
    return interpreter, _Dynamic(values, (strtab, end), needed, rpath, runpath)


@dataclass(frozen=True)
class _Tables:
    """Where the symbol and version tables are: (file offset, size) each, None when absent."""

    strings: tuple[int, int]  # [start, end)
    symbols: tuple[int, int] | None
    versym: int | None  # file offset of the version index of symbol 0
    verneed: tuple[int, int, int] | None  # (offset, size bound, number of entries)


def _loader_tables(
    image: _Image,
    segments: list[_Segment],
    dynamic: _Dynamic,
    e_machine: int,
    sections: _Tables | None,
) -> _Tables:
    """The tables the dynamic section points at.

    The symbol count is what the loader can reach: through the hash table or a relocation.
    When a .dynsym section header names the same table, its length counts too (it only adds
    entries of that table, so it hides nothing).
    """
    values = dynamic.values
    if not values:
        return _Tables((0, 0), None, None, None)
    entsize = 24 if image.is64 else 16
    if values.get(_DT_SYMENT, entsize) != entsize:
        msg = f"malformed ELF: dynamic symbol entry size {values[_DT_SYMENT]}"
        raise UnreadableInputError(msg)
    symbols: tuple[int, int] | None = None
    if _DT_SYMTAB in values:
        start = _located(segments, values[_DT_SYMTAB], "the dynamic symbol table")
        count = max(
            _symbol_count(image, segments, values, e_machine=e_machine),
            _relocated_symbols(image, segments, values),
        )
        if sections is not None and sections.symbols is not None:
            listed_at, listed_size = sections.symbols
            if listed_at == start:
                count = max(count, listed_size // entsize)
        image.check(start, count * entsize, "the dynamic symbol table")
        symbols = (start, count * entsize)
    versym = None
    if _DT_VERSYM in values:
        versym = _located(segments, values[_DT_VERSYM], "the symbol version table")
    verneed = None
    if _DT_VERNEED in values:
        start = _located(segments, values[_DT_VERNEED], "the version needs")
        verneed = (start, image.size - start, values.get(_DT_VERNEEDNUM, 0))
    return _Tables(dynamic.strings, symbols, versym, verneed)


def _located(segments: list[_Segment], address: int, what: str) -> int:
    offset = _file_offset(segments, address)
    if offset is None:
        msg = f"malformed ELF: {what} is not in a loaded segment"
        raise UnreadableInputError(msg)
    return offset


def _symbol_count(
    image: _Image,
    segments: list[_Segment],
    values: dict[int, int],
    *,
    e_machine: int,
) -> int:
    """How many dynamic symbols there are: the loader knows them only through a hash table."""
    if _DT_GNU_HASH in values:
        at = _located(segments, values[_DT_GNU_HASH], "the GNU hash table")
        word = struct.Struct(image.order + "I")
        nbuckets, symoffset, bloom_size, _shift = struct.unpack(
            image.order + "IIII", image.region(at, 16, "the GNU hash table")
        )
        buckets_at = at + 16 + bloom_size * (8 if image.is64 else 4)
        buckets = image.region(buckets_at, nbuckets * 4, "the GNU hash buckets")
        last = max((b for (b,) in word.iter_unpack(buckets)), default=0)
        if last < symoffset:
            return int(symoffset)
        chain_at = buckets_at + nbuckets * 4
        index = last
        while True:  # the chain of the last bucket ends at the last symbol (low bit set)
            (value,) = word.unpack(image.region(chain_at + 4 * (index - symoffset), 4, "a chain"))
            if value & 1:
                return index + 1
            index += 1
    if _DT_HASH in values:
        at = _located(segments, values[_DT_HASH], "the hash table")
        # s390x (64-bit) is the one Linux target whose hash table has 8-byte words
        wide = e_machine == _EM_S390 and image.is64
        fmt = struct.Struct(image.order + ("QQ" if wide else "II"))
        _nbucket, nchain = fmt.unpack(image.region(at, fmt.size, "the hash table"))
        return int(nchain)
    return 0  # no hash table: the loader finds no symbol by name, only through relocations


_DT_RELA, _DT_RELASZ, _DT_RELACOUNT = 7, 8, 0x6FFFFFF9
_DT_REL, _DT_RELSZ, _DT_RELCOUNT = 0x11, 0x12, 0x6FFFFFFA
_DT_JMPREL, _DT_PLTRELSZ, _DT_PLTREL = 0x17, 2, 0x14


def _relocated_symbols(image: _Image, segments: list[_Segment], values: dict[int, int]) -> int:
    """One past the highest symbol index a relocation names (the symbols the loader binds).

    The first DT_RELACOUNT/DT_RELCOUNT entries are relative relocations, which the loader
    applies without a symbol: they are skipped, so a big library costs little here.
    """
    rela = (24 if image.is64 else 12), _DT_RELA, _DT_RELASZ, _DT_RELACOUNT
    rel = (16 if image.is64 else 8), _DT_REL, _DT_RELSZ, _DT_RELCOUNT
    tables = [
        (values.get(at), values.get(size, 0), entsize, values.get(count, 0))
        for entsize, at, size, count in (rela, rel)
    ]
    plt_entsize = rela[0] if values.get(_DT_PLTREL, _DT_RELA) == _DT_RELA else rel[0]
    tables.append((values.get(_DT_JMPREL), values.get(_DT_PLTRELSZ, 0), plt_entsize, 0))
    info = struct.Struct(image.order + ("8xQ" if image.is64 else "4xI"))
    shift = 32 if image.is64 else 8
    highest = 0
    for address, size, entsize, relative in tables:
        if address is None or size <= 0:
            continue
        start = _located(segments, address, "a relocation table")
        skip = min(relative, size // entsize) * entsize
        raw = image.region(start + skip, size - skip - (size - skip) % entsize, "relocations")
        entries = raw.cast("B")
        for offset in range(0, len(entries), entsize):
            (r_info,) = info.unpack_from(entries, offset)
            highest = max(highest, r_info >> shift)
    return highest + 1 if highest else 0


_ISA_BITS = ((8, "x86_64_v4"), (4, "x86_64_v3"), (2, "x86_64_v2"))


def _read_isa(image: _Image, notes: list[tuple[int, int]]) -> tuple[str | None, str | None]:
    """The x86-64 ISA level the first GNU property note of each note region says is needed.

    The regions are the note sections and the PT_NOTE segments (what the loader checks): the
    highest level any of them asks for counts.
    """
    if len(notes) > MAX_NOTE_SECTIONS:
        msg = f"malformed ELF: {len(notes)} note sections (at most {MAX_NOTE_SECTIONS} are read)"
        raise UnreadableInputError(msg)
    level: str | None = None
    error: str | None = None
    word = struct.Struct(image.order + "III")
    align = 8 if image.is64 else 4
    scanned = 0
    ranks = {name: rank for rank, (_bit, name) in enumerate(reversed(_ISA_BITS))}
    for note_offset, note_size in notes:
        scanned += note_size
        if scanned > MAX_NOTE_BYTES:
            msg = f"malformed ELF: its note sections hold more than {MAX_NOTE_BYTES} bytes"
            raise UnreadableInputError(msg)
        raw = image.region(note_offset, note_size, "a note section")  # a view, no copy
        offset = 0
        while offset + word.size < len(raw):
            namesz, descsz, kind = word.unpack_from(raw, offset)
            offset += word.size
            name_end = offset + ((namesz + 3) & ~3)
            name = bytes(raw[offset : offset + min(namesz, 16)]).split(b"\0", 1)[0]
            desc = raw[name_end : name_end + descsz]
            offset = name_end + ((descsz + 3) & ~3)
            if kind != _NT_GNU_PROPERTY_TYPE_0 or name != b"GNU" or namesz > 16:
                continue
            prop = 0
            while prop + 8 <= len(desc):
                pr_type, pr_datasz = struct.unpack_from(image.order + "II", desc, prop)
                if pr_type == _X86_ISA_1_NEEDED and pr_datasz == 4 and prop + 12 <= len(desc):
                    bits = struct.unpack_from(image.order + "I", desc, prop + 8)[0] & ~1
                    found = next((n for bit, n in _ISA_BITS if bits & bit), None)
                    if found:
                        if level is None or ranks[found] > ranks[level]:
                            level = found
                        break
                    if bits:
                        error = f"unknown x86-64 ISA bits {bits:#x}"
                prop += (pr_datasz + 8 + align - 1) & ~(align - 1)
            break  # only the first GNU property note of a section counts
    return level, error


def _string_table(image: _Image, by_index: list[_Section], link: int) -> tuple[int, int]:
    if not 0 <= link < len(by_index):
        msg = f"malformed ELF: string table index {link} does not exist"
        raise UnreadableInputError(msg)
    strtab = by_index[link]
    if strtab.type == _SHT_NOBITS:
        return 0, 0
    start, size = strtab.offset, strtab.size
    image.check(start, size, "a string table")
    return start, start + size


def _read_verneed(
    image: _Image, table: tuple[int, int, int] | None, strings: tuple[int, int]
) -> tuple[dict[int, tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    """Version index -> (library, version) and the needs grouped by library (DT_VERNEED)."""
    index_map: dict[int, tuple[str, str]] = {}
    grouped: list[tuple[str, tuple[str, ...]]] = []
    if table is None:
        return index_map, grouped
    start, size, entries = table
    # Read entry by entry: the loader's view bounds the table only by the end of the file.
    image.check(start, size, ".gnu.version_r")
    str_base, str_end = strings
    need_fmt = struct.Struct(image.order + "HHIII")
    aux_fmt = struct.Struct(image.order + "IHHII")
    # Offsets only grow along both chains, but a crafted file can point many needs at one aux
    # chain (quadratic work and output): each entry is read at most once, and their number is
    # capped, so the work is linear in the section's size.
    seen: set[int] = set()
    offset = 0
    for _ in range(entries):
        if offset + 16 > size:
            break
        if offset in seen:
            msg = "malformed ELF: .gnu.version_r entries overlap"
            raise UnreadableInputError(msg)
        seen.add(offset)
        need = image.unpack(need_fmt, start + offset, ".gnu.version_r")
        _ver, count, file_off, aux_off, next_off = need
        library = image.cstring(str_base, str_end, file_off)
        versions: list[str] = []
        aux = offset + aux_off
        for _ in range(count):
            if aux + 16 > size:
                break
            if aux in seen:
                msg = "malformed ELF: .gnu.version_r entries overlap"
                raise UnreadableInputError(msg)
            seen.add(aux)
            if len(seen) > MAX_VERSION_NEEDS:
                msg = f"malformed ELF: more than {MAX_VERSION_NEEDS} version needs"
                raise UnreadableInputError(msg)
            entry = image.unpack(aux_fmt, start + aux, ".gnu.version_r")
            _hash, _flags, other, name_off, aux_next = entry
            version = image.cstring(str_base, str_end, name_off)
            versions.append(version)
            index_map[other & 0x7FFF] = (library, version)
            if aux_next == 0:
                break
            aux += aux_next
        grouped.append((library, tuple(versions)))
        if next_off == 0:
            break
        offset += next_off
    return index_map, grouped


def _read_dynsym(
    image: _Image,
    table: tuple[int, int] | None,
    strings: tuple[int, int],
    *,
    versym_at: int | None,
    version_names: dict[int, tuple[str, str]],
    init_names: tuple[str, ...],
) -> tuple[list[UndefinedSymbol], str | None]:
    """Undefined dynamic symbols (with their versions) and the defined module-init function."""
    if table is None:
        return [], None
    entsize = 24 if image.is64 else 16
    start, size = table
    raw = image.region(start, size - size % entsize, ".dynsym")
    str_base, str_end = strings
    if image.is64:
        sym = struct.Struct(image.order + "IBBHQQ")
        fields = (0, 1, 3)  # st_name, st_info, st_shndx
    else:
        sym = struct.Struct(image.order + "IIIBBH")
        fields = (0, 3, 5)
    n_name, n_info, n_shndx = fields
    count = len(raw) // entsize
    versym = None
    if versym_at is not None and version_names:
        versym = image.region(versym_at, count * 2, ".gnu.version")
    half = struct.Struct(image.order + "H")
    wanted = {name.encode("utf-8") + b"\0": name for name in init_names}
    undefined: list[UndefinedSymbol] = []
    python_init: str | None = None
    for index, entry in enumerate(sym.iter_unpack(raw)):
        st_name, st_info, st_shndx = entry[n_name], entry[n_info], entry[n_shndx]
        if st_shndx != _SHN_UNDEF:
            if python_init is None and wanted and st_info & 0xF == STT_FUNC:
                at = str_base + st_name
                for key, name in wanted.items():
                    if at + len(key) <= str_end and image.holds(at, key):
                        python_init = name
                        break
            continue
        if index == 0:
            continue
        version = library = None
        if versym is not None:
            ver_index = half.unpack_from(versym, 2 * index)[0] & 0x7FFF
            if ver_index > 1 and ver_index in version_names:
                library, version = version_names[ver_index]
        undefined.append(
            UndefinedSymbol(
                name=image.cstring(str_base, str_end, st_name),
                type=st_info & 0xF,
                weak=st_info >> 4 == _STB_WEAK,
                version=version,
                library=library,
            )
        )
    return undefined, python_init


def _section_tables(image: _Image, by_index: list[_Section]) -> _Tables | None:
    """The tables the section headers name (by type, as tools read them); None without any."""
    dynsym = next((s for s in by_index if s.type == _SHT_DYNSYM), None)
    needs = next((s for s in by_index if s.type == _SHT_VERNEED), None)
    if dynsym is not None and dynsym.type == _SHT_NOBITS:
        dynsym = None
    if needs is not None and needs.type == _SHT_NOBITS:
        needs = None
    if dynsym is None and needs is None:
        return None
    linked = dynsym if dynsym is not None else needs
    assert linked is not None
    strings = _string_table(image, by_index, linked.link)
    entsize = 24 if image.is64 else 16
    symbols = None
    if dynsym is not None:
        symbols = (dynsym.offset, dynsym.size - dynsym.size % entsize)
    versym = next((s.offset for s in by_index if s.type == _SHT_VERSYM), None)
    verneed = (needs.offset, needs.size, needs.info) if needs is not None else None
    return _Tables(strings, symbols, versym, verneed)


def _cross_check(
    image: _Image,
    sections: _Tables,
    loader: _Tables,
    *,
    verneed: list[tuple[str, tuple[str, ...]]],
    undefined: list[UndefinedSymbol],
    init_names: tuple[str, ...],
) -> str | None:
    """How the section headers' view of the imports and versions differs from the loader's.

    When both views point at the same bytes they agree by construction; otherwise the section
    view is read too and the two are compared.
    """
    same = (
        sections.symbols == loader.symbols
        and sections.strings[0] == loader.strings[0]
        and sections.versym == loader.versym
        and (sections.verneed is None) == (loader.verneed is None)
        and (sections.verneed is None or loader.verneed is None
             or sections.verneed[::2] == loader.verneed[::2])
    )  # fmt: skip
    if same:
        return None
    names, their_verneed = _read_verneed(image, sections.verneed, sections.strings)
    their_undefined, _init = _read_dynsym(
        image, sections.symbols, sections.strings,
        versym_at=sections.versym, version_names=names, init_names=init_names,
    )  # fmt: skip
    # What a tool reading the section headers misses: imports or version needs the loader
    # binds. (Extra entries the headers list hide nothing: a table longer than the loader reads.)
    ours = {(s.name, s.version) for s in undefined}
    theirs = {(s.name, s.version) for s in their_undefined}
    hidden = sorted(f"{n}@{v}" if v else n for n, v in ours - theirs)
    if hidden:
        more = f" and {len(hidden) - 3} more" if len(hidden) > 3 else ""
        return f"imports only the loader sees: {', '.join(hidden[:3])}{more}"
    needs = {(lib, v) for lib, versions in verneed for v in versions}
    listed = {(lib, v) for lib, versions in their_verneed for v in versions}
    if needs - listed:
        shown = ", ".join(f"{v} from {lib}" for lib, v in sorted(needs - listed)[:3])
        return f"version needs only the loader sees: {shown}"
    return None
