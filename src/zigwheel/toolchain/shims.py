"""Render a target's cc / c++ / ar / ranlib / linker shims and CMake toolchain into the cache."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel.errors import CacheError, DataError, ToolchainError
from zigwheel.host import current_os
from zigwheel.resources import toolchains_dir
from zigwheel.toolchain.rewrite import Probe, Rule, probe_args, render_case_arms, rules_for
from zigwheel.toolchain.targets import Target
from zigwheel.toolchain.zig import Zig

logger = logging.getLogger(__name__)

MANIFEST = "zigwheel-shims.json"
SHIMS_SUBDIR = "shims"
_PLACEHOLDER_RE = re.compile(r"@([a-z_]+)@")
_EXECUTABLE = 0o755

# Flags every compile and link gets:
# - -fno-sanitize=all: zig cc turns UBSan on for unoptimised C; the result traps (SIGILL) or needs
#   __ubsan_handle_* symbols nobody links.
# - -mcpu from the target table where zig cannot derive the sub-architecture from -target.
# The linker entry also gets -g. Without any -g, zig's linker strips debug info, and that would
# override what rustc asked for (its debuginfo/strip settings; `maturin --strip` still strips).
# The C/C++ compilers do not get -g: the cc crate and CMake pass it themselves when a profile
# wants debug info, and forcing it would make every C object larger and slower to build.
#
# zig's global cache (ZIG_GLOBAL_CACHE_DIR) is deliberately the user's default one, shared with
# every build: a warm cache is what makes libc stubs and compiler-rt free after the first build.
# Concurrent cold builds may race inside zig's cache (known zig issues); a CI that starts many
# first builds at once can set ZIG_GLOBAL_CACHE_DIR per job.


@dataclass(frozen=True)
class ShimSet:
    """The installed shims of one target."""

    target: Target
    directory: Path
    cc: Path
    cxx: Path
    ar: Path
    ranlib: Path
    linker: Path
    cmake_toolchain: Path

    def env(self) -> dict[str, str]:
        """Environment for cargo, the cc crate and the cmake crate to use these shims."""
        triple = self.target.env_triple
        return {
            f"CC_{triple}": str(self.cc),
            f"CXX_{triple}": str(self.cxx),
            f"AR_{triple}": str(self.ar),
            f"RANLIB_{triple}": str(self.ranlib),
            f"CARGO_TARGET_{triple.upper()}_LINKER": str(self.linker),
            f"CMAKE_TOOLCHAIN_FILE_{triple}": str(self.cmake_toolchain),
        }

    def paths(self) -> dict[str, Path]:
        """The shim files by role."""
        return {
            "cc": self.cc,
            "c++": self.cxx,
            "ar": self.ar,
            "ranlib": self.ranlib,
            "linker": self.linker,
            "cmake-toolchain": self.cmake_toolchain,
        }

    def to_json(self) -> dict[str, object]:
        """A JSON-ready description."""
        return {
            "target": self.target.key,
            "policy": self.target.policy,
            "rust_triple": self.target.rust_triple,
            "zig_triple": self.target.zig_triple,
            "directory": str(self.directory),
            "form": SH_FORM,
            "paths": {role: str(path) for role, path in self.paths().items()},
            "env": self.env(),
        }


def _template(name: str) -> str:
    path = toolchains_dir() / "templates" / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        msg = f"cannot read the shim template {name}: {err.strerror or err}"
        raise DataError(msg, hint="reinstall zigwheel; its toolchain data is incomplete") from err


def fill(template: str, values: Mapping[str, str], *, name: str) -> str:
    """Replace every ``@key@`` in ``template``; a placeholder without a value is a DataError.

    Values the template does not use are fine: one set of values serves several templates
    (tool.sh uses fewer of them than compiler.sh).
    """
    used = set(_PLACEHOLDER_RE.findall(template))
    missing = used - set(values)
    if missing:
        msg = f"template {name} uses unknown placeholders {sorted(missing)}"
        raise DataError(msg, hint="fix the template in toolchains/templates")
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], template)


def _cmake_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


def baked_flags(target: Target, *, linker: bool) -> list[str]:
    """The flags a compiler (or, with ``linker``, the linker) shim always passes to zig."""
    flags = ["-target", target.zig_triple, "-fno-sanitize=all"]
    if target.mcpu:
        flags.append(f"-mcpu={target.mcpu}")
    if linker:
        flags.append("-g")
    return flags


def render_shims(
    target: Target,
    zig_command: Sequence[str],
    rules: Sequence[Rule] | None = None,
    probes: Sequence[Probe] | None = None,
) -> dict[str, str]:
    """Render every shim file of ``target`` (pure: file name -> text)."""
    selected = rules_for(target, rules)
    common = {
        "probe_words": "|".join(probe_args(probes)),
        "zig_probe_triple": target.zig_probe_triple,
        "zig": " ".join(shlex.quote(part) for part in zig_command),
        "zig_triple": target.zig_triple,
        "rust_triple": target.rust_triple,
        "policy": target.policy,
        "cmake_processor": target.cmake_processor,
        "argument_arms": render_case_arms(selected, var="zw_a", response_file=False),
        "response_file_arms": render_case_arms(selected, var="zw_l", response_file=True),
    }
    compiler = _template("compiler.sh")
    tool = _template("tool.sh")
    files: dict[str, str] = {}
    for name, subcommand, linker in (
        ("cc", "cc", False),
        ("c++", "c++", False),
        ("linker", "cc", True),
    ):
        flags = " ".join(shlex.quote(flag) for flag in baked_flags(target, linker=linker))
        values = {**common, "tool": name, "subcommand": subcommand, "baked_flags": flags}
        files[name] = fill(compiler, values, name="compiler.sh")
    for name in ("ar", "ranlib"):
        files[name] = fill(tool, {**common, "tool": name, "subcommand": name}, name="tool.sh")
    cmake_values = {k: _cmake_value(v) for k, v in common.items()}
    files["toolchain.cmake"] = fill(
        _template("toolchain.cmake"), cmake_values, name="toolchain.cmake"
    )
    return files


def content_hash(files: Mapping[str, str]) -> str:
    """A short hash of the rendered files: any change of zig, rules or templates changes it."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def shim_directory(cache_root: Path, target: Target, zig: Zig, files: Mapping[str, str]) -> Path:
    """Where the shims of ``target`` live: keyed by zig version, target and content hash."""
    return cache_root / SHIMS_SUBDIR / f"zig-{zig.version}" / f"{target.key}-{content_hash(files)}"


def _shim_set(target: Target, directory: Path) -> ShimSet:
    return ShimSet(
        target=target,
        directory=directory,
        cc=directory / "cc",
        cxx=directory / "c++",
        ar=directory / "ar",
        ranlib=directory / "ranlib",
        linker=directory / "linker",
        cmake_toolchain=directory / "toolchain.cmake",
    )


def _is_complete(directory: Path) -> bool:
    return (directory / MANIFEST).is_file()


@dataclass(frozen=True)
class Publication:
    """What one :func:`publish_shims` call did: its staging folder and whether it won the rename."""

    shim_set: ShimSet
    staging_name: str
    won: bool  # False: another process (or an earlier call) had published the same folder first


SH_FORM = "sh"


def shim_form(os_name: str) -> str:
    """The form of the shims on an OS: POSIX sh scripts on Linux and macOS.

    Windows has no sh to run them: its form is a native program (cc.exe), which this version
    does not build yet, so it is refused with a clear way out rather than written broken.
    """
    if os_name == "windows":
        msg = "zigwheel's compiler shims do not run on Windows yet (they are POSIX sh scripts)"
        raise ToolchainError(
            msg, hint="build the Linux wheels on Linux, macOS or WSL, or in CI (`zigwheel ci`)"
        )
    return SH_FORM


def install_shims(
    target: Target,
    zig: Zig,
    cache_root: Path,
    *,
    rules: Sequence[Rule] | None = None,
    os_name: str | None = None,
) -> ShimSet:
    """Render the shims of ``target`` and install them into the cache (idempotent, atomic).

    An existing complete folder is returned as is: its name already encodes its exact content,
    so it is never rewritten. Otherwise :func:`publish_shims` writes it. ``os_name`` is the OS
    the shims run on (default: this one), which decides their form.
    """
    shim_form(current_os() if os_name is None else os_name)
    if any(character.isspace() for character in str(cache_root)):
        # CC=/path with space/cc is split into two words by setuptools, make and others.
        msg = f"the shims would live under {cache_root}, whose path has a space in it"
        raise CacheError(msg, hint="set ZIGWHEEL_CACHE_DIR to a folder whose path has no space")
    files = render_shims(target, zig.command, rules)
    final = shim_directory(cache_root, target, zig, files)
    if _is_complete(final):
        return _shim_set(target, final)
    return publish_shims(target, zig, cache_root, files).shim_set


def publish_shims(
    target: Target, zig: Zig, cache_root: Path, files: Mapping[str, str]
) -> Publication:
    """Write ``files`` under a temporary name in the cache and rename the folder into place.

    Concurrent processes each stage their own copy; exactly one rename wins and the others
    delete their copy and use the winner's (identical, since the name is the content hash).
    Nobody ever sees a half-written shim folder under its final name.
    """
    final = shim_directory(cache_root, target, zig, files)
    manifest = {
        "made_by": "zigwheel",
        "target": target.key,
        "zig_triple": target.zig_triple,
        "rust_triple": target.rust_triple,
        "zig": list(zig.command),
        "zig_version": zig.version,
        "files": sorted(files),
    }
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.key}-", dir=final.parent))
        try:
            for name, text in files.items():
                path = staging / name
                path.write_text(text, encoding="utf-8", newline="\n")
                path.chmod(0o644 if name.endswith(".cmake") else _EXECUTABLE)
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            staging.chmod(_EXECUTABLE)
            won = _move_into_place(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as err:
        msg = f"cannot write the {target.key} shims into {final.parent}: {err.strerror or err}"
        raise CacheError(
            msg, hint="set ZIGWHEEL_CACHE_DIR to a writable folder or free some disk space"
        ) from err
    if won:
        logger.info("installed %s shims in %s", target.key, final)
    return Publication(shim_set=_shim_set(target, final), staging_name=staging.name, won=won)


def _move_into_place(staging: Path, final: Path) -> bool:
    """Rename the staged folder to its final name; False when an identical copy was there first."""
    if final.exists() and not _is_complete(final):
        # Left damaged by something outside zigwheel: move it aside, then take its place.
        trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=final.parent))
        try:
            final.rename(trash / "old")
        except OSError:
            logger.debug("someone else replaced %s first", final)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        staging.rename(final)
    except OSError:
        if not _is_complete(final):
            raise
        logger.debug("another process installed %s first", final)
        return False
    return True
