"""The cargo configuration a build reads, and the `[unstable] build-std` maturin --zig honours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel import _proc
from zigwheel.builder.project import read_user_toml
from zigwheel.errors import ConfigError, ZigwheelError


def config_files(cwd: Path, env: Mapping[str, str]) -> list[Path]:
    """The cargo configuration files cargo run in ``cwd`` reads, the most important first.

    cargo looks in ``cwd`` and every folder above it (`.cargo/config.toml`, or the older
    `.cargo/config`, which wins when both exist), then in CARGO_HOME.
    """
    found: list[Path] = []
    home = env.get("CARGO_HOME") or (str(Path(env["HOME"]) / ".cargo") if env.get("HOME") else "")
    folders = [folder / ".cargo" for folder in (cwd, *cwd.parents)]
    if home:
        folders.append(Path(home))
    for folder in dict.fromkeys(folders):
        for name in ("config", "config.toml"):
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


@dataclass(frozen=True)
class BuildStd:
    """Where a build is told to compile the standard library (the crates it names)."""

    source: str  # a file, or the variable CARGO_UNSTABLE_BUILD_STD
    crates: tuple[str, ...]


def find_build_std(cwd: Path, env: Mapping[str, str]) -> BuildStd | None:
    """The `[unstable] build-std` cargo would see from ``cwd``: a file's table or the variable."""
    variable = env.get("CARGO_UNSTABLE_BUILD_STD")
    if variable:
        return BuildStd("CARGO_UNSTABLE_BUILD_STD", tuple(variable.replace(",", " ").split()))
    for path in config_files(cwd, env):
        try:
            unstable = read_user_toml(path).get("unstable")
        except ConfigError:
            continue  # cargo says what is wrong with its own files
        value = unstable.get("build-std") if isinstance(unstable, dict) else None
        if value:
            crates = value if isinstance(value, list) else str(value).split(",")
            return BuildStd(str(path), tuple(str(item) for item in crates))
    return None


@dataclass(frozen=True)
class RustcFacts:
    """What `rustc -vV` says: the host triple and whether it is a nightly."""

    host: str
    nightly: bool


def rustc_facts(rustc: str, env: Mapping[str, str], cwd: Path) -> RustcFacts | None:
    """`rustc -vV` run where the build runs (a toolchain pin applies there); None if it fails."""
    try:
        result = _proc.run([rustc, "-vV"], env=env, cwd=cwd, check=False, timeout=60)
    except ZigwheelError:
        return None
    if result.returncode != 0:
        return None
    fields = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return RustcFacts(fields.get("host", ""), "nightly" in fields.get("release", ""))


def honoured_for(
    triples: Sequence[str], facts: RustcFacts | None, env: Mapping[str, str]
) -> list[str]:
    """The targets for which cargo will honour `[unstable]` tables.

    Stable cargo ignores them, but maturin's zig mode runs cargo as a nightly
    (__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS) when the target is the host's own triple;
    a nightly toolchain or RUSTC_BOOTSTRAP=1 honours them for every target.
    """
    if facts is None:
        return []
    if facts.nightly or env.get("RUSTC_BOOTSTRAP") == "1":
        return list(triples)
    return [triple for triple in triples if triple == facts.host]


def rust_src_installed(sysroot: Path) -> bool:
    """Whether the toolchain at ``sysroot`` has the rust-src component build-std compiles."""
    return (sysroot / "lib" / "rustlib" / "src" / "rust" / "library" / "Cargo.lock").is_file()
