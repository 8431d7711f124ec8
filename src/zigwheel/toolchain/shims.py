"""Render a target's cc / c++ / ar / ranlib / linker shims and CMake toolchain into the cache."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel.errors import CacheError, ConfigError, DataError, ToolchainError
from zigwheel.host import Host, current_os, exe_suffix_for
from zigwheel.resources import toolchains_dir
from zigwheel.toolchain.native import build_program, host_triple
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
    form: str = "sh"  # SH_FORM or NATIVE_FORM

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
            "form": self.form,
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


SH_FORM = "sh"
NATIVE_FORM = "native"
FORMS = (SH_FORM, NATIVE_FORM)
FORM_ENV = "ZIGWHEEL_SHIM_FORM"
RULES_SUFFIX = ".shim"  # the native cc (cc.exe) reads cc.shim next to itself
_RULES_FORMAT = "zigwheel-shim 1"
# (file name, zig subcommand, linker, compiler): compilers get rules, probes and baked flags;
# archives are target-neutral, zig's own ar/ranlib handle every architecture.
_TOOLS = (
    ("cc", "cc", False, True),
    ("c++", "c++", False, True),
    ("linker", "cc", True, True),
    ("ar", "ar", False, False),
    ("ranlib", "ranlib", False, False),
)


@dataclass(frozen=True)
class ToolSpec:
    """What one shim does, whatever its form: the single source both renderings read."""

    name: str
    zig: tuple[str, ...]
    subcommand: str
    baked: tuple[str, ...] = ()
    probe_triple: str = ""
    probes: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @property
    def compiler(self) -> bool:
        """True for cc, c++ and linker (rules and probes); False for ar and ranlib."""
        return bool(self.baked)


def tool_specs(
    target: Target,
    zig_command: Sequence[str],
    rules: Sequence[Rule] | None = None,
    probes: Sequence[Probe] | None = None,
) -> list[ToolSpec]:
    """The five shims of ``target``: their zig command, flags, probes and rules."""
    selected = tuple(rules_for(target, rules))
    words = probe_args(probes)
    specs = []
    for name, subcommand, linker, compiler in _TOOLS:
        if not compiler:
            specs.append(ToolSpec(name, tuple(zig_command), subcommand))
            continue
        specs.append(
            ToolSpec(
                name,
                tuple(zig_command),
                subcommand,
                baked=tuple(baked_flags(target, linker=linker)),
                probe_triple=target.zig_probe_triple,
                probes=words,
                rules=selected,
            )
        )
    return specs


def render_rules_file(spec: ToolSpec) -> str:
    """The rules file of a native shim (its format is described at the top of shim.c)."""
    lines = [_RULES_FORMAT]
    lines += [f"exec {word}" for word in (*spec.zig, spec.subcommand)]
    lines += [f"bake {word}" for word in spec.baked]
    if spec.probes:
        lines.append(f"probe-triple {spec.probe_triple}")
        lines += [f"probe {word}" for word in spec.probes]
    for rule in spec.rules:
        lines.append(f"rule {rule.action} {rule.id}")
        lines += [f"match {pattern}" for pattern in rule.match]
        lines += [f"with {word}" for word in rule.with_args]
        if rule.prefix:
            lines.append(f"prefix {rule.prefix}")
        if rule.to:
            lines.append(f"to {rule.to}")
    lines.append("end")
    broken = [line for line in lines if any(c in line for c in "\n\r\0")]
    if broken:
        # Only zig's path can bring one (the rules are validated); the file is line-based.
        msg = f"cannot write a native shim rules file with a line break in {broken[0]!r}"
        raise ToolchainError(msg, hint="install zig (the ziglang package) in a plainer path")
    return "\n".join(lines) + "\n"


def _render_sh(spec: ToolSpec, common: Mapping[str, str]) -> str:
    values = {
        **common,
        "tool": spec.name,
        "subcommand": spec.subcommand,
        "zig": " ".join(shlex.quote(part) for part in spec.zig),
    }
    if not spec.compiler:
        return fill(_template("tool.sh"), values, name="tool.sh")
    values.update(
        probe_words="|".join(spec.probes),
        zig_probe_triple=spec.probe_triple,
        baked_flags=" ".join(shlex.quote(flag) for flag in spec.baked),
        argument_arms=render_case_arms(spec.rules, var="zw_a", response_file=False),
        response_file_arms=render_case_arms(spec.rules, var="zw_l", response_file=True),
    )
    return fill(_template("compiler.sh"), values, name="compiler.sh")


def render_shims(
    target: Target,
    zig_command: Sequence[str],
    rules: Sequence[Rule] | None = None,
    probes: Sequence[Probe] | None = None,
    *,
    form: str = SH_FORM,
    os_name: str = "linux",
) -> dict[str, str]:
    """Render every text file of ``target``'s shims (pure: file name -> text).

    The sh form is five scripts; the native form is five rules files (cc.shim ...) that the
    one compiled program reads when copied next to them as cc, c++, ... (see install_shims).
    ``os_name`` is the OS the shims run on: the CMake file names cc.exe on Windows.
    """
    common = {
        "zig_triple": target.zig_triple,
        "rust_triple": target.rust_triple,
        "policy": target.policy,
        "cmake_processor": target.cmake_processor,
        "exe": exe_suffix_for(os_name),
    }
    files: dict[str, str] = {}
    for spec in tool_specs(target, zig_command, rules, probes):
        if form == NATIVE_FORM:
            files[spec.name + RULES_SUFFIX] = render_rules_file(spec)
        else:
            files[spec.name] = _render_sh(spec, common)
    cmake_values = {k: _cmake_value(v) for k, v in common.items()}
    files["toolchain.cmake"] = fill(
        _template("toolchain.cmake"), cmake_values, name="toolchain.cmake"
    )
    return files


def content_hash(files: Mapping[str, str], program: Path | None = None) -> str:
    """A short hash of the rendered files (and the native program's name, which is its key)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    if program is not None:
        digest.update(b"program\0" + program.name.encode())
    return digest.hexdigest()[:16]


def shim_directory(
    cache_root: Path,
    target: Target,
    zig: Zig,
    files: Mapping[str, str],
    program: Path | None = None,
) -> Path:
    """Where the shims of ``target`` live: keyed by zig version, target and content hash."""
    key = f"{target.key}-{content_hash(files, program)}"
    return cache_root / SHIMS_SUBDIR / f"zig-{zig.version}" / key


def _shim_set(target: Target, directory: Path, form: str, suffix: str) -> ShimSet:
    return ShimSet(
        target=target,
        directory=directory,
        cc=directory / f"cc{suffix}",
        cxx=directory / f"c++{suffix}",
        ar=directory / f"ar{suffix}",
        ranlib=directory / f"ranlib{suffix}",
        linker=directory / f"linker{suffix}",
        cmake_toolchain=directory / "toolchain.cmake",
        form=form,
    )


def _is_complete(directory: Path) -> bool:
    return (directory / MANIFEST).is_file()


@dataclass(frozen=True)
class Publication:
    """What one :func:`publish_shims` call did: its staging folder and whether it won the rename."""

    shim_set: ShimSet
    staging_name: str
    won: bool  # False: another process (or an earlier call) had published the same folder first


# The form a host gets when ZIGWHEEL_SHIM_FORM does not say. Linux: native, which
# bench/shims.py measures faster than sh (it starts no shell). macOS keeps sh until the
# native program has run there (zig builds it for macOS here, nothing here can run it).
# Windows has no sh.
DEFAULT_FORM = {"linux": NATIVE_FORM, "darwin": SH_FORM, "windows": NATIVE_FORM}


def shim_form(os_name: str, env: Mapping[str, str] | None = None) -> str:
    """The form of the shims on an OS: ZIGWHEEL_SHIM_FORM if set, else the OS's default.

    Windows has no sh: its only form is the native program (cc.exe). Linux and macOS can run
    either (DEFAULT_FORM says which one they get).
    """
    chosen = (env or {}).get(FORM_ENV, "").strip().lower()
    if chosen and chosen not in FORMS:
        msg = f"{FORM_ENV}={chosen!r} is not a shim form"
        raise ConfigError(msg, hint=f"set {FORM_ENV} to one of: {', '.join(FORMS)}")
    if os_name == "windows" and chosen == SH_FORM:
        msg = "sh shims do not run on Windows"
        raise ConfigError(msg, hint=f"unset {FORM_ENV}: Windows uses the native shims (cc.exe)")
    return chosen or DEFAULT_FORM.get(os_name, SH_FORM)


def install_shims(
    target: Target,
    zig: Zig,
    cache_root: Path,
    *,
    rules: Sequence[Rule] | None = None,
    host: Host | None = None,
    form: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ShimSet:
    """Render the shims of ``target`` and install them into the cache (idempotent, atomic).

    An existing complete folder is returned as is: its name already encodes its exact content,
    so it is never rewritten. Otherwise :func:`publish_shims` writes it. ``host`` is the machine
    the shims run on (default: this one), which decides their form with ``env``'s
    ZIGWHEEL_SHIM_FORM unless ``form`` names it; the native form compiles its program for
    that host with ``zig`` first (once per cache).
    """
    if host is None:
        host = Host(current_os(), platform.machine() or "unknown")
    chosen = shim_form(host.os, env) if form is None else form
    if any(character.isspace() for character in str(cache_root)):
        # CC=/path with space/cc is split into two words by setuptools, make and others.
        msg = f"the shims would live under {cache_root}, whose path has a space in it"
        raise CacheError(msg, hint="set ZIGWHEEL_CACHE_DIR to a folder whose path has no space")
    program = None
    if chosen == NATIVE_FORM:
        program = build_program(zig, cache_root, host_triple(host.os, host.arch))
    files = render_shims(target, zig.command, rules, form=chosen, os_name=host.os)
    final = shim_directory(cache_root, target, zig, files, program)
    if _is_complete(final):
        return _shim_set(target, final, chosen, host.exe_suffix if program else "")
    return publish_shims(target, zig, cache_root, files, program).shim_set


def publish_shims(
    target: Target,
    zig: Zig,
    cache_root: Path,
    files: Mapping[str, str],
    program: Path | None = None,
) -> Publication:
    """Write ``files`` under a temporary name in the cache and rename the folder into place.

    Concurrent processes each stage their own copy; exactly one rename wins and the others
    delete their copy and use the winner's (identical, since the name is the content hash).
    Nobody ever sees a half-written shim folder under its final name. With a native
    ``program``, each tool is a copy of it (a copy, not a link: the program finds its rules
    file from the path it was started by, which a symlink would resolve away).
    """
    final = shim_directory(cache_root, target, zig, files, program)
    form = SH_FORM if program is None else NATIVE_FORM
    suffix = ".exe" if program is not None and program.name.endswith(".exe") else ""
    tools = [name for name, *_ in _TOOLS]
    manifest = {
        "made_by": "zigwheel",
        "target": target.key,
        "zig_triple": target.zig_triple,
        "rust_triple": target.rust_triple,
        "zig": list(zig.command),
        "zig_version": zig.version,
        "form": form,
        "files": sorted(files),
    }
    if program is not None:
        manifest["program"] = program.name
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.key}-", dir=final.parent))
        try:
            for name, text in files.items():
                path = staging / name
                path.write_text(text, encoding="utf-8", newline="\n")
                path.chmod(_EXECUTABLE if form == SH_FORM and name in tools else 0o644)
            if program is not None:
                for name in tools:
                    shutil.copyfile(program, staging / f"{name}{suffix}")
                    (staging / f"{name}{suffix}").chmod(_EXECUTABLE)
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
    shim_set = _shim_set(target, final, form, suffix)
    return Publication(shim_set=shim_set, staging_name=staging.name, won=won)


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
