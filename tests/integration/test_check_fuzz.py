"""Fuzz zigwheel check with 10,000 mutated real wheels and ELF files: it always returns a report."""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import zipfile
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zigwheel.check import WheelReport, check_wheel
from zigwheel.wheelfile import Limits

# Small caps so that a mutated size field cannot make one example slow.
LIMITS = Limits(max_member_bytes=8 << 20, max_wheel_bytes=16 << 20)
# e_ident class/data, e_type, e_machine, e_phoff, e_shoff, e_phentsize..e_shstrndx
HEADER_FIELDS = (0x4, 0x5, 0x10, 0x12, 0x20, 0x28, 0x36, 0x38, 0x3A, 0x3C, 0x3E)
EXTREMES = (0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 62, (1 << 64) - 1)


def _builders() -> ModuleType:
    path = Path(__file__).resolve().parent / "test_check_build.py"
    spec = importlib.util.spec_from_file_location("zigwheel_check_builders_fuzz", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Seeds(dict):  # type: ignore[type-arg]
    """Seed inputs by name; a short repr keeps failure reports readable."""

    def __repr__(self) -> str:
        return f"<{len(self)} seed inputs>"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    """Real inputs to mutate: two wheels and the ELF files inside them."""
    builders = _builders()
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
    host = builders.host_built_wheel(tmp)
    bundled = builders.make_wheel(
        tmp,
        "fz",
        "manylinux_2_17_x86_64",
        {"fz/fz.abi3.so": ext, "fz.libs/libhelper-9f9f.so": helper},
    )
    return Seeds(
        wheel_host=host.read_bytes(),
        wheel_bundled=bundled.read_bytes(),
        elf_ext=ext,
        elf_helper=helper,
    )


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
    target = data.draw(st.sampled_from(["wheel_host", "wheel_bundled", "elf_ext", "elf_helper"]))
    if target.startswith("wheel"):
        payload = data.draw(mutate(seeds[target]))
    else:
        member = "fz/fz.abi3.so" if target == "elf_ext" else "fz.libs/libhelper-9f9f.so"
        payload = _rezip(seeds["wheel_bundled"], member, data.draw(mutate(seeds[target])))
    path = tmp_path / "fz-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    path.write_bytes(payload)
    report = check_wheel(path, limits=LIMITS)
    assert isinstance(report, WheelReport)
    json.dumps(report.to_json())
    if not report.readable or not report.compliant:
        assert report.problems
        assert all(p and "\n" not in p for p in report.problems)
