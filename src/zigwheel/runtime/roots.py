"""Root filesystems of other Linux systems: reading them, finding their Python, running it."""

from __future__ import annotations

import json
import os
import shlex
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from zigwheel.errors import (
    ToolchainError,
    UnreadableInputError,
)
from zigwheel.host import Host
from zigwheel.platforms import find_qemu, qemu_programs, registry

MARKER = ".zigwheel-root.json"

PT_INTERP = 3


@dataclass(frozen=True)
class ElfInfo:
    """What zigwheel needs from an executable's ELF header: its machine and its loader."""

    arch: str
    interpreter: str | None


@dataclass(frozen=True)
class PythonRunner:
    """How to start one Python: argv prefix, environment, and what it proves.

    ``kind`` is "host" (a venv on this machine), "loader" (a root's Python started through the
    root's own dynamic loader) or "qemu" (a foreign-architecture root under qemu-user).
    """

    argv: tuple[str, ...]
    env: Mapping[str, str]
    arch: str
    kind: str
    root: Path | None = None
    sealed: str = ""  # how the root is sealed from the host ("" when it is not)

    def command(self, *args: str) -> list[str]:
        """The full argv to run this Python with ``args``."""
        return [*self.argv, *args]

    def shell_wrapper(self, argv: Sequence[str] | None = None) -> str:
        """A /bin/sh script that runs this Python (or ``argv``, a program started the same way:
        program_command()) with the script's arguments.

        The script is a file on disk, so it holds only the settings that make this Python the
        one under test (PYTHONHOME, PYTHONPATH, ... and VIRTUAL_ENV: python_env() drops the
        caller's PYTHON* variables, so every one left is zigwheel's). The rest of the
        environment, tokens included, reaches it through the process environment instead.
        """
        exports = "".join(
            f"export {key}={shlex.quote(value)}\n"
            for key, value in sorted(self.env.items())
            if key.startswith("PYTHON") or key == "VIRTUAL_ENV"
        )
        words = shlex.join(self.argv if argv is None else argv)
        return f'#!/bin/sh\n{exports}exec {words} "$@"\n'


def read_elf_info(path: Path) -> ElfInfo:
    """Read the machine and the PT_INTERP loader path of an ELF executable."""
    try:
        with path.open("rb") as handle:
            ident = handle.read(64)
            if len(ident) < 52 or ident[:4] != b"\x7fELF":
                msg = f"{path} is not an ELF executable"
                raise UnreadableInputError(msg, hint="point --root at a tree with a Linux Python")
            is64 = ident[4] == 2
            endian = "<" if ident[5] == 1 else ">"
            (machine,) = struct.unpack_from(endian + "H", ident, 18)
            if is64:
                phoff, phentsize, phnum = (
                    struct.unpack_from(endian + "Q", ident, 32)[0],
                    *struct.unpack_from(endian + "HH", ident, 54),
                )
            else:
                phoff, phentsize, phnum = (
                    struct.unpack_from(endian + "I", ident, 28)[0],
                    *struct.unpack_from(endian + "HH", ident, 42),
                )
            interpreter = None
            for index in range(phnum):
                handle.seek(phoff + index * phentsize)
                header = handle.read(phentsize)
                if is64:
                    p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
                        endian + "IIQQQQ", header
                    )
                else:
                    p_type, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
                        endian + "IIIII", header
                    )
                if p_type == PT_INTERP:
                    handle.seek(p_offset)
                    interpreter = handle.read(p_filesz).split(b"\0")[0].decode()
                    break
    except (OSError, struct.error) as err:
        msg = f"cannot read the ELF header of {path}: {err}"
        raise UnreadableInputError(msg, hint="point --root at a tree with a Linux Python") from err
    row = registry().by_elf(machine, 64 if is64 else 32, endian == "<")
    arch = row.name if row is not None else f"elf-machine-{machine}"
    return ElfInfo(arch=arch, interpreter=interpreter)


def resolve_in_root(root: Path, path: str | PurePosixPath, *, follow_last: bool = True) -> Path:
    """Resolve ``path`` as the root's own system would, following symlinks inside ``root``.

    Absolute link targets (e.g. ROOT/lib64/ld-linux-x86-64.so.2 -> /lib/...) are taken relative
    to the root, never to this host. Returns a host path under ``root``. With ``follow_last``
    False a symlink in the last position is returned itself (for writing over it).
    """
    pending = [p for p in PurePosixPath(path).parts if p not in ("/", "", ".")]
    current = root
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink() and (pending or follow_last):
            hops += 1
            if hops > 40:
                msg = f"too many symbolic links while resolving {path} in {root}"
                raise UnreadableInputError(msg, hint="the root filesystem has a symlink loop")
            target = PurePosixPath(candidate.readlink())
            current = root if target.is_absolute() else current
            pending = [p for p in target.parts if p not in ("/", "")] + pending
            continue
        current = candidate
    return current


def find_root_python(root: Path) -> Path:
    """Find the Python executable of a root filesystem (resolved inside the root).

    A root zigwheel composed with a built CPython names it in its marker (``python_path``);
    otherwise python3, then the newest pythonX.Y.
    """
    candidates = [
        PurePosixPath(p) for p in ("usr/bin/python3", "usr/local/bin/python3", "bin/python3")
    ]
    named = (read_marker(root) or {}).get("python_path")
    if isinstance(named, str) and named:
        candidates.insert(0, PurePosixPath(named.lstrip("/")))
    for folder in ("usr/bin", "usr/local/bin"):
        base = resolve_in_root(root, folder)
        if base.is_dir():
            names = sorted(
                (p.name for p in base.iterdir() if _is_version_name(p.name)),
                key=lambda name: tuple(int(x) for x in name[len("python") :].split(".")),
                reverse=True,
            )
            candidates += [PurePosixPath(folder) / name for name in names]
    for candidate in candidates:
        host_path = resolve_in_root(root, candidate)
        if host_path.is_file():
            return host_path
    msg = f"no Python was found in the root filesystem {root}"
    raise UnreadableInputError(
        msg, hint="a root needs usr/bin/python3 or usr/bin/python3.X (try `zigwheel root debian`)"
    )


def _is_version_name(name: str) -> bool:
    version = name[len("python") :]
    parts = version.split(".")
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def library_dirs(root: Path) -> list[Path]:
    """The root's library folders, multiarch ones first, each resolved inside the root."""
    found: list[Path] = []
    for base in ("lib", "usr/lib", "lib64", "usr/lib64", "usr/local/lib"):
        resolved = resolve_in_root(root, base)
        if not resolved.is_dir():
            continue
        multiarch = sorted(p for p in resolved.iterdir() if p.is_dir() and "-linux-" in p.name)
        for candidate in [*multiarch, resolved]:
            if candidate not in found:
                found.append(candidate)
    return found


def python_env(base_env: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment for a test Python: no PYTHON*, LD_* or virtualenv settings of ours."""
    env = {
        key: value
        for key, value in base_env.items()
        if not key.startswith(("PYTHON", "LD_", "QEMU_", "VIRTUAL_ENV", "_PYTHON", "PIP_"))
    }
    env.setdefault("LANG", "C.UTF-8")
    env.update({"PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


MERGED_USR = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def merged_usr_links(root: Path) -> list[str]:
    """Add the /lib, /lib64, /bin ... links of a merged-usr root that lacks them; the names added.

    Since trixie, Debian's packages put everything under /usr and the top-level links come from
    base-files, which a test root does not unpack; a program's loader is still /lib64/ld-....
    A root that cannot be written is left as it is.
    """
    added = []
    for name in MERGED_USR:
        link, target = root / name, root / "usr" / name
        if not link.is_symlink() and not link.exists() and target.is_dir():
            try:
                link.symlink_to(f"usr/{name}")
            except OSError:
                continue
            added.append(name)
    return added


def root_runner(
    root: Path, *, env: Mapping[str, str], site_dir: Path | None = None, host: Host | None = None
) -> PythonRunner:
    """Plan how to run a root's Python so that the root's glibc and stdlib are the ones used.

    Same architecture: through the root's own loader (PT_INTERP of its Python, resolved inside
    the root) with --library-path set to the root's library folders. Other architecture: under
    qemu-user with the root as the library prefix (-L). Raises ToolchainError if qemu is needed
    but missing. ``host`` is the machine that runs it (default: this one).
    """
    host = Host.detect(env) if host is None else host
    root = root.resolve()
    if not root.is_dir():
        msg = f"the root filesystem {root} does not exist"
        raise UnreadableInputError(msg, hint="build one with `zigwheel root debian DIR`")
    merged_usr_links(root)  # roots built before zigwheel added them
    python = find_root_python(root)
    info = read_elf_info(python)
    extra = {"PYTHONHOME": str(resolve_in_root(root, "usr"))}
    if python.parent.parent.name == "local":
        extra["PYTHONHOME"] = str(python.parent.parent)
    if site_dir is not None:
        extra["PYTHONPATH"] = str(site_dir)
    run_env = python_env(env, extra)
    if info.arch == host.arch:
        if info.interpreter is None:
            msg = f"{python} has no PT_INTERP: a static Python cannot prove anything about glibc"
            raise UnreadableInputError(msg, hint="use a root whose Python is dynamically linked")
        loader = resolve_in_root(root, info.interpreter)
        if not loader.is_file():
            msg = f"the root's loader {info.interpreter} is missing from {root}"
            raise UnreadableInputError(msg, hint="the root filesystem is incomplete (libc6?)")
        lib_path = ":".join(str(p) for p in library_dirs(root))
        argv = (str(loader), "--library-path", lib_path, str(python))
        return PythonRunner(argv, run_env, info.arch, "loader", root)
    qemu = find_qemu(info.arch, env.get("PATH", os.defpath))
    if qemu is None:
        program, static = qemu_programs(info.arch)
        msg = f"{info.arch}: not tested, no {program} or {static} found on PATH"
        raise ToolchainError(msg, hint="install qemu-user-static (Debian/Ubuntu) to run it")
    return PythonRunner((str(qemu), "-L", str(root), str(python)), run_env, info.arch, "qemu", root)


def program_command(runner: PythonRunner, program: Path) -> tuple[str, ...]:
    """How to start a program installed beside ``runner``'s Python (a wheel's script) so that
    it runs as that Python does: through the root's loader or under qemu-user with the root's
    libraries; sealed, inside the same chroot (where the root's loader and binfmt_misc serve).

    A static program needs no loader and a script (not ELF) its own #! line: both are started
    as they are, except sealed.
    """
    if runner.kind == "host" or runner.root is None:
        return (str(program),)
    if runner.sealed:  # the last word of a sealed argv is the Python's path inside the chroot
        return (*runner.argv[:-1], str(program))
    try:
        info = read_elf_info(program)
    except UnreadableInputError:
        return (str(program),)
    if runner.kind == "qemu":  # qemu -L ROOT python: the same qemu, the same library prefix
        return (*runner.argv[:-1], str(program))
    if info.interpreter is None:
        return (str(program),)
    loader = resolve_in_root(runner.root, info.interpreter)
    lib_path = ":".join(str(p) for p in library_dirs(runner.root))
    return (str(loader), "--library-path", lib_path, str(program))


def read_marker(root: Path) -> dict[str, Any] | None:
    """Read the completion marker of a root built by zigwheel, or None."""
    try:
        data = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def cached_roots(roots_dir: Path) -> list[Path]:
    """Complete roots under ``roots_dir`` (those with a marker), by name."""
    if not roots_dir.is_dir():
        return []
    return sorted(p for p in roots_dir.iterdir() if (p / MARKER).is_file())


def roots_for_arch(roots_dir: Path, arch: str) -> list[Path]:
    """Complete cached roots whose marker names ``arch`` (wheel architecture name)."""
    out = []
    for root in cached_roots(roots_dir):
        marker = read_marker(root) or {}
        if marker.get("arch") == arch:
            out.append(root)
    return out


def probe_script() -> str:
    """Python source (3.6+ compatible) that prints what a Python supports, as JSON."""
    return (
        "import json, os, sys, sysconfig\n"
        "try:\n    libc = os.confstr('CS_GNU_LIBC_VERSION') or ''\n"
        "except (ValueError, OSError, AttributeError):\n    libc = ''\n"
        # No confstr answer is not musl by itself: musl is the loader this process runs on
        # (qemu-user shows the guest's mappings too). Otherwise the libc stays unknown.
        "if not libc and sys.platform.startswith('linux'):\n"
        "    try:\n        maps = open('/proc/self/maps').read()\n"
        "    except OSError:\n        maps = ''\n"
        # (Debian's musl loader is a link to .../<triplet>-linux-musl/libc.so, mapped as such)
        "    if '/ld-musl-' in maps or '/libc.musl-' in maps or '-linux-musl/libc.so' in maps:\n"
        "        libc = 'musl'\n"
        # A Python built without OpenSSL (zigwheel's own, for old-glibc roots) cannot fetch
        # from an https index: the host's pip downloads for it.
        "try:\n    import ssl\n    has_ssl = True\n"
        "except ImportError:\n    has_ssl = False\n"
        "print(json.dumps({'version': list(sys.version_info[:2]),"
        " 'implementation': sys.implementation.name,"
        " 'gil_disabled': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
        " 'libc': libc, 'prefix': sys.prefix, 'ssl': has_ssl,"
        " 'stdlib': sysconfig.get_paths()['stdlib']}))\n"
    )


def check_stdlib_inside(root: Path, stdlib: str) -> bool:
    """True when a root Python's stdlib folder lies inside the root (not the host's)."""
    try:
        Path(stdlib).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- sealed roots
#
# A root's Python run through its loader (or qemu -L) still lives in the host's filesystem: a
# subprocess of sys.executable runs the root's binary with the host's loader (another glibc),
# or, for another architecture, fails with "Exec format error". Sealed, the root becomes `/` in
# a user namespace: an overlay over the cached root (nothing is written into it), the host's
# /dev and /proc, and the folders the test needs bound at their own paths; for another
# architecture, binfmt_misc (mounted in the namespace) hands every foreign binary to a static
# qemu, opened before the chroot. sh, mount, mktemp and unshare are the host's: they run
# before the chroot.
_SEAL_SCRIPT = r"""set -e
root=$1 scratch=$2 site=$3 site_to=$4 qemu=$5 rule=$6
shift 6
binds=
while [ "$1" != -- ]; do binds="$binds
$1"; shift; done
shift
if [ -n "$qemu" ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  printf '%s' "$rule" > /proc/sys/fs/binfmt_misc/register
fi
mkdir -p "$scratch"
top=$(mktemp -d "$scratch/seal.XXXXXX")
mkdir "$top/upper" "$top/work" "$top/merged"
merged=$top/merged
mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/upper,workdir=$top/work" "$merged"
for dir in /dev /proc; do mkdir -p "$merged$dir"; mount --rbind "$dir" "$merged$dir"; done
IFS='
'
for dir in $binds "$PWD"; do
  # never over the root's own folders: only paths the root lacks are bound
  [ -d "$dir" ] && [ ! -e "$root$dir" ] || continue
  mkdir -p "$merged$dir"; mount --bind "$dir" "$merged$dir"
done
if [ -n "$site_to" ]; then
  mkdir -p "$merged$site_to"; mount --bind "$site" "$merged$site_to"
fi
exec unshare --root="$merged" --wd="$PWD" "$@"
"""


def binfmt_rule(python: Path, qemu: Path) -> str:
    """The binfmt_misc rule that hands ELF executables like ``python`` to ``qemu`` (flag F:
    qemu is opened when registered, so it runs inside the chroot too)."""
    with python.open("rb") as handle:
        ident = handle.read(20)
    little = ident[5] == 1
    # ELF magic, class, data, version; OS ABI ignored; e_type EXEC or DYN; e_machine.
    magic = ident[:7] + b"\x00" * 9 + (b"\x02\x00" if little else b"\x00\x02") + ident[18:20]
    mask = b"\xff" * 7 + b"\x00" + b"\xff" * 8 + (b"\xfe\xff" if little else b"\xff\xfe")
    mask += b"\xff\xff"
    escaped = "".join(f"\\x{byte:02x}" for byte in magic), "".join(f"\\x{b:02x}" for b in mask)
    return f":zigwheel-{qemu.name}:M::{escaped[0]}:{escaped[1]}:{qemu}:F"


def site_target(root: Path, python: Path) -> str | None:
    """Where a Debian root's Python finds installed packages without PYTHONPATH
    (``/usr/local/lib/python3.X/dist-packages``); None for another layout."""
    version = python.name[len("python") :]
    if not _is_version_name(python.name):
        return None
    site = resolve_in_root(root, f"usr/lib/python{version}/site.py")
    try:
        debian = "local/lib" in site.read_text(errors="replace")  # Debian's own site.py
    except OSError:
        return None
    return f"/usr/local/lib/python{version}/dist-packages" if debian else None


def seal(
    runner: PythonRunner, *, binds: tuple[Path, ...], site_dir: Path, scratch: Path,
    env: Mapping[str, str],
) -> tuple[PythonRunner | None, str]:  # fmt: skip
    """The same root's Python sealed in a user-namespace chroot, or None and why it cannot be.

    Inside, the root's Python is started by its own path: the root's loader and libc serve it
    and every subprocess; PYTHONHOME and PYTHONPATH are not needed, so none is set.
    """
    import shutil  # noqa: PLC0415

    if runner.root is None:
        return None, ""
    root = runner.root
    path_env = env.get("PATH", os.defpath)
    unshare = shutil.which("unshare", path=path_env)
    if unshare is None:
        return None, "not sealed: unshare (util-linux) is not on PATH"
    if any(c in str(root) for c in ",:\n"):
        return None, f"not sealed: the root's path {root} holds a character overlayfs refuses"
    python = find_root_python(root)
    inside = "/" + str(python.relative_to(root))
    qemu_path, rule = "", ""
    if runner.kind == "qemu":
        _program, static = qemu_programs(runner.arch)
        found = shutil.which(static, path=path_env)
        if found is None or read_elf_info(Path(found)).interpreter is not None:
            return None, f"not sealed: {static} (a static qemu, usable inside a chroot) is missing"
        qemu_path, rule = found, binfmt_rule(python, Path(found))
    target = site_target(root, python)
    extra = {} if target else {"PYTHONPATH": str(site_dir)}
    argv = (
        unshare, "-r", "-m", "--propagation", "private", "sh", "-c", _SEAL_SCRIPT,
        "zigwheel-seal", str(root), str(scratch), str(site_dir), target or "", qemu_path,
        rule, *(str(b) for b in binds), "--", inside,
    )  # fmt: skip
    how = "sealed: user-namespace chroot" + (" with binfmt_misc qemu" if qemu_path else "")
    return PythonRunner(argv, python_env(env, extra), runner.arch, runner.kind, root, how), how
