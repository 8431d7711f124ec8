"""The architecture registry: the shipped rows, their validation, and every lookup."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.enums import ENUM_E_MACHINE

from zigwheel.compliance.elf import parse_elf
from zigwheel.compliance.policy import parse_platform_tag
from zigwheel.errors import ConfigError, DataError
from zigwheel.host import Host
from zigwheel.platforms import (
    ArchRow,
    Libc,
    canonical_arch,
    find_qemu,
    lookup,
    parse_registry,
    qemu_programs,
    registry,
)
from zigwheel.resources import load_toml, toolchains_dir
from zigwheel.runtime.roots import read_elf_info
from zigwheel.toolchain.targets import Arch, parse_arch, resolve_target

ROWS = list(registry())
BUILD_ROWS = registry().buildable()


def _row(name: str) -> ArchRow:
    row = lookup(name)
    assert row is not None, name
    return row


def test_the_build_rows_are_the_build_architectures() -> None:
    assert [row.name for row in BUILD_ROWS] == [
        "x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64",
    ]  # fmt: skip
    assert {row.name for row in BUILD_ROWS} == {arch.value for arch in Arch}
    assert {row.name for row in ROWS if not row.build} == {"ppc64", "loongarch64"}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_every_name_and_alias_resolves_in_any_case(row: ArchRow) -> None:
    for spelling in (row.name, *row.aliases):
        assert lookup(spelling) is row
        assert lookup(spelling.upper()) is row
        assert lookup(f" {spelling} ") is row


@pytest.mark.parametrize(
    ("machine", "arch"),
    [
        # platform.machine() on Linux, macOS and Windows, and Debian's names
        ("x86_64", "x86_64"), ("AMD64", "x86_64"), ("amd64", "x86_64"), ("x64", "x86_64"),
        ("aarch64", "aarch64"), ("arm64", "aarch64"), ("ARM64", "aarch64"),
        ("armv7l", "armv7l"), ("armv8l", "armv7l"), ("armhf", "armv7l"),
        ("i386", "i686"), ("i586", "i686"), ("i686", "i686"), ("x86", "i686"),
        ("ppc64le", "ppc64le"), ("ppc64el", "ppc64le"), ("ppc64", "ppc64"),
        ("s390x", "s390x"), ("riscv64", "riscv64"), ("loong64", "loongarch64"),
    ],
)  # fmt: skip
def test_machine_spellings(machine: str, arch: str) -> None:
    assert canonical_arch(machine) == arch


def test_an_unknown_machine_keeps_its_name() -> None:
    assert lookup("mips64") is None
    assert canonical_arch("MIPS64") == "mips64"


def test_parse_arch_accepts_only_build_architectures() -> None:
    assert parse_arch("AMD64") is Arch.X86_64
    assert parse_arch("armv8l") is Arch.ARMV7L
    with pytest.raises(ConfigError, match="unknown architecture 'ppc64'"):
        parse_arch("ppc64")


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_debian_qemu_and_elf_lookups_round_trip(row: ArchRow) -> None:
    reg = registry()
    assert reg.by_debian(row.debian) is row
    assert reg.by_qemu(row.qemu) is row
    assert reg.by_elf(row.e_machine_code, row.elf_class, row.little_endian) is row
    assert reg.by_elf(row.e_machine, row.elf_class, row.little_endian) is row
    # the number in the table is the one pyelftools knows for the name
    assert ENUM_E_MACHINE[row.e_machine] == row.e_machine_code


@pytest.mark.parametrize("row", BUILD_ROWS, ids=lambda row: row.name)
def test_rust_triples_name_their_row_and_libc(row: ArchRow) -> None:
    for libc in Libc:
        assert registry().by_rust_triple(row.rust[libc]) == (row, libc)
        target = resolve_target(row.name, "musllinux_1_2" if libc is Libc.MUSL else "2_31")
        assert target.rust_triple == row.rust[libc]
        assert target.libc is libc
        assert target.e_machine == row.e_machine
        assert target.qemu == row.qemu
    assert registry().by_rust_triple("wasm32-unknown-unknown") is None


def test_libc_vocabulary() -> None:
    assert [libc.value for libc in Libc] == ["glibc", "musl"]
    assert isinstance(Libc.GLIBC, str)
    assert Libc("glibc") is Libc.GLIBC
    assert f"{Libc.MUSL}" == "musl"
    assert Libc.GLIBC.policy_family == "manylinux"
    assert Libc.MUSL.policy_family == "musllinux"
    assert Libc.GLIBC.triple_word == "gnu"
    assert resolve_target("aarch64", "manylinux2014").libc is Libc.GLIBC


def test_tag_baselines_come_from_the_registry() -> None:
    assert parse_platform_tag("manylinux_2_17_x86_64_v3").baseline == "x86_64"
    assert parse_platform_tag("manylinux_2_17_ppc64").baseline == "ppc64"
    assert parse_platform_tag("musllinux_1_2_loongarch64").baseline == "loongarch64"
    assert parse_platform_tag("linux_mips64").baseline is None
    assert parse_platform_tag("manylinux_2_17_aarch64").libc is Libc.GLIBC


def _header(row: ArchRow) -> bytes:
    order = "<" if row.little_endian else ">"
    ident = b"\x7fELF" + bytes([2 if row.elf_class == 64 else 1, 1 if row.little_endian else 2, 1])
    ident = ident.ljust(16, b"\0")
    if row.elf_class == 64:
        body = struct.pack(order + "HHIQQQIHHHHHH", 2, row.e_machine_code, 1, 0, 0, 0, 0, 64, 56,
                           0, 64, 0, 0)  # fmt: skip
    else:
        body = struct.pack(order + "HHIIIIIHHHHHH", 2, row.e_machine_code, 1, 0, 0, 0, 0, 52, 32,
                           0, 40, 0, 0)  # fmt: skip
    return (ident + body).ljust(64, b"\0")


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_an_elf_header_of_each_row_reads_back_as_that_row(row: ArchRow, tmp_path: Path) -> None:
    path = tmp_path / "python3"
    path.write_bytes(_header(row))
    assert read_elf_info(path).arch == row.name


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux ELF")
def test_real_elf_files_round_trip() -> None:
    """The running Python's ELF: both readers name the host's arch, and so does a patched copy."""
    data = Path(sys.executable).resolve().read_bytes()
    host = Host.detect()
    assert parse_elf(data).arch == host.arch
    assert read_elf_info(Path(sys.executable).resolve()).arch == host.arch
    elf_class = 64 if data[4] == 2 else 32
    little = data[5] == 1
    same_shape = [r for r in ROWS if (r.elf_class, r.little_endian) == (elf_class, little)]
    assert same_shape
    for row in same_shape:
        if row.name == "armv7l":
            continue  # parse_elf also needs ARM's EABI flags, which another machine's ELF lacks
        patched = data[:18] + struct.pack("<H" if little else ">H", row.e_machine_code) + data[20:]
        assert parse_elf(patched).arch == row.name


def test_find_qemu_uses_the_registry_name(tmp_path: Path) -> None:
    assert qemu_programs(_row("armv7l")) == ("qemu-arm", "qemu-arm-static")
    assert qemu_programs("i686") == ("qemu-i386", "qemu-i386-static")
    assert qemu_programs("mips64") == ("qemu-mips64", "qemu-mips64-static")
    assert find_qemu(_row("armv7l"), str(tmp_path)) is None
    program = tmp_path / "qemu-arm-static"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert find_qemu(_row("armhf"), str(tmp_path)) == program
    assert find_qemu("armv7l", str(tmp_path)) == program
    preferred = tmp_path / "qemu-arm"
    preferred.write_text("#!/bin/sh\n")
    preferred.chmod(0o755)
    assert find_qemu("armv7l", str(tmp_path)) == preferred


# ---------------------------------------------------------------- validation of crafted tables


def _shipped() -> dict[str, Any]:
    return load_toml(toolchains_dir() / "targets.toml")


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text)
    parse_registry(load_toml(path))


_GOOD_ROW = """\
[arch.x86_64]
aliases = ["amd64"]
debian = "amd64"
e_machine = "EM_X86_64"
e_machine_code = 62
elf_class = 64
endian = "little"
qemu = "x86_64"
build = false
"""


def test_a_crafted_table_loads(tmp_path: Path) -> None:
    _load(tmp_path, _GOOD_ROW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("build = false", "build = false\ncolour = \"red\""), "unknown keys: colour"),
        (("build = false", "build = false\nmcpu = \"\""), "a row with build = false"),
        (("build = false", "build = true"), "lacks cmake_processor"),
        (("elf_class = 64", "elf_class = 16"), "elf_class must be 32 or 64"),
        (("elf_class = 64", "elf_class = true"), "elf_class must be a number"),
        (("endian = \"little\"", "endian = \"middle\""), "endian must be"),
        (("e_machine = \"EM_X86_64\"", "e_machine = \"X86_64\""), "EM_"),
        (("e_machine_code = 62", "e_machine_code = 70000"), "16-bit"),
        (("qemu = \"x86_64\"\n", ""), "lacks qemu"),
        (("aliases = [\"amd64\"]", "aliases = [\"AMD 64\"]"), "malformed name"),
        (("aliases = [\"amd64\"]", "aliases = \"amd64\""), "list of strings"),
        (("build = false", "build = \"no\""), "true or false"),
    ],
)
def test_a_broken_row_is_a_data_error(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in _GOOD_ROW
    with pytest.raises(DataError, match=message):
        _load(tmp_path, _GOOD_ROW.replace(change[0], change[1]))


def test_duplicates_across_rows_are_data_errors(tmp_path: Path) -> None:
    twin = _GOOD_ROW.replace("[arch.x86_64]", "[arch.x86_64_twin]")
    with pytest.raises(DataError, match="'amd64' belongs to both"):
        _load(tmp_path, _GOOD_ROW + "\n" + twin)
    other_alias = twin.replace('aliases = ["amd64"]', 'aliases = ["x86_64"]')
    with pytest.raises(DataError, match="'x86_64' belongs to both"):
        _load(tmp_path, _GOOD_ROW + "\n" + other_alias)
    distinct = (
        twin.replace('aliases = ["amd64"]', "aliases = []")
        .replace('debian = "amd64"', 'debian = "amd64x"')
        .replace('qemu = "x86_64"', 'qemu = "x86_64x"')
        .replace("e_machine_code = 62", "e_machine_code = 63")
    )
    _load(tmp_path, _GOOD_ROW + "\n" + distinct)
    for fact, kind in [
        ('debian = "amd64"', "the Debian name 'amd64'"),
        ('qemu = "x86_64"', "the qemu name 'x86_64'"),
        ("e_machine_code = 62", "the ELF machine"),
    ]:
        key = fact.split(" = ")[0]
        same = "\n".join(fact if line.startswith(key + " =") else line
                         for line in distinct.splitlines())  # fmt: skip
        with pytest.raises(DataError, match=kind):
            _load(tmp_path, _GOOD_ROW + "\n" + same + "\n")


def test_a_broken_build_row_of_the_shipped_table_is_a_data_error() -> None:
    document = _shipped()
    document["arch"]["aarch64"]["zig_min_glibc"] = "2.17"
    with pytest.raises(DataError, match="malformed version"):
        parse_registry(document)
    document = _shipped()
    document["arch"]["aarch64"]["rust_musl"] = "aarch64-unknown-linux-gnu"
    with pytest.raises(DataError, match="triples must name linux-musl"):
        parse_registry(document)
    document = _shipped()
    document["arch"]["aarch64"]["rust_glibc"] = document["arch"]["x86_64"]["rust_glibc"]
    with pytest.raises(DataError, match="the Rust triple"):
        parse_registry(document)


def test_the_old_global_alias_table_is_refused() -> None:
    from zigwheel.toolchain.targets import parse_table  # noqa: PLC0415

    document = _shipped()
    parse_table(document)
    document["aliases"] = {"amd64": "x86_64"}
    with pytest.raises(DataError, match="unknown top-level keys: aliases"):
        parse_table(document)
