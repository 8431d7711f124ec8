"""Debian archives: apt sources, Release and Packages indices, dependencies, .deb unpacking."""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import lzma
import re
import stat
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from zigwheel.errors import ConfigError, DataError, UnreadableInputError
from zigwheel.platforms import registry
from zigwheel.resources import data_dir, load_toml
from zigwheel.runtime.roots import resolve_in_root

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 120.0
AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` entry of the host's apt configuration."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str = ""  # keyring file named by the source ("" when none or inline)


@dataclass(frozen=True)
class IndexFile:
    """A file listed in a Release file's SHA256 section."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Release:
    """The parts of a suite's Release file that zigwheel uses."""

    codename: str
    suite: str
    architectures: tuple[str, ...]
    files: Mapping[str, IndexFile]


@dataclass(frozen=True)
class Package:
    """One stanza of a Packages index."""

    name: str
    version: str
    architecture: str
    filename: str
    sha256: str
    size: int
    depends: tuple[tuple[str, ...], ...] = ()
    provides: tuple[str, ...] = ()


@dataclass(frozen=True)
class RootRecipe:
    """Shipped data describing how a test root is assembled (data/debian-roots.toml)."""

    skip: frozenset[str]
    extra: tuple[str, ...]
    arches: Mapping[str, str] = field(default_factory=dict)
    releases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def release_for(self, debian_arch: str, preferred: str) -> str:
        """``preferred`` if it ships ``debian_arch`` (or is unlisted), else the newest that does."""
        if debian_arch in self.releases.get(preferred, (debian_arch,)):
            return preferred
        for release, arches in self.releases.items():
            if debian_arch in arches:
                return release
        return preferred


# ---------------------------------------------------------------- apt sources


_ONE_LINE = re.compile(
    r"deb\s+(?:\[(?P<options>[^\]]*)\]\s*)?(?P<uri>\S+)\s+(?P<suite>\S+)(?P<rest>.*)"
)


def parse_one_line_sources(text: str) -> list[AptSource]:
    """Parse the one-line ``deb [options] URI SUITE COMPONENT...`` format of ``*.list`` files."""
    sources: list[AptSource] = []
    for raw in text.splitlines():
        match = _ONE_LINE.fullmatch(raw.split("#", 1)[0].strip())
        if match is None:
            continue
        signed_by = ""
        for option in (match.group("options") or "").split():
            if option.startswith("signed-by="):
                signed_by = option.split("=", 1)[1].split(",")[0]
        sources.append(
            AptSource(
                match.group("uri").rstrip("/"),
                (match.group("suite"),),
                tuple(match.group("rest").split()),
                signed_by,
            )
        )
    return sources


def parse_deb822_sources(text: str) -> list[AptSource]:
    """Parse the deb822 format of ``*.sources`` files (``Types:``, ``URIs:``, ``Suites:``...)."""
    sources: list[AptSource] = []
    for stanza in _stanzas(_strip_comments(text)):
        if stanza.get("Enabled", "yes").strip().lower() == "no":
            continue
        if "deb" not in stanza.get("Types", "").split():
            continue
        suites = tuple(stanza.get("Suites", "").split())
        components = tuple(stanza.get("Components", "").split())
        signed_by = stanza.get("Signed-By", "").strip()
        if "\n" in signed_by or not signed_by.startswith("/"):
            signed_by = ""  # an inline key block: zigwheel only uses keyring files
        for uri in stanza.get("URIs", "").split():
            if suites:
                sources.append(AptSource(uri.rstrip("/"), suites, components, signed_by))
    return sources


def read_apt_sources(etc_apt: Path) -> list[AptSource]:
    """Read every ``deb`` entry of an apt configuration folder (e.g. /etc/apt), in apt's order."""
    sources: list[AptSource] = []
    main_list = etc_apt / "sources.list"
    if main_list.is_file():
        sources += parse_one_line_sources(main_list.read_text(errors="replace"))
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_one_line_sources(path.read_text(errors="replace"))
            elif path.suffix == ".sources":
                sources += parse_deb822_sources(path.read_text(errors="replace"))
    return sources


def mirror_candidates(sources: Sequence[AptSource]) -> list[str]:
    """Base URIs that may carry Debian suites, most likely first, without duplicates.

    A source carrying a plain codename suite with a ``main`` component (the main archive) comes
    before security and update archives (suites with a ``-`` or ``/``).
    """

    def rank(source: AptSource) -> int:
        plain = any("-" not in suite and "/" not in suite for suite in source.suites)
        return 0 if plain and "main" in source.components else 1

    seen: list[str] = []
    for source in sorted(sources, key=rank):
        if source.uri.startswith(("http://", "https://")) and source.uri not in seen:
            seen.append(source.uri)
    return seen


def keyrings_for(sources: Sequence[AptSource], mirror: str) -> list[Path]:
    """Keyring files the apt configuration names for ``mirror`` (existing ones only)."""
    found: list[Path] = []
    for source in sources:
        if source.uri.rstrip("/") == mirror.rstrip("/") and source.signed_by:
            path = Path(source.signed_by)
            if path.is_file() and path not in found:
                found.append(path)
    return found


def clearsigned_body(text: str) -> str:
    """The signed text of an OpenPGP clear-signed message (an InRelease file), dash-unescaped."""
    lines = text.splitlines()
    try:
        start = lines.index("-----BEGIN PGP SIGNED MESSAGE-----")
        end = lines.index("-----BEGIN PGP SIGNATURE-----", start)
    except ValueError as err:
        msg = "the InRelease file is not a clear-signed message"
        raise UnreadableInputError(msg, hint="check the mirror URL") from err
    body_start = start + 1
    while body_start < end and lines[body_start].strip():  # armor headers (Hash: ...)
        body_start += 1
    body = [line[2:] if line.startswith("- ") else line for line in lines[body_start + 1 : end]]
    return "\n".join(body) + "\n"


# ---------------------------------------------------------------- control-file parsing


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """Yield deb822 stanzas as field -> value (continuation lines joined with newlines)."""
    stanza: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if stanza:
                yield stanza
            stanza, last = {}, ""
        elif line[0] in " \t" and last:
            stanza[last] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip()
            stanza[last] = value.strip()
    if stanza:
        yield stanza


def parse_release(text: str) -> Release:
    """Parse a Release (or InRelease body) file: codename, architectures and SHA256 sums."""
    stanzas = list(_stanzas(text))
    if not stanzas:
        msg = "the Release file is empty"
        raise UnreadableInputError(msg, hint="check the mirror URL")
    head = stanzas[0]
    files: dict[str, IndexFile] = {}
    for line in head.get("SHA256", "").splitlines():
        words = line.split()
        if len(words) == 3 and words[1].isdigit():
            files[words[2]] = IndexFile(words[2], words[0].lower(), int(words[1]))
    if not files:
        msg = "the Release file has no SHA256 section"
        raise UnreadableInputError(msg, hint="zigwheel needs a mirror that publishes SHA256 sums")
    return Release(
        codename=head.get("Codename", ""),
        suite=head.get("Suite", ""),
        architectures=tuple(head.get("Architectures", "").split()),
        files=files,
    )


def parse_relations(value: str) -> tuple[tuple[str, ...], ...]:
    """Parse a Depends-style field into groups of alternative package names.

    Version constraints and architecture qualifiers are dropped: a suite carries one version of
    each package, and a root is built for one architecture.
    """
    groups: list[tuple[str, ...]] = []
    for group in value.split(","):
        names = []
        for alternative in group.split("|"):
            name = alternative.strip().split("(")[0].split("[")[0].split("<")[0].strip()
            name = name.split(":")[0]
            if name:
                names.append(name)
        if names:
            groups.append(tuple(names))
    return tuple(groups)


def parse_packages(text: str) -> dict[str, Package]:
    """Parse a Packages index into name -> Package (the first stanza of a name wins)."""
    packages: dict[str, Package] = {}
    for stanza in _stanzas(text):
        name = stanza.get("Package")
        if not name or name in packages or "Filename" not in stanza or "SHA256" not in stanza:
            continue
        relations = ", ".join(stanza[key] for key in ("Pre-Depends", "Depends") if stanza.get(key))
        packages[name] = Package(
            name=name,
            version=stanza.get("Version", ""),
            architecture=stanza.get("Architecture", ""),
            filename=stanza["Filename"],
            sha256=stanza["SHA256"].lower(),
            size=int(stanza.get("Size", "0") or 0),
            depends=parse_relations(relations),
            provides=tuple(name for (name, *_) in parse_relations(stanza.get("Provides", ""))),
        )
    return packages


@dataclass(frozen=True)
class SourceFile:
    """One file of a source package, as its Sources stanza lists it."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SourcePackage:
    """One stanza of a Sources index: where the package's files are and their checksums."""

    name: str
    version: str
    directory: str
    files: tuple[SourceFile, ...]

    def orig_tarball(self) -> SourceFile:
        """The upstream source (``NAME_VERSION.orig.tar.*``), which zigwheel builds from."""
        for item in self.files:
            if ".orig.tar." in item.name:
                return item
        msg = f"the Debian source package {self.name} {self.version} has no .orig tarball"
        raise UnreadableInputError(msg, hint="pick another Debian release for this source")


def parse_sources(text: str) -> dict[str, SourcePackage]:
    """Parse a Sources index into name -> SourcePackage (the first stanza of a name wins)."""
    found: dict[str, SourcePackage] = {}
    for stanza in _stanzas(text):
        name = stanza.get("Package")
        if not name or name in found or "Directory" not in stanza:
            continue
        files = []
        for line in stanza.get("Checksums-Sha256", "").splitlines():
            words = line.split()
            if len(words) == 3 and words[1].isdigit():
                files.append(SourceFile(words[2], words[0].lower(), int(words[1])))
        if files:
            found[name] = SourcePackage(name, stanza.get("Version", ""), stanza["Directory"],
                                        tuple(files))  # fmt: skip
    return found


def pick_sources_file(release: Release, component: str) -> IndexFile:
    """Choose the Sources index (xz before gz before plain) listed in ``release``."""
    for suffix in (".xz", ".gz", ""):
        path = f"{component}/source/Sources{suffix}"
        if path in release.files:
            return release.files[path]
    msg = f"the release {release.codename or release.suite} lists no Sources index"
    raise ConfigError(msg, hint="use a mirror that carries Debian's source packages")


def resolve(
    index: Mapping[str, Package], seeds: Iterable[str], skip: Iterable[str] = ()
) -> list[Package]:
    """Return the closure of ``seeds`` over Pre-Depends and Depends, in a stable order.

    For alternatives the first one that is already chosen, else the first one the index has
    (directly or through Provides), is taken. Names in ``skip`` (package managers, time zone
    data) are left out together with what only they would pull in.
    """
    providers: dict[str, str] = {}
    for package in index.values():
        for virtual in package.provides:
            providers.setdefault(virtual, package.name)
    skipped = set(skip)

    def lookup(name: str) -> str | None:
        if name in index:
            return name
        return providers.get(name)

    chosen: dict[str, Package] = {}
    queue: list[str] = []
    for seed in seeds:
        real = lookup(seed)
        if real is None:
            msg = f"package {seed} is not in the Packages index"
            raise ConfigError(msg, hint="check the release and architecture names")
        queue.append(real)
    while queue:
        name = queue.pop(0)
        if name in chosen or name in skipped:
            continue
        package = index[name]
        chosen[name] = package
        for group in package.depends:
            if any(alt in skipped for alt in group):
                continue
            real_names = [real for real in (lookup(alt) for alt in group) if real is not None]
            if not real_names:
                logger.warning("%s depends on %s, which the index does not have", name, group)
                continue
            already = [real for real in real_names if real in chosen]
            queue.append(already[0] if already else real_names[0])
    return list(chosen.values())


def load_recipe() -> RootRecipe:
    """Load and validate data/debian-roots.toml."""
    path = data_dir() / "debian-roots.toml"
    data = load_toml(path)
    try:
        skip = data["skip"]["packages"]
        extra = data["extra"]["packages"]
        releases = data["releases"]
    except KeyError as err:
        msg = f"{path.name} lacks the key {err}"
        raise DataError(msg, hint="reinstall zigwheel; the package data is damaged") from err
    listed = [x for value in releases.values() for x in (value if isinstance(value, list) else [1])]
    if not all(isinstance(x, str) for x in [*skip, *extra, *listed]):
        msg = f"{path.name} must hold only strings in skip, extra and releases"
        raise DataError(msg, hint="reinstall zigwheel; the package data is damaged")
    return RootRecipe(
        skip=frozenset(skip),
        extra=tuple(extra),
        # Debian's names come from the architecture registry, for every arch zigwheel builds
        arches={row.debian: row.name for row in registry().buildable()},
        releases={name: tuple(value) for name, value in releases.items()},
    )


# ---------------------------------------------------------------- downloads


def sha256_of(data: bytes) -> str:
    """Hex SHA256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def fetch(url: str, *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """Download ``url``; any network or HTTP error becomes an UnreadableInputError."""
    # Imported here: urllib.request (with http.client and ssl) costs every zigwheel command
    # tens of milliseconds at start-up, and only downloads need it.
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    logger.info("GET %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, ValueError) as err:
        msg = f"cannot download {url}: {err}"
        raise UnreadableInputError(msg, hint="check the network and the mirror (--mirror)") from err


def verified(data: bytes, *, sha256: str, size: int | None, what: str) -> bytes:
    """Return ``data`` if its SHA256 (and size, when known) match; else raise."""
    digest = sha256_of(data)
    if digest != sha256 or (size is not None and size and len(data) != size):
        msg = f"{what} does not match its published SHA256 (got {digest}, expected {sha256})"
        raise UnreadableInputError(msg, hint="the mirror or the cache is damaged; retry later")
    return data


def pick_packages_file(release: Release, component: str, arch: str) -> IndexFile:
    """Choose the Packages index (xz before gz before plain) listed in ``release``."""
    for suffix in (".xz", ".gz", ""):
        path = f"{component}/binary-{arch}/Packages{suffix}"
        if path in release.files:
            return release.files[path]
    msg = f"the release {release.codename or release.suite} lists no Packages index for {arch}"
    raise ConfigError(
        msg, hint=f"pick an architecture the release has: {' '.join(release.architectures)}"
    )


def decompress(data: bytes, name: str) -> bytes:
    """Decompress an index file by its name's suffix."""
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    return data


# ---------------------------------------------------------------- .deb unpacking


def ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield (name, content) for every member of a Unix ``ar`` archive (a .deb)."""
    if not data.startswith(AR_MAGIC):
        msg = "not an ar archive (a .deb starts with '!<arch>')"
        raise UnreadableInputError(msg, hint="the download is damaged; remove it from the cache")
    offset = len(AR_MAGIC)
    while offset + AR_HEADER_SIZE <= len(data):
        header = data[offset : offset + AR_HEADER_SIZE]
        if header[58:60] != b"`\n":
            msg = f"broken ar member header at byte {offset}"
            raise UnreadableInputError(msg, hint="the download is damaged")
        name = header[0:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        start = offset + AR_HEADER_SIZE
        yield name, data[start : start + size]
        offset = start + size + (size % 2)


def deb_data_tar(deb: bytes, what: str) -> tarfile.TarFile:
    """Open the data.tar.* member of a .deb as a tarfile."""
    for name, content in ar_members(deb):
        if not name.startswith("data.tar"):
            continue
        if name.endswith(".zst"):
            msg = f"{what} compresses its files with zstd, which zigwheel cannot unpack"
            raise UnreadableInputError(
                msg, hint="use a Debian release (they use xz); Ubuntu's .debs use zstd"
            )
        return tarfile.open(fileobj=io.BytesIO(content), mode="r:*")
    msg = f"{what} has no data.tar member"
    raise UnreadableInputError(msg, hint="the download is damaged; remove it from the cache")


def unpack_deb(deb: bytes, dest: Path, *, what: str) -> int:
    """Unpack the files of a .deb into ``dest`` without dpkg or privileges; return the count.

    Ownership is ignored, permission bits are kept (minus set-id bits), device nodes skipped.
    """
    count = 0
    with deb_data_tar(deb, what) as archive:
        for member in archive:
            relative = PurePosixPath(member.name)
            if relative.is_absolute() or ".." in relative.parts:
                msg = f"{what} holds an unsafe path {member.name}"
                raise UnreadableInputError(msg, hint="refusing to unpack this package")
            target = resolve_in_root(dest, relative, follow_last=False)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                if target.is_dir() and not target.is_symlink():
                    continue
                target.unlink()
            if member.issym():
                target.symlink_to(member.linkname)
            elif member.islnk():
                source = resolve_in_root(dest, member.linkname)
                target.write_bytes(source.read_bytes())
                target.chmod(stat.S_IMODE(source.stat().st_mode))
            elif member.isfile():
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                target.write_bytes(handle.read())
                target.chmod(member.mode & 0o755 | 0o600)
            else:
                continue
            count += 1
    return count
