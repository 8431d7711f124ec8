"""Use-case `zigwheel root python`: a Debian root of an older glibc plus a zig-built CPython."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from zigwheel.errors import CacheError, ConfigError
from zigwheel.host import Host
from zigwheel.platforms import Libc, registry
from zigwheel.runtime import cpython, debian, debian_root
from zigwheel.runtime.roots import MARKER, read_marker

# The releases whose roots get a built Python: the oldest glibc zigwheel makes roots of.
DEFAULT_RELEASE = "bullseye"


def python_root_name(release: str, debian_arch: str, version: str) -> str:
    """``debian-bullseye-amd64-cpython3.11``: the Debian root's name and the Python's."""
    return f"{debian_root.debian_root_name(release, debian_arch, None)}-cpython{version}"


def build_command(version: str, release: str, debian_arch: str) -> str:
    """The command that builds the root, for hints."""
    return f"zigwheel root python {version} --release {release} --arch {debian_arch}"


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
    base: debian_root.BuiltRoot, python: cpython.BuiltPython, dest: Path
) -> debian_root.BuiltRoot:
    """Copy the Debian root, add the Python under /usr/local, write the marker; atomically."""
    marker = read_marker(dest)
    if marker is not None and marker.get("cpython", {}).get("zig_target") == python.zig_target:
        return debian_root.root_from_marker(dest, marker)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        shutil.rmtree(staging)
        shutil.copytree(base.path, staging, symlinks=True)
        prefix = cpython.PREFIX.lstrip("/")
        shutil.copytree(python.path / prefix, staging / prefix, symlinks=True, dirs_exist_ok=True)
        base_marker = read_marker(base.path) or {}
        document = {
            **base_marker,
            "python": python.version,
            "python_path": python.executable,
            "cpython": {key: value for key, value in python.to_json().items()
                        if key not in ("path", "from_cache")},
        }  # fmt: skip
        (staging / MARKER).write_text(json.dumps(document, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)  # an older composition (another zig target)
        staging.rename(dest)
    except OSError as err:
        msg = f"cannot assemble the root filesystem at {dest}: {err}"
        raise CacheError(msg, hint="check the folder's permissions and free space") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return debian_root.BuiltRoot(
        path=dest, release=base.release, debian_arch=base.debian_arch, arch=base.arch,
        python=python.version, glibc=base.glibc, packages=base.packages, from_cache=False,
        signature=base.signature,
    )  # fmt: skip


def ensure_python_root(
    version: str,
    *,
    arch: str | None,
    release: str,
    env: Mapping[str, str],
    build_python_exe: str | None = None,
    etc_apt: Path = Path("/etc/apt"),
    mirrors: Sequence[str] = (),
    host: Host | None = None,
    progress: cpython.Progress = lambda _line: None,
) -> tuple[debian_root.BuiltRoot, cpython.BuiltPython]:
    """The root ``debian-RELEASE-ARCH-cpythonX.Y``: built (Debian root, then CPython with the
    pinned zig) on first use, reused from zigwheel's cache afterwards."""
    from zigwheel.cache import cache_root  # noqa: PLC0415
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    host = Host.detect(env) if host is None else host
    recipe = cpython.load_recipe()
    asked = arch or host.arch
    row = registry().by_debian(asked)  # a Debian name (amd64) or a wheel's (x86_64)
    target = cpython.plan_target(version, row.name if row else asked, Libc.GLIBC, recipe)
    cache = cache_root(env)
    base = debian_root.ensure_debian_root(release, target.arch, env=env, etc_apt=etc_apt,
                                          mirrors=mirrors, host=host)  # fmt: skip
    dest = cache / "roots" / python_root_name(release, base.debian_arch, version)
    built = cpython.read_built(cache / "pythons" / target.name)
    if built is None:
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
        given = [m.rstrip("/") for m in mirrors]
        apt = debian.read_apt_sources(etc_apt)
        chosen = given or debian.mirror_candidates(apt)
        keyrings = list(dict.fromkeys(k for m in chosen for k in debian.keyrings_for(apt, m)))
        progress(f"downloading the python{version} and zlib sources of Debian {target.release}")
        sources = fetch_sources(target, recipe, cache=cache, mirrors=chosen, keyrings=keyrings,
                                env=env)  # fmt: skip
        zig = locate_zig(env)
        built = cpython.build_python(target, sources=sources, dest=cache / "pythons" / target.name,
                                     zig=zig.command, build_python_exe=exe, env=env,
                                     recipe=recipe, progress=progress)  # fmt: skip
    progress(f"assembling {dest.name}")
    return compose_root(base, built, dest), built


__all__ = [
    "DEFAULT_RELEASE",
    "build_command",
    "compose_root",
    "ensure_python_root",
    "fetch_sources",
    "python_root_name",
]
