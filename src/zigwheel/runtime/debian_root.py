"""The Debian root builder: a minimal root (libc + Python) assembled from a release's packages."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from zigwheel.cache import staged_folder
from zigwheel.errors import (
    CacheError,
    ConfigError,
    UnreadableInputError,
)
from zigwheel.host import Host
from zigwheel.platforms import lookup, registry
from zigwheel.runtime import debian
from zigwheel.runtime.roots import MARKER, find_root_python, merged_usr_links, read_marker


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


def root_from_marker(path: Path, marker: Mapping[str, Any]) -> BuiltRoot:
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


def check_destination(dest: Path) -> None:
    """Refuse a root destination that cannot become a new folder (a ConfigError, exit 2).

    A file, a path through a file, an unwritable parent or a folder with other content.
    """
    if dest.exists() and not dest.is_dir():
        msg = f"{dest} exists and is not a folder"
        raise ConfigError(msg, hint="choose an empty or new folder for the root")
    if dest.is_dir():
        try:
            if any(dest.iterdir()):
                msg = f"{dest} exists and is not a root built by zigwheel"
                raise ConfigError(msg, hint="choose an empty or new folder")
        except PermissionError as err:
            msg = f"{dest} cannot be read: {err.strerror}"
            raise ConfigError(msg, hint="choose a folder you may write to") from err
    parent = dest.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        msg = f"{dest} cannot be created: {parent} is a file, not a folder"
        raise ConfigError(msg, hint="choose another destination")
    import tempfile  # noqa: PLC0415

    try:  # the real test: permissions, a read-only mount, a file system like /proc
        shutil.rmtree(tempfile.mkdtemp(prefix=".zigwheel-probe-", dir=parent))
    except OSError as err:
        msg = f"{dest} cannot be created: {parent} is not writable ({err.strerror})"
        raise ConfigError(msg, hint="choose a folder you may write to") from err


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
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415


    marker = read_marker(dest)
    if marker is not None:
        return root_from_marker(dest, marker)
    check_destination(dest)  # before tens of MB are downloaded for a root that cannot be kept
    recipe = debian.load_recipe()
    if debian_arch not in recipe.arches:
        msg = f"unknown Debian architecture {debian_arch!r}"
        raise ConfigError(msg, hint=f"use one of: {', '.join(recipe.arches)}")
    if not mirrors:
        msg = "no Debian mirror was found in the apt configuration"
        raise ConfigError(msg, hint="pass --mirror URL (the base URL that holds dists/ and pool/)")

    mirror, release_info, signature = find_release(
        mirrors, release, keyrings=keyrings, env=env or {}
    )
    index = packages_index(mirror, release, release_info, debian_arch, cache)
    version = python or _default_python(index)
    seeds = ["libc6", f"python{version}-minimal", f"libpython{version}-stdlib", *recipe.extra]
    packages = debian.resolve(index, [*seeds, *extra_packages], recipe.skip)

    def download(package: debian.Package) -> bytes:
        return cached_download(
            f"{mirror}/{package.filename}",
            cache / "debian" / "debs",
            sha256=package.sha256,
            size=package.size,
            suffix=".deb",
        )

    dest.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        debs = list(pool.map(download, packages))
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
    try:
        # The rename replaces an empty dest (checked above); one a concurrent build filled
        # since makes it fail, and that build's root is taken.
        with staged_folder(dest) as staging:
            for package, deb in zip(packages, debs):
                debian.unpack_deb(deb, staging, what=f"{package.name}_{package.version}")
            merged_usr_links(staging)  # trixie and later: /lib64/ld-... lives in /usr/lib64
            find_root_python(staging)  # fails loudly if the recipe no longer yields a Python
            (staging / MARKER).write_text(json.dumps(document, indent=2) + "\n")
            staging.chmod(0o755)
    except OSError as err:
        finished = read_marker(dest)
        if finished is not None:  # another process finished the same root first
            return root_from_marker(dest, finished)
        msg = f"cannot assemble the root filesystem at {dest}: {err}"
        raise CacheError(msg, hint="check the folder's permissions and free space") from err
    return built


def _glibc_of(packages: Sequence[Any]) -> str:
    """ "glibc 2.31" from the libc6 package's version (2.31-13+deb11u11)."""
    for package in packages:
        if package.name == "libc6":
            upstream = package.version.split(":")[-1].split("-")[0]
            return f"glibc {'.'.join(upstream.split('.')[:2])}"
    return ""


def find_release(
    mirrors: Sequence[str], release: str, *, keyrings: Sequence[Path], env: Mapping[str, str]
) -> tuple[str, Any, str]:
    """The first mirror serving ``release``, its parsed Release and how it was authenticated.

    With gpgv and a keyring the signed InRelease is verified (a bad signature is an error);
    without them the plain Release file is used and the result says it is not verified.
    """

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


def packages_index(
    mirror: str, release: str, release_info: debian.Release, debian_arch: str, cache: Path
) -> dict[str, debian.Package]:
    """The release's main Packages index for ``debian_arch``, verified against the signed
    Release file's SHA256 and cached."""
    index_file = debian.pick_packages_file(release_info, "main", debian_arch)
    index_bytes = cached_download(
        f"{mirror}/dists/{release}/{index_file.path}",
        cache / "debian" / "indices",
        sha256=index_file.sha256,
        size=index_file.size,
        suffix=PurePosixPath(index_file.path).suffix,
    )
    return debian.parse_packages(debian.decompress(index_bytes, index_file.path).decode())


def cached_download(url: str, folder: Path, *, sha256: str, size: int, suffix: str) -> bytes:
    """Return the file with this SHA256 from ``folder``, downloading and verifying it if needed."""

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
