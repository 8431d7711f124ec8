"""The check's stages one by one on ELF files gcc builds here, and every finding kind on a wheel."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from zigwheel.compliance import archive as archive_module
from zigwheel.compliance import read as read_module
from zigwheel.compliance.analysis import check_paths, check_wheel
from zigwheel.compliance.archive import Limits, Scanned, WheelArchive
from zigwheel.compliance.evaluate import Evaluation, evaluate_ladders, evaluate_policies
from zigwheel.compliance.findings import (
    ArchDetail,
    ClaimDetail,
    Finding,
    FindingKind,
    LibcDetail,
    LibraryDetail,
    SymbolsDetail,
)
from zigwheel.compliance.judge import Judgement, judge_claims, offending_symbols
from zigwheel.compliance.policy import GLIBC, MUSL, PlatformTag, ladder, parse_platform_tag
from zigwheel.compliance.read import Elf, WheelContent, read_wheel
from zigwheel.compliance.resolve import Library, Resolution, resolve_libraries, search_dirs
from zigwheel.compliance.select import Selection, claimed_arch_and_libc, select_elves
from zigwheel.compliance.words import render_finding

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="builds Linux ELF files"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc"),
]

# getrandom is GLIBC_2.25 and pthread_create GLIBC_2.34 (on a host with glibc 2.34 or later).
EXT_NEW = """
#include <pthread.h>
#include <sys/random.h>
static void *run(void *arg) { return arg; }
void *PyInit_newsyms(void) {
    char buf[4]; pthread_t t;
    getrandom(buf, sizeof buf, 0);
    pthread_create(&t, 0, run, 0);
    return buf[0] ? (void *)t : 0;
}
"""
# getpid keeps libc.so.6 in DT_NEEDED: the libc shows in the ELF file.
EXT_OLD = "#include <unistd.h>\nvoid *PyInit_{name}(void) {{ return (void *)(long)getpid(); }}\n"
EXT_CALLS = """
#include <unistd.h>
extern int {symbol}(void);
void *PyInit_{name}(void) {{ return (void *)(long)({symbol}() + getpid()); }}
"""
LIB_DEFINES = "int {symbol}(void) {{ return 1; }}\n"
_X86_ISA_1_NEEDED = 0xC0008002

class Build:
    """Compiles C source into shared libraries in one folder (each once); returns their bytes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._done: dict[tuple[str, ...], bytes] = {}

    def __call__(self, source: str, name: str, *args: str) -> bytes:
        key = (source, name, *args)
        if key not in self._done:
            src, out = self.folder / f"{name}.c", self.folder / name
            src.write_text(source)
            cmd = ["gcc", "-shared", "-fPIC", "-O1", "-o", str(out), str(src), *args]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            assert result.returncode == 0, result.stderr
            self._done[key] = out.read_bytes()
        return self._done[key]


@pytest.fixture(scope="module")
def gcc(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """gcc for this module's ELF files (they are built here, never committed)."""
    return Build(tmp_path_factory.mktemp("stages"))


def _stub(gcc: Build, soname: str, symbol: str = "stub_value") -> Path:
    """A library with the given soname that defines ``symbol``, to link against (not shipped)."""
    gcc(LIB_DEFINES.format(symbol=symbol), soname, f"-Wl,-soname,{soname}")
    return gcc.folder / soname


def _calls(gcc: Build, name: str, soname: str, symbol: str, *args: str) -> bytes:
    """An extension ``name`` that calls ``symbol`` from the library ``soname``."""
    lib = _stub(gcc, soname, symbol)
    return gcc(
        EXT_CALLS.format(name=name, symbol=symbol), f"{name}.so", f"-L{lib.parent}", f"-l:{soname}",
        *args,
    )  # fmt: skip


def _wheel(folder: Path, tag: str, members: dict[str, bytes], *, record: bool = True) -> Path:
    path = folder / f"w-1.0-cp311-cp311-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        if record:
            rows = "".join(f"{m},,\n" for m in members) + "w-1.0.dist-info/RECORD,,\n"
            archive.writestr("w-1.0.dist-info/RECORD", rows)
    return path


def _read(path: Path) -> WheelContent:
    with WheelArchive(path) as archive:
        return read_wheel(archive)


def _tags(text: str) -> tuple[PlatformTag, ...]:
    return tuple(parse_platform_tag(t) for t in text.split("."))


# -- stage 1: read ----------------------------------------------------------------------------


def test_read_parses_elf_members_in_record_order(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    path = _wheel(
        tmp_path, "manylinux_2_17_x86_64",
        {"w/m.abi3.so": ext, "w/__init__.py": b"", "w/data.bin": b"not an ELF", "w/z.so": ext},
    )  # fmt: skip
    content = _read(path)
    assert isinstance(content, WheelContent)
    assert content.readable
    assert content.findings == ()
    assert [e.path for e in content.elves] == ["w/m.abi3.so", "w/z.so"]
    first = content.elves[0]
    assert isinstance(first, Elf)
    assert first.extension  # defines PyInit_m, the init function its file name asks for
    assert first.py_major == 3
    assert not content.elves[1].extension
    assert {"", "w"} <= content.directories


def _segments(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(type, flags, offset, vaddr, filesz) of each program header of a 64-bit ELF."""
    phoff, phnum = struct.unpack_from("<Q", data, 0x20)[0], struct.unpack_from("<H", data, 0x38)[0]
    rows = struct.iter_unpack("<IIQQQQQQ", data[phoff : phoff + 56 * phnum])
    return [(t, f, off, vaddr, filesz) for t, f, off, vaddr, _p, filesz, _m, _a in rows]


def _strings_in_the_code(data: bytes) -> bytes:
    """``data`` with DT_STRTAB pointing into the code segment: no linker puts a table there."""
    code = next(s for s in _segments(data) if s[0] == 1 and s[1] & 1 and s[2] != 0)
    dynamic = next(s for s in _segments(data) if s[0] == 2)
    patched = bytearray(data)
    for at in range(dynamic[2], dynamic[2] + dynamic[4], 16):
        if struct.unpack_from("<q", patched, at)[0] == 5:  # DT_STRTAB
            struct.pack_into("<Q", patched, at + 8, code[3])
            return bytes(patched)
    raise AssertionError("no DT_STRTAB")


def test_read_keeps_only_the_loader_tables_and_reads_a_crafted_file_whole(
    gcc: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library's code segment is dropped as it inflates; a file whose table sits in the
    code is inflated again, whole, and both give what reading everything gives."""
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    assert any(s[0] == 1 and s[1] & 1 and s[2] != 0 for s in _segments(ext)), "separate code"
    crafted = _strings_in_the_code(ext)
    path = _wheel(tmp_path, "manylinux_2_17_x86_64", {"w/m.abi3.so": ext, "w/c.so": crafted})
    monkeypatch.setattr(archive_module, "_CHUNK", 1024)  # small chunks: a small file has gaps
    scans: list[tuple[str, bool, int]] = []
    real_scan = WheelArchive.scan

    def scan(self: WheelArchive, name: str, **kwargs: Any) -> Scanned:
        scanned = real_scan(self, name, **kwargs)
        kept = sum(len(chunk) for _at, chunk in scanned.pieces or ())
        scans.append((name, bool(kwargs.get("again")), kept))
        return scanned

    monkeypatch.setattr(WheelArchive, "scan", scan)
    selective = _read(path)
    first_pass = [entry for entry in scans if entry[0].endswith(".so")]
    monkeypatch.setattr(read_module, "loader_ranges", lambda _head: None)
    whole = _read(path)
    assert isinstance(selective, WheelContent)
    assert isinstance(whole, WheelContent)
    assert selective.elves == whole.elves
    assert selective.findings == whole.findings
    assert selective.elves[1].info.views_error  # the section headers name the real table
    assert [name for name, again, _kept in first_pass if again] == ["w/c.so"]
    kept_of_ext = next(kept for name, again, kept in first_pass if name == "w/m.abi3.so")
    assert kept_of_ext < len(ext)


def test_read_reports_members_it_cannot_read(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    path = _wheel(tmp_path, "manylinux_2_17_x86_64", {"w/bomb.so": b"\x7fELF" + bytes(8 << 20)})
    with WheelArchive(path, limits=Limits(max_member_bytes=4 << 20)) as archive:
        content = read_wheel(archive)
    assert not content.readable
    (finding,) = content.findings
    assert finding.kind is FindingKind.UNREADABLE_MEMBER
    assert finding.member == "w/bomb.so"
    assert "zip bomb" in render_finding(finding)
    assert ext  # the fixture compiles; the bomb alone is the point


# -- stage 2: select --------------------------------------------------------------------------


def test_select_keeps_the_wheel_arch_and_libc(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", {"w/m.abi3.so": ext}))
    selection = select_elves(content.elves, _tags("manylinux_2_17_x86_64"))
    assert isinstance(selection, Selection)
    assert (selection.arch, selection.libc) == ("x86_64", GLIBC)
    assert [e.path for e in selection.accepted] == ["w/m.abi3.so"]
    assert selection.libc_evidence
    assert selection.findings == ()

    musl = select_elves(content.elves, _tags("musllinux_1_2_x86_64"))
    assert musl.accepted == ()
    assert musl.notes == {"w/m.abi3.so": "ignored: other libc"}
    (finding,) = musl.findings
    assert finding == Finding(
        FindingKind.OTHER_LIBC, member="w/m.abi3.so", detail=LibcDetail(found=GLIBC, expected=MUSL)
    )

    arm = select_elves(content.elves, _tags("manylinux_2_17_aarch64"))
    assert arm.accepted == ()
    assert arm.notes == {"w/m.abi3.so": "ignored: x86_64 ELF in a aarch64 wheel"}


def test_claimed_arch_and_libc_need_agreeing_tags() -> None:
    assert claimed_arch_and_libc(_tags("manylinux_2_17_x86_64.manylinux2014_x86_64")) == (
        "x86_64", GLIBC,
    )  # fmt: skip
    assert claimed_arch_and_libc(_tags("manylinux_2_17_x86_64.musllinux_1_2_aarch64")) == (
        None, None,
    )  # fmt: skip


# -- stage 3: resolve -------------------------------------------------------------------------


def test_resolve_finds_bundled_libraries_through_runpath(gcc: Build, tmp_path: Path) -> None:
    runpath = "-Wl,-rpath,$ORIGIN/../w.libs"
    ext = _calls(gcc, "bund", "libhelper-1a2b3c.so", "helper_value", runpath)
    helper = (gcc.folder / "libhelper-1a2b3c.so").read_bytes()
    members = {"w/bund.abi3.so": ext, "w.libs/libhelper-1a2b3c.so": helper}
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", members))
    resolution = resolve_libraries(content.elves, content.elves, content.directories)
    assert isinstance(resolution, Resolution)
    assert [e.path for e in resolution.top] == ["w/bund.abi3.so"]  # the helper is needed by name
    tree = resolution.trees["w/bund.abi3.so"]
    helper_elf = next(e for e in content.elves if e.path == "w.libs/libhelper-1a2b3c.so")
    assert tree["libhelper-1a2b3c.so"] == Library(
        "w.libs/libhelper-1a2b3c.so", helper_elf.info.needed
    )
    assert tree["libc.so.6"] == Library(None)  # from the host
    assert search_dirs("$ORIGIN/../w.libs:/usr/lib", "w/bund.abi3.so", content.directories) == [
        "w.libs"
    ]
    assert search_dirs("$ORIGIN/../../etc", "w/bund.abi3.so", content.directories) == []


# -- stage 4: evaluate ------------------------------------------------------------------------


def test_evaluate_gives_typed_reasons_per_policy(gcc: Build, tmp_path: Path) -> None:
    ext = _calls(gcc, "ext", "libfoo.so.1", "foo_value")
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", {"w/ext.abi3.so": ext}))
    resolution = resolve_libraries(content.elves, content.elves, content.directories)
    policies = ladder(GLIBC, "x86_64")
    evaluation = evaluate_policies(policies, content.elves, resolution)
    assert isinstance(evaluation, Evaluation)
    assert evaluation.satisfied == ()  # libfoo is in no policy and not in the wheel
    assert evaluation.overall.is_linux
    reasons = evaluation.reasons["manylinux_2_17"]
    libfoo = next(r for r in reasons if r.kind is FindingKind.LIBRARY_NOT_ALLOWED)
    assert libfoo.detail == LibraryDetail(("w/ext.abi3.so",), "libfoo.so.1", "manylinux_2_17")
    assert libfoo.tag is None  # a policy's reason; judging a claimed tag names the tag
    assert evaluation.external["manylinux_2_17"]
    assert evaluation.reasons["linux"] == ()
    both = evaluate_ladders(
        policies, _tags("manylinux_2_17_x86_64.musllinux_1_2_x86_64"), content.elves, resolution,
        libc_evidence=True,
    )  # fmt: skip
    assert set(both) == {GLIBC}  # glibc shows in the ELF file: no musl ladder to evaluate


def test_evaluate_names_too_new_versions_with_their_symbols(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_NEW, "newsyms.so", "-lpthread")
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", {"w/newsyms.abi3.so": ext}))
    resolution = resolve_libraries(content.elves, content.elves, content.directories)
    evaluation = evaluate_policies(ladder(GLIBC, "x86_64"), content.elves, resolution)
    too_new = [
        r for r in evaluation.reasons["manylinux_2_17"]
        if r.kind is FindingKind.TOO_NEW_SYMBOL_VERSION
    ]  # fmt: skip
    details = [r.detail for r in too_new]
    assert all(isinstance(d, SymbolsDetail) for d in details)
    by_version = {d.version: d.symbols for d in details if isinstance(d, SymbolsDetail)}
    assert by_version["GLIBC_2.25"] == ("getrandom",)


# -- stage 5: judge ---------------------------------------------------------------------------


def test_judge_tags_reasons_and_marks_offending_symbols(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_NEW, "newsyms.so", "-lpthread")
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", {"w/newsyms.abi3.so": ext}))
    resolution = resolve_libraries(content.elves, content.elves, content.directories)
    policies = ladder(GLIBC, "x86_64")
    tags = _tags("manylinux_2_17_x86_64")
    evaluations = evaluate_ladders(policies, tags, content.elves, resolution, libc_evidence=True)
    judgement = judge_claims(tags, policies, evaluations)
    assert isinstance(judgement, Judgement)
    assert not judgement.holds
    assert judgement.restrictive is not None
    assert judgement.restrictive.name == "manylinux_2_17"
    assert {f.tag for f in judgement.findings} == {"manylinux_2_17_x86_64"}
    claim = judgement.findings[-1]
    assert claim.kind is FindingKind.CLAIM_BROKEN
    assert isinstance(claim.detail, ClaimDetail)
    assert claim.detail.flag == "--manylinux 2_17"
    assert render_finding(claim).startswith(
        "manylinux_2_17_x86_64 does not hold: rebuild with `zigwheel build --manylinux 2_17`"
    )
    offending = offending_symbols(judgement.restrictive, content.elves, resolution.top)
    names = {o.symbol for o in offending["w/newsyms.abi3.so"]}
    assert "getrandom" in names

    holds = judge_claims(_tags("linux_x86_64"), policies, evaluations)
    assert holds == Judgement(True, (), None)


def test_judge_refuses_tags_for_another_arch(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    content = _read(_wheel(tmp_path, "manylinux_2_17_x86_64", {"w/m.abi3.so": ext}))
    resolution = resolve_libraries(content.elves, content.elves, content.directories)
    policies = ladder(GLIBC, "x86_64")
    tags = _tags("manylinux_2_17_x86_64.manylinux_2_17_aarch64")
    evaluations = evaluate_ladders(policies, tags, content.elves, resolution, libc_evidence=True)
    judgement = judge_claims(tags, policies, evaluations)
    (finding,) = judgement.findings
    assert finding == Finding(
        FindingKind.ARCH_MISMATCH,
        tag="manylinux_2_17_aarch64",
        detail=ArchDetail("x86_64", claimed="aarch64"),
    )
    assert render_finding(finding) == (
        "manylinux_2_17_aarch64 is for aarch64, but the ELF files are x86_64"
    )


# -- every finding kind, on a crafted wheel ---------------------------------------------------


def _unknown_isa(data: bytes) -> bytes:
    """``data`` with its x86 ISA-needed property set to a bit no ISA level stands for."""
    marker = struct.pack("<II", _X86_ISA_1_NEEDED, 4)
    at = data.find(marker)
    assert at > 0, "no x86 ISA property to patch"
    patched = bytearray(data)
    struct.pack_into("<I", patched, at + 8, 0x100)
    return bytes(patched)


def _section_headers(data: bytes) -> tuple[int, int, list[tuple[int, int]]]:
    """(e_shoff, e_shnum, [(sh_type, header offset), ...]) of a little-endian ELF64."""
    shoff, _flags, _eh, _phe, _phn, shentsize, shnum = struct.unpack_from("<QIHHHHH", data, 0x28)
    return shoff, shnum, [
        (struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0], shoff + i * shentsize)
        for i in range(shnum)
    ]


def _without_section_headers(data: bytes) -> bytes:
    """``data`` as `strip`-like tools leave it at worst: no section header table at all."""
    patched = bytearray(data)
    struct.pack_into("<Q", patched, 0x28, 0)  # e_shoff
    struct.pack_into("<HHH", patched, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    return bytes(patched)


def _bad_shstrndx(data: bytes) -> bytes:
    patched = bytearray(data)
    struct.pack_into("<H", patched, 0x3E, 0x7FFF)  # e_shstrndx far beyond e_shnum
    return bytes(patched)


def _dynsym_hidden(data: bytes) -> bytes:
    """``data`` whose .dynsym section header lists the null symbol only; the loader reads all."""
    _shoff, _shnum, headers = _section_headers(data)
    (at,) = [offset for kind, offset in headers if kind == 11]  # SHT_DYNSYM
    patched = bytearray(data)
    struct.pack_into("<Q", patched, at + 0x20, 24)  # sh_size: one entry
    return bytes(patched)


def test_hidden_needs_are_read_as_the_loader_reads_them(gcc: Build, tmp_path: Path) -> None:
    """Removed or broken section headers hide nothing: PT_DYNAMIC gives the needs."""
    new = gcc(EXT_NEW, "newsyms.so", "-lpthread")
    for name, data in (
        ("stripped", _without_section_headers(new)),
        ("shstrndx", _bad_shstrndx(new)),
        ("hidden", _dynsym_hidden(new)),
    ):
        folder = tmp_path / name
        folder.mkdir()
        report = check_wheel(_wheel(folder, "manylinux_2_17_x86_64", {"w/newsyms.abi3.so": data}))
        assert report.readable, report.problems
        assert not report.compliant
        assert report.policy not in ("manylinux_2_5_x86_64", "manylinux_2_17_x86_64")
        too_new = [f for f in report.findings if f.kind is FindingKind.TOO_NEW_SYMBOL_VERSION]
        versions = {f.detail.version for f in too_new if isinstance(f.detail, SymbolsDetail)}
        assert "GLIBC_2.25" in versions  # getrandom
        assert "libc.so.6" in report.elves[0].needed
        disagree = [f for f in report.findings if f.kind is FindingKind.ELF_VIEWS_DISAGREE]
        assert bool(disagree) is (name == "hidden"), report.problems


def test_extension_suffix_must_import_under_the_wheel_tags(gcc: Build, tmp_path: Path) -> None:
    ext = gcc(EXT_OLD.format(name="m"), "m.so")
    cases = {
        "w/m.cpython-311-aarch64-linux-gnu.so": False,  # another architecture
        "w/m.cpython-311-x86_64-linux-musl.so": False,  # another libc
        "w/m.cpython-312-x86_64-linux-gnu.so": False,  # another Python
        "w/m.cpython-311-x86_64-linux-gnu.so": True,
        "w/m.abi3.so": True,
        "w/m.so": True,
    }
    for member, imports in cases.items():
        folder = tmp_path / member.replace("/", "_")
        folder.mkdir()
        report = check_wheel(_wheel(folder, "manylinux_2_17_x86_64", {member: ext}))
        found = [f for f in report.findings if f.kind is FindingKind.EXTENSION_SUFFIX_MISMATCH]
        assert (not found) is imports, (member, report.problems)
        assert report.compliant is imports
    # A cpython-311 module in an abi3 wheel imports on 3.11 only.
    abi3 = tmp_path / "abi3"
    abi3.mkdir()
    wheel = _wheel(abi3, "manylinux_2_17_x86_64", {"w/m.cpython-311-x86_64-linux-gnu.so": ext})
    renamed = wheel.with_name("w-1.0-cp311-abi3-manylinux_2_17_x86_64.whl")
    wheel.rename(renamed)
    (problem,) = check_wheel(renamed).problems
    assert problem == (
        "w/m.cpython-311-x86_64-linux-gnu.so is named for .cpython-311-x86_64-linux-gnu.so, "
        "which the wheel's tags cannot import (expected .abi3.so)"
    )


def test_every_finding_kind_comes_from_a_real_wheel(gcc: Build, tmp_path: Path) -> None:  # noqa: PLR0915 - one case per kind
    old = gcc(EXT_OLD.format(name="m"), "m.so")
    new = gcc(EXT_NEW, "newsyms.so", "-lpthread")
    seen: dict[FindingKind, str] = {}

    def case(name: str, tag: str, members: dict[str, bytes], *, record: bool = True) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        return _wheel(folder, tag, members, record=record)

    def record(path: Path, *, limits: Limits | None = None) -> None:
        report = check_wheel(path, limits=limits or Limits())
        assert len(report.problems) == len(report.findings)
        for finding in report.findings:
            seen.setdefault(finding.kind, render_finding(finding))

    # the input itself
    (tmp_path / "empty").mkdir()
    (tmp_path / "dir-1.0-py3-none-any.whl").mkdir()
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "x.txt").write_text("hello")
    inputs = [tmp_path / "gone-1.0-py3-none-any.whl", tmp_path / "empty", junk, tmp_path / "x.txt"]
    directory = check_wheel(tmp_path / "dir-1.0-py3-none-any.whl")  # named as a wheel, no file
    for report in [*check_paths(inputs), directory]:
        assert not report.readable
        (finding,) = report.findings
        seen.setdefault(finding.kind, render_finding(finding))
    # reading the archive
    record(case("unsafe", "manylinux_2_17_x86_64", {"../evil.py": b"", "w/m.abi3.so": old}))
    record(case("norecord", "manylinux_2_17_x86_64", {"w/m.abi3.so": old}, record=False))
    with zipfile.ZipFile(tmp_path / "missing-2.whl", "w") as archive:
        archive.writestr("w/m.abi3.so", old)
        archive.writestr("w-1.0.dist-info/RECORD", "w/m.abi3.so,,\nw/gone.so,,\n")
    moved = tmp_path / "missing2"
    moved.mkdir()
    shutil.move(tmp_path / "missing-2.whl", moved / "w-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    record(moved / "w-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    twice = tmp_path / "twice"
    twice.mkdir()
    with zipfile.ZipFile(twice / "w-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "w") as archive:
        archive.writestr("w/m.abi3.so", old)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("w/m.abi3.so", new)
        archive.writestr("w-1.0.dist-info/RECORD", "w/m.abi3.so,,\nw-1.0.dist-info/RECORD,,\n")
    record(twice / "w-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    digest = "sha256=" + "A" * 43
    lied = case("lied", "manylinux_2_17_x86_64", {"w/m.abi3.so": old}, record=False)
    with zipfile.ZipFile(lied, "a") as archive:
        archive.writestr(
            "w-1.0.dist-info/RECORD",
            f"w/m.abi3.so,{digest},{len(old) + 1}\nw-1.0.dist-info/RECORD,,\n",
        )
    record(lied)
    hidden = case("hidden", "manylinux_2_17_x86_64", {"w/m.abi3.so": old})
    with zipfile.ZipFile(hidden, "a") as archive:
        archive.writestr("w/newsyms.abi3.so", new)  # not in RECORD, yet pip unpacks it
    record(hidden)
    record(case("views", "manylinux_2_17_x86_64", {"w/newsyms.abi3.so": _dynsym_hidden(new)}))
    record(case("suffix", "manylinux_2_17_x86_64", {"w/m.cpython-311-aarch64-linux-gnu.so": old}))
    hidden_report = check_wheel(hidden)
    assert not hidden_report.compliant
    assert "w/newsyms.abi3.so" in [e.path for e in hidden_report.elves]
    assert hidden_report.policy != "manylinux_2_17_x86_64"  # its GLIBC_2.25 needs count
    bomb = case("bomb", "manylinux_2_17_x86_64", {"w/bomb.so": b"\x7fELF" + bytes(8 << 20)})
    record(bomb, limits=Limits(max_member_bytes=4 << 20))
    # selecting the ELF files
    record(case("purelib", "manylinux_2_17_x86_64", {"w-1.0.data/purelib/w/m.so": old}))
    musl_stub = _stub(gcc, "libc.musl-x86_64.so.1", "musl_value")
    mixed = gcc(
        EXT_CALLS.format(name="mixed", symbol="musl_value"), "mixed.so",
        f"-L{musl_stub.parent}", "-l:libc.musl-x86_64.so.1",
    )  # fmt: skip
    record(case("mixed", "manylinux_2_17_x86_64", {"w/mixed.abi3.so": mixed}))
    record(case("otherlibc", "musllinux_1_2_x86_64", {"w/m.abi3.so": old}))
    record(case("noelf", "manylinux_2_17_x86_64", {"w/__init__.py": b""}))
    record(case("otherarch", "manylinux_2_17_aarch64", {"w/m.abi3.so": old}))
    # evaluating each policy
    extlib = _calls(gcc, "ext", "libfoo.so.1", "foo_value")
    record(case("extlib", "manylinux_2_17_x86_64", {"w/ext.abi3.so": extlib}))
    libpython = _calls(gcc, "py", "libpython3.11.so.1.0", "Py_Initialize")
    record(case("libpython", "manylinux_2_17_x86_64", {"w/py.abi3.so": libpython}))
    older = ladder(GLIBC, "x86_64").get("manylinux_2_17")
    assert older is not None
    blacklisted = sorted(older.blacklist["libz.so.1"])[0]
    zuse = _calls(gcc, "zuse", "libz.so.1", blacklisted)
    record(case("blacklist", "manylinux_2_17_x86_64", {"w/zuse.abi3.so": zuse}))
    record(case("toonew", "manylinux_2_17_x86_64", {"w/newsyms.abi3.so": new}))
    isa = gcc(EXT_OLD.format(name="isa"), "isa.so", "-march=x86-64-v3", "-Wl,-z,x86-64-v3")
    record(case("isa", "manylinux_2_17_x86_64", {"w/isa.abi3.so": isa}))
    record(case("isabits", "manylinux_2_17_x86_64", {"w/isa.abi3.so": _unknown_isa(isa)}))
    pyfpe = gcc(
        "extern char PyFPE_jbuf[];\nvoid *PyInit_fpe(void) { return PyFPE_jbuf; }\n", "fpe.so"
    )
    record(case("pyfpe", "manylinux_2_17_x86_64", {"w/fpe.so": pyfpe}))
    # Linked against a library defining it, so the import is typed as a function (STT_FUNC).
    ucs2_lib = _stub(gcc, "libucs2.so", "PyUnicodeUCS2_FromString")
    ucs2 = gcc(
        "extern int PyUnicodeUCS2_FromString(void);\n"
        "void initnarrow(void) { PyUnicodeUCS2_FromString(); }\n",
        "narrow.so", f"-L{ucs2_lib.parent}", "-l:libucs2.so",
    )  # fmt: skip
    record(case("ucs2", "manylinux_2_17_x86_64", {"w/narrow.so": ucs2}))
    # judging the claimed tags
    anyw = tmp_path / "anywheel"
    anyw.mkdir()
    with zipfile.ZipFile(anyw / "w-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("w/m.abi3.so", old)
        archive.writestr("w-1.0.dist-info/RECORD", "w/m.abi3.so,,\nw-1.0.dist-info/RECORD,,\n")
    record(anyw / "w-1.0-py3-none-any.whl")
    record(case("macos", "manylinux_2_17_x86_64.macosx_11_0_x86_64", {"w/m.abi3.so": old}))
    record(case("arches", "manylinux_2_17_x86_64.manylinux_2_17_aarch64", {"w/m.abi3.so": old}))
    record(case("libcs", "manylinux_2_17_x86_64.musllinux_1_2_x86_64", {"w/m.abi3.so": old}))
    record(case("tooold", "manylinux_2_3_x86_64", {"w/m.abi3.so": old}))

    missing_kinds = sorted(k.value for k in set(FindingKind) - set(seen))
    assert not missing_kinds, missing_kinds
    # The words for a few, exactly as the check has always printed them.
    assert seen[FindingKind.NO_RECORD] == "the wheel has no single .dist-info/RECORD file"
    assert seen[FindingKind.MISSING_MEMBER] == (
        "w/gone.so is listed in RECORD but missing from the wheel"
    )
    assert seen[FindingKind.DUPLICATE_MEMBER] == "the archive holds w/m.abi3.so more than once"
    assert seen[FindingKind.UNLISTED_MEMBER] == (
        "w/newsyms.abi3.so is in the wheel but not listed in RECORD (installers unpack it)"
    )
    assert seen[FindingKind.RECORD_MISMATCH] == (
        f"w/m.abi3.so: its size is {len(old)}, but RECORD says {len(old) + 1}"
    )
    assert seen[FindingKind.MIXED_LIBC] == (
        "w/mixed.abi3.so mixes glibc and musl (libc.so.6)"  # musl is needed first
    )
    assert seen[FindingKind.LIBPYTHON_LINKED] == (
        "manylinux_2_17_x86_64: w/py.abi3.so links libpython3.11.so.1.0, which manylinux_2_17 "
        "does not allow and the wheel does not bundle"
    )
    assert seen[FindingKind.UCS2_BUILD] == (
        "manylinux_2_17_x86_64: w/narrow.so was built for a narrow-unicode (UCS2) Python"
    )
    assert seen[FindingKind.ISA_UNREADABLE] == (
        "manylinux_2_17_x86_64: w/isa.abi3.so: unknown x86-64 ISA bits 0x100"
    )
    assert seen[FindingKind.NO_SUCH_POLICY].startswith(
        "manylinux_2_3_x86_64: no glibc policy that old exists for x86_64 (the oldest is "
    )
