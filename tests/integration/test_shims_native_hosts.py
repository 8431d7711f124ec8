"""The native shim compiled by zig for the other hosts: a real PE and a real Mach-O come out.

Nothing here runs them (this machine is Linux); the workflow's macOS and Windows jobs do.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from zigwheel.toolchain.native import (
    HOST_TRIPLES,
    SOURCE,
    build_program,
    compile_command,
    host_triple,
    source_text,
)
from zigwheel.toolchain.zig import Zig, locate_zig

# PE "machine" field and Mach-O cputype (CPU_ARCH_ABI64 | CPU_TYPE_X86 / CPU_TYPE_ARM).
PE_MACHINE = {"x86_64": 0x8664, "aarch64": 0xAA64}
MACHO_CPU = {"x86_64": 0x01000007, "aarch64": 0x0100000C}
MH_MAGIC_64 = 0xFEEDFACF
MH_EXECUTE = 2


@pytest.fixture(scope="module")
def zig() -> Zig:
    return locate_zig(os.environ)


def pe_facts(path: Path) -> tuple[int, int]:
    """(machine, subsystem) of a PE32+ executable; fails the test for anything else."""
    data = path.read_bytes()
    assert data[:2] == b"MZ", "no DOS header"
    (pe,) = struct.unpack_from("<I", data, 0x3C)
    assert data[pe : pe + 4] == b"PE\0\0", "no PE signature"
    (machine,) = struct.unpack_from("<H", data, pe + 4)
    optional = pe + 24
    (magic,) = struct.unpack_from("<H", data, optional)
    assert magic == 0x20B, "not PE32+"
    (subsystem,) = struct.unpack_from("<H", data, optional + 68)
    return machine, subsystem


def macho_facts(path: Path) -> tuple[int, int, list[str]]:
    """(cputype, filetype, the dylibs it loads) of a 64-bit Mach-O file."""
    data = path.read_bytes()
    magic, cputype, _sub, filetype, ncmds, _size, _flags = struct.unpack_from("<IiiIIII", data)
    assert magic == MH_MAGIC_64, f"not a 64-bit Mach-O ({magic:#x})"
    dylibs = []
    offset = 32
    for _ in range(ncmds):
        command, size = struct.unpack_from("<II", data, offset)
        if command == 0xC:  # LC_LOAD_DYLIB
            (name_offset,) = struct.unpack_from("<I", data, offset + 8)
            name = data[offset + name_offset : offset + size].split(b"\0", 1)[0]
            dylibs.append(name.decode())
        offset += size
    return cputype, filetype, dylibs


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_windows_shim_is_a_console_pe_program(arch: str, zig: Zig, session_cache: Path) -> None:
    program = build_program(zig, session_cache, host_triple("windows", arch))
    assert program.name.endswith(".exe")
    machine, subsystem = pe_facts(program)
    assert machine == PE_MACHINE[arch]
    assert subsystem == 3  # IMAGE_SUBSYSTEM_WINDOWS_CUI: a console program, like zig.exe
    assert b"CreateProcessW" in program.read_bytes()  # it runs zig, it does not exec
    assert not list(program.parent.glob("*.pdb"))


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_macos_shim_is_a_mach_o_executable(arch: str, zig: Zig, session_cache: Path) -> None:
    program = build_program(zig, session_cache, host_triple("darwin", arch))
    cputype, filetype, dylibs = macho_facts(program)
    assert cputype == MACHO_CPU[arch]
    assert filetype == MH_EXECUTE
    assert dylibs == ["/usr/lib/libSystem.B.dylib"]  # nothing beyond the system's own library


@pytest.mark.parametrize("triple", sorted(set(HOST_TRIPLES.values())))
def test_the_source_compiles_without_a_warning_for_every_host(
    triple: str, zig: Zig, tmp_path: Path
) -> None:
    """zigwheel builds without -Werror (a warning must not stop a user's build); this is where
    a warning of any host's branch of shim.c shows up."""
    source = tmp_path / SOURCE
    source.write_bytes(source_text())
    argv = [*compile_command(zig, triple, source, tmp_path / "shim"), "-Werror"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
