"""The architecture registry (one row per arch in toolchains/targets.toml) and the libc names."""

from __future__ import annotations

import enum
import functools
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zigwheel.errors import DataError
from zigwheel.resources import load_toml, toolchains_dir

REGISTRY_FILE = "targets.toml"
_HINT = "reinstall zigwheel; its target table is damaged"
_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_VERSION_RE = re.compile(r"^(\d+)_(\d+)$")
# Keys every row has, and the keys only a row of a build target has.
_COMMON_KEYS = frozenset(
    {"aliases", "debian", "e_machine", "e_machine_code", "elf_class", "endian", "qemu"}
)
_OPTIONAL_KEYS = frozenset({"build", "tag_variants"})
_BUILD_KEYS = frozenset({
    "rust_glibc", "rust_musl", "zig_glibc", "zig_musl", "mcpu", "cmake_processor",
    "manylinux", "musllinux", "zig_min_glibc",
})  # fmt: skip


class Libc(str, enum.Enum):
    """The C library of a Linux system: the one spelling of it in zigwheel's code."""

    GLIBC = "glibc"
    MUSL = "musl"

    def __str__(self) -> str:
        return self.value

    @property
    def policy_family(self) -> str:
        """The policy name prefix: ``manylinux`` for glibc, ``musllinux`` for musl."""
        return "manylinux" if self is Libc.GLIBC else "musllinux"

    @property
    def triple_word(self) -> str:
        """How Rust and zig triples spell it (``gnu`` / ``musl``)."""
        return "gnu" if self is Libc.GLIBC else "musl"


@dataclass(frozen=True)
class ArchRow:
    """Every fact about one architecture; ``name`` is the wheel platform tag's spelling."""

    name: str
    aliases: tuple[str, ...]
    debian: str
    e_machine: str  # pyelftools spelling, e.g. EM_X86_64
    e_machine_code: int
    elf_class: int  # 32 | 64
    little_endian: bool
    qemu: str
    tag_variants: tuple[str, ...] = ()
    build: bool = True
    # Only for build targets (build=True); empty otherwise.
    rust: Mapping[Libc, str] = field(default_factory=dict)
    zig: Mapping[Libc, str] = field(default_factory=dict)
    mcpu: str = ""
    cmake_processor: str = ""
    manylinux: tuple[str, ...] = ()
    musllinux: tuple[str, ...] = ()
    zig_min_glibc: tuple[int, int] = (0, 0)

    def __str__(self) -> str:
        return self.name

    def policies(self, libc: Libc) -> tuple[str, ...]:
        """The policy versions (``2_17``, ``1_2``) auditwheel knows for this arch and libc."""
        return self.manylinux if libc is Libc.GLIBC else self.musllinux


@dataclass(frozen=True)
class Registry:
    """Every architecture row, with the indexes the lookups use."""

    rows: Mapping[str, ArchRow]
    _by_alias: Mapping[str, ArchRow]
    _by_tag: Mapping[str, ArchRow]
    _by_elf: Mapping[tuple[int, int, bool], ArchRow]
    _by_debian: Mapping[str, ArchRow]
    _by_qemu: Mapping[str, ArchRow]
    _by_rust: Mapping[str, tuple[ArchRow, Libc]]

    def __iter__(self) -> Iterator[ArchRow]:
        return iter(self.rows.values())

    def buildable(self) -> list[ArchRow]:
        """The rows zigwheel builds for, in table order."""
        return [row for row in self.rows.values() if row.build]

    def parse(self, text: str) -> ArchRow | None:
        """A name or alias in any case (``arm64``, ``AMD64``, ``armv8l``) -> its row, or None."""
        return self._by_alias.get(text.strip().lower())

    def by_tag_arch(self, suffix: str) -> ArchRow | None:
        """A wheel tag's architecture suffix (``x86_64_v3``, ``aarch64``) -> its baseline row."""
        return self._by_tag.get(suffix)

    def by_elf(self, e_machine: int | str, elf_class: int, little_endian: bool) -> ArchRow | None:
        """The row of an ELF file's machine (number or pyelftools name), class and byte order."""
        if isinstance(e_machine, str):
            codes = [row.e_machine_code for row in self.rows.values() if row.e_machine == e_machine]
            if not codes:
                return None
            e_machine = codes[0]
        return self._by_elf.get((e_machine, elf_class, little_endian))

    def by_debian(self, name: str) -> ArchRow | None:
        """Debian's architecture name (``arm64``, ``ppc64el``) -> its row."""
        return self._by_debian.get(name)

    def by_qemu(self, name: str) -> ArchRow | None:
        """qemu-user's architecture name (``i386``, ``arm``) -> its row."""
        return self._by_qemu.get(name)

    def by_rust_triple(self, triple: str) -> tuple[ArchRow, Libc] | None:
        """A Rust target triple -> (its row, its libc); None for one zigwheel does not build."""
        return self._by_rust.get(triple)


def _fail(message: str) -> DataError:
    return DataError(f"{REGISTRY_FILE}: {message}", hint=_HINT)


def _get(row: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = row.get(key)
    # bool is an int in Python; a flag is never a number here, nor the reverse
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(f"[{where}] {key} must be a {'number' if kind is int else 'string'}")
    return value


def _names(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(f"[{where}] {key} must be a list of strings")
    for item in value:
        if not _NAME_RE.match(item):
            raise _fail(f"[{where}] {key} has a malformed name {item!r}")
    return tuple(value)


def parse_version(text: str, *, where: str) -> tuple[int, int]:
    """``2_17`` -> (2, 17); DataError naming ``where`` for anything else."""
    match = _VERSION_RE.match(text)
    if match is None:
        raise _fail(f"{where} has a malformed version {text!r}")
    return int(match.group(1)), int(match.group(2))


def _versions(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(f"[{where}] {key} must be a list of strings")
    for item in value:
        parse_version(item, where=f"{where}.{key}")
    return tuple(value)


def parse_row(name: str, row: Mapping[str, Any]) -> ArchRow:
    """Validate one ``[arch.NAME]`` table and turn it into an ArchRow."""
    where = f"arch.{name}"
    if not _NAME_RE.match(name):
        raise _fail(f"[{where}] is not a valid architecture name")
    if not isinstance(row, Mapping):
        raise _fail(f"[{where}] must be a table")
    build = row.get("build", True)
    if not isinstance(build, bool):
        raise _fail(f"[{where}] build must be true or false")
    allowed = _COMMON_KEYS | _OPTIONAL_KEYS | (_BUILD_KEYS if build else frozenset())
    unknown = sorted(set(row) - allowed)
    if unknown:
        why = " (a row with build = false has no build keys)" if set(unknown) & _BUILD_KEYS else ""
        raise _fail(f"[{where}] has unknown keys: {', '.join(unknown)}{why}")
    missing = sorted((_COMMON_KEYS | (_BUILD_KEYS if build else frozenset())) - set(row))
    if missing:
        raise _fail(f"[{where}] lacks {', '.join(missing)}")
    elf_class = _get(row, "elf_class", int, where)
    if elf_class not in (32, 64):
        raise _fail(f"[{where}] elf_class must be 32 or 64")
    endian = _get(row, "endian", str, where)
    if endian not in ("little", "big"):
        raise _fail(f"[{where}] endian must be \"little\" or \"big\"")
    e_machine = _get(row, "e_machine", str, where)
    if not e_machine.startswith("EM_"):
        raise _fail(f"[{where}] e_machine must be an EM_* name")
    code = _get(row, "e_machine_code", int, where)
    if not 0 < code < 1 << 16:
        raise _fail(f"[{where}] e_machine_code must fit ELF's 16-bit e_machine")
    facts: dict[str, Any] = {}
    if build:
        rust = {Libc.GLIBC: _get(row, "rust_glibc", str, where),
                Libc.MUSL: _get(row, "rust_musl", str, where)}  # fmt: skip
        zig = {Libc.GLIBC: _get(row, "zig_glibc", str, where),
               Libc.MUSL: _get(row, "zig_musl", str, where)}  # fmt: skip
        for libc in Libc:
            spelled = f"-linux-{libc.triple_word}"
            if spelled not in rust[libc] or spelled not in zig[libc]:
                raise _fail(f"[{where}] the {libc} triples must name linux-{libc.triple_word}")
        facts = {
            "rust": rust,
            "zig": zig,
            "mcpu": _get(row, "mcpu", str, where),
            "cmake_processor": _get(row, "cmake_processor", str, where),
            "manylinux": _versions(row, "manylinux", where),
            "musllinux": _versions(row, "musllinux", where),
            "zig_min_glibc": parse_version(
                _get(row, "zig_min_glibc", str, where), where=f"{where}.zig_min_glibc"
            ),
        }
    return ArchRow(
        name=name,
        aliases=_names(row, "aliases", where),
        debian=_get(row, "debian", str, where),
        e_machine=e_machine,
        e_machine_code=code,
        elf_class=elf_class,
        little_endian=endian == "little",
        qemu=_get(row, "qemu", str, where),
        tag_variants=_names(row, "tag_variants", where),
        build=build,
        **facts,
    )


def _index(kind: str, pairs: list[tuple[Any, ArchRow]]) -> dict[Any, ArchRow]:
    index: dict[Any, ArchRow] = {}
    for key, row in pairs:
        other = index.setdefault(key, row)
        if other is not row:
            raise _fail(f"{kind} {key!r} belongs to both [arch.{other.name}] and [arch.{row.name}]")
    return index


def parse_registry(document: Mapping[str, Any]) -> Registry:
    """Validate the ``[arch.*]`` tables of a target table document; DataError when broken."""
    tables = document.get("arch")
    if not isinstance(tables, Mapping):
        raise _fail("the [arch.*] tables are missing")
    rows = {name: parse_row(name, table) for name, table in tables.items()}
    spellings = [(row.name, row) for row in rows.values()]
    spellings += [(alias, row) for row in rows.values() for alias in row.aliases]
    rust = [(row.rust[libc], row) for row in rows.values() for libc in row.rust]
    by_rust = _index("the Rust triple", rust)
    return Registry(
        rows=rows,
        _by_alias=_index("the name", spellings),
        _by_tag=_index(
            "the tag suffix",
            [(row.name, row) for row in rows.values()]
            + [(v, row) for row in rows.values() for v in row.tag_variants],
        ),
        _by_elf=_index(
            "the ELF machine",
            [((r.e_machine_code, r.elf_class, r.little_endian), r) for r in rows.values()],
        ),
        _by_debian=_index("the Debian name", [(row.debian, row) for row in rows.values()]),
        _by_qemu=_index("the qemu name", [(row.qemu, row) for row in rows.values()]),
        _by_rust={
            triple: (row, next(libc for libc in row.rust if row.rust[libc] == triple))
            for triple, row in by_rust.items()
        },
    )


@functools.cache
def registry() -> Registry:
    """The shipped registry, loaded and validated once per process."""
    return parse_registry(load_toml(toolchains_dir() / REGISTRY_FILE))


def lookup(text: str) -> ArchRow | None:
    """An architecture name or alias, in any case, -> its row (None when unknown)."""
    return registry().parse(text)


def canonical_arch(machine: str) -> str:
    """The wheel spelling of a machine name (``AMD64`` -> x86_64); unknown names in lower case."""
    row = lookup(machine)
    return row.name if row is not None else machine.strip().lower()


def qemu_programs(arch: ArchRow | str) -> tuple[str, str]:
    """The qemu-user program names that run ``arch``'s binaries, preferred first."""
    row = arch if isinstance(arch, ArchRow) else lookup(arch)
    # an architecture the registry lacks is tried under its own name, as qemu often spells it
    name = row.qemu if row is not None else str(arch)
    return f"qemu-{name}", f"qemu-{name}-static"


def find_qemu(arch: ArchRow | str, path_env: str) -> Path | None:
    """The qemu-user program for ``arch`` (a row or a name) on the search path ``path_env``."""
    for program in qemu_programs(arch):
        found = shutil.which(program, path=path_env)
        if found:
            return Path(found)
    return None
