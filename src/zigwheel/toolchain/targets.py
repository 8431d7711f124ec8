"""Build targets: architectures, libc policies and the (arch, libc, version) target table."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zigwheel.errors import ConfigError, DataError
from zigwheel.resources import load_toml, toolchains_dir

TARGETS_FILE = "targets.toml"


class Arch(str, enum.Enum):
    """A CPU architecture, spelled as in wheel platform tags."""

    X86_64 = "x86_64"
    AARCH64 = "aarch64"
    I686 = "i686"
    ARMV7L = "armv7l"
    PPC64LE = "ppc64le"
    S390X = "s390x"
    RISCV64 = "riscv64"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class LibcPolicy:
    """A manylinux (glibc) or musllinux (musl) policy, e.g. manylinux_2_17."""

    libc: str  # "gnu" | "musl"
    version: tuple[int, int]

    @property
    def name(self) -> str:
        """The canonical policy name, e.g. ``manylinux_2_17`` or ``musllinux_1_2``."""
        family = "manylinux" if self.libc == "gnu" else "musllinux"
        return f"{family}_{self.version[0]}_{self.version[1]}"

    @property
    def short(self) -> str:
        """The version part as written in the target table, e.g. ``2_17``."""
        return f"{self.version[0]}_{self.version[1]}"


@dataclass(frozen=True)
class ArchInfo:
    """One row of the target table (toolchains/targets.toml)."""

    arch: Arch
    rust_gnu: str
    rust_musl: str
    zig_gnu: str
    zig_musl: str
    mcpu: str
    cmake_processor: str
    e_machine: str
    qemu: str
    manylinux: tuple[str, ...]
    musllinux: tuple[str, ...]
    zig_min_glibc: tuple[int, int]


@dataclass(frozen=True)
class TargetTable:
    """The whole target table: architectures, aliases and the zig pin."""

    zig_version: str
    arches: Mapping[Arch, ArchInfo]
    aliases: Mapping[str, Arch]
    policy_aliases: Mapping[str, str]


@dataclass(frozen=True)
class Target:
    """One concrete build target, e.g. aarch64 + glibc 2.17."""

    arch: Arch
    libc: str  # "gnu" | "musl"
    libc_version: tuple[int, int]
    policy: str  # "manylinux_2_17" | "musllinux_1_2"
    platform_tag: str  # "manylinux_2_17_aarch64"
    rust_triple: str  # "aarch64-unknown-linux-gnu"
    zig_triple: str  # "aarch64-linux-gnu.2.17"
    mcpu: str  # "" when zig's baseline CPU for the architecture is right
    cmake_processor: str
    e_machine: str
    qemu: str

    @property
    def key(self) -> str:
        """A filesystem-safe identifier, e.g. ``aarch64-manylinux_2_17``."""
        return f"{self.arch.value}-{self.policy}"

    @property
    def env_triple(self) -> str:
        """The Rust triple as used in environment variable names (``-`` -> ``_``)."""
        return self.rust_triple.replace("-", "_")


_POLICY_RE = re.compile(r"^(?:(manylinux|musllinux)_)?(\d+)[_.](\d+)$")
_VERSION_RE = re.compile(r"^(\d+)_(\d+)$")


def _version(text: str, *, where: str) -> tuple[int, int]:
    match = _VERSION_RE.match(text)
    if match is None:
        msg = f"{TARGETS_FILE}: {where} has a malformed version {text!r}"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    return int(match.group(1)), int(match.group(2))


def _str(row: Mapping[str, Any], field: str, where: str) -> str:
    value = row.get(field)
    if not isinstance(value, str):
        msg = f"{TARGETS_FILE}: {where}.{field} must be a string"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    return value


def _str_list(row: Mapping[str, Any], field: str, where: str) -> tuple[str, ...]:
    value = row.get(field)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"{TARGETS_FILE}: {where}.{field} must be a list of strings"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    for item in value:
        _version(item, where=f"{where}.{field}")
    return tuple(value)


def parse_table(document: Mapping[str, Any]) -> TargetTable:
    """Validate the target table document and turn it into a TargetTable."""
    zig = document.get("zig")
    if not isinstance(zig, dict) or not isinstance(zig.get("version"), str):
        msg = f"{TARGETS_FILE}: [zig] version is missing"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    rows = document.get("arch")
    if not isinstance(rows, dict):
        msg = f"{TARGETS_FILE}: the [arch.*] tables are missing"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    arches: dict[Arch, ArchInfo] = {}
    for name, row in rows.items():
        where = f"arch.{name}"
        try:
            arch = Arch(name)
        except ValueError:
            msg = f"{TARGETS_FILE}: [{where}] is not a known architecture"
            raise DataError(msg, hint="add the architecture to targets.Arch") from None
        arches[arch] = ArchInfo(
            arch=arch,
            rust_gnu=_str(row, "rust_gnu", where),
            rust_musl=_str(row, "rust_musl", where),
            zig_gnu=_str(row, "zig_gnu", where),
            zig_musl=_str(row, "zig_musl", where),
            mcpu=_str(row, "mcpu", where),
            cmake_processor=_str(row, "cmake_processor", where),
            e_machine=_str(row, "e_machine", where),
            qemu=_str(row, "qemu", where),
            manylinux=_str_list(row, "manylinux", where),
            musllinux=_str_list(row, "musllinux", where),
            zig_min_glibc=_version(_str(row, "zig_min_glibc", where), where=where),
        )
    missing = [arch.value for arch in Arch if arch not in arches]
    if missing:
        msg = f"{TARGETS_FILE}: no [arch.*] table for {', '.join(missing)}"
        raise DataError(msg, hint="reinstall zigwheel; its target table is damaged")
    aliases: dict[str, Arch] = {}
    for alias, target in dict(document.get("aliases", {})).items():
        try:
            aliases[alias] = Arch(target)
        except ValueError:
            msg = f"{TARGETS_FILE}: alias {alias!r} points at unknown architecture {target!r}"
            raise DataError(msg, hint="reinstall zigwheel; its target table is damaged") from None
    policy_aliases = {str(k): str(v) for k, v in dict(document.get("policy_aliases", {})).items()}
    return TargetTable(
        zig_version=zig["version"],
        arches=arches,
        aliases=aliases,
        policy_aliases=policy_aliases,
    )


@functools.lru_cache(maxsize=1)
def load_table() -> TargetTable:
    """Load and validate toolchains/targets.toml (once per process)."""
    return parse_table(load_toml(toolchains_dir() / TARGETS_FILE))


def parse_arch(text: str) -> Arch:
    """Parse an architecture name or alias (``arm64`` -> aarch64); ConfigError if unknown."""
    table = load_table()
    cleaned = text.strip().lower()
    try:
        return Arch(cleaned)
    except ValueError:
        pass
    if cleaned in table.aliases:
        return table.aliases[cleaned]
    known = ", ".join(arch.value for arch in Arch)
    msg = f"unknown architecture {text!r}"
    raise ConfigError(msg, hint=f"use one of: {known}")


def parse_policy(text: str) -> LibcPolicy:
    """Parse a policy: ``2_17``, ``manylinux_2_17``, ``manylinux2014``, ``musllinux_1_2`` ...

    A bare ``X_Y`` means glibc (manylinux). ConfigError for anything else.
    """
    cleaned = text.strip().lower()
    cleaned = load_table().policy_aliases.get(cleaned, cleaned)
    match = _POLICY_RE.match(cleaned)
    if match is None:
        msg = f"unknown policy {text!r}"
        raise ConfigError(
            msg,
            hint="use manylinux_2_17 (or 2_17, manylinux2014), another manylinux_X_Y, "
            "manylinux1, manylinux2010, musllinux_1_1 or musllinux_1_2",
        )
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3))
    libc = "musl" if family == "musllinux" else "gnu"
    return LibcPolicy(libc=libc, version=(major, minor))


def supported_policies(arch: Arch) -> list[str]:
    """Every policy name zigwheel can build for ``arch``, oldest first, manylinux then musllinux."""
    info = load_table().arches[arch]
    names = [
        f"manylinux_{version}"
        for version in info.manylinux
        if _version(version, where=arch.value) >= info.zig_min_glibc
    ]
    names += [f"musllinux_{version}" for version in info.musllinux]
    return names


DEFAULT_POLICY = "manylinux_2_17"


def default_policy(arch: Arch) -> str:
    """manylinux_2_17 where it exists for ``arch``, else the oldest manylinux zig can build."""
    available = supported_policies(arch)
    if DEFAULT_POLICY in available:
        return DEFAULT_POLICY
    return next(name for name in available if name.startswith("manylinux"))


def resolve_target(arch: str | Arch, policy: str | LibcPolicy) -> Target:
    """Combine an architecture and a policy into a Target; ConfigError if they don't go together."""
    arch_value = arch if isinstance(arch, Arch) else parse_arch(arch)
    libc_policy = policy if isinstance(policy, LibcPolicy) else parse_policy(policy)
    info = load_table().arches[arch_value]
    available = info.manylinux if libc_policy.libc == "gnu" else info.musllinux
    if libc_policy.short not in available:
        asked = policy if isinstance(policy, str) else libc_policy.name
        aliased = asked.strip().lower() in load_table().policy_aliases
        spelled = f"{asked} ({libc_policy.name})" if aliased else libc_policy.name
        msg = f"{spelled} does not exist for {arch_value.value}"
        raise ConfigError(msg, hint=f"use one of: {', '.join(supported_policies(arch_value))}")
    if libc_policy.libc == "gnu" and libc_policy.version < info.zig_min_glibc:
        oldest = f"{info.zig_min_glibc[0]}.{info.zig_min_glibc[1]}"
        msg = (
            f"the pinned zig cannot provide glibc {libc_policy.version[0]}.{libc_policy.version[1]}"
            f" for {arch_value.value} (its oldest is {oldest})"
        )
        raise ConfigError(msg, hint=f"use one of: {', '.join(supported_policies(arch_value))}")
    major, minor = libc_policy.version
    if libc_policy.libc == "gnu":
        rust_triple = info.rust_gnu
        zig_triple = f"{info.zig_gnu}.{major}.{minor}"
    else:
        rust_triple = info.rust_musl
        zig_triple = info.zig_musl
    return Target(
        arch=arch_value,
        libc=libc_policy.libc,
        libc_version=libc_policy.version,
        policy=libc_policy.name,
        platform_tag=f"{libc_policy.name}_{arch_value.value}",
        rust_triple=rust_triple,
        zig_triple=zig_triple,
        mcpu=info.mcpu,
        cmake_processor=info.cmake_processor,
        e_machine=info.e_machine,
        qemu=info.qemu,
    )


def all_targets() -> list[Target]:
    """Every target the table allows, architecture by architecture."""
    return [resolve_target(arch, policy) for arch in Arch for policy in supported_policies(arch)]


def pinned_zig_version() -> str:
    """The zig version zigwheel is tested with (the one pin, in toolchains/targets.toml)."""
    return load_table().zig_version
