"""The host model: what this machine is (OS, arch, libc, package manager, Rust installer) and
every decision that depends on it: file names, venv layout, process groups, fix hints."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zigwheel.platforms import ArchRow, Libc, canonical_arch, lookup

OPERATING_SYSTEMS = ("linux", "darwin", "windows")
# Package manager -> the program whose presence on PATH shows it, per OS, preferred first.
_PACKAGE_MANAGERS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "linux": (("apt", "apt-get"), ("dnf", "dnf"), ("apk", "apk"), ("pacman", "pacman"),
              ("brew", "brew")),
    "darwin": (("brew", "brew"),),
    "windows": (("winget", "winget"),),
}  # fmt: skip
_DISPLAY_OS = {"linux": "Linux", "darwin": "macOS", "windows": "Windows"}
# How each Linux package manager installs a package; {package} is filled in.
_INSTALL_COMMAND = {
    "apt": "apt-get install {package}",
    "dnf": "dnf install {package}",
    "apk": "apk add {package}",
    "pacman": "pacman -S {package}",
    "brew": "brew install {package}",
    "winget": "winget install {package}",
}
# The package of qemu-user's static programs per Linux package manager (Alpine splits it by
# architecture: {arch} is the qemu architecture name).
_QEMU_PACKAGE = {
    "apt": "qemu-user-static",
    "dnf": "qemu-user-static",
    "apk": "qemu-{arch}",
    "pacman": "qemu-user-static",
}
# Where rustup itself comes from when it is missing, per package manager; rustup is the
# first choice everywhere because only it adds other targets' standard libraries.
_RUSTUP_PACKAGE = {
    "brew": "rustup",  # then rustup-init
    "winget": "Rustlang.Rustup",
    "dnf": "rustup",  # then rustup-init
    "apk": "rustup",  # then rustup-init
    "pacman": "rustup",
}
RUSTUP_URL = "https://rustup.rs"
WHERE_LINUX_WHEELS_RUN = (
    "a Linux machine, or CI: the workflow `zigwheel ci` writes tests every wheel on Linux"
)
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

    @property
    def display_os(self) -> str:
        """The OS as people name it: Linux, macOS, Windows."""
        return _DISPLAY_OS.get(self.os, self.os)

    @property
    def runs_linux_wheels(self) -> bool:
        """True when Linux wheels can run here (natively, in roots, under qemu-user)."""
        return self.os == "linux"

    def executable(self, name: str) -> str:
        """The file name of program ``name`` here (``rustc.exe`` on Windows)."""
        return name + self.exe_suffix

    def venv_bin(self, venv: Path) -> Path:
        """The folder of a venv's programs (``Scripts`` on Windows, else ``bin``)."""
        return venv_bin_for(self.os, venv)

    def venv_python(self, venv: Path) -> Path:
        """A venv's Python (``Scripts/python.exe`` on Windows, else ``bin/python``)."""
        return venv_python_for(self.os, venv)

    def join_path(self, folders: Iterable[str | Path]) -> str:
        """A PATH-like value of ``folders`` for this host."""
        return self.path_separator.join(str(folder) for folder in folders)

    def env_assignment(self, name: str, value: str) -> str:
        """One line that sets ``name`` in this host's usual shell: PowerShell on Windows
        (``$env:NAME = 'value'``), else POSIX sh (``export NAME=value``)."""
        if self.os == "windows":
            return f"$env:{name} = '{value.replace(chr(39), chr(39) * 2)}'"
        return f"export {name}={shlex.quote(value)}"

    def install_command(self, package: str) -> str | None:
        """``apt-get install pkg`` (or this host's package manager's), None without one."""
        template = _INSTALL_COMMAND.get(self.package_manager or "")
        return template.format(package=package) if template else None

    def rustup_install_step(self) -> str:
        """How to get rustup on this host (rustup is the one Rust installer with targets)."""
        package = _RUSTUP_PACKAGE.get(self.package_manager or "")
        if self.os == "windows":
            command = self.install_command(package) if package else None
            via = f"{command}, or " if command else ""
            return f"install rustup: {via}rustup-init.exe from {RUSTUP_URL}"
        if package is not None and self.package_manager != "apt":
            command = self.install_command(package)
            then = "" if self.package_manager == "pacman" else " && rustup-init"
            return f"install rustup: {command}{then} (or {RUSTUP_URL})"
        return f"install rustup ({RUSTUP_URL})"

    def rust_install_hint(self) -> str:
        """The fix when there is no Rust at all."""
        return self.rustup_install_step().replace("install rustup", "install Rust with rustup", 1)

    def rust_std_hint(self, triple: str, rustc: str, debian_arch: str | None = None) -> str:
        """How to add ``triple``'s standard library for cargo's own rustc at ``rustc``."""
        step = f"rustup target add {triple}"
        if self.rust_installer == "rustup":
            return step
        if self.package_manager == "apt" and rustc.startswith("/usr/") and debian_arch:
            # A distribution rustc: Debian packages other architectures' std (multiarch).
            return (
                f"apt-get install libstd-rust-dev:{debian_arch} (or "
                f"libstd-rust-web-dev:{debian_arch} for rustc-web; the package matching "
                f"{rustc}), or {self.rustup_install_step()} and run: {step}"
            )
        if self.package_manager == "brew":
            # Homebrew's rust formula has the host's std only.
            install = self.rustup_install_step()
            return f"Homebrew's rust has no other targets; {install}, then {step}"
        return f"{self.rustup_install_step()}, then run: {step}"

    def qemu_hint(self, qemu_arch: str) -> str:
        """How to get qemu-user for ``qemu_arch`` here (Linux only: elsewhere it does not exist)."""
        if not self.runs_linux_wheels:
            return f"qemu-user exists on Linux only: test these wheels on {WHERE_LINUX_WHEELS_RUN}"
        package = _QEMU_PACKAGE.get(self.package_manager or "")
        if package is None:
            return "install qemu-user (its static build) with the distribution's package manager"
        command = self.install_command(package.format(arch=qemu_arch))
        return f"install qemu-user-static: {command}"

    def describe(self) -> str:
        """One line for reports, e.g. ``Linux x86_64, glibc 2.36``."""
        text = f"{self.display_os} {self.arch}"
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


def venv_bin_for(os_name: str, venv: Path) -> Path:
    """The folder of a venv's programs on an OS (``Scripts`` on Windows, else ``bin``)."""
    return venv / ("Scripts" if os_name == "windows" else "bin")


def venv_python_for(os_name: str, venv: Path) -> Path:
    """A venv's Python on an OS (``Scripts/python.exe`` on Windows, else ``bin/python``)."""
    return venv_bin_for(os_name, venv) / ("python" + exe_suffix_for(os_name))


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


# ------------------------------------------------------------------ process groups
# A build tool's children (cargo, rustc, zig) must stop with it. POSIX: a session of its own and
# killpg. Windows has no killpg: a new process group receives CTRL_BREAK, then taskkill /T ends
# the whole tree. These follow the machine that really runs the command, never a model of one.
_WINDOWS_NEW_GROUP = 0x00000200  # subprocess.CREATE_NEW_PROCESS_GROUP (defined on Windows only)


def group_popen_options(os_name: str | None = None) -> dict[str, Any]:
    """Popen keywords that start a command in a process group of its own."""
    if (os_name or current_os()) == "windows":
        flag = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", _WINDOWS_NEW_GROUP)
        return {"creationflags": flag}
    return {"start_new_session": True}


def stop_process_group(process: subprocess.Popen[Any], grace: float) -> None:
    """Ask the command's group to stop, give its leader ``grace`` seconds, then end it all."""
    if current_os() == "windows":
        _stop_windows_group(process, grace)
        return
    killpg = getattr(os, "killpg")  # noqa: B009 - POSIX only; no Windows branch reaches here
    with contextlib.suppress(ProcessLookupError, PermissionError):
        killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        killpg(process.pid, signal.SIGKILL)
    process.wait()


def _stop_windows_group(process: subprocess.Popen[Any], grace: float) -> None:
    with contextlib.suppress(OSError, ValueError):
        process.send_signal(getattr(signal, "CTRL_BREAK_EVENT", signal.SIGTERM))
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    if process.poll() is None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["taskkill", "/T", "/F", "/PID", str(process.pid)],
                capture_output=True,
                check=False,
                timeout=30,
            )
        with contextlib.suppress(OSError):
            process.terminate()
    process.wait()
