"""The maturin project zigwheel builds: found as maturin finds it, and what its files say."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zigwheel.errors import ConfigError
from zigwheel.resources import parse_toml_text

# Interpreter versions a non-abi3 crate may be built for when requires-python allows them.
KNOWN_PYTHONS = tuple(f"3.{minor}" for minor in range(9, 15))


@dataclass(frozen=True)
class Project:
    """What zigwheel needs to know of a maturin project."""

    directory: Path
    manifest: Path
    name: str
    abi3: bool
    requires_python: str | None
    pyproject: Mapping[str, Any]
    lock_packages: frozenset[str]
    bindings: str = ""  # "bin" for a program crate (py3-none wheels); "" otherwise (pyo3, ...)
    # The oldest CPython an abi3 wheel is for ("3.9" from abi3-py39); None for a bare `abi3`,
    # which leaves the version to the interpreter the build is given.
    abi3_minimum: str | None = None
    cargo: Mapping[str, Any] = field(default_factory=dict)



# -- reading the project -------------------------------------------------------------------


def _table(value: object) -> Mapping[str, Any]:
    """``value`` when it is a TOML table, else an empty one (a wrong type is reported elsewhere)."""
    return value if isinstance(value, dict) else {}


def _strings(value: object, where: str, source: Path, example: str) -> list[str]:
    """A TOML list of strings; a ConfigError naming the file and the key for anything else."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"{source}: {where} must be a list of strings, not {value!r}"
        raise ConfigError(msg, hint=f"write e.g. features = {example}")
    return value


def _abi3(
    cargo: Mapping[str, Any], maturin: Mapping[str, Any], *, manifest: Path, pyproject: Path
) -> list[str]:
    """pyo3's abi3 features that are on: in a pyo3 dependency's features, in the crate's
    default features (``"pyo3/abi3-py39"``), or in ``[tool.maturin] features``."""
    features: list[str] = []
    for section in ("dependencies", "target"):
        table = _table(cargo.get(section))
        deps = [table] if section == "dependencies" else [
            _table(_table(value).get("dependencies")) for value in table.values()
        ]
        for dep_table in deps:
            pyo3 = dep_table.get("pyo3")
            if isinstance(pyo3, dict):
                features.extend(_strings(
                    pyo3.get("features"), "pyo3's features", manifest, '["abi3-py39"]'
                ))
    crate_features = _table(cargo.get("features"))
    given = _strings(
        maturin.get("features"), "[tool.maturin] features", pyproject, '["pyo3/abi3-py39"]'
    )
    enabled = ["default", *given]
    seen: set[str] = set()
    while enabled:  # follow feature names to what they enable, e.g. default -> abi3 -> pyo3/abi3
        name = str(enabled.pop())
        if name in seen:
            continue
        seen.add(name)
        if name.startswith(("pyo3/", "pyo3?/")):
            features.append(name.split("/", 1)[1])
        elif isinstance(crate_features.get(name), list):
            enabled.extend(str(item) for item in crate_features[name])
    return [feature for feature in features if feature.startswith("abi3")]


_ABI3_VERSION = re.compile(r"^abi3-py3(\d+)$")


def _abi3_minimum(features: list[str]) -> str | None:
    """The highest minimum the abi3-py3X features name (pyo3 takes the highest), or None."""
    minors = [int(found[1]) for item in features if (found := _ABI3_VERSION.match(item))]
    return f"3.{max(minors)}" if minors else None


def _bindings(cargo: Mapping[str, Any], maturin: Mapping[str, Any], manifest: Path) -> str:
    """``[tool.maturin] bindings``, else "bin" where maturin would pick it: a crate with a
    program and neither a library nor a pyo3 dependency."""
    given = maturin.get("bindings")
    if isinstance(given, str):
        return given
    if {"pyo3", "pyo3-ffi"} & set(_table(cargo.get("dependencies"))):
        return ""
    has_lib = "lib" in cargo or (manifest.parent / "src" / "lib.rs").is_file()
    has_bin = "bin" in cargo or (manifest.parent / "src" / "main.rs").is_file()
    return "bin" if has_bin and not has_lib else ""


def read_user_toml(path: Path) -> dict[str, Any]:
    """A project's TOML file; unreadable or not UTF-8 is a ConfigError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as err:
        msg = f"cannot read {path}: {err.strerror}"
        raise ConfigError(msg, hint="check the file's permissions") from err
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        msg = f"{path} is not UTF-8 text (line {line}: byte {data[err.start]:#04x})"
        raise ConfigError(msg, hint=f"save {path.name} as UTF-8, as TOML requires") from err
    return parse_toml_text(text, source=str(path))


SUPPORTED_PROJECTS = (
    "zigwheel builds maturin projects: a pyproject.toml with build-backend = \"maturin\" and a "
    "Cargo.toml beside it, in rust/, or at [tool.maturin] manifest-path"
)


def _uses_setuptools_rust(directory: Path, pyproject: Mapping[str, Any]) -> bool:
    """Whether the project builds its Rust code through setuptools-rust (e.g. bcrypt)."""
    system = _table(pyproject.get("build-system"))
    requires = system.get("requires", [])
    names = {
        re.split(r"[\s<>=!~;\[(@]", item.strip(), maxsplit=1)[0].lower().replace("_", "-")
        for item in (requires if isinstance(requires, list) else [])
        if isinstance(item, str)
    }
    if "setuptools-rust" in names or "setuptools-rust" in _table(pyproject.get("tool")):
        return True
    try:  # a setup.py-only project: the import names the backend
        return "setuptools_rust" in (directory / "setup.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def setuptools_rust_route(arch: str = "aarch64", policy: str = "manylinux_2_17") -> str:
    """What zigwheel offers a setuptools-rust project today: its shims and a check, step by step.

    Tried on bcrypt's sdist: setuptools-rust builds for CARGO_BUILD_TARGET with the compilers
    and linker the shims export, and the platform tag comes from --plat-name.
    """
    triple = f"{arch}-unknown-linux-gnu"
    return (
        "zigwheel build drives maturin only; for setuptools-rust use zigwheel's zig compilers and "
        f"check: eval \"$(zigwheel shims --env -t {arch})\" (CC/CXX/AR of the target and cargo's "
        f"linker), export CARGO_BUILD_TARGET={triple} (setuptools-rust builds for it; the "
        "Rust toolchain needs its std) and, for a cross build, "
        "PYO3_CROSS_PYTHON_VERSION=3.X, the version of the Python that runs pip (the wheel is "
        "tagged for it); then, from a clean build/ folder, "
        "`python -m pip wheel --no-deps -w dist . "
        f"--config-settings=--build-option=--plat-name={policy}_{arch}` and "
        "`zigwheel check dist/*.whl`"
    )


def _manifest(directory: Path, pyproject_path: Path, maturin: Mapping[str, Any]) -> Path:
    """The crate maturin builds: [tool.maturin] manifest-path, else Cargo.toml, else rust/."""
    given = maturin.get("manifest-path")
    if given is not None:
        if not isinstance(given, str) or not given:
            msg = f"{pyproject_path}: [tool.maturin] manifest-path must be a path, not {given!r}"
            raise ConfigError(msg, hint='write e.g. manifest-path = "rust/Cargo.toml"')
        manifest = directory / given
        if not manifest.is_file():
            msg = f"{pyproject_path}: [tool.maturin] manifest-path names {manifest}: no such file"
            raise ConfigError(msg, hint="fix manifest-path, relative to the pyproject.toml")
        return manifest
    for manifest in (directory / "Cargo.toml", directory / "rust" / "Cargo.toml"):
        if manifest.is_file():
            return manifest
    msg = f"{directory} has no Cargo.toml (nor rust/Cargo.toml, nor a [tool.maturin] manifest-path)"
    raise ConfigError(msg, hint=SUPPORTED_PROJECTS)


def _pyo3_members(manifest: Path, cargo: Mapping[str, Any], base: Path) -> list[str]:
    """The workspace's member manifests that depend on pyo3, relative to ``base``."""
    members = _table(cargo.get("workspace")).get("members", [])
    found: list[str] = []
    for pattern in members if isinstance(members, list) else []:
        if not isinstance(pattern, str):
            continue
        for folder in sorted(manifest.parent.glob(pattern)):
            member = folder / "Cargo.toml"
            try:
                text = member.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "pyo3" in text:
                found.append(Path(os.path.relpath(member, base)).as_posix())
    return found


def read_project(directory: Path) -> Project:
    """Read pyproject.toml, Cargo.toml and Cargo.lock of a maturin project.

    The crate is found as maturin finds it; a folder that maturin would not build (another build
    backend, a virtual workspace manifest) is refused here, before anything is downloaded.
    """
    directory = directory.resolve()
    if not directory.is_dir():
        msg = f"{directory} is {'not a folder' if directory.exists() else 'missing'}"
        raise ConfigError(msg, hint="pass the folder of a maturin/PyO3 project")
    pyproject_path = directory / "pyproject.toml"
    pyproject: dict[str, Any] = {}
    if pyproject_path.is_file():
        pyproject = read_user_toml(pyproject_path)
    backend = _table(pyproject.get("build-system")).get("build-backend")
    if backend != "maturin" and _uses_setuptools_rust(directory, pyproject):
        shown = f"{backend!r} with setuptools-rust" if backend else "setuptools-rust (setup.py)"
        msg = f"{pyproject_path if backend else directory} builds with {shown}, not maturin"
        raise ConfigError(msg, hint=setuptools_rust_route())
    if backend is not None and backend != "maturin":
        msg = f"{pyproject_path} builds with {backend!r}, not maturin"
        raise ConfigError(msg, hint=SUPPORTED_PROJECTS)
    maturin = _table(_table(pyproject.get("tool")).get("maturin"))
    manifest = _manifest(directory, pyproject_path, maturin)
    cargo = read_user_toml(manifest)
    if "package" not in cargo:
        msg = f"{manifest} is a workspace manifest without a [package]: maturin cannot build it"
        members = _pyo3_members(manifest, cargo, directory)
        where = f'manifest-path = "{(members or ["MEMBER/Cargo.toml"])[0]}"'
        raise ConfigError(
            msg,
            hint=f"name the member that holds the Python extension in [tool.maturin] ({where}), "
            "or pass that member's folder",
        )
    lock_packages: set[str] = set()
    for lock in dict.fromkeys((manifest.parent / "Cargo.lock", directory / "Cargo.lock")):
        if lock.is_file():
            packages = read_user_toml(lock).get("package", [])
            if not isinstance(packages, list):
                msg = f"{lock}: package must be an array of tables, not {packages!r}"
                raise ConfigError(msg, hint="let cargo rewrite it: cargo generate-lockfile")
            lock_packages |= {str(pkg.get("name")) for pkg in packages if isinstance(pkg, dict)}
            break
    project_table = _table(pyproject.get("project"))
    package = _table(cargo.get("package"))
    name = str(project_table.get("name") or package.get("name") or directory.name)
    requires_python = project_table.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        msg = f"{pyproject_path}: [project] requires-python must be a string"
        msg += f", not {requires_python!r}"
        raise ConfigError(msg, hint='write e.g. requires-python = ">=3.9"')
    abi3 = _abi3(cargo, maturin, manifest=manifest, pyproject=pyproject_path)
    return Project(
        directory=directory,
        manifest=manifest,
        name=name,
        abi3=bool(abi3),
        requires_python=requires_python,
        pyproject=pyproject,
        lock_packages=frozenset(lock_packages),
        bindings=_bindings(cargo, maturin, manifest),
        abi3_minimum=_abi3_minimum(abi3),
        cargo=cargo,
    )
