"""Build targets: the (arch, libc, libc version) table, policies and the zig pin."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zigwheel import platforms
from zigwheel.errors import ConfigError, DataError
from zigwheel.platforms import ArchRow, Libc
from zigwheel.resources import load_toml, toolchains_dir

TARGETS_FILE = "targets.toml"
_TOP_KEYS = frozenset({"schema", "zig", "policy_aliases", "arch"})


class Arch(str, enum.Enum):
    """A CPU architecture zigwheel builds for, spelled as in wheel platform tags."""

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

    libc: Libc
    version: tuple[int, int]

    @property
    def name(self) -> str:
        """The canonical policy name, e.g. ``manylinux_2_17`` or ``musllinux_1_2``."""
        return f"{self.libc.policy_family}_{self.version[0]}_{self.version[1]}"

    @property
    def short(self) -> str:
        """The version part as written in the target table, e.g. ``2_17``."""
        return f"{self.version[0]}_{self.version[1]}"


# One row of the target table: the registry's row (kept under its old name for callers).
ArchInfo = ArchRow


@dataclass(frozen=True)
class TargetTable:
    """The whole target table: the build architectures' rows, policy aliases and the zig pin."""

    zig_version: str
    arches: Mapping[Arch, ArchRow]
    policy_aliases: Mapping[str, str]


@dataclass(frozen=True)
class Target:
    """One concrete build target, e.g. aarch64 + glibc 2.17."""

    arch: Arch
    libc: Libc
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
    def zig_probe_triple(self) -> str:
        """zig's triple without the glibc version (``aarch64-linux-gnu``), for compiler probes.

        clang's driver prints the versioned triple for ``--version`` and then fails on it.
        """
        if self.libc is Libc.GLIBC:
            return self.zig_triple.removesuffix(".{}.{}".format(*self.libc_version))
        return self.zig_triple

    @property
    def env_triple(self) -> str:
        """The Rust triple as used in environment variable names (``-`` -> ``_``)."""
        return self.rust_triple.replace("-", "_")


_POLICY_RE = re.compile(r"^(?:(manylinux|musllinux)_)?(\d+)[_.](\d+)$")


def _fail(message: str) -> DataError:
    hint = "reinstall zigwheel; its target table is damaged"
    return DataError(f"{TARGETS_FILE}: {message}", hint=hint)


def parse_table(document: Mapping[str, Any]) -> TargetTable:
    """Validate the target table document and turn it into a TargetTable."""
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise _fail(f"unknown top-level keys: {', '.join(unknown)}")
    zig = document.get("zig")
    if not isinstance(zig, dict) or not isinstance(zig.get("version"), str):
        raise _fail("[zig] version is missing")
    registry = platforms.parse_registry(document)
    arches: dict[Arch, ArchRow] = {}
    for row in registry.buildable():
        try:
            arch = Arch(row.name)
        except ValueError:
            msg = f"{TARGETS_FILE}: [arch.{row.name}] is not a known architecture"
            raise DataError(msg, hint="add the architecture to targets.Arch") from None
        arches[arch] = row
    missing = [arch.value for arch in Arch if arch not in arches]
    if missing:
        raise _fail(f"no [arch.*] table for {', '.join(missing)}")
    raw_aliases = document.get("policy_aliases", {})
    if not isinstance(raw_aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_aliases.items()
    ):
        raise _fail("[policy_aliases] must map names to policy names")
    return TargetTable(
        zig_version=zig["version"],
        arches={arch: arches[arch] for arch in Arch if arch in arches},
        policy_aliases=dict(raw_aliases),
    )


@functools.lru_cache(maxsize=1)
def load_table() -> TargetTable:
    """Load and validate toolchains/targets.toml (once per process)."""
    return parse_table(load_toml(toolchains_dir() / TARGETS_FILE))


def parse_arch(text: str) -> Arch:
    """Parse an architecture name or alias (``arm64`` -> aarch64); ConfigError if unknown."""
    load_table()  # a damaged table is a DataError before any lookup
    row = platforms.lookup(text)
    if row is not None and row.build:
        return Arch(row.name)
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
    libc = Libc.MUSL if family == "musllinux" else Libc.GLIBC
    return LibcPolicy(libc=libc, version=(major, minor))


def supported_policies(arch: Arch) -> list[str]:
    """Every policy name zigwheel can build for ``arch``, oldest first, manylinux then musllinux."""
    info = load_table().arches[arch]
    names = [
        f"manylinux_{version}"
        for version in info.manylinux
        if platforms.parse_version(version, where=arch.value) >= info.zig_min_glibc
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
    available = info.policies(libc_policy.libc)
    if libc_policy.short not in available:
        asked = policy if isinstance(policy, str) else libc_policy.name
        aliased = asked.strip().lower() in load_table().policy_aliases
        spelled = f"{asked} ({libc_policy.name})" if aliased else libc_policy.name
        msg = f"{spelled} does not exist for {arch_value.value}"
        raise ConfigError(msg, hint=f"use one of: {', '.join(supported_policies(arch_value))}")
    if libc_policy.libc is Libc.GLIBC and libc_policy.version < info.zig_min_glibc:
        oldest = f"{info.zig_min_glibc[0]}.{info.zig_min_glibc[1]}"
        msg = (
            f"the pinned zig cannot provide glibc {libc_policy.version[0]}.{libc_policy.version[1]}"
            f" for {arch_value.value} (its oldest is {oldest})"
        )
        raise ConfigError(msg, hint=f"use one of: {', '.join(supported_policies(arch_value))}")
    major, minor = libc_policy.version
    rust_triple = info.rust[libc_policy.libc]
    zig_triple = info.zig[libc_policy.libc]
    if libc_policy.libc is Libc.GLIBC:
        zig_triple = f"{zig_triple}.{major}.{minor}"
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
