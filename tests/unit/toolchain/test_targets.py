"""Target table: policy parsing, arch/policy availability, triples and agreement with auditwheel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import auditwheel
import pytest

from zigwheel.errors import ConfigError, DataError
from zigwheel.platforms import Libc
from zigwheel.resources import load_toml, toolchains_dir
from zigwheel.toolchain.targets import (
    Arch,
    LibcPolicy,
    all_targets,
    default_policy,
    parse_arch,
    parse_policy,
    parse_table,
    resolve_target,
    supported_policies,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2_17", LibcPolicy(Libc.GLIBC, (2, 17))),
        ("manylinux_2_17", LibcPolicy(Libc.GLIBC, (2, 17))),
        ("manylinux2014", LibcPolicy(Libc.GLIBC, (2, 17))),
        ("manylinux2010", LibcPolicy(Libc.GLIBC, (2, 12))),
        ("manylinux1", LibcPolicy(Libc.GLIBC, (2, 5))),
        ("MANYLINUX_2_28", LibcPolicy(Libc.GLIBC, (2, 28))),
        ("musllinux_1_2", LibcPolicy(Libc.MUSL, (1, 2))),
        ("musllinux_1_1", LibcPolicy(Libc.MUSL, (1, 1))),
    ],
)
def test_parse_policy(text: str, expected: LibcPolicy) -> None:
    assert parse_policy(text) == expected


@pytest.mark.parametrize(
    "text", ["", "manylinux", "linux", "2", "manylinux_2", "glibc_2_17", "2_17_1"]
)
def test_parse_policy_rejects(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(text)
    assert info.value.hint


def test_resolve_target_aarch64_2_17() -> None:
    target = resolve_target("aarch64", "2_17")
    assert target.arch is Arch.AARCH64
    assert target.libc is Libc.GLIBC
    assert target.libc_version == (2, 17)
    assert target.policy == "manylinux_2_17"
    assert target.platform_tag == "manylinux_2_17_aarch64"
    assert target.rust_triple == "aarch64-unknown-linux-gnu"
    assert target.zig_triple == "aarch64-linux-gnu.2.17"
    assert target.key == "aarch64-manylinux_2_17"
    assert target.env_triple == "aarch64_unknown_linux_gnu"


@pytest.mark.parametrize(
    ("arch", "policy", "rust", "zig", "tag"),
    [
        (
            "x86_64",
            "musllinux_1_2",
            "x86_64-unknown-linux-musl",
            "x86_64-linux-musl",
            "musllinux_1_2_x86_64",
        ),
        (
            "arm64",
            "manylinux_2_28",
            "aarch64-unknown-linux-gnu",
            "aarch64-linux-gnu.2.28",
            "manylinux_2_28_aarch64",
        ),
        (
            "i686",
            "manylinux2010",
            "i686-unknown-linux-gnu",
            "x86-linux-gnu.2.12",
            "manylinux_2_12_i686",
        ),
        (
            "armv7l",
            "2_17",
            "armv7-unknown-linux-gnueabihf",
            "arm-linux-gnueabihf.2.17",
            "manylinux_2_17_armv7l",
        ),
        (
            "riscv64",
            "2_31",
            "riscv64gc-unknown-linux-gnu",
            "riscv64-linux-gnu.2.31",
            "manylinux_2_31_riscv64",
        ),
        (
            "ppc64le",
            "2_28",
            "powerpc64le-unknown-linux-gnu",
            "powerpc64le-linux-gnu.2.28",
            "manylinux_2_28_ppc64le",
        ),
    ],
)
def test_triples(arch: str, policy: str, rust: str, zig: str, tag: str) -> None:
    target = resolve_target(arch, policy)
    assert (target.rust_triple, target.zig_triple, target.platform_tag) == (rust, zig, tag)


@pytest.mark.parametrize(
    ("arch", "policy", "fragment"),
    [
        ("aarch64", "manylinux1", "manylinux1 (manylinux_2_5) does not exist for aarch64"),
        ("aarch64", "manylinux2010", "does not exist for aarch64"),
        ("riscv64", "2_17", "manylinux_2_17 does not exist for riscv64"),
        ("x86_64", "2_29", "manylinux_2_29 does not exist for x86_64"),
        ("ppc64le", "2_17", "cannot provide glibc 2.17 for ppc64le"),
        ("armv7l", "musllinux_1_1", "musllinux_1_1 does not exist for armv7l"),
    ],
)
def test_unsupported_pairs(arch: str, policy: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_target(arch, policy)
    assert fragment in str(info.value)
    assert info.value.hint
    assert info.value.hint.startswith("use one of:")
    assert info.value.exit_code == 2


def test_unknown_arch() -> None:
    with pytest.raises(ConfigError, match="unknown architecture 'sparc64'"):
        resolve_target("sparc64", "2_17")


def test_aliases() -> None:
    assert parse_arch("amd64") is Arch.X86_64
    assert parse_arch("ARM64") is Arch.AARCH64
    assert parse_arch("armv7") is Arch.ARMV7L


def test_default_policy() -> None:
    assert default_policy(Arch.X86_64) == "manylinux_2_17"
    assert default_policy(Arch.RISCV64) == "manylinux_2_31"
    assert default_policy(Arch.PPC64LE) == "manylinux_2_24"


def test_all_targets_have_unique_keys_and_resolve() -> None:
    targets = all_targets()
    keys = [t.key for t in targets]
    assert len(keys) == len(set(keys))
    assert {t.arch for t in targets} == set(Arch)
    assert all(
        t.zig_triple.endswith(f".{t.libc_version[0]}.{t.libc_version[1]}")
        for t in targets
        if t.libc is Libc.GLIBC
    )


def _auditwheel_policies(name: str) -> list[dict[str, Any]]:
    path = Path(auditwheel.__file__).parent / "policy" / name
    policies: list[dict[str, Any]] = json.loads(path.read_text())
    return policies


def test_manylinux_availability_matches_auditwheel() -> None:
    """Every arch offers exactly the manylinux policies auditwheel knows for it."""
    policies = _auditwheel_policies("manylinux-policy.json")
    for arch in Arch:
        expected = {
            str(p["name"])
            for p in policies
            if p["name"] != "linux" and arch.value in p["symbol_versions"]
        }
        listed = {f"manylinux_{v}" for v in _table_row(arch)["manylinux"]}
        assert listed == expected, arch


def test_musllinux_names_exist_in_auditwheel() -> None:
    policies = _auditwheel_policies("musllinux-policy.json")
    for arch in Arch:
        for version in _table_row(arch)["musllinux"]:
            (entry,) = [p for p in policies if p["name"] == f"musllinux_{version}"]
            assert arch.value in entry["symbol_versions"]


def _table_row(arch: Arch) -> dict[str, list[str]]:
    row: dict[str, list[str]] = load_toml(toolchains_dir() / "targets.toml")["arch"][arch.value]
    return row


def test_supported_policies_respect_zig_minimum() -> None:
    assert "manylinux_2_17" not in supported_policies(Arch.PPC64LE)
    assert supported_policies(Arch.X86_64)[:3] == [
        "manylinux_2_5",
        "manylinux_2_12",
        "manylinux_2_17",
    ]


def test_table_validation_rejects_damage() -> None:
    with pytest.raises(DataError):
        parse_table({"zig": {"version": "0.15.2"}, "arch": {"sparc": {}}})
    with pytest.raises(DataError):
        parse_table({"arch": {}})
    with pytest.raises(DataError, match="no \\[arch"):
        parse_table({"zig": {"version": "0.15.2"}, "arch": {}})
