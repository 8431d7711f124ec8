"""Fuzz zigwheel check with 10,000 mutated real wheels and ELF files: it always returns a report.

Seeds: gcc x86_64 ELFs, a g++ library with GLIBCXX/CXXABI version needs and a zig-built aarch64
ELF. Besides rezipped mutated ELFs, a wheel storing its members uncompressed is mutated in place
and its CRCs are recomputed, so flipped ELF bytes reach the ELF parser instead of a CRC error.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zigwheel.compliance.analysis import WheelReport, check_wheel
from zigwheel.compliance.archive import Limits

# Small caps so that a mutated size field cannot make one example slow.
LIMITS = Limits(max_member_bytes=8 << 20, max_wheel_bytes=16 << 20)
# e_ident class/data, e_type, e_machine, e_phoff, e_shoff, e_phentsize..e_shstrndx
HEADER_FIELDS = (0x4, 0x5, 0x10, 0x12, 0x20, 0x28, 0x36, 0x38, 0x3A, 0x3C, 0x3E)
EXTREMES = (0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 62, (1 << 64) - 1)


class Seeds(dict):  # type: ignore[type-arg]
    """Seed inputs by name; a short repr keeps failure reports readable."""

    def __repr__(self) -> str:
        return f"<{len(self)} seed inputs>"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory, check_builders: ModuleType) -> Seeds:
    """Real inputs to mutate: two wheels and the ELF files inside them."""
    builders = check_builders
    tmp = tmp_path_factory.mktemp("fuzz-seeds")
    libs = tmp / "libs"
    libs.mkdir()
    helper = builders.compile_so(
        builders.LIB_DEFINES.format(symbol="helper_value"),
        libs / "libhelper-9f9f.so",
        "-Wl,-soname,libhelper-9f9f.so",
    )
    ext = builders.compile_so(
        builders.EXT_CALLS.format(name="fz", symbol="helper_value"),
        tmp / "fz.so",
        f"-L{libs}",
        "-l:libhelper-9f9f.so",
        "-Wl,-rpath,$ORIGIN/../fz.libs",
    )
    cxx = builders.compile_so(CXX_LIB, tmp / "libcxx.so", compiler=("g++",))
    arm = builders.compile_so(
        builders.EXT_OLD.format(name="fz"),
        tmp / "arm.so",
        compiler=builders.zig_cc("aarch64-linux-gnu.2.17"),
    )
    host = builders.host_built_wheel(tmp)
    bundled = builders.make_wheel(
        tmp,
        "fz",
        "manylinux_2_17_x86_64",
        {"fz/fz.abi3.so": ext, "fz.libs/libhelper-9f9f.so": helper},
    )
    (tmp / "all").mkdir()
    every = builders.make_wheel(
        tmp / "all",
        "fz",
        "manylinux_2_17_x86_64",
        {
            "fz/fz.abi3.so": ext,
            "fz.libs/libhelper-9f9f.so": helper,
            "fz.libs/libcxx.so": cxx,
            "fz/arm.so": arm,
        },
    )
    stored = io.BytesIO()
    with zipfile.ZipFile(every) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return Seeds(
        wheel_host=host.read_bytes(),
        wheel_bundled=bundled.read_bytes(),
        wheel_stored=stored.getvalue(),
        elf_ext=ext,
        elf_helper=helper,
        elf_cxx=cxx,
        elf_arm=arm,
    )


# A C++ library: its version needs name libstdc++ (GLIBCXX_, CXXABI_) besides libc.
CXX_LIB = """
#include <stdexcept>
#include <string>
extern "C" const char *cxx_value(int n) {
    static std::string s("x");
    s += std::to_string(n);
    if (s.size() > 100) throw std::runtime_error(s);
    return s.c_str();
}
"""
# Which wheel and member each ELF seed is rezipped into.
ELF_TARGETS = {
    "elf_ext": ("wheel_bundled", "fz/fz.abi3.so"),
    "elf_helper": ("wheel_bundled", "fz.libs/libhelper-9f9f.so"),
    "elf_cxx": ("wheel_stored", "fz.libs/libcxx.so"),
    "elf_arm": ("wheel_stored", "fz/arm.so"),
}


def _crc_fields(wheel: bytes) -> list[tuple[int, int, int, int]]:
    """(data offset, size, local CRC offset, central CRC offset) of each stored member."""
    eocd = wheel.rindex(b"PK\x05\x06")
    (entries,) = struct.unpack_from("<H", wheel, eocd + 10)
    (central,) = struct.unpack_from("<I", wheel, eocd + 16)
    fields = []
    for _ in range(entries):
        size, _usize, n, m, k = struct.unpack_from("<IIHHH", wheel, central + 20)
        (local,) = struct.unpack_from("<I", wheel, central + 42)
        ln, lm = struct.unpack_from("<HH", wheel, local + 26)
        fields.append((local + 30 + ln + lm, size, local + 14, central + 16))
        central += 46 + n + m + k
    return fields


def _fix_crcs(mutated: bytes, fields: list[tuple[int, int, int, int]]) -> bytes:
    """``mutated`` (same length as its seed) with each member's CRC-32 matching its bytes."""
    buf = bytearray(mutated)
    for start, size, local_crc, central_crc in fields:
        crc = zlib.crc32(buf[start : start + size])
        struct.pack_into("<I", buf, local_crc, crc)
        struct.pack_into("<I", buf, central_crc, crc)
    return bytes(buf)


def _section_header_offsets(elf: bytes) -> list[int]:
    """Offsets of the section header fields (64-bit little endian) in a real ELF."""
    if len(elf) < 64:
        return []
    (shoff,) = struct.unpack_from("<Q", elf, 0x28)
    (shnum,) = struct.unpack_from("<H", elf, 0x3C)
    fields = (0x18, 0x20, 0x28, 0x2C, 0x38)  # sh_offset, sh_size, sh_link, sh_info, sh_entsize
    return [shoff + 64 * i + field for i in range(shnum) for field in fields]


@st.composite
def mutate(draw: st.DrawFn, data: bytes) -> bytes:
    """Bit flips, truncation, or an extreme value written over a (header) field."""
    buf = bytearray(data)
    kind = draw(st.sampled_from(["flip", "truncate", "field", "header", "sections"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            pos = draw(st.integers(0, len(buf) - 1))
            buf[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del buf[draw(st.integers(0, len(buf) - 1)) :]
    else:
        if kind == "header":
            pos = draw(st.sampled_from(HEADER_FIELDS))
        elif kind == "sections" and _section_header_offsets(data):
            pos = draw(st.sampled_from(_section_header_offsets(data)))
        else:
            pos = draw(st.integers(0, len(buf) - 1))
        width = draw(st.sampled_from([1, 2, 4, 8]))
        value = draw(st.sampled_from(EXTREMES) | st.integers(0, (1 << 64) - 1))
        raw = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        buf[pos : pos + width] = raw
        del buf[len(data) :]
    return bytes(buf)


def _rezip(wheel: bytes, member: str, payload: bytes) -> bytes:
    """The wheel with one member's content replaced (the zip itself stays valid)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = payload if info.filename == member else src.read(info)
            dst.writestr(info.filename, data)
    return out.getvalue()


@pytest.mark.slow
@settings(
    max_examples=10_000,
    deadline=timedelta(seconds=20),  # a hang guard only, never a timing assertion
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
def test_check_survives_mutated_inputs(data: st.DataObject, seeds: Seeds, tmp_path: Path) -> None:
    target = data.draw(
        st.sampled_from(["wheel_host", "wheel_bundled", "wheel_stored", *ELF_TARGETS])
    )
    if target == "wheel_stored":
        seed = seeds[target]
        mutated = data.draw(mutate(seed))
        if len(mutated) == len(seed):  # in place: recompute CRCs so the ELF parser sees the bytes
            mutated = _fix_crcs(mutated, _crc_fields(seed))
        payload = mutated
    elif target.startswith("wheel"):
        payload = data.draw(mutate(seeds[target]))
    else:
        wheel, member = ELF_TARGETS[target]
        payload = _rezip(seeds[wheel], member, data.draw(mutate(seeds[target])))
    path = tmp_path / "fz-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    path.write_bytes(payload)
    report = check_wheel(path, limits=LIMITS)
    assert isinstance(report, WheelReport)
    json.dumps(report.to_json())
    if not report.readable or not report.compliant:
        assert report.problems
        assert all(p and "\n" not in p for p in report.problems)


@pytest.mark.slow
def test_in_place_mutations_reach_the_elf_parser(seeds: Seeds, tmp_path: Path) -> None:
    """A flipped byte inside a stored ELF passes the CRC check once the CRCs are recomputed."""
    seed = seeds["wheel_stored"]
    fields = _crc_fields(seed)
    start = seed.index(seeds["elf_cxx"])
    assert any(begin == start for begin, *_rest in fields)
    buf = bytearray(seed)
    buf[start + 4] = 7  # EI_CLASS: neither 32 nor 64 bit
    path = tmp_path / "fz-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    path.write_bytes(bytes(buf))
    assert any("CRC" in p for p in check_wheel(path, limits=LIMITS).problems)
    path.write_bytes(_fix_crcs(bytes(buf), fields))
    problems = check_wheel(path, limits=LIMITS).problems
    assert problems == [
        "fz.libs/libcxx.so: malformed ELF: bad identification bytes (class, byte order or size)"
    ]
