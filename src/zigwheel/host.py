"""The host model: what this machine is (OS, arch, libc, package manager, Rust installer)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from zigwheel.platforms import ArchRow, Libc, canonical_arch, lookup

OPERATING_SYSTEMS = ("linux", "darwin", "windows")
# Package manager -> the program whose presence on PATH shows it, per OS, preferred first.
_PACKAGE_MANAGERS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "linux": (("apt", "apt-get"), ("dnf", "dnf"), ("apk", "apk"), ("pacman", "pacman"),
              ("brew", "brew")),
    "darwin": (("brew", "brew"),),
    "windows": (("winget", "winget"),),
}  # fmt: skip
_DISPLAY_OS = {"linux": "Linux", "darwin": "Darwin", "windows": "Windows"}
_GLIBC_RE = re.compile(r"^glibc (\d+(?:\.\d+)+)$")


@dataclass(frozen=True)
class Host:
    """One machine zigwheel runs on. ``Host.detect()`` reads this one; tests build others.

    ``arch`` is the registry's spelling (``Host("darwin", "arm64").arch == "aarch64"``); a machine
    the registry does not know keeps its own name in lower case. ``libc`` is None off Linux or
    when it cannot be told.
    """

    os: str  # "linux" | "darwin" | "windows" (another sys.platform value on other systems)
    arch: str
    libc: Libc | None = None
    libc_version: tuple[int, ...] | None = None
    package_manager: str | None = None  # apt | dnf | apk | pacman | brew | winget
    rust_installer: str | None = None  # rustup | system

    def __post_init__(self) -> None:
        # the constructor takes any spelling so that tests and callers need no lookup of their own
        object.__setattr__(self, "os", self.os.strip().lower())
        object.__setattr__(self, "arch", canonical_arch(self.arch))

    @property
    def arch_row(self) -> ArchRow | None:
        """The registry row of this host's architecture (None for one zigwheel does not know)."""
        return lookup(self.arch)

    @property
    def exe_suffix(self) -> str:
        """What executable file names end with (``.exe`` on Windows)."""
        return exe_suffix_for(self.os)

    @property
    def path_separator(self) -> str:
        """The separator of PATH-like variables on this host."""
        return ";" if self.os == "windows" else ":"

    @property
    def libc_text(self) -> str:
        """``glibc 2.36``, ``musl``, or "" when the libc is unknown."""
        if self.libc is None:
            return ""
        if self.libc_version is None:
            return self.libc.value
        return f"{self.libc.value} {'.'.join(map(str, self.libc_version))}"

    def describe(self) -> str:
        """One line for reports, e.g. ``Linux x86_64, glibc 2.36``."""
        text = f"{_DISPLAY_OS.get(self.os, self.os)} {self.arch}"
        return f"{text}, {self.libc_text}" if self.libc_text else text

    @classmethod
    def detect(cls, env: Mapping[str, str] | None = None) -> Host:
        """This machine, with programs looked up on ``env``'s PATH (default: os.environ)."""
        env = os.environ if env is None else env
        system = current_os()
        libc, version = _detect_libc() if system == "linux" else (None, None)
        path = env.get("PATH", os.defpath)
        return cls(
            os=system,
            arch=platform.machine() or "unknown",
            libc=libc,
            libc_version=version,
            package_manager=detect_package_manager(system, path),
            rust_installer=detect_rust_installer(path),
        )


def current_os() -> str:
    """This machine's OS as Host spells it: linux, darwin, windows (or sys.platform's word)."""
    # through a plain str, so that type checkers do not settle the answer for their own platform
    name: str = sys.platform
    if name.startswith("linux"):
        return "linux"
    if name in ("win32", "cygwin"):
        return "windows"
    return name


def exe_suffix_for(os_name: str) -> str:
    """What executable file names end with on an OS (``.exe`` on Windows)."""
    return ".exe" if os_name == "windows" else ""


def _detect_libc() -> tuple[Libc | None, tuple[int, ...] | None]:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        text = ""
    match = _GLIBC_RE.match(text)
    if match:
        return Libc.GLIBC, tuple(int(part) for part in match.group(1).split("."))
    # musl answers no confstr; its loader's presence is the sign (its version is not reported)
    if any(Path("/lib").glob("ld-musl-*.so.1")):
        return Libc.MUSL, None
    return None, None


def detect_package_manager(system: str, path_env: str) -> str | None:
    """The package manager whose program is on ``path_env`` for an OS, preferred first."""
    for name, program in _PACKAGE_MANAGERS.get(system, ()):
        if shutil.which(program, path=path_env):
            return name
    return None


def detect_rust_installer(path_env: str) -> str | None:
    """``rustup`` when rustup is on ``path_env``, ``system`` for a rustc without it, else None."""
    if shutil.which("rustup", path=path_env):
        return "rustup"
    if shutil.which("rustc", path=path_env):
        return "system"
    return None
