"""ELF parsing: a real ELF's facts, and one-sentence errors for malformed files."""

from __future__ import annotations

import platform
import struct
import sys
from pathlib import Path

import pytest

from zigwheel.elf import is_elf, module_init_names, parse_elf
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


def test_magic_and_module_names() -> None:
    assert is_elf(b"\x7fELF\x02")
    assert not is_elf(b"PK\x03\x04")
    assert module_init_names("_core.cpython-311-x86_64-linux-gnu.so") == {
        "PyInit__core": 3,
        "init_core": 2,
        "_cffi_pypyinit__core": 2,
    }
