"""Find the pinned zig binary inside the installed ``ziglang`` package and check its version."""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel import _proc
from zigwheel.errors import CommandFailedError, ToolchainError
from zigwheel.host import current_os, exe_suffix_for
from zigwheel.toolchain.targets import pinned_zig_version

logger = logging.getLogger(__name__)

ZIG_EXE = "zig" + exe_suffix_for(current_os())


@dataclass(frozen=True)
class Zig:
    """A located zig: where it is, what version it reports, and how to run it."""

    path: Path
    version: str
    pinned: str
    command: tuple[str, ...]  # argv prefix: (path,) or (python, "-m", "ziglang")

    @property
    def direct(self) -> bool:
        """True when zig runs as its own binary (no Python interpreter in between)."""
        return self.command == (str(self.path),)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready description."""
        return {
            "path": str(self.path),
            "version": self.version,
            "pinned": self.pinned,
            "matches_pin": self.version == self.pinned,
            "command": list(self.command),
            "direct": self.direct,
        }


def find_package_dir(search_path: Sequence[str] | None = None) -> Path | None:
    """Return the folder of the ``ziglang`` package without importing it.

    ``ziglang/__main__.py`` runs zig when imported, so only the import *spec* is looked up.
    ``search_path`` (a list of folders, like ``sys.path``) is for tests with fake packages.
    """
    if search_path is None:
        spec = importlib.util.find_spec("ziglang")
    else:
        spec = importlib.machinery.PathFinder.find_spec("ziglang", list(search_path))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def recorded_binaries(package_dir: Path) -> list[Path]:
    """The zig binaries that the ``ziglang`` distribution next to ``package_dir`` installed.

    Read from the wheel's RECORD, so only files of that distribution count: a ``bin/zig`` that
    merely sits above the package (a system zig of another version in /usr/bin) is not one.
    """
    found: list[Path] = []
    for dist in importlib.metadata.distributions(name="ziglang", path=[str(package_dir.parent)]):
        for entry in dist.files or ():
            if entry.name == ZIG_EXE:
                found.append(Path(os.path.normpath(str(dist.locate_file(entry)))))
        break  # the first one on the path is the one that is imported
    return found


def candidate_binaries(package_dir: Path) -> Iterator[Path]:
    """Where a ziglang wheel has put the zig binary, in the order zigwheel looks.

    Current wheels ship it inside the package (``ziglang/zig``); a wheel may also have installed
    it elsewhere through its ``.data`` directory (``<prefix>/bin/zig``), which its RECORD names.
    Lazy: the RECORD lists some 18,000 files and costs half a second to read, so it is read only
    when the binary is not inside the package.
    """
    inside = package_dir / ZIG_EXE
    yield inside
    yield from (path for path in recorded_binaries(package_dir) if path != inside)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_zig_binary(package_dir: Path) -> Path | None:
    """The first existing, executable zig binary for a ziglang package folder."""
    return next((path for path in candidate_binaries(package_dir) if _is_executable(path)), None)


def zig_version(command: Sequence[str], env: Mapping[str, str]) -> str:
    """Run ``<command> version`` and return what it prints."""
    try:
        result = _proc.run([*command, "version"], env=env, timeout=120)
    except CommandFailedError as err:
        msg = f"{' '.join(command)} version failed with exit code {err.returncode}"
        pin = pinned_zig_version()
        hint = f"reinstall the pinned zig: pip install --force-reinstall 'ziglang=={pin}'"
        raise ToolchainError(msg, hint=hint) from err
    return result.stdout.strip()


def locate_zig(
    env: Mapping[str, str],
    *,
    search_path: Sequence[str] | None = None,
    python: str | None = None,
    require_pin: bool = True,
) -> Zig:
    """Find the pinned zig and check its version; ToolchainError when it is missing or wrong.

    The zig binary is looked up inside the installed ``ziglang`` package (never written to). If the
    package is importable but its binary is in no known place, ``python -m ziglang`` is used.
    ``require_pin=False`` reports another version instead of refusing it (for ``doctor``).
    """
    pinned = pinned_zig_version()
    install_hint = f"install the pinned zig: pip install 'ziglang=={pinned}'"
    package_dir = find_package_dir(search_path)
    if package_dir is None:
        msg = "the ziglang package (zig) is not installed in this Python environment"
        raise ToolchainError(msg, hint=install_hint)
    binary = find_zig_binary(package_dir)
    if binary is not None:
        command: tuple[str, ...] = (str(binary),)
        path = binary
    else:
        interpreter = python or sys.executable
        logger.info("no zig binary found under %s; using %s -m ziglang", package_dir, interpreter)
        command = (interpreter, "-m", "ziglang")
        path = package_dir
    version = zig_version(command, env)
    if require_pin and version != pinned:
        msg = f"zig {version} at {path} is not the pinned version {pinned}"
        raise ToolchainError(msg, hint=install_hint)
    return Zig(path=path, version=version, pinned=pinned, command=command)
