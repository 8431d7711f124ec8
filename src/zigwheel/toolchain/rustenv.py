"""Which rustc serves a Rust target: one decision that build and doctor share."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel import _proc
from zigwheel.errors import ConfigError, ToolchainError, ZigwheelError
from zigwheel.host import Host, current_os, exe_suffix_for
from zigwheel.platforms import registry
from zigwheel.resources import parse_toml_text

# Where distributions install rustc; their std packages often hold targets rustup's lacks.
SYSTEM_RUSTC_CANDIDATES = ("/usr/bin/rustc", "/usr/local/bin/rustc")


def rust_std_installed(sysroot: Path, triple: str) -> bool:
    """True when ``sysroot`` holds the Rust standard library for ``triple``."""
    lib = sysroot / "lib" / "rustlib" / triple / "lib"
    return any(lib.glob("libstd-*.rlib"))


def rustc_sysroot(rustc: str, env: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """``rustc --print sysroot`` run in ``cwd`` (where a toolchain pin applies), or None when
    that rustc does not run."""
    folder = cwd if cwd is not None and cwd.is_dir() else None  # a project still to be made
    try:
        result = _proc.run(
            [rustc, "--print", "sysroot"], env=env, cwd=folder, check=False, timeout=60
        )
    except ZigwheelError:
        return None
    text = result.stdout.strip()
    if result.returncode != 0 or not text:
        return None
    return Path(text.splitlines()[-1])


def has_std(rustc: str, triple: str, env: Mapping[str, str]) -> bool:
    """True when ``rustc`` runs and has ``triple``'s standard library."""
    sysroot = rustc_sysroot(rustc, env)
    return sysroot is not None and rust_std_installed(sysroot, triple)


def default_rustc(env: Mapping[str, str]) -> tuple[str | None, bool]:
    """(the rustc cargo uses, whether the user chose it with RUSTC)."""
    explicit = env.get("RUSTC", "").strip()
    if explicit:
        return shutil.which(explicit, path=env.get("PATH")) or explicit, True
    return shutil.which("rustc", path=env.get("PATH")), False


@dataclass(frozen=True)
class ToolchainPin:
    """A rust-toolchain(.toml) file naming the channel rustup uses in its folder and below."""

    file: Path
    channel: str


PIN_FILES = ("rust-toolchain", "rust-toolchain.toml")  # rustup reads the first one it finds


def _pin_channel(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read {path}: {err}"
        raise ConfigError(msg, hint="rustup reads it too: fix or remove it") from err
    if path.name == "rust-toolchain" and "[" not in text:
        return text.strip() or None  # the legacy form: just the channel's name
    table = parse_toml_text(text, source=str(path)).get("toolchain")
    channel = table.get("channel") if isinstance(table, dict) else None
    if channel is not None and not isinstance(channel, str):
        msg = f"{path}: [toolchain] channel must be a string, not {channel!r}"
        raise ConfigError(msg, hint='write e.g. channel = "1.85.0"')
    return channel or None


def find_toolchain_pin(directory: Path, env: Mapping[str, str]) -> ToolchainPin | None:
    """The toolchain rustup's cargo and rustc use in ``directory``, when a file pins one.

    As rustup does: the folder, then its parents; RUSTUP_TOOLCHAIN and an explicit RUSTC win
    over any file (None then), and without rustup no file is read by anything.
    """
    if env.get("RUSTUP_TOOLCHAIN", "").strip() or default_rustc(env)[1]:
        return None
    if shutil.which("rustup", path=env.get("PATH")) is None:
        return None
    start = directory.resolve()
    for folder in (start, *start.parents):
        for name in PIN_FILES:
            path = folder / name
            if path.is_file():
                channel = _pin_channel(path)
                return ToolchainPin(path, channel) if channel else None
    return None


def missing_pin_error(
    directory: Path, env: Mapping[str, str], triples: Sequence[str] = ()
) -> ToolchainError | None:
    """The error for a pinned toolchain that is not installed; None when there is none.

    cargo would fail with rustup's "toolchain ... is not installed" only after the build
    started, and no other rustc may stand in for a pinned one without the user saying so.
    """
    pin = find_toolchain_pin(directory, env) if directory.is_dir() else None
    rustc, _ = default_rustc(env)
    if pin is None or rustc is None:
        return None
    try:
        result = _proc.run(
            [rustc, "--print", "sysroot"], env=env, cwd=directory, check=False, timeout=60
        )
    except ZigwheelError:
        return None
    if result.returncode == 0 or "not installed" not in result.stdout:
        return None
    msg = f"{pin.file} pins the Rust toolchain {pin.channel!r}, which is not installed"
    install = f"rustup toolchain install {pin.channel}"
    if triples:
        install += f" --target {','.join(triples)}"
    return ToolchainError(
        msg,
        hint=f"run: {install}; or build with an installed toolchain instead of the pin: "
        "RUSTUP_TOOLCHAIN=stable zigwheel build",
    )


@dataclass(frozen=True)
class RustcChoice:
    """The rustc that compiles for one Rust target, and why."""

    triple: str
    default: str | None  # what cargo would use: RUSTC, else rustc on PATH
    explicit: bool  # ``default`` is the user's RUSTC: respected, never replaced
    default_runs: bool
    rustc: str | None  # the rustc with the target's std; None when none has it
    sysroot: Path | None
    alternative: str | None = None  # with an explicit RUSTC lacking the std: one that has it
    pin: ToolchainPin | None = None  # the pinned toolchain ``default`` runs: never replaced

    @property
    def override(self) -> str | None:
        """The RUSTC to set for this target's build, when it is not cargo's default."""
        return self.rustc if self.rustc is not None and self.rustc != self.default else None

    def fix(self, env: Mapping[str, str], host: Host | None = None) -> str:
        """The exact step that gives this target a standard library on ``host`` (this one)."""
        host = Host.detect(env) if host is None else host
        if self.default is None:
            return host.rust_install_hint()
        if self.pin is not None:
            return (
                f"rustup target add --toolchain {self.pin.channel} {self.triple} (or list it "
                f"in the targets of {self.pin.file}), or build with another toolchain: "
                "RUSTUP_TOOLCHAIN=stable"
            )
        if self.explicit:
            text = f"install the {self.triple} standard library for {self.default}"
            if self.alternative:
                return f"unset RUSTC ({self.alternative} has the std), or {text}"
            return f"{text}, or point RUSTC at a rustc that has it"
        known = registry().by_rust_triple(self.triple)
        debian = known[0].debian if known is not None else None
        return host.rust_std_hint(self.triple, self.default, debian)

    def error(self, env: Mapping[str, str], host: Host | None = None) -> ToolchainError:
        """The error a build raises when no usable rustc has the std."""
        if self.default is None:
            return ToolchainError("rustc was not found", hint=self.fix(env, host))
        if not self.default_runs:
            which = "RUSTC=" if self.explicit else "rustc at "
            msg = f"{which}{self.default} does not run (rustc --print sysroot failed)"
            if not self.explicit:
                return ToolchainError(msg, hint="reinstall Rust, or set RUSTC to a working rustc")
            return ToolchainError(msg, hint="unset RUSTC or point it at a working rustc")
        if self.explicit:
            msg = f"RUSTC={self.default} has no standard library for {self.triple}"
            return ToolchainError(msg, hint=self.fix(env, host))
        if self.pin is not None:
            msg = (
                f"the Rust toolchain {self.pin.channel!r} pinned by {self.pin.file} has no "
                f"standard library for {self.triple}"
            )
            return ToolchainError(msg, hint=self.fix(env, host))
        msg = f"the Rust standard library for {self.triple} is not installed"
        return ToolchainError(msg, hint=self.fix(env, host))


def _path_rustcs(env: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    rustc = "rustc" + exe_suffix_for(current_os())  # rustc.exe on Windows
    for folder in env.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / rustc
        if folder and candidate.is_file() and str(candidate) not in found:
            found.append(str(candidate))
    return found


def choose_rustc(
    triple: str,
    env: Mapping[str, str],
    system: Sequence[str] = SYSTEM_RUSTC_CANDIDATES,
    *,
    cwd: Path | None = None,
) -> RustcChoice:
    """Decide which rustc compiles for ``triple`` in the project folder ``cwd``.

    cargo's default (RUSTC, else rustc on PATH) when it has the std. An explicit RUSTC is the
    user's choice and is never replaced, nor is a toolchain pinned by a rust-toolchain file.
    Otherwise the first rustc on PATH, then in ``system``, whose sysroot has the std: a
    distribution's rustc often carries targets rustup's lacks.
    """
    default, explicit = default_rustc(env)
    sysroot = rustc_sysroot(default, env, cwd) if default else None
    if sysroot is not None and rust_std_installed(sysroot, triple):
        return RustcChoice(triple, default, explicit, True, default, sysroot)
    pin = find_toolchain_pin(cwd, env) if cwd is not None else None
    if pin is not None:
        return RustcChoice(triple, default, explicit, sysroot is not None, None, None, pin=pin)
    candidates = [*_path_rustcs(env), *(path for path in system if Path(path).is_file())]
    found: tuple[str, Path] | None = None
    for candidate in dict.fromkeys(candidates):
        if candidate == default:
            continue
        other = rustc_sysroot(candidate, env)
        if other is not None and rust_std_installed(other, triple):
            found = (candidate, other)
            break
    runs = sysroot is not None
    if explicit:
        alternative = found[0] if found else None
        return RustcChoice(triple, default, explicit, runs, None, None, alternative)
    if found is None:
        return RustcChoice(triple, default, explicit, runs, None, None)
    return RustcChoice(triple, default, explicit, runs, found[0], found[1])
