"""The native shim program (toolchains/templates/shim.c): its host triple and its one build."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from zigwheel import _proc
from zigwheel.errors import CacheError, CommandFailedError, ToolchainError
from zigwheel.resources import toolchains_dir
from zigwheel.toolchain.zig import Zig

logger = logging.getLogger(__name__)

SOURCE = "shim.c"
# zig's -target for the hosts the native shim is built for. Linux gets a static musl program:
# it needs no libc of the host's and starts faster than a dynamically linked one.
HOST_TRIPLES = {
    ("linux", "x86_64"): "x86_64-linux-musl",
    ("linux", "aarch64"): "aarch64-linux-musl",
    ("darwin", "x86_64"): "x86_64-macos",
    ("darwin", "aarch64"): "aarch64-macos",
    ("windows", "x86_64"): "x86_64-windows-gnu",
    ("windows", "aarch64"): "aarch64-windows-gnu",
}
# -s: no debug info (and on Windows no .pdb next to the program). Warnings do not fail a user's
# build; tests/integration/test_shims_native_hosts.py compiles with -Werror for every host.
_CFLAGS = ("-O2", "-s", "-std=c99", "-Wall", "-Wextra")
_WINDOWS_LIBS = ("-lshell32",)  # CommandLineToArgvW
_COMPILE_TIMEOUT = 900  # a cold zig cache builds musl or mingw first: minutes on a slow machine


def host_triple(os_name: str, arch: str) -> str:
    """zig's -target for a native shim that runs on ``os_name``/``arch``; ToolchainError if none."""
    triple = HOST_TRIPLES.get((os_name, arch))
    if triple is None:
        hosts = ", ".join(f"{o}-{a}" for o, a in HOST_TRIPLES)
        msg = f"zigwheel has no native compiler shim for a {os_name}-{arch} host"
        raise ToolchainError(msg, hint=f"the native shim is built for {hosts}; use the sh shim")
    return triple


def source_text() -> bytes:
    """The C source of the native shim, as shipped."""
    path = toolchains_dir() / "templates" / SOURCE
    try:
        return path.read_bytes()
    except OSError as err:
        msg = f"cannot read the native shim source {SOURCE}: {err.strerror or err}"
        hint = "reinstall zigwheel; its toolchain data is incomplete"
        raise ToolchainError(msg, hint=hint) from err


def _flags(triple: str) -> tuple[str, ...]:
    return _CFLAGS + (_WINDOWS_LIBS if "windows" in triple else ())


def program_path(cache_root: Path, zig: Zig, triple: str) -> Path:
    """Where the compiled shim lives: keyed by zig version, host triple, source and flags."""
    digest = hashlib.sha256(source_text() + "\0".join(_flags(triple)).encode()).hexdigest()[:16]
    suffix = ".exe" if "windows" in triple else ""
    return cache_root / "shims" / f"zig-{zig.version}" / f"native-{triple}-{digest}{suffix}"


def compile_command(zig: Zig, triple: str, source: Path, output: Path) -> list[str]:
    """The zig cc command line that builds the native shim for ``triple``."""
    return [*zig.command, "cc", "-target", triple, str(source), "-o", str(output), *_flags(triple)]


def build_program(zig: Zig, cache_root: Path, triple: str) -> Path:
    """The native shim for ``triple``, compiled by ``zig`` into the cache once (atomic).

    It is compiled in a private temporary folder and renamed into place, so another process
    sees either no program or a whole one; a failed compile leaves nothing behind.
    """
    final = program_path(cache_root, zig, triple)
    if final.is_file():
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-native-", dir=final.parent))
    except OSError as err:
        msg = f"cannot write the native shim into {final.parent}: {err.strerror or err}"
        raise CacheError(msg, hint="set ZIGWHEEL_CACHE_DIR to a writable folder") from err
    try:
        source = work / SOURCE
        source.write_bytes(source_text())
        output = work / final.name
        command = compile_command(zig, triple, source, output)
        try:
            result = _proc.run(
                command, cwd=work, check=False, timeout=_COMPILE_TIMEOUT, own_group=True
            )
        except (ToolchainError, CommandFailedError) as err:
            msg = f"zig could not compile the native shim for {triple}: {err}"
            raise ToolchainError(msg, hint=_BUILD_HINT) from err
        if result.returncode != 0 or not output.is_file():
            output_tail = _proc.tail(result.stdout, 8)
            msg = f"zig could not compile the native shim for {triple}: {output_tail}"
            raise ToolchainError(msg, hint=_BUILD_HINT)
        output.chmod(0o755)
        output.replace(final)
        logger.info("built the native shim for %s: %s", triple, final)
    except OSError as err:
        msg = f"cannot write the native shim into {final.parent}: {err.strerror or err}"
        raise CacheError(msg, hint="set ZIGWHEEL_CACHE_DIR to a writable folder") from err
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


_BUILD_HINT = (
    "check the pinned zig with `zigwheel toolchain`; ZIGWHEEL_SHIM_FORM=sh uses the sh shims "
    "on Linux and macOS"
)
