"""Use-case `zigwheel root python`: a Debian root of an older glibc plus a zig-built CPython."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from zigwheel.cache import staged_folder
from zigwheel.errors import CacheError, CommandFailedError, ConfigError
from zigwheel.host import Host
from zigwheel.platforms import Libc, registry
from zigwheel.runtime import cpython, debian, debian_root
from zigwheel.runtime.roots import MARKER, read_marker, root_runner

# The Debian release each libc's root comes from by default: glibc 2.31 (the oldest glibc
# zigwheel makes roots of), and the musl package of bookworm (musl 1.2.3).
DEFAULT_RELEASE = {Libc.GLIBC: "bullseye", Libc.MUSL: "bookworm"}
MUSL_PACKAGE = "musl"  # Debian's musl runtime: its loader, which is also its libc.so


def python_root_name(release: str, debian_arch: str, version: str, libc: Libc = Libc.GLIBC) -> str:
    """``debian-bullseye-amd64-cpython3.11`` (the Debian root's name and the Python's), or
    ``musl-bookworm-amd64-cpython3.11`` for a root of Debian's musl."""
    if libc is Libc.MUSL:
        return f"musl-{release}-{debian_arch}-cpython{version}"
    return f"{debian_root.debian_root_name(release, debian_arch, None)}-cpython{version}"


def build_command(version: str, release: str, debian_arch: str, libc: Libc = Libc.GLIBC) -> str:
    """The command that builds the root, for hints."""
    musl = " --libc musl" if libc is Libc.MUSL else ""
    return f"zigwheel root python {version}{musl} --release {release} --arch {debian_arch}"


# Imports every extension module of the stdlib (a symbol the root's libc lacks fails here),
# and the modules pip needs, which a build may have skipped for want of a header.
_IMPORT_ALL = (
    "import importlib, json, pathlib, sysconfig\n"
    "folder = pathlib.Path(sysconfig.get_path('platstdlib')) / 'lib-dynload'\n"
    "failed = {}\n"
    "names = [path.name.split('.')[0] for path in sorted(folder.glob('*.so'))]\n"
    "for name in [*names, 'zlib', 'json', 'hashlib', 'select', 'socket', 'math', 'struct']:\n"
    "    try:\n        importlib.import_module(name)\n"
    "    except Exception as err:\n        failed[name] = str(err) or type(err).__name__\n"
    "if 'hashlib' not in failed and 'sha256' not in importlib.import_module('hashlib')"
    ".algorithms_available:\n    failed['hashlib'] = 'no sha256'\n"
    "print(json.dumps({'imported': len(list(folder.glob('*.so'))) - len(failed),"
    " 'failed': failed}))\n"
)


def fetch_sources(
    target: cpython.PythonTarget,
    recipe: cpython.Recipe,
    *,
    cache: Path,
    mirrors: Sequence[str],
    keyrings: Sequence[Path],
    env: Mapping[str, str],
) -> cpython.Sources:
    """The python3.X and zlib source tarballs of the target's Debian release, verified by the
    Release signature, the Sources index's SHA256 and each file's SHA256; cached."""
    if not mirrors:
        msg = "no Debian mirror was found in the apt configuration"
        raise ConfigError(msg, hint="pass --mirror URL (the base URL that holds dists/ and pool/)")
    mirror, release, _signature = debian_root.find_release(
        mirrors, target.release, keyrings=keyrings, env=env
    )
    index_file = debian.pick_sources_file(release, "main")
    index_bytes = debian_root.cached_download(
        f"{mirror}/dists/{target.release}/{index_file.path}",
        cache / "debian" / "indices",
        sha256=index_file.sha256,
        size=index_file.size,
        suffix=Path(index_file.path).suffix,
    )
    index = debian.parse_sources(debian.decompress(index_bytes, index_file.path).decode())
    paths: dict[str, Path] = {}
    described = ""
    for name in (f"python{target.version}", recipe.zlib_package):
        package = index.get(name)
        if package is None:
            msg = f"Debian {target.release} has no source package {name}"
            raise ConfigError(msg, hint="the mirror's Sources index lacks it; try another mirror")
        orig = package.orig_tarball()
        folder = cache / "debian" / "sources"
        suffix = "".join(Path(orig.name).suffixes[-2:])
        debian_root.cached_download(f"{mirror}/{package.directory}/{orig.name}", folder,
                                    sha256=orig.sha256, size=orig.size, suffix=suffix)  # fmt: skip
        paths[name] = folder / f"{orig.sha256}{suffix}"
        if name.startswith("python"):
            described = f"{name} {package.version} ({target.release})"
    return cpython.Sources(paths[f"python{target.version}"], described, paths[recipe.zlib_package])


def compose_root(
    base: Path, base_marker: Mapping[str, object], python: cpython.BuiltPython, dest: Path,
    *, env: Mapping[str, str],
) -> dict[str, object]:  # fmt: skip
    """Copy the ``base`` root, add the Python under /usr/local, import every stdlib extension
    module in it, write the marker; atomically (a root whose Python fails is never kept)."""
    marker = read_marker(dest)
    if marker is not None and marker.get("cpython", {}).get("zig_target") == python.zig_target:
        return marker
    try:
        # replace: an older composition (another zig target) gives way
        with staged_folder(dest, replace=True) as staging:
            shutil.copytree(base, staging, symlinks=True, dirs_exist_ok=True)
            prefix = cpython.PREFIX.lstrip("/")
            shutil.copytree(python.path / prefix, staging / prefix, symlinks=True,
                            dirs_exist_ok=True)  # fmt: skip
            document = {
                **base_marker,
                "python": python.version,
                "python_path": python.executable,
                "cpython": {key: value for key, value in python.to_json().items()
                            if key not in ("path", "from_cache")},
            }  # fmt: skip
            (staging / MARKER).write_text(json.dumps(document, indent=2) + "\n")
            _import_everything(staging, python, env=env)
    except OSError as err:
        msg = f"cannot assemble the root filesystem at {dest}: {err}"
        raise CacheError(msg, hint="check the folder's permissions and free space") from err
    return document


def _import_everything(root: Path, python: cpython.BuiltPython, *, env: Mapping[str, str]) -> None:
    """Run the root's Python through the root's loader (or qemu) and import every stdlib
    extension module; CommandFailedError naming the ones that fail."""
    from zigwheel import _proc  # noqa: PLC0415

    runner = root_runner(root, env=env)
    result = _proc.run(runner.command("-c", _IMPORT_ALL), env=runner.env, cwd=root, check=False,
                       timeout=600)  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if result.returncode == 0 and lines else None
    failed = report.get("failed") if isinstance(report, dict) else None
    if report is None or failed:
        what = "; ".join(f"{k}: {v}" for k, v in (failed or {}).items()) or _proc.tail(
            result.stdout, 10)
        msg = (f"CPython {python.full_version} for {python.zig_target} does not work in its "
               f"root: {what.splitlines()[0][:400] if what else 'no output'}")  # fmt: skip
        raise CommandFailedError(msg, command=runner.command("-c", "..."),
                                 returncode=result.returncode or 1, output=what,
                                 hint="nothing was kept; the output names what failed")  # fmt: skip


def musl_base(
    release: str, debian_arch: str, *, cache: Path, mirrors: Sequence[str],
    keyrings: Sequence[Path], env: Mapping[str, str], dest: Path,
) -> dict[str, object]:  # fmt: skip
    """A root of Debian's musl package alone (the loader and libc.so) at ``dest``; its marker."""
    marker = read_marker(dest)
    if marker is not None:
        return marker
    mirror, release_info, signature = debian_root.find_release(
        mirrors, release, keyrings=keyrings, env=env
    )
    index = debian_root.packages_index(mirror, release, release_info, debian_arch, cache)
    package = index.get(MUSL_PACKAGE)
    if package is None:
        msg = f"Debian {release} {debian_arch} has no {MUSL_PACKAGE} package"
        raise ConfigError(msg, hint="pick another release with --release")
    deb = debian_root.cached_download(
        f"{mirror}/{package.filename}", cache / "debian" / "debs", sha256=package.sha256,
        size=package.size, suffix=".deb",
    )
    upstream = package.version.split(":")[-1].split("-")[0]
    row = registry().by_debian(debian_arch)
    document: dict[str, object] = {
        "release": release, "debian_arch": debian_arch,
        "arch": row.name if row else debian_arch,
        # "glibc" is what `root list` shows; "libc" is what `zigwheel test` matches tags by
        "libc": "musl", "glibc": f"musl {upstream}", "signature": signature,
        "packages": [f"{package.name}={package.version}"],
    }  # fmt: skip
    try:
        with staged_folder(dest) as staging:
            debian.unpack_deb(deb, staging, what=f"{package.name}_{package.version}")
            (staging / MARKER).write_text(json.dumps(document, indent=2) + "\n")
    except OSError as err:
        msg = f"cannot assemble the musl root at {dest}: {err}"
        raise CacheError(msg, hint="check the folder's permissions and free space") from err
    return document


@dataclass(frozen=True)
class PythonRoot:
    """A root with a zig-built CPython, as `zigwheel root python` reports it."""

    path: Path
    release: str
    debian_arch: str
    arch: str
    libc: str  # "glibc 2.31", "musl 1.2.3"
    python: cpython.BuiltPython
    from_cache: bool

    def to_json(self) -> dict[str, object]:
        """A JSON-ready description."""
        return {
            "path": str(self.path), "release": self.release, "debian_arch": self.debian_arch,
            "arch": self.arch, "libc": self.libc, "from_cache": self.from_cache,
            "cpython": self.python.to_json(),
        }  # fmt: skip


def ensure_python_root(
    version: str,
    *,
    arch: str | None,
    release: str | None = None,
    libc: Libc = Libc.GLIBC,
    env: Mapping[str, str],
    build_python_exe: str | None = None,
    etc_apt: Path = Path("/etc/apt"),
    mirrors: Sequence[str] = (),
    host: Host | None = None,
    progress: cpython.Progress = lambda _line: None,
) -> PythonRoot:
    """The root ``debian-RELEASE-ARCH-cpythonX.Y`` (glibc) or ``musl-RELEASE-ARCH-cpythonX.Y``:
    built (the Debian root or Debian's musl package, then CPython with the pinned zig) on first
    use, reused from zigwheel's cache afterwards."""
    from zigwheel.cache import cache_root  # noqa: PLC0415

    host = Host.detect(env) if host is None else host
    release = release or DEFAULT_RELEASE[libc]
    recipe = cpython.load_recipe()
    asked = arch or host.arch
    row = registry().by_debian(asked)  # a Debian name (amd64) or a wheel's (x86_64)
    target = cpython.plan_target(version, row.name if row else asked, libc, recipe)
    debian_arch = registry().rows[target.arch].debian
    cache = cache_root(env)
    dest = cache / "roots" / python_root_name(release, debian_arch, version, libc)
    found = read_marker(dest)
    built = cpython.read_built(cache / "pythons" / target.name)
    if found is not None and built is not None:
        return _described(dest, found, built, from_cache=True)
    given = [m.rstrip("/") for m in mirrors]
    apt = debian.read_apt_sources(etc_apt)
    chosen = given or debian.mirror_candidates(apt)
    keyrings = list(dict.fromkeys(k for m in chosen for k in debian.keyrings_for(apt, m)))
    if libc is Libc.GLIBC:
        base = debian_root.ensure_debian_root(release, target.arch, env=env, etc_apt=etc_apt,
                                              mirrors=mirrors, host=host)  # fmt: skip
        base_path, base_marker = base.path, read_marker(base.path) or {}
    else:
        base_path = cache / "debian" / "musl" / f"{release}-{debian_arch}"
        base_marker = musl_base(release, debian_arch, cache=cache, mirrors=chosen,
                                keyrings=keyrings, env=env, dest=base_path)  # fmt: skip
    if built is None:
        built = _build(target, recipe, version, cache=cache, mirrors=chosen, keyrings=keyrings,
                       env=env, build_python_exe=build_python_exe, progress=progress)  # fmt: skip
    progress(f"assembling {dest.name} and importing every stdlib module in it")
    try:
        marker = compose_root(base_path, base_marker, built, dest, env=env)
    except CommandFailedError:
        shutil.rmtree(built.path, ignore_errors=True)  # a Python that fails is not kept either
        raise
    return _described(dest, marker, built, from_cache=False)


def _described(
    dest: Path, marker: Mapping[str, object], built: cpython.BuiltPython, *, from_cache: bool
) -> PythonRoot:
    return PythonRoot(
        path=dest, release=str(marker.get("release", "")),
        debian_arch=str(marker.get("debian_arch", "")), arch=str(marker.get("arch", "")),
        libc=str(marker.get("glibc", "")), python=built, from_cache=from_cache,
    )  # fmt: skip


def _build(
    target: cpython.PythonTarget, recipe: cpython.Recipe, version: str, *, cache: Path,
    mirrors: Sequence[str], keyrings: Sequence[Path], env: Mapping[str, str],
    build_python_exe: str | None, progress: cpython.Progress,
) -> cpython.BuiltPython:  # fmt: skip
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    exe = build_python_exe or (
        sys.executable if running == version else
        shutil.which(f"python{version}", path=env.get("PATH"))
    )  # fmt: skip
    if exe is None:
        msg = f"building CPython {version} needs a Python {version} on this machine"
        raise ConfigError(
            msg, hint=f"CPython's cross build runs its own version: put python{version} on "
            "PATH (or pass --build-python)",
        )  # fmt: skip
    progress(f"downloading the python{version} and zlib sources of Debian {target.release}")
    sources = fetch_sources(target, recipe, cache=cache, mirrors=mirrors, keyrings=keyrings,
                            env=env)  # fmt: skip
    zig = locate_zig(env)
    return cpython.build_python(target, sources=sources, dest=cache / "pythons" / target.name,
                                zig=zig.command, build_python_exe=exe, env=env, recipe=recipe,
                                progress=progress)  # fmt: skip


__all__ = [
    "DEFAULT_RELEASE",
    "PythonRoot",
    "build_command",
    "compose_root",
    "ensure_python_root",
    "fetch_sources",
    "musl_base",
    "python_root_name",
]
