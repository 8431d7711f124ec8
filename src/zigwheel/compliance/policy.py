"""manylinux/musllinux policies (shipped JSON data, validated on load) and platform-tag parsing."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zigwheel.errors import DataError
from zigwheel.platforms import Libc, registry
from zigwheel.resources import data_dir

GLIBC = Libc.GLIBC
MUSL = Libc.MUSL
# keyed by str: callers pass the plain spelling ("glibc") as well as Libc members
_FILES: dict[str, str] = {GLIBC: "manylinux.json", MUSL: "musllinux.json"}
_PREFIX: dict[str, str] = {GLIBC: "manylinux", MUSL: "musllinux"}

# The legacy manylinux names and the glibc version each stands for (PEP 600's aliases).
LEGACY_MANYLINUX_VERSIONS = {
    "manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17),
}  # fmt: skip
_TAG_RE = re.compile(
    r"^(?:(?P<pep>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)"
    r"|(?P<legacy>manylinux1|manylinux2010|manylinux2014)|(?P<linux>linux))_(?P<arch>.+)$"
)
_NAME_RE = re.compile(r"^(?:linux|(?:manylinux|musllinux)_\d+_\d+)$")


@dataclass(frozen=True)
class PlatformTag:
    """One platform tag of a wheel file name, decoded."""

    tag: str
    libc: str | None  # "glibc", "musl", "linux" (the non-portable tag) or None (not Linux)
    version: tuple[int, int] | None
    arch: str | None  # the tag's own arch suffix, e.g. "x86_64_v3"
    baseline: str | None  # the baseline architecture, e.g. "x86_64"; None when unknown

    @property
    def policy_name(self) -> str | None:
        """The PEP 600 policy name, e.g. "manylinux_2_17" for "manylinux2014_x86_64"."""
        if self.version is None or self.libc not in _PREFIX:
            return None
        return f"{_PREFIX[self.libc]}_{self.version[0]}_{self.version[1]}"


def parse_platform_tag(tag: str) -> PlatformTag:
    """Decode a platform tag such as ``manylinux2014_aarch64`` or ``musllinux_1_2_x86_64``."""
    match = _TAG_RE.match(tag)
    if not match:
        return PlatformTag(tag, None, None, None, None)
    arch = match["arch"]
    # the registry knows each baseline and the suffixes that stand for it (x86_64_v3 -> x86_64)
    row = registry().by_tag_arch(arch)
    baseline = row.name if row is not None else None
    if match["linux"]:
        return PlatformTag(tag, "linux", None, arch, baseline)
    if match["legacy"]:
        return PlatformTag(tag, GLIBC, LEGACY_MANYLINUX_VERSIONS[match["legacy"]], arch, baseline)
    libc = GLIBC if match["pep"] == "manylinux" else MUSL
    return PlatformTag(tag, libc, (int(match["major"]), int(match["minor"])), arch, baseline)


@dataclass(frozen=True)
class Policy:
    """One policy instantiated for one architecture (auditwheel's notion: a tag and its rules)."""

    name: str  # "manylinux_2_17", "musllinux_1_2" or "linux"
    libc: str
    arch: str
    priority: int  # higher = more compatible (older); linux = 0
    aliases: tuple[str, ...]
    symbol_versions: Mapping[str, frozenset[str]]  # namespace -> full names ("GLIBC_2.17")
    whitelist: frozenset[str]
    blacklist: Mapping[str, frozenset[str]]

    @property
    def tag(self) -> str:
        """The platform tag, e.g. ``manylinux_2_17_x86_64``."""
        return f"{self.name}_{self.arch}"

    @property
    def version(self) -> tuple[int, int] | None:
        """(major, minor) of the libc the policy promises; None for linux."""
        if self.name == "linux":
            return None
        _, major, minor = self.name.split("_")
        return int(major), int(minor)

    @property
    def is_linux(self) -> bool:
        """True for the non-portable ``linux`` fallback."""
        return self.name == "linux"

    def allows_version(self, version: str) -> bool:
        """True when a needed symbol version is allowed (namespaces the policy omits are free)."""
        allowed = self.symbol_versions.get(version.partition("_")[0])
        return allowed is None or version in allowed

    def display(self) -> str:
        """The tag with its legacy alias, e.g. ``manylinux_2_17_x86_64 (manylinux2014)``."""
        return f"{self.tag} ({self.aliases[0]})" if self.aliases else self.tag


@dataclass(frozen=True)
class PolicyLadder:
    """The policies of one libc for one architecture, least compatible (linux) first."""

    libc: str
    arch: str
    policies: tuple[Policy, ...]

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    @property
    def linux(self) -> Policy:
        """The fallback policy that allows everything."""
        return self.policies[0]

    @property
    def highest(self) -> Policy:
        """The most compatible policy defined for this architecture."""
        return self.policies[-1]

    def get(self, name: str) -> Policy | None:
        """The policy named ``name`` (e.g. "manylinux_2_17"), or None."""
        return next((p for p in self.policies if p.name == name), None)

    def for_version(self, version: tuple[int, int]) -> Policy | None:
        """The newest defined policy whose libc version is <= ``version`` (PEP 600 semantics)."""
        best: Policy | None = None
        for policy in self.policies:
            v = policy.version
            if v is not None and v <= version and (best is None or v > (best.version or v)):
                best = policy
        return best

    def versions_policy(
        self, versions: Iterable[str], among: Sequence[Policy] | None = None
    ) -> Policy:
        """The most compatible policy (of ``among``, default all) allowing every needed version."""
        needed = set(versions)
        candidates = self.policies if among is None else among
        for policy in sorted(candidates, key=lambda p: -p.priority):
            if all(policy.allows_version(v) for v in needed):
                return policy
        return self.linux


def _fail(source: str, message: str) -> DataError:
    return DataError(
        f"policy data {source} is invalid: {message}",
        hint="regenerate it with scripts/generate_policy_data.py, or reinstall zigwheel",
    )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_entry_types(entry: dict[str, Any], source: str) -> None:
    """Every field ``ladder`` reads has the type it expects (a DataError, never a KeyError)."""
    name = entry["name"]
    if not _strings(entry.get("aliases")):
        raise _fail(source, f"policy {name} has no aliases list of strings")
    if not _strings(entry.get("lib_whitelist")):
        raise _fail(source, f"policy {name} has no lib_whitelist list of strings")
    blacklist = entry.get("blacklist")
    if not isinstance(blacklist, dict) or not all(_strings(v) for v in blacklist.values()):
        raise _fail(source, f"policy {name} has no blacklist mapping of library -> symbols")
    spaces = entry.get("symbol_versions")
    if not isinstance(spaces, dict) or not all(
        isinstance(per_arch, dict) and all(_strings(v) for v in per_arch.values())
        for per_arch in spaces.values()
    ):
        raise _fail(
            source, f"policy {name} has no symbol_versions mapping of arch -> namespace -> versions"
        )


def validate_policy_document(  # noqa: PLR0912 - one flat list of checks reads best
    document: Any, *, source: str
) -> list[dict[str, Any]]:
    """Check shape, priorities and PEP 600 monotonicity; return the policy list."""
    if not isinstance(document, dict) or not isinstance(document.get("policies"), list):
        raise _fail(source, "no 'policies' list")
    policies: list[Any] = document["policies"]
    names = set()
    for entry in policies:
        if not isinstance(entry, dict) or not _NAME_RE.match(str(entry.get("name"))):
            raise _fail(source, f"bad policy entry {str(entry)[:80]}")
        if not isinstance(entry.get("priority"), int) or entry["name"] in names:
            raise _fail(source, f"policy {entry['name']} has a bad or duplicate priority/name")
        names.add(entry["name"])
        _check_entry_types(entry, source)
    sonames = document.get("libc_soname", {})
    if not isinstance(sonames, dict) or not all(isinstance(v, str) for v in sonames.values()):
        raise _fail(source, "libc_soname is not a mapping of arch -> soname")
    linux = [p for p in policies if p["name"] == "linux"]
    if not linux or linux[0]["priority"] != 0:
        raise _fail(source, "the 'linux' policy with priority 0 is missing")
    ordered = sorted((p for p in policies if p["name"] != "linux"), key=lambda p: -p["priority"])
    priorities = [p["priority"] for p in ordered]
    if len(set(priorities)) != len(priorities) or min(priorities, default=1) <= 0:
        raise _fail(source, "priorities must be distinct and positive")
    versions = [tuple(int(x) for x in p["name"].split("_")[1:]) for p in ordered]
    if versions != sorted(versions):
        raise _fail(source, "a higher priority must mean an older libc version")
    whitelist: set[str] = set()
    seen: dict[tuple[str, str], set[str]] = {}
    for entry in ordered:
        current = set(entry["lib_whitelist"])
        if not whitelist <= current:
            raise _fail(source, f"{entry['name']} drops whitelisted {sorted(whitelist - current)}")
        whitelist = current
        for arch, spaces in entry["symbol_versions"].items():
            for namespace, listed in spaces.items():
                allowed = set(listed)
                older = seen.get((arch, namespace), set())
                if not older <= allowed:
                    raise _fail(
                        source,
                        f"{entry['name']}_{arch} drops {namespace} {sorted(older - allowed)}",
                    )
                seen[(arch, namespace)] = allowed
    return policies


@functools.cache
def load_document(libc: str) -> dict[str, Any]:
    """Read and validate the shipped policy file for ``libc`` ("glibc" or "musl")."""
    path = data_dir() / "policy" / _FILES[libc]
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _fail(path.name, str(err)) from err
    validate_policy_document(document, source=path.name)
    return document


@functools.cache
def ladder(libc: str, arch: str) -> PolicyLadder:
    """The policies of ``libc`` defined for baseline ``arch``, linux first, most compatible last."""
    document = load_document(libc)
    sonames: dict[str, str] = document.get("libc_soname", {})
    built: list[Policy] = []
    for entry in document["policies"]:
        is_linux = entry["name"] == "linux"
        if not is_linux and arch not in entry["symbol_versions"]:
            continue
        spaces = {} if is_linux else entry["symbol_versions"][arch]
        whitelist = list(entry["lib_whitelist"])
        if libc == MUSL and "libc.so" in whitelist and arch in sonames:
            # auditwheel renames musl's "libc.so" to the musl loader's name on its musl host;
            # both are musl itself: upstream musl (and zig) link DT_NEEDED "libc.so", Alpine's
            # toolchain "libc.musl-<arch>.so.1".
            whitelist.append(sonames[arch])
        built.append(
            Policy(
                name=entry["name"],
                libc=libc,
                arch=arch,
                priority=entry["priority"],
                aliases=tuple(entry["aliases"]),
                symbol_versions={
                    ns: frozenset(f"{ns}_{v}" for v in versions) for ns, versions in spaces.items()
                },
                whitelist=frozenset(whitelist),
                blacklist={lib: frozenset(s) for lib, s in entry["blacklist"].items()},
            )
        )
    built.sort(key=lambda p: p.priority)
    return PolicyLadder(libc=libc, arch=arch, policies=tuple(built))


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a symbol version within its namespace: "GLIBC_2.3.4" -> (2, 3, 4)."""
    return tuple(int(n) for n in re.findall(r"\d+", version.partition("_")[2]))


def newest_versions(versions: Iterable[str]) -> list[str]:
    """The newest version of each namespace, by namespace: ["GLIBC_2.17", "GLIBCXX_3.4.19"]."""
    best: dict[str, str] = {}
    for version in versions:
        space = version.partition("_")[0]
        if space not in best or version_key(version) > version_key(best[space]):
            best[space] = version
    return [best[space] for space in sorted(best)]


def build_flag(policy: Policy) -> str:
    """The ``zigwheel build`` option that targets ``policy``, e.g. ``--musllinux 1_2``."""
    if policy.version is None:
        msg = f"no zigwheel build option targets the {policy.name} policy"
        raise ValueError(msg)
    return f"--{_PREFIX[policy.libc]} {policy.version[0]}_{policy.version[1]}"
