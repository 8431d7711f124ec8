"""Check stage 3, resolving needed libraries: what each top-level ELF file loads, from where."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from zigwheel.compliance.read import Elf

LIBPYTHON_RE = re.compile(r"^libpython\d+\.\d+m?.so(\.\d)*$")
_ORIGIN_RE = re.compile(r"\$(ORIGIN|\{ORIGIN\})")
_WHEEL_ROOT = "/\x00wheel"  # a path prefix no real directory has: stands for the wheel's root


@dataclass(frozen=True)
class Library:
    """One needed library: the member it resolves to inside the wheel (None: from the host)."""

    in_wheel: str | None
    needed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """The ELF files users load first, and each one's library tree by soname."""

    top: tuple[Elf, ...]
    trees: Mapping[str, Mapping[str, Library]]  # top member -> soname -> where it resolves


def top_level(accepted: Sequence[Elf]) -> tuple[Elf, ...]:
    """The extensions, and the other ELF files no accepted ELF file asks for by name."""
    needed_everywhere = {lib for e in accepted for lib in e.info.needed}
    return tuple(
        e for e in accepted if e.extension or posixpath.basename(e.path) not in needed_everywhere
    )


def search_dirs(value: str | None, member: str, dirs: Collection[str]) -> list[str]:
    """In-wheel folders of an RPATH/RUNPATH value ($ORIGIN expanded; "" is the wheel root)."""
    if not value:
        return []
    origin = posixpath.join(_WHEEL_ROOT, posixpath.dirname(member))
    result: list[str] = []
    for entry in value.split(":"):
        if entry == "":
            folder = _WHEEL_ROOT
        elif _ORIGIN_RE.search(entry):
            folder = posixpath.normpath(_ORIGIN_RE.sub(lambda _m: origin, entry))
        else:
            continue  # a host folder: never searched
        if folder == _WHEEL_ROOT:
            relative = ""
        elif folder.startswith(_WHEEL_ROOT + "/"):
            relative = folder[len(_WHEEL_ROOT) + 1 :]
        else:
            continue
        if relative in dirs and relative not in result:
            result.append(relative)
    return result


def _find(elf: Elf, soname: str, order: list[str], parsed: Mapping[str, Elf]) -> Elf | None:
    for folder in order:
        candidate = parsed.get(posixpath.join(folder, soname) if folder else soname)
        if candidate is not None and elf.info.compatible_with(candidate.info):
            return candidate
    return None


def resolve_tree(top: Elf, parsed: Mapping[str, Elf], dirs: Collection[str]) -> dict[str, Library]:
    """DT_NEEDED resolution inside the wheel, in auditwheel's lddtree search order.

    Only in-wheel directories are searched: a library not found in the wheel would be
    looked up on the host, and any such library makes the wheel depend on the host.
    ``parsed`` holds every parsed ELF member by path, accepted or not, like the files on disk.
    """
    libs: dict[str, Library] = {}
    if top.info.interpreter:
        libs[posixpath.basename(top.info.interpreter)] = Library(None)
    top_runpath = search_dirs(top.info.runpath, top.path, dirs)
    top_rpath = [] if top_runpath else search_dirs(top.info.rpath, top.path, dirs)

    def search_order(elf: Elf) -> list[str]:
        runpath = search_dirs(elf.info.runpath, elf.path, dirs)
        rpath = [] if runpath else search_dirs(elf.info.rpath, elf.path, dirs)
        return list(dict.fromkeys(top_rpath + rpath + runpath + top_runpath))

    # Depth first in DT_NEEDED order; the first resolution of a soname wins.
    stack = [(top, iter(top.info.needed), search_order(top))]
    while stack:
        elf, pending, order = stack[-1]
        soname = next(pending, None)
        if soname is None:
            stack.pop()
            continue
        if soname in libs:
            continue
        if LIBPYTHON_RE.match(soname):
            libs[soname] = Library(None)
            continue
        found = _find(elf, soname, order, parsed)
        if found is None:
            libs[soname] = Library(None)
            continue
        libs[soname] = Library(found.path, found.info.needed)
        stack.append((found, iter(found.info.needed), search_order(found)))
    return libs


def resolve_libraries(
    accepted: Sequence[Elf], parsed: Sequence[Elf], dirs: Collection[str]
) -> Resolution:
    """The top-level ELF files of ``accepted`` and the library tree of each."""
    top = top_level(accepted)
    by_path = {elf.path: elf for elf in parsed}
    return Resolution(top, {elf.path: resolve_tree(elf, by_path, dirs) for elf in top})


__all__ = [
    "LIBPYTHON_RE",
    "Library",
    "Resolution",
    "resolve_libraries",
    "resolve_tree",
    "search_dirs",
    "top_level",
]
