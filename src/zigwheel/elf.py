"""Read what a compliance check needs from one ELF file held in memory (the pyelftools boundary)."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elftools.elf.elffile import ELFFile

from zigwheel.errors import UnreadableInputError

ELF_MAGIC = b"\x7fELF"

# (e_machine, ELF class, little endian) -> baseline architecture, as wheel tags spell it.
_ARCHES: dict[tuple[str, int, bool], str] = {
    ("EM_386", 32, True): "i686",
    ("EM_X86_64", 64, True): "x86_64",
    ("EM_PPC64", 64, True): "ppc64le",
    ("EM_PPC64", 64, False): "ppc64",
    ("EM_RISCV", 64, True): "riscv64",
    ("EM_AARCH64", 64, True): "aarch64",
    ("EM_S390", 64, False): "s390x",
    ("EM_ARM", 32, True): "armv7l",
    ("EM_LOONGARCH", 64, True): "loongarch64",
}
_EF_ARM_EABIMASK = 0xFF000000
_EF_ARM_EABI_VER5 = 0x05000000
_EF_ARM_ABI_FLOAT_HARD = 0x400

_SHN_UNDEF = 0
_STB_WEAK = 2
STT_NOTYPE = 0
STT_FUNC = 2

# Loaders are not libraries: their version needs never count (glibc's ld.so, ppc64/s390x ld64).
_LOADER_RE = re.compile(r"^(ld-linux.*|ld64\.so\.[12])$")

# Hard caps that keep a hostile file from costing unbounded time.
_MAX_DYNAMIC_TAGS = 1 << 16
_MAX_SECTIONS = 1 << 16
_MAX_SEGMENTS = 1 << 16


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


def is_elf(head: bytes) -> bool:
    """True when ``head`` starts with the ELF magic number."""
    return head[:4] == ELF_MAGIC


def module_init_names(file_name: str) -> dict[str, int]:
    """Module-init names that make ``file_name`` a Python extension -> Python major version."""
    module = file_name.split(".", 1)[0]
    return {f"PyInit_{module}": 3, f"init{module}": 2, f"_cffi_pypyinit_{module}": 2}


def parse_elf(data: bytes, *, init_names: Sequence[str] = ()) -> ElfInfo:
    """Parse an ELF image; raise UnreadableInputError (one sentence) when it is malformed."""
    if not is_elf(data):
        msg = "not an ELF file (no ELF magic number)"
        raise UnreadableInputError(msg)
    try:
        return _parse(data, tuple(init_names))
    except UnreadableInputError:
        raise
    except Exception as err:  # pyelftools/construct raise many unrelated types on corrupt input
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"malformed ELF: {detail[:200]}"
        raise UnreadableInputError(msg) from err


class _Image:
    """Bounds-checked raw access to the ELF bytes."""

    def __init__(self, data: bytes, *, little_endian: bool, elfclass: int) -> None:
        self.data = data
        self.view = memoryview(data)
        self.order = "<" if little_endian else ">"
        self.is64 = elfclass == 64

    def region(self, offset: int, size: int, what: str) -> memoryview:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            msg = f"malformed ELF: {what} lies outside the file"
            raise UnreadableInputError(msg)
        return self.view[offset : offset + size]

    def cstring(self, base: int, end: int, offset: int) -> str:
        start = base + offset
        if offset < 0 or start >= end:
            return ""
        stop = self.data.find(b"\0", start, end)
        if stop < 0:
            stop = end
        return self.data[start:stop].decode("utf-8", "replace")


def _check_tables(elf: Any, size: int) -> None:
    header = elf.header
    is64 = elf.elfclass == 64
    if header["e_phnum"]:
        if header["e_phentsize"] != (56 if is64 else 32):
            msg = f"malformed ELF: program header entry size {header['e_phentsize']}"
            raise UnreadableInputError(msg)
        if header["e_phnum"] > _MAX_SEGMENTS or (
            header["e_phoff"] + header["e_phnum"] * header["e_phentsize"] > size
        ):
            msg = "malformed ELF: program header table lies outside the file"
            raise UnreadableInputError(msg)
    if header["e_shoff"]:
        if header["e_shentsize"] != (64 if is64 else 40):
            msg = f"malformed ELF: section header entry size {header['e_shentsize']}"
            raise UnreadableInputError(msg)
        count = elf.num_sections()
        if count > _MAX_SECTIONS or header["e_shoff"] + count * header["e_shentsize"] > size:
            msg = "malformed ELF: section header table lies outside the file"
            raise UnreadableInputError(msg)


def _parse(data: bytes, init_names: tuple[str, ...]) -> ElfInfo:
    elf = ELFFile(io.BytesIO(data))
    _check_tables(elf, len(data))
    machine = str(elf["e_machine"])
    elfclass = int(elf.elfclass)
    little = bool(elf.little_endian)
    osabi = str(elf["e_ident"]["EI_OSABI"])
    image = _Image(data, little_endian=little, elfclass=elfclass)

    arch = _ARCHES.get((machine, elfclass, little))
    arch_error = None if arch else f"unsupported machine {machine} ({elfclass}-bit)"
    if arch == "armv7l":
        flags = int(elf["e_flags"])
        if flags & _EF_ARM_EABIMASK != _EF_ARM_EABI_VER5:
            arch, arch_error = None, "ARM EABI is not version 5"
        elif not flags & _EF_ARM_ABI_FLOAT_HARD:
            arch, arch_error = None, "ARM soft-float is not armv7l"

    interpreter, needed, rpath, runpath = _read_dynamic(elf)

    sections: dict[str, Any] = {}
    notes: list[Any] = []
    by_index: list[Any] = []
    if elf.header["e_shoff"]:
        for section in elf.iter_sections():
            by_index.append(section)
            sections.setdefault(section.name, section)
            if section["sh_type"] == "SHT_NOTE":
                notes.append(section)

    isa_level, isa_error = (None, None)
    if arch == "x86_64":
        isa_level, isa_error = _read_isa(notes)

    version_names, verneed = _read_verneed(image, sections.get(".gnu.version_r"), by_index)
    undefined, python_init = _read_dynsym(
        image, sections.get(".dynsym"), by_index, version_names, init_names
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
    )


def _read_dynamic(elf: Any) -> tuple[str | None, list[str], str | None, str | None]:
    """Interpreter, DT_NEEDED, DT_RPATH and DT_RUNPATH from the first PT_INTERP/PT_DYNAMIC."""
    interpreter: str | None = None
    needed: list[str] = []
    rpath: str | None = None
    runpath: str | None = None
    seen_dynamic = False
    for segment in elf.iter_segments():
        kind = segment["p_type"]
        if kind == "PT_INTERP" and interpreter is None:
            interpreter = str(segment.get_interp_name())
        elif kind == "PT_DYNAMIC" and not seen_dynamic:
            seen_dynamic = True
            for count, tag in enumerate(segment.iter_tags()):
                if count > _MAX_DYNAMIC_TAGS:
                    msg = "malformed ELF: the dynamic section has no end"
                    raise UnreadableInputError(msg)
                name = tag.entry.d_tag
                if name == "DT_NEEDED":
                    needed.append(str(tag.needed))
                elif name == "DT_RPATH":
                    rpath = str(tag.rpath)
                elif name == "DT_RUNPATH":
                    runpath = str(tag.runpath)
    return interpreter, needed, rpath, runpath


_ISA_BITS = ((8, "x86_64_v4"), (4, "x86_64_v3"), (2, "x86_64_v2"))


def _read_isa(notes: list[Any]) -> tuple[str | None, str | None]:
    """The x86-64 ISA level the GNU property notes say the code needs."""
    level: str | None = None
    error: str | None = None
    for section in notes:
        for note in section.iter_notes():
            if note["n_type"] != "NT_GNU_PROPERTY_TYPE_0" or note["n_name"] != "GNU":
                continue
            for prop in note["n_desc"]:
                if prop.pr_type != "GNU_PROPERTY_X86_ISA_1_NEEDED" or prop.pr_datasz != 4:
                    continue
                bits = int(prop.pr_data) & ~1
                found = next((name for bit, name in _ISA_BITS if bits & bit), None)
                if found:
                    level = found
                    break
                if bits:
                    error = f"unknown x86-64 ISA bits {bits:#x}"
            break  # only the first GNU property note of a section counts
    return level, error


def _string_table(image: _Image, by_index: list[Any], link: int) -> tuple[int, int]:
    if not 0 <= link < len(by_index):
        msg = f"malformed ELF: string table index {link} does not exist"
        raise UnreadableInputError(msg)
    strtab = by_index[link]
    if strtab["sh_type"] == "SHT_NOBITS":
        return 0, 0
    start, size = int(strtab["sh_offset"]), int(strtab["sh_size"])
    image.region(start, size, "a string table")
    return start, start + size


def _read_verneed(
    image: _Image, section: Any, by_index: list[Any]
) -> tuple[dict[int, tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    """Version index -> (library, version) and the needs grouped by library, from .gnu.version_r."""
    index_map: dict[int, tuple[str, str]] = {}
    grouped: list[tuple[str, tuple[str, ...]]] = []
    if section is None or section["sh_type"] == "SHT_NOBITS":
        return index_map, grouped
    start, size = int(section["sh_offset"]), int(section["sh_size"])
    raw = image.region(start, size, ".gnu.version_r")
    str_base, str_end = _string_table(image, by_index, int(section["sh_link"]))
    need_fmt = struct.Struct(image.order + "HHIII")
    aux_fmt = struct.Struct(image.order + "IHHII")
    limit = size // 16
    offset = 0
    for _ in range(min(int(section["sh_info"]), limit)):
        if offset < 0 or offset + 16 > size:
            break
        _ver, count, file_off, aux_off, next_off = need_fmt.unpack_from(raw, offset)
        library = image.cstring(str_base, str_end, file_off)
        versions: list[str] = []
        aux = offset + aux_off
        for _ in range(min(count, limit)):
            if aux < 0 or aux + 16 > size:
                break
            _hash, _flags, other, name_off, aux_next = aux_fmt.unpack_from(raw, aux)
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


def _read_versym(image: _Image, by_index: list[Any], count: int) -> memoryview | None:
    for section in by_index:
        if section["sh_type"] == "SHT_GNU_versym":
            start, size = int(section["sh_offset"]), int(section["sh_size"])
            size = min(size, count * 2)
            return image.region(start, size - size % 2, ".gnu.version").cast("B")
    return None


def _read_dynsym(
    image: _Image,
    section: Any,
    by_index: list[Any],
    version_names: dict[int, tuple[str, str]],
    init_names: tuple[str, ...],
) -> tuple[list[UndefinedSymbol], str | None]:
    """Undefined dynamic symbols (with their versions) and the defined module-init function."""
    if section is None or section["sh_type"] == "SHT_NOBITS":
        return [], None
    entsize = 24 if image.is64 else 16
    start, size = int(section["sh_offset"]), int(section["sh_size"])
    raw = image.region(start, size - size % entsize, ".dynsym")
    str_base, str_end = _string_table(image, by_index, int(section["sh_link"]))
    if image.is64:
        sym = struct.Struct(image.order + "IBBHQQ")
        fields = (0, 1, 3)  # st_name, st_info, st_shndx
    else:
        sym = struct.Struct(image.order + "IIIBBH")
        fields = (0, 3, 5)
    n_name, n_info, n_shndx = fields
    count = len(raw) // entsize
    versym = _read_versym(image, by_index, count) if version_names else None
    half = struct.Struct(image.order + "H")
    wanted = {name.encode("utf-8") + b"\0": name for name in init_names}
    data = image.data
    undefined: list[UndefinedSymbol] = []
    python_init: str | None = None
    for index, entry in enumerate(sym.iter_unpack(raw)):
        st_name, st_info, st_shndx = entry[n_name], entry[n_info], entry[n_shndx]
        if st_shndx != _SHN_UNDEF:
            if python_init is None and wanted and st_info & 0xF == STT_FUNC:
                at = str_base + st_name
                for key, name in wanted.items():
                    if data[at : at + len(key)] == key and at + len(key) <= str_end:
                        python_init = name
                        break
            continue
        if index == 0:
            continue
        version = library = None
        if versym is not None and 2 * index + 2 <= len(versym):
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
