"""Root filesystems of other Linux systems: building them, finding their Python, running it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from zigwheel.errors import (
    CacheError,
    ConfigError,
    ToolchainError,
    UnreadableInputError,
)
from zigwheel.host import Host
from zigwheel.platforms import find_qemu, lookup, qemu_programs, registry

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

    def command(self, *args: str) -> list[str]:
        """The full argv to run this Python with ``args``."""
        return [*self.argv, *args]

    def shell_wrapper(self) -> str:
        """A /bin/sh script that runs this Python with the script's arguments.

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
        return f'#!/bin/sh\n{exports}exec {shlex.join(self.argv)} "$@"\n'


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
    """Find the Python executable of a root filesystem (resolved inside the root)."""
    candidates = [
        PurePosixPath(p) for p in ("usr/bin/python3", "usr/local/bin/python3", "bin/python3")
    ]
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
        "print(json.dumps({'version': list(sys.version_info[:2]),"
        " 'implementation': sys.implementation.name,"
        " 'gil_disabled': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
        " 'libc': libc, 'prefix': sys.prefix,"
        " 'stdlib': sysconfig.get_paths()['stdlib']}))\n"
    )


def check_stdlib_inside(root: Path, stdlib: str) -> bool:
    """True when a root Python's stdlib folder lies inside the root (not the host's)."""
    try:
        Path(stdlib).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- Debian roots


@dataclass(frozen=True)
class BuiltRoot:
    """A finished root filesystem and how it was obtained."""

    path: Path
    release: str
    debian_arch: str
    arch: str
    python: str
    glibc: str
    packages: tuple[str, ...]
    from_cache: bool
    signature: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "path": str(self.path),
            "release": self.release,
            "debian_arch": self.debian_arch,
            "arch": self.arch,
            "python": self.python,
            "glibc": self.glibc,
            "signature": self.signature,
            "packages": list(self.packages),
            "from_cache": self.from_cache,
        }


def debian_root_name(release: str, debian_arch: str, python: str | None) -> str:
    """The cache folder name of a Debian root."""
    return f"debian-{release}-{debian_arch}" + (f"-py{python}" if python else "")


def _from_marker(path: Path, marker: Mapping[str, Any]) -> BuiltRoot:
    return BuiltRoot(
        path=path,
        release=str(marker.get("release", "")),
        debian_arch=str(marker.get("debian_arch", "")),
        arch=str(marker.get("arch", "")),
        python=str(marker.get("python", "")),
        glibc=str(marker.get("glibc", "")),
        signature=str(marker.get("signature", "")),
        packages=tuple(str(p) for p in marker.get("packages", [])),
        from_cache=True,
    )


def build_debian_root(
    *,
    release: str,
    debian_arch: str,
    dest: Path,
    cache: Path,
    mirrors: Sequence[str],
    python: str | None = None,
    extra_packages: Sequence[str] = (),
    keyrings: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    jobs: int = 4,
) -> BuiltRoot:
    """Build (or reuse) a root filesystem of a Debian release from its packages, without root.

    ``mirrors`` are base URIs tried in order (the first whose dists/RELEASE/Release exists
    wins). The InRelease signature is verified with gpgv against ``keyrings`` when both are
    available (else the plain Release file is used, unverified, and ``signature`` says so);
    the Packages index is checked against the Release file's SHA256 and every .deb against
    the index's SHA256. Downloads are
    kept under ``cache``; the root is assembled in a temporary sibling folder and renamed
    into place, so an interrupted build never leaves a half root at ``dest``.
    """
    import tempfile  # noqa: PLC0415 - only this path needs it
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from zigwheel.runtime import debian  # noqa: PLC0415

    marker = read_marker(dest)
    if marker is not None:
        return _from_marker(dest, marker)
    if dest.exists() and any(dest.iterdir()):
        msg = f"{dest} exists and is not a root built by zigwheel"
        raise ConfigError(msg, hint="choose an empty or new folder")
    recipe = debian.load_recipe()
    if debian_arch not in recipe.arches:
        msg = f"unknown Debian architecture {debian_arch!r}"
        raise ConfigError(msg, hint=f"use one of: {', '.join(recipe.arches)}")
    if not mirrors:
        msg = "no Debian mirror was found in the apt configuration"
        raise ConfigError(msg, hint="pass --mirror URL (the base URL that holds dists/ and pool/)")

    mirror, release_info, signature = _find_release(
        mirrors, release, keyrings=keyrings, env=env or {}
    )
    index_file = debian.pick_packages_file(release_info, "main", debian_arch)
    index_bytes = _cached_download(
        f"{mirror}/dists/{release}/{index_file.path}",
        cache / "debian" / "indices",
        sha256=index_file.sha256,
        size=index_file.size,
        suffix=PurePosixPath(index_file.path).suffix,
    )
    index = debian.parse_packages(debian.decompress(index_bytes, index_file.path).decode())
    version = python or _default_python(index)
    seeds = ["libc6", f"python{version}-minimal", f"libpython{version}-stdlib", *recipe.extra]
    packages = debian.resolve(index, [*seeds, *extra_packages], recipe.skip)

    def download(package: debian.Package) -> bytes:
        return _cached_download(
            f"{mirror}/{package.filename}",
            cache / "debian" / "debs",
            sha256=package.sha256,
            size=package.size,
            suffix=".deb",
        )

    dest.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        debs = list(pool.map(download, packages))
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        for package, deb in zip(packages, debs):
            debian.unpack_deb(deb, staging, what=f"{package.name}_{package.version}")
        find_root_python(staging)  # fails loudly if the recipe no longer yields a Python
        built = BuiltRoot(
            path=dest,
            release=release,
            debian_arch=debian_arch,
            arch=recipe.arches[debian_arch],
            python=version,
            glibc=_glibc_of(packages),
            signature=signature,
            packages=tuple(f"{p.name}={p.version}" for p in packages),
            from_cache=False,
        )
        document = {**built.to_json(), "codename": release_info.codename}
        document.pop("path")
        document.pop("from_cache")
        (staging / MARKER).write_text(json.dumps(document, indent=2) + "\n")
        staging.chmod(0o755)
        if dest.exists():
            dest.rmdir()  # empty (checked above); a concurrent build may have filled it since
        staging.rename(dest)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        finished = read_marker(dest)
        if finished is not None:  # another process finished the same root first
            return _from_marker(dest, finished)
        msg = f"cannot assemble the root filesystem at {dest}: {err}"
        raise CacheError(msg, hint="check the folder's permissions and free space") from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return built


def _glibc_of(packages: Sequence[Any]) -> str:
    """ "glibc 2.31" from the libc6 package's version (2.31-13+deb11u11)."""
    for package in packages:
        if package.name == "libc6":
            upstream = package.version.split(":")[-1].split("-")[0]
            return f"glibc {'.'.join(upstream.split('.')[:2])}"
    return ""


def _find_release(
    mirrors: Sequence[str], release: str, *, keyrings: Sequence[Path], env: Mapping[str, str]
) -> tuple[str, Any, str]:
    """The first mirror serving ``release``, its parsed Release and how it was authenticated.

    With gpgv and a keyring the signed InRelease is verified (a bad signature is an error);
    without them the plain Release file is used and the result says it is not verified.
    """
    from zigwheel.runtime import debian  # noqa: PLC0415

    gpgv = shutil.which("gpgv", path=env.get("PATH", os.defpath))
    usable = [k for k in keyrings if k.is_file()]
    problems = []
    for mirror in mirrors:
        base = mirror.rstrip("/")
        verify = bool(gpgv and usable)
        url = f"{base}/dists/{release}/{'InRelease' if verify else 'Release'}"
        try:
            raw = debian.fetch(url, timeout=60)
        except UnreadableInputError as err:
            problems.append(str(err))
            continue
        if gpgv and verify:  # a bad signature stops the build: never fall back silently
            text, signature = verify_inrelease(raw, url, gpgv, usable), "verified"
        else:
            text = raw.decode(errors="replace")
            signature = "not verified (gpgv or an apt keyring is missing)"
        try:
            info = debian.parse_release(text)
        except UnreadableInputError as err:
            problems.append(f"{url}: {err}")
            continue
        if release in (info.codename, info.suite):
            return base, info, signature
        problems.append(f"{base} serves {info.codename or info.suite} for {release}")
    msg = f"no configured mirror serves the Debian release {release!r}"
    raise ConfigError(
        msg, hint="check the release name, or pass --mirror URL; tried: " + "; ".join(problems)
    )


def verify_inrelease(data: bytes, url: str, gpgv: str, keyrings: Sequence[Path]) -> str:
    """Check an InRelease file's signature with gpgv; return the signed text."""
    import tempfile  # noqa: PLC0415

    from zigwheel._proc import run, tail  # noqa: PLC0415
    from zigwheel.runtime import debian  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="zigwheel-gpgv-") as temp:
        signed = Path(temp) / "InRelease"
        signed.write_bytes(data)
        argv: list[str | Path] = [gpgv]
        for keyring in keyrings:
            argv += ["--keyring", keyring.absolute()]
        result = run([*argv, signed], check=False, timeout=60)
    if result.returncode != 0:
        msg = f"the signature of {url} does not verify with {', '.join(map(str, keyrings))}"
        raise UnreadableInputError(msg, hint=tail(result.stdout, 5))
    return debian.clearsigned_body(data.decode(errors="replace"))


def _default_python(index: Mapping[str, Any]) -> str:
    package = index.get("python3-minimal")
    if package is not None:
        for group in package.depends:
            for name in group:
                version = name[len("python") : -len("-minimal")]
                if name.startswith("python3.") and name.endswith("-minimal") and version:
                    return str(version)
    msg = "cannot tell the release's default Python version from python3-minimal"
    raise ConfigError(msg, hint="pass --python 3.X")


def _cached_download(url: str, folder: Path, *, sha256: str, size: int, suffix: str) -> bytes:
    """Return the file with this SHA256 from ``folder``, downloading and verifying it if needed."""
    from zigwheel.runtime import debian  # noqa: PLC0415

    path = folder / f"{sha256}{suffix}"
    if path.is_file():
        data = path.read_bytes()
        if debian.sha256_of(data) == sha256:
            return data
        path.unlink()
    data = debian.verified(debian.fetch(url), sha256=sha256, size=size, what=url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{sha256}.{os.getpid()}.partial"
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as err:
        msg = f"cannot write {path}: {err}"
        raise CacheError(msg, hint="check the cache folder's permissions and free space") from err
    return data


def ensure_debian_root(
    release: str,
    arch: str | None = None,
    *,
    env: Mapping[str, str],
    etc_apt: Path = Path("/etc/apt"),
    dest: Path | None = None,
    mirrors: Sequence[str] = (),
    python: str | None = None,
    packages: Sequence[str] = (),
    host: Host | None = None,
) -> BuiltRoot:
    """Return a Debian root, building it into zigwheel's cache (or ``dest``) when missing.

    ``arch`` is a Debian or a wheel architecture name (default: ``host``'s, this machine's when
    None); ``mirrors`` default to the http(s) mirrors of the apt configuration under ``etc_apt``.
    """
    from zigwheel.cache import cache_root  # noqa: PLC0415
    from zigwheel.runtime import debian  # noqa: PLC0415

    cache = cache_root(env)
    asked = arch or (Host.detect(env) if host is None else host).arch
    # a wheel name or alias becomes Debian's; a Debian name (or an unknown one) stays as given
    row = None if registry().by_debian(asked) else lookup(asked)
    debian_arch = row.debian if row is not None else asked
    if dest is None:
        name = debian_root_name(release, debian_arch, python)
        if packages:
            name += "-" + "-".join(sorted(packages))
        dest = cache / "roots" / name
    sources = debian.read_apt_sources(etc_apt)
    chosen = [m.rstrip("/") for m in mirrors] or debian.mirror_candidates(sources)
    keyrings = list(dict.fromkeys(k for m in chosen for k in debian.keyrings_for(sources, m)))
    return build_debian_root(
        release=release,
        debian_arch=debian_arch,
        dest=dest.absolute(),
        cache=cache,
        mirrors=chosen,
        python=python,
        extra_packages=packages,
        keyrings=keyrings,
        env=env,
    )
