"""Which rustc is there and whether its sysroot holds a target's standard library."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from zigwheel import _proc
from zigwheel.errors import ZigwheelError


def rust_std_installed(sysroot: Path, triple: str) -> bool:
    """True when ``sysroot`` holds the Rust standard library for ``triple``."""
    lib = sysroot / "lib" / "rustlib" / triple / "lib"
    return any(lib.glob("libstd-*.rlib"))


def rustc_sysroot(rustc: str, env: Mapping[str, str]) -> Path | None:
    """``rustc --print sysroot``, or None when that rustc does not run."""
    try:
        result = _proc.run([rustc, "--print", "sysroot"], env=env, check=False, timeout=60)
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
