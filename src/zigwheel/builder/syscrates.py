"""Crates that link a system C library: does this build supply it, and advice fitting the crate."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zigwheel.builder.project import Project
from zigwheel.errors import DataError
from zigwheel.resources import load_toml, toolchains_dir

SYSTEM_CRATES_FILE = "system-crates.toml"
_KEYS = {
    "name", "library", "unless", "features", "declare", "supplied_by", "static_env", "instead",
    "warn_only",
}  # fmt: skip


@dataclass(frozen=True)
class SystemCrate:
    """One entry of system-crates.toml."""

    name: str
    library: str
    unless: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    declare: str = ""
    supplied_by: tuple[str, ...] = ()
    static_env: str = ""
    instead: str = ""
    warn_only: bool = False


@dataclass(frozen=True)
class SystemCrateNeed:
    """A crate of the build that will not find its C library for some targets."""

    crate: str
    library: str
    triples: tuple[str, ...]  # the targets without it
    fix: str  # what to do, fitted to the project
    warn_only: bool

    @property
    def message(self) -> str:
        """One line naming the crate and the library (zigwheel explain knows its wording)."""
        return f"{self.crate} links the system's {self.library}"


def _strings(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"{where}: {key} must be a list of strings"
        raise DataError(msg, hint="fix toolchains/system-crates.toml")
    return tuple(value)


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value):
        msg = f"{where}: {key} must be {'a non-empty' if required else 'a'} string"
        raise DataError(msg, hint="fix toolchains/system-crates.toml")
    return value


def parse_system_crates(document: Mapping[str, Any], source: str) -> tuple[SystemCrate, ...]:
    """The validated entries of a system-crates document."""
    if document.get("schema") != 1:
        msg = f"{source} has schema {document.get('schema')!r}, expected 1"
        raise DataError(msg, hint="reinstall zigwheel; the data does not match the code")
    entries = document.get("crate")
    if not isinstance(entries, list):
        msg = f"{source}: crate must be an array of tables"
        raise DataError(msg, hint="fix toolchains/system-crates.toml")
    crates: list[SystemCrate] = []
    for index, entry in enumerate(entries):
        where = f"{source}: crate #{index + 1}"
        if not isinstance(entry, dict) or set(entry) - _KEYS:
            msg = f"{where} is not a table of {', '.join(sorted(_KEYS))}"
            raise DataError(msg, hint="fix toolchains/system-crates.toml")
        warn_only = entry.get("warn_only", False)
        if not isinstance(warn_only, bool):
            msg = f"{where}: warn_only must be true or false"
            raise DataError(msg, hint="fix toolchains/system-crates.toml")
        crates.append(
            SystemCrate(
                name=_text(entry, "name", where, required=True),
                library=_text(entry, "library", where, required=True),
                unless=_strings(entry, "unless", where),
                features=_strings(entry, "features", where),
                declare=_text(entry, "declare", where),
                supplied_by=_strings(entry, "supplied_by", where),
                static_env=_text(entry, "static_env", where),
                instead=_text(entry, "instead", where),
                warn_only=warn_only,
            )
        )
    return tuple(crates)


@functools.lru_cache(maxsize=1)
def load_system_crates() -> tuple[SystemCrate, ...]:
    """The system crates shipped with zigwheel (cached)."""
    path = toolchains_dir() / SYSTEM_CRATES_FILE
    return parse_system_crates(load_toml(path), path.name)


# -- what the build will see ---------------------------------------------------------------


@dataclass(frozen=True)
class FeatureRequest:
    """The features cargo is asked for: from maturin's arguments and [tool.maturin]."""

    named: tuple[str, ...]
    default: bool = True
    every: bool = False
    locked: bool = False  # --locked or --frozen: cargo may not change Cargo.lock


def _split(value: str) -> list[str]:
    return [item for item in value.replace(",", " ").split() if item]


def feature_request(
    maturin_args: Sequence[str], maturin_table: Mapping[str, Any]
) -> FeatureRequest:
    """Read cargo's feature flags as maturin passes them on (--features/-F, --all-features, ...)."""
    given = maturin_table.get("features", [])
    named = [str(item) for item in given] if isinstance(given, list) else []
    default = maturin_table.get("no-default-features") is not True
    every = maturin_table.get("all-features") is True
    locked = maturin_table.get("locked") is True or maturin_table.get("frozen") is True
    args = list(maturin_args)
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg in {"--features", "-F"}:
            named += _split(following)
        elif arg.startswith("--features="):
            named += _split(arg.partition("=")[2])
        elif arg.startswith("-F") and len(arg) > 2:
            named += _split(arg[2:].lstrip("="))
        elif arg == "--no-default-features":
            default = False
        elif arg == "--all-features":
            every = True
        elif arg in {"--locked", "--frozen"}:
            locked = True
    return FeatureRequest(tuple(named), default, every, locked)


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _dependency_tables(cargo: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """[dependencies] and every [target.'cfg(...)'.dependencies] of a Cargo.toml."""
    tables = [_table(cargo.get("dependencies"))]
    tables += [_table(_table(t).get("dependencies")) for t in _table(cargo.get("target")).values()]
    return tables


def _direct(cargo: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The crate's direct dependencies by the name cargo features use (a rename's key)."""
    found: dict[str, Mapping[str, Any]] = {}
    for table in _dependency_tables(cargo):
        for key, spec in table.items():
            found.setdefault(str(key), _table(spec))
    return found


def _package_of(name: str, spec: Mapping[str, Any]) -> str:
    package = spec.get("package")
    return package if isinstance(package, str) else name


def _expand(cargo: Mapping[str, Any], start: Iterable[str]) -> set[str]:
    """Every feature string that ``start`` turns on, through the crate's [features] table."""
    features = _table(cargo.get("features"))
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop().replace("?/", "/")
        if name in seen:
            continue
        seen.add(name)
        if name.startswith("dep:"):
            continue
        listed = features.get(name)
        if isinstance(listed, list):
            todo += [str(item) for item in listed]
    return seen


def _enabled(project: Project, request: FeatureRequest) -> set[str]:
    """The dependency features (``package/feature``) this build turns on."""
    cargo = project.cargo
    start = list(request.named) + (["default"] if request.default else [])
    if request.every:
        start += [str(name) for name in _table(cargo.get("features"))]
    direct = _direct(cargo)
    enabled: set[str] = set()
    for item in _expand(cargo, start):
        dep, slash, feature = item.partition("/")
        if slash:
            enabled.add(f"{_package_of(dep, direct.get(dep, {}))}/{feature}")
    for name, spec in direct.items():  # features = [...] on the dependency itself
        listed = spec.get("features", [])
        for feature in listed if isinstance(listed, list) else []:
            enabled.add(f"{_package_of(name, spec)}/{feature}")
    return enabled


def _own_features(project: Project, wanted: Iterable[str]) -> list[str]:
    """The crate's own features that turn one of ``wanted`` on."""
    cargo = project.cargo
    direct = _direct(cargo)
    goals = set(wanted)
    own: list[str] = []
    for name in _table(cargo.get("features")):
        reached = set()
        for item in _expand(cargo, [str(name)]):
            dep, slash, feature = item.partition("/")
            if slash:
                reached.add(f"{_package_of(dep, direct.get(dep, {}))}/{feature}")
        if reached & goals and name != "default":
            own.append(str(name))
    return own


def _supplied(crate: SystemCrate, env: Mapping[str, str], triple: str) -> bool:
    prefix = triple.upper().replace("-", "_")
    return any(env.get(name) or env.get(f"{prefix}_{name}") for name in crate.supplied_by)


def _advice(
    crate: SystemCrate, project: Project, request: FeatureRequest, triples: Sequence[str]
) -> str:
    """What to do, fitted to the project: its own feature, else the dependency's, else a line."""
    steps: list[str] = []
    own = _own_features(project, crate.features)
    direct = {_package_of(name, spec) for name, spec in _direct(project.cargo).items()}
    flag_feature = next((f for f in crate.features if f.split("/")[0] in direct), None)
    if own:
        steps.append(
            f"enable the crate's own `{own[0]}` feature "
            f"(`zigwheel build --maturin-arg=--features={own[0]}`, or [tool.maturin] features)"
        )
    elif flag_feature:
        dep, _, feature = flag_feature.partition("/")
        steps.append(
            f"build {crate.library} from source (it needs perl and make) with the `{feature}` "
            f"feature of {dep}: "
            f"`zigwheel build --maturin-arg=--features={flag_feature}` (or [tool.maturin] "
            f'features = ["{flag_feature}"]); a feature given so leaves Cargo.lock as it is'
            + (", so --locked still passes" if request.locked else "")
        )
    elif crate.declare:
        steps.append(
            f"build {crate.library} from source: add `{crate.declare}` to [dependencies] of "
            f"{project.manifest.name} (cargo turns the feature on for the copy the build uses)"
            + (
                "; with --locked, run `cargo update -p " + crate.name + "` and commit Cargo.lock "
                "first, as cargo may not change it then"
                if request.locked
                else ""
            )
        )
    if crate.supplied_by:
        prefix = triples[0].upper().replace("-", "_") if triples else "TRIPLE"
        name = crate.supplied_by[0]
        static = f", with {crate.static_env}=1" if crate.static_env else ""
        steps.append(
            f"point {name} (for one target: {prefix}_{name}) at a copy of {crate.library} "
            f"built for the target{static}, in the shell or [tool.zigwheel] environment"
        )
    if crate.instead:
        steps.append(crate.instead)
    return "; or ".join(steps)


def system_crate_needs(
    project: Project,
    *,
    maturin_args: Sequence[str],
    env: Mapping[str, str],
    triples: Sequence[str],
) -> list[SystemCrateNeed]:
    """The system crates in Cargo.lock that this build leaves without their C library.

    A crate passes when Cargo.lock holds its vendored build (``unless``), when the features the
    build turns on (the crate's, [tool.maturin]'s, --features in the maturin arguments) include
    one that builds the library from source, or when ``env`` points it at a copy for the target.
    """
    request = feature_request(
        maturin_args, _table(_table(project.pyproject.get("tool")).get("maturin"))
    )
    enabled = _enabled(project, request)
    needs: list[SystemCrateNeed] = []
    for crate in load_system_crates():
        if crate.name not in project.lock_packages or set(crate.unless) & project.lock_packages:
            continue
        if enabled & set(crate.features):
            continue
        missing = tuple(triple for triple in triples if not _supplied(crate, env, triple))
        if not missing:
            continue
        needs.append(
            SystemCrateNeed(
                crate.name, crate.library, missing, _advice(crate, project, request, missing),
                crate.warn_only,
            )
        )  # fmt: skip
    return needs


def static_warnings(project: Project, env: Mapping[str, str], triples: Sequence[str]) -> list[str]:
    """Warnings for a supplied library that will be linked dynamically (check refuses that)."""
    warnings: list[str] = []
    for crate in load_system_crates():
        if crate.name not in project.lock_packages or not crate.static_env:
            continue
        for triple in triples:
            prefix = triple.upper().replace("-", "_")
            static = env.get(crate.static_env) or env.get(f"{prefix}_{crate.static_env}")
            if _supplied(crate, env, triple) and not static:
                warnings.append(
                    f"{crate.name} is given a {crate.library} for {triple} without "
                    f"{crate.static_env}=1: the wheel would link its shared library, which "
                    "manylinux does not allow (zigwheel check refuses such a wheel)"
                )
    return warnings
