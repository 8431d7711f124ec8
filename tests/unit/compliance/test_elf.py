"""ELF parsing: a real ELF's facts, and one-sentence errors for malformed files."""

from __future__ import annotations

import platform
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from zigwheel.compliance import elf as elf_module
from zigwheel.compliance import elf_constants
from zigwheel.compliance.elf import is_elf, module_init_names, parse_elf
from zigwheel.errors import UnreadableInputError

MACHINE = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine())


@pytest.fixture(scope="module")
def interpreter() -> bytes:
    """The running Python's own executable: a real, dynamically linked ELF."""
    return Path(sys.executable).resolve().read_bytes()


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
def test_real_elf_facts(interpreter: bytes) -> None:
    info = parse_elf(interpreter)
    assert info.arch == MACHINE
    assert info.interpreter is not None
    assert "ld-" in info.interpreter
    assert "libc.so.6" in info.needed or any(n.startswith("libpython") for n in info.needed)
    libraries = dict(info.verneed)
    assert any(v.startswith("GLIBC_") for versions in libraries.values() for v in versions)
    versioned = [s for s in info.undefined if s.version]
    assert versioned
    assert all(s.library in libraries for s in versioned)
    assert all(s.version in libraries[s.library] for s in versioned if s.library)


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (0x04, "<B", 7, "identification"),
        (0x28, "<Q", 1 << 40, "section header table"),
        (0x3A, "<H", 12, "section header entry size"),
        (0x3C, "<H", 0xFFFF, "section header table"),
        (0x20, "<Q", 1 << 40, "program header table"),
        (0x38, "<H", 0xFFFF, "program header table"),
    ],
)
def test_corrupt_headers_give_one_sentence(
    interpreter: bytes, offset: int, fmt: str, value: int, message: str
) -> None:
    with pytest.raises(UnreadableInputError, match=message) as caught:
        parse_elf(_patched(interpreter, offset, fmt, value))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("size", [0, 3, 4, 20, 63])
def test_truncated_files(interpreter: bytes, size: int) -> None:
    with pytest.raises(UnreadableInputError):
        parse_elf(interpreter[:size])


def test_truncated_body_is_an_error_not_a_crash(interpreter: bytes) -> None:
    failures = 0
    for cut in range(64, len(interpreter), max(1, len(interpreter) // 97)):
        try:
            parse_elf(interpreter[:cut])
        except UnreadableInputError:
            failures += 1
    assert failures  # cutting away the section headers at the end always fails


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[at : at + size] for at in range(0, len(data), size)]


def _outcome(data: bytes | list[bytes]) -> object:
    try:
        return parse_elf(data, init_names=["PyInit__hashlib"])
    except UnreadableInputError as err:
        return str(err)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
@pytest.mark.parametrize("size", [1, 5, 64, 4093])
def test_chunks_give_what_the_whole_file_gives(interpreter: bytes, size: int) -> None:
    """The check parses a member in the chunks it was inflated in: every table, name and
    header may straddle a chunk boundary, and the facts (or the error) must not change."""
    import _hashlib  # noqa: PLC0415 - a real extension module with versioned imports

    extension = Path(_hashlib.__file__).read_bytes()
    for data in (interpreter, extension):
        whole = parse_elf(data, init_names=["PyInit__hashlib"])
        assert _outcome(_split(data, size)) == whole
        for cut in range(64, len(data), len(data) // 13):  # truncated files fail alike
            assert _outcome(_split(data[:cut], size)) == _outcome(data[:cut])
    assert parse_elf(extension, init_names=["PyInit__hashlib"]).python_init == "PyInit__hashlib"


def _kept(data: bytes, size: int) -> tuple[list[tuple[int, bytes]], int]:
    """The chunks of ``size`` bytes a check keeps of ``data`` (told by its first MiB), and sum."""
    ranges = elf_module.loader_ranges(data[: 1 << 20])
    assert ranges is not None
    pieces = [
        (at, data[at : at + size])
        for at in range(0, len(data), size)
        if any(start < at + size and at < end for start, end in ranges)
    ]
    return pieces, sum(len(chunk) for _at, chunk in pieces)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
@pytest.mark.parametrize("size", [64, 4096])
def test_the_loader_tables_alone_give_what_the_whole_file_gives(
    interpreter: bytes, size: int
) -> None:
    """The code and the debug sections are dropped as a member inflates: the facts stay."""
    import _hashlib  # noqa: PLC0415 - a real extension module with versioned imports

    extension = Path(_hashlib.__file__).read_bytes()
    for data in (interpreter, extension):
        pieces, kept = _kept(data, size)
        assert kept < len(data)
        init = ["PyInit__hashlib"]
        facts = elf_module.parse_elf_pieces(pieces, len(data), init_names=init)
        assert facts == parse_elf(data, init_names=init)


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
def test_a_table_in_bytes_not_kept_asks_for_the_whole_file(interpreter: bytes) -> None:
    pieces, _kept_bytes = _kept(interpreter, 64)
    symbols = struct.unpack_from("<Q", interpreter, 0x28)[0]  # drop the section headers
    without = [(at, chunk) for at, chunk in pieces if at + len(chunk) <= symbols]
    with pytest.raises(elf_module.BytesNotKept):
        elf_module.parse_elf_pieces(without, len(interpreter))


def test_loader_ranges_keep_everything_they_cannot_place() -> None:
    assert elf_module.loader_ranges(b"") is None
    assert elf_module.loader_ranges(b"\x7fELF" + b"\0" * 60) is None  # no class, no headers
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff 64, and no program header at all
    assert elf_module.loader_ranges(bytes(header)) is None  # an object file: by its sections


def test_magic_and_module_names() -> None:
    assert is_elf(b"\x7fELF\x02")
    assert not is_elf(b"PK\x03\x04")
    assert module_init_names("_core.cpython-311-x86_64-linux-gnu.so") == {
        "PyInit__core": 3,
        "init_core": 2,
        "_cffi_pypyinit__core": 2,
    }


# -- crafted ELFs: the caps that bound time and memory on hostile input --------------------------

SHT_STRTAB, SHT_DYNSYM, SHT_NOTE, SHT_VERNEED = 3, 11, 7, 0x6FFFFFFE


def _crafted(
    sections: Sequence[tuple[str | int, int, bytes, int, int]], *, shstrtab: bytes | None = None
) -> bytes:
    """An x86_64 ELF whose sections are (name or name offset, type, content, link, info).

    Section 1 is the section name table; the given sections follow from index 2 on.
    """
    names = b"\0.shstrtab\0"
    offsets: list[int] = []
    for name, *_rest in sections:
        if isinstance(name, int):
            offsets.append(name)
        else:
            offsets.append(len(names))
            names += name.encode() + b"\0"
    table = names if shstrtab is None else shstrtab
    body = bytearray(b"\0" * 64)
    placed: list[tuple[int, int, int, int, int, int]] = [(0, 0, 0, 0, 0, 0)]
    placed.append((1, SHT_STRTAB, len(body), len(table), 0, 0))
    body += table
    for (_name, kind, content, link, info), name_off in zip(sections, offsets):
        while len(body) % 8:
            body += b"\0"
        placed.append((name_off, kind, len(body), len(content), link, info))
        body += content
    while len(body) % 8:
        body += b"\0"
    shoff = len(body)
    for name_off, kind, offset, size, link, info in placed:
        body += struct.pack("<IIQQQQIIQQ", name_off, kind, 0, 0, offset, size, link, info, 8, 0)
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    header = struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0, 64, 56, 0, 64, len(placed), 1)
    body[:64] = ident + header
    return bytes(body)


def test_crafted_version_needs_parse() -> None:
    """The crafted layout is real enough: two libraries, three versions, read in order."""
    strings = b"\0libc.so.6\0GLIBC_2.17\0GLIBC_2.2.5\0libm.so.6\0GLIBC_2.29\0"
    at = {s: strings.index(s.encode() + b"\0") for s in ("libc.so.6", "libm.so.6")}
    at |= {
        v: strings.index(v.encode() + b"\0") for v in ("GLIBC_2.17", "GLIBC_2.2.5", "GLIBC_2.29")
    }
    needs = struct.pack("<HHIII", 1, 2, at["libc.so.6"], 32, 16)
    needs += struct.pack("<HHIII", 1, 1, at["libm.so.6"], 48, 0)
    auxes = struct.pack("<IHHII", 0, 0, 2, at["GLIBC_2.17"], 16)
    auxes += struct.pack("<IHHII", 0, 0, 3, at["GLIBC_2.2.5"], 0)
    auxes += struct.pack("<IHHII", 0, 0, 4, at["GLIBC_2.29"], 0)
    elf = _crafted(
        [
            (".dynstr", SHT_STRTAB, strings, 0, 0),
            (".gnu.version_r", SHT_VERNEED, needs + auxes, 2, 2),
        ]
    )
    assert parse_elf(elf).verneed == (
        ("libc.so.6", ("GLIBC_2.17", "GLIBC_2.2.5")),
        ("libm.so.6", ("GLIBC_2.29",)),
    )


def test_version_needs_sharing_one_chain_are_refused() -> None:
    """3,000 needs all pointing at one 3,000-entry aux chain were 9M entries; now one problem."""
    strings = b"\0libc.so.6\0GLIBC_2.17\0"
    count = 3000
    aux_start = 16 * count
    needs = b"".join(
        struct.pack("<HHIII", 1, count, 1, aux_start - 16 * i, 16 if i < count - 1 else 0)
        for i in range(count)
    )
    auxes = b"".join(struct.pack("<IHHII", 0, 0, 2, 11, 16) for _ in range(count))
    elf = _crafted(
        [
            (".dynstr", SHT_STRTAB, strings, 0, 0),
            (".gnu.version_r", SHT_VERNEED, needs + auxes, 2, count),
        ]
    )
    with pytest.raises(UnreadableInputError, match="version_r entries overlap"):
        parse_elf(elf)


def test_too_many_version_needs_are_refused() -> None:
    count = elf_module.MAX_VERSION_NEEDS + 10
    strings = b"\0libc.so.6\0GLIBC_2.17\0"
    needs = struct.pack("<HHIII", 1, count, 1, 16, 0)
    auxes = b"".join(struct.pack("<IHHII", 0, 0, 2, 11, 16) for _ in range(count))
    elf = _crafted(
        [
            (".dynstr", SHT_STRTAB, strings, 0, 0),
            (".gnu.version_r", SHT_VERNEED, needs + auxes, 2, 1),
        ]
    )
    with pytest.raises(UnreadableInputError, match="version needs"):
        parse_elf(elf)


def test_section_names_are_never_read() -> None:
    """A 300 KB name table without NUL, 4,000 sections: each name was once a 300 KB copy; now
    the check goes by section types and reads no section name at all."""
    table = b"A" * 300_000
    elf = _crafted([(i * 8, 1, b"", 0, 0) for i in range(4000)], shstrtab=table)
    image = elf_module._Image([(0, elf)], len(elf))
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    sections = elf_module._read_sections(image, shoff, 64, 4002)
    assert len(sections) == 4002
    assert image.name_bytes == 0
    parse_elf(elf)  # and the whole parse gets through


def _dynsym(names: list[int]) -> bytes:
    entries = [struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)]
    entries += [struct.pack("<IBBHQQ", n, 0x12, 0, 0, 0, 0) for n in names]  # GLOBAL FUNC UNDEF
    return b"".join(entries)


def test_symbol_names_without_nul_are_cut_or_refused() -> None:
    table = b"\0" + b"s" * 200_000
    # One name shared by every symbol: read once, cut at the cap.
    shared = _crafted(
        [(".dynstr", SHT_STRTAB, table, 0, 0), (".dynsym", SHT_DYNSYM, _dynsym([1] * 5000), 2, 1)]
    )
    info = parse_elf(shared)
    assert len(info.undefined) == 5000
    assert {len(s.name) for s in info.undefined} == {elf_module.MAX_NAME_BYTES}
    # Distinct names, each up to the cap: the total budget ends it with one sentence.
    distinct = _crafted(
        [
            (".dynstr", SHT_STRTAB, table, 0, 0),
            (".dynsym", SHT_DYNSYM, _dynsym(list(range(1, 190_000, 16))), 2, 1),
        ]
    )
    with pytest.raises(UnreadableInputError, match="names take more than"):
        parse_elf(distinct)


def test_many_overlapping_note_sections_are_refused() -> None:
    """Thousands of note sections over one big note were each copied and scanned."""
    note = struct.pack("<III", 4, 16, 5) + b"GNU\0" + struct.pack("<IIII", 0xC0008002, 4, 0, 0)
    blob = note * 4000
    many = [(".note", SHT_NOTE, blob if i == 0 else b"", 0, 0) for i in range(1000)]
    elf = bytearray(_crafted(many))
    # point every note section header at the first one's content
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    first = struct.unpack_from("<QQ", elf, shoff + 2 * 64 + 0x18)
    for i in range(3, 1002):
        struct.pack_into("<QQ", elf, shoff + i * 64 + 0x18, *first)
    with pytest.raises(UnreadableInputError, match="note sections"):
        parse_elf(bytes(elf))
    few = bytearray(_crafted(many[:3]))
    assert parse_elf(bytes(few)).isa_level is None  # a few notes are read as before


def test_elf_constants_are_what_the_generator_writes_from_pyelftools() -> None:
    """The copied numbers and names are what the generator writes from the installed pyelftools."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "generate_elf_constants.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from elftools.elf.enums import ENUM_D_TAG_COMMON, ENUM_E_MACHINE  # noqa: PLC0415

    assert ENUM_D_TAG_COMMON["DT_GNU_HASH"] == elf_constants.DT_GNU_HASH
    assert elf_constants.MACHINE_NAMES[ENUM_E_MACHINE["EM_AARCH64"]] == "EM_AARCH64"


def test_the_elf_reader_does_not_import_pyelftools() -> None:
    """check's start-up does not pay for pyelftools (it is a test dependency only)."""
    code = "import sys, zigwheel.compliance.analysis; print('elftools' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
