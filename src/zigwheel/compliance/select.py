"""Check stage 2, selecting the ELF files: those the verdict rests on, their arch and libc."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from zigwheel.compliance.findings import (
    ArchDetail,
    Finding,
    FindingKind,
    LibcDetail,
    MembersDetail,
    SuffixDetail,
)
from zigwheel.compliance.policy import GLIBC, MUSL, PlatformTag
from zigwheel.compliance.read import Elf


@dataclass(frozen=True)
class Selection:
    """The ELF files of one architecture and libc the wheel's verdict rests on."""

    arch: str | None  # the wheel's architecture: the tags', else the first ELF file's
    libc: str | None  # the wheel's libc: the tags', else the first ELF file that shows one
    accepted: tuple[Elf, ...]
    libc_evidence: bool  # some accepted ELF file shows which libc it needs
    notes: Mapping[str, str] = field(default_factory=dict)  # member -> why it was left out
    findings: tuple[Finding, ...] = ()


def claimed_arch_and_libc(tags: Sequence[PlatformTag]) -> tuple[str | None, str | None]:
    """The one architecture and the one libc the platform tags agree on (None when they do not)."""
    arches: set[str] = set()
    missed = False
    for tag in tags:
        if tag.tag == "any":
            continue
        if tag.baseline is None:
            missed = True
        else:
            arches.add(tag.baseline)
    arch = next(iter(arches)) if len(arches) == 1 and not missed else None
    libcs = {
        GLIBC if t.tag.startswith("manylinux") else MUSL
        for t in tags
        if t.tag.startswith(("manylinux", "musllinux"))
    }
    libc = next(iter(libcs)) if len(libcs) == 1 else None
    return arch, libc


def purelib_finding(elves: Sequence[Elf]) -> Finding | None:
    """A finding when ELF files sit in a purelib folder, where no platform wheel may put them."""
    purelib = tuple(e.path for e in elves if "purelib" in e.path.split("/")[:-1])
    if not purelib:
        return None
    return Finding(FindingKind.PURELIB_ELF, detail=MembersDetail(purelib))


def elf_libc(elf: Elf) -> tuple[str | None, Finding | None]:
    """(libc, finding) for one ELF: interpreter, then DT_NEEDED, then the file-name suffix."""
    info = elf.info
    libc: str | None = None
    if info.interpreter is not None:
        libc = MUSL if posixpath.basename(info.interpreter).startswith("ld-musl-") else GLIBC
    for soname in info.needed:
        found = None
        # "libc.so" is upstream musl's soname; glibc's libc.so is a linker script, never needed
        if soname == "libc.so" or soname.startswith(("libc.musl-", "ld-musl-")):
            found = MUSL
        elif soname == "libc.so.6" or soname.startswith(("ld-linux-", "ld64.so.")):
            found = GLIBC
        if found is not None:
            if libc is not None and libc != found:
                detail = LibcDetail(found=found, expected=libc, soname=soname)
                return None, Finding(FindingKind.MIXED_LIBC, member=elf.path, detail=detail)
            libc = found
    if libc is None:
        libc = _libc_of_file_name(posixpath.basename(elf.path))
    return libc, None


def _libc_of_file_name(base: str) -> str | None:
    if base.endswith(("-arm-linux-musleabihf.so", "-linux-musl.so")):
        return MUSL
    if base.endswith(("-arm-linux-gnueabihf.so", "-linux-gnu.so")):
        soabi = base.rsplit(".", 2)[-2].split("-") if base.count(".") >= 2 else [""]
        # Before CPython 3.11 musl builds were named "-linux-gnu" too (auditwheel's rule).
        if (
            len(soabi) > 1
            and soabi[0] == "cpython"
            and soabi[1][:1] == "3"
            and soabi[1][1:3].isdigit()
            and int(soabi[1][1:3]) >= 11
        ):
            return GLIBC
    return None


def select_elves(elves: Sequence[Elf], tags: Sequence[PlatformTag]) -> Selection:
    """The ELF files of the wheel's architecture and libc, in order; the others with a note."""
    arch, libc = claimed_arch_and_libc(tags)
    accepted: list[Elf] = []
    notes: dict[str, str] = {}
    findings: list[Finding] = []
    evidence = False
    for elf in elves:
        info = elf.info
        if info.arch is None:
            notes[elf.path] = f"ignored: {info.arch_error}"
            continue
        if arch is None:
            arch = info.arch
        elif info.arch != arch:
            notes[elf.path] = f"ignored: {info.arch} ELF in a {arch} wheel"
            continue
        found, mixed = elf_libc(elf)
        if mixed is not None:
            findings.append(mixed)
            notes[elf.path] = "ignored: mixed libc"
            continue
        if found is not None:
            evidence = True
            if libc is None:
                libc = found
            elif libc != found:
                detail = LibcDetail(found=found, expected=libc)
                findings.append(Finding(FindingKind.OTHER_LIBC, member=elf.path, detail=detail))
                notes[elf.path] = "ignored: other libc"
                continue
        accepted.append(elf)
    return Selection(arch, libc, tuple(accepted), evidence, notes, tuple(findings))


# CPython's platform triplet (the end of its SOABI) per wheel architecture: (glibc, musl).
_TRIPLETS = {
    "x86_64": ("x86_64-linux-gnu", "x86_64-linux-musl"),
    "i686": ("i386-linux-gnu", "i386-linux-musl"),
    "aarch64": ("aarch64-linux-gnu", "aarch64-linux-musl"),
    "armv7l": ("arm-linux-gnueabihf", "arm-linux-musleabihf"),
    "ppc64le": ("powerpc64le-linux-gnu", "powerpc64le-linux-musl"),
    "ppc64": ("powerpc64-linux-gnu", "powerpc64-linux-musl"),
    "s390x": ("s390x-linux-gnu", "s390x-linux-musl"),
    "riscv64": ("riscv64-linux-gnu", "riscv64-linux-musl"),
    "loongarch64": ("loongarch64-linux-gnu", "loongarch64-linux-musl"),
}
_CPYTHON_RE = re.compile(r"^cp(?P<version>3\d+)$")


def _cpython_version(interpreter: str) -> str:
    """"311" of "cp311" (callers pass only interpreters _CPYTHON_RE matches)."""
    match = _CPYTHON_RE.match(interpreter)
    return match["version"] if match else ""


def _triplets(arch: str, libc: str | None, version: str) -> tuple[str, ...]:
    gnu, musl = _TRIPLETS.get(arch, ("", ""))
    if libc == GLIBC:
        return (gnu,)
    # CPython named musl builds "-linux-gnu" too before 3.11
    old = version[:1] == "3" and version[1:3].isdigit() and int(version[1:3]) < 11
    if libc == MUSL:
        return (musl, gnu) if old else (musl,)
    return (gnu, musl)


def _imports(soabi: str, interpreter: str, abi: str, arch: str, libc: str | None) -> bool:
    """True when CPython of the wheel tag (interpreter, abi) imports a module named for soabi."""
    version = _cpython_version(interpreter)
    if soabi == "abi3":
        return True  # every CPython 3 imports the stable ABI's suffix
    if abi == "abi3":
        return False  # an abi3 wheel installs on later Pythons, which skip a versioned suffix
    parts = soabi.split("-")
    flags = parts[1] if len(parts) > 1 else ""
    wanted = abi[2:] if abi.startswith("cp") else version  # "311", "313t", "37m"
    if not flags.startswith(version) or flags != wanted:
        return False
    return len(parts) < 3 or "-".join(parts[2:]) in _triplets(arch, libc, version)


def suffix_findings(
    accepted: Sequence[Elf], pythons: Sequence[tuple[str, str]], arch: str, libc: str | None
) -> tuple[Finding, ...]:
    """Extensions whose file-name suffix some CPython tag of the wheel cannot import.

    CPython imports ``mod.<SOABI>.so``, ``mod.abi3.so`` and ``mod.so`` only: a module named for
    another architecture, libc or Python is never found, whatever its content.
    """
    cpython = [(i, a) for i, a in pythons if _CPYTHON_RE.match(i)]
    found: list[Finding] = []
    for elf in accepted:
        base = posixpath.basename(elf.path)
        if not elf.extension or not base.endswith(".so") or base.count(".") < 2:
            continue
        soabi = base.split(".", 1)[1][: -len(".so")]
        if not (soabi == "abi3" or soabi.startswith("cpython-")):
            continue
        failing = [(i, a) for i, a in cpython if not _imports(soabi, i, a, arch, libc)]
        if not failing:
            continue
        expected: list[str] = []
        for interpreter, abi in cpython:
            version = _cpython_version(interpreter)
            if abi == "abi3":
                expected.append("abi3")
            else:
                flags = abi[2:] if abi.startswith("cp") else version
                expected += [f"cpython-{flags}-{t}" for t in _triplets(arch, libc, version)]
        detail = SuffixDetail(soabi, tuple(dict.fromkeys(expected)))
        found.append(Finding(FindingKind.EXTENSION_SUFFIX_MISMATCH, member=elf.path, detail=detail))
    return tuple(found)


def no_native_code(
    elves: Sequence[Elf], tags: Sequence[PlatformTag], arch: str | None
) -> tuple[Finding, ...]:
    """Why a wheel without an accepted ELF file fails its tags: none at all, or none of its arch."""
    if not elves:
        return tuple(
            Finding(FindingKind.PLATFORM_TAG_WITHOUT_ELF, tag=tag.tag)
            for tag in tags
            if tag.tag != "any"
        )
    found = tuple(sorted({e.info.arch or e.info.machine for e in elves}))
    return (Finding(FindingKind.NO_ELF_FOR_ARCH, detail=ArchDetail(arch, found=found)),)


__all__ = [
    "Selection",
    "claimed_arch_and_libc",
    "elf_libc",
    "no_native_code",
    "purelib_finding",
    "select_elves",
    "suffix_findings",
]
