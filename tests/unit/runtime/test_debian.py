"""Unit tests of runtime.debian: apt sources, Release and Packages indices, .deb unpacking."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from zigwheel.errors import ConfigError, UnreadableInputError
from zigwheel.runtime import debian

MIRROR = "http://mirror.invalid/debian"


def test_one_line_sources_with_options_and_comments() -> None:
    text = f"""
# a comment
deb [arch=amd64 signed-by=/k.gpg] {MIRROR}/ bookworm main contrib
deb-src {MIRROR} bookworm main
deb http://security.invalid/debian-security bookworm-security main # trailing
"""
    sources = debian.parse_one_line_sources(text)
    assert sources == [
        debian.AptSource(MIRROR, ("bookworm",), ("main", "contrib"), "/k.gpg"),
        debian.AptSource(
            "http://security.invalid/debian-security", ("bookworm-security",), ("main",)
        ),
    ]


def test_deb822_sources_skip_disabled_and_source_only_stanzas() -> None:
    text = f"""Types: deb
# comment inside
URIs: {MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.invalid/debian
Suites: bookworm
Components: main

Types: deb
Enabled: no
URIs: http://off.invalid/debian
Suites: bookworm
Components: main
"""
    assert debian.parse_deb822_sources(text) == [
        debian.AptSource(
            MIRROR,
            ("bookworm", "bookworm-updates"),
            ("main",),
            "/usr/share/keyrings/debian-archive-keyring.gpg",
        )
    ]


def test_read_apt_sources_reads_list_and_sources_files_only(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(f"deb {MIRROR} bullseye main\n")
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "Types: deb\nURIs: http://b.invalid/debian\nSuites: bookworm\nComponents: main\n"
    )
    (tmp_path / "sources.list.d" / "c.list.disabled").write_text("deb http://c.invalid x main\n")
    uris = [s.uri for s in debian.read_apt_sources(tmp_path)]
    assert uris == [MIRROR, "http://b.invalid/debian"]


def test_keyrings_for_a_mirror_are_the_existing_signed_by_files(tmp_path: Path) -> None:
    keyring = tmp_path / "archive.gpg"
    keyring.write_bytes(b"key")
    sources = [
        debian.AptSource(MIRROR, ("bookworm",), ("main",), str(keyring)),
        debian.AptSource(MIRROR, ("bookworm-updates",), ("main",), str(tmp_path / "gone.gpg")),
        debian.AptSource("http://other.invalid", ("x",), ("main",), str(keyring)),
    ]
    assert debian.keyrings_for(sources, MIRROR + "/") == [keyring]


def test_clearsigned_body_drops_armor_and_unescapes_dashes() -> None:
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nCodename: bullseye\n"
        "- -----not armor\nSHA256:\n abc 1 main/binary-amd64/Packages\n"
        "-----BEGIN PGP SIGNATURE-----\n\nwsFz\n-----END PGP SIGNATURE-----\n"
    )
    assert debian.clearsigned_body(text) == (
        "Codename: bullseye\n-----not armor\nSHA256:\n abc 1 main/binary-amd64/Packages\n"
    )
    with pytest.raises(UnreadableInputError, match="not a clear-signed message"):
        debian.clearsigned_body("Codename: bullseye\n")


def test_mirror_candidates_put_the_main_archive_before_security() -> None:
    sources = [
        debian.AptSource("http://sec.invalid/debian-security", ("bookworm-security",), ("main",)),
        debian.AptSource(MIRROR, ("bookworm", "bookworm-updates"), ("main",)),
        debian.AptSource(MIRROR, ("bookworm-backports",), ("main",)),
        debian.AptSource("file:/srv/local", ("stable",), ("main",)),
    ]
    assert debian.mirror_candidates(sources) == [MIRROR, "http://sec.invalid/debian-security"]


RELEASE = """Origin: Debian
Codename: bullseye
Suite: oldoldstable
Architectures: all amd64 arm64
MD5Sum:
 7fdf4db15250af5368cc52a91e8edbce   738242 main/binary-amd64/Packages.xz
SHA256:
 {xz}  {xz_size} main/binary-amd64/Packages.xz
 {gz}  123 main/binary-amd64/Packages.gz
 {gz}  456 main/binary-arm64/Packages.gz
"""


def test_release_sha256_section_and_packages_choice() -> None:
    text = RELEASE.format(xz="a" * 64, xz_size=99, gz="b" * 64)
    release = debian.parse_release(text)
    assert release.codename == "bullseye"
    assert release.architectures == ("all", "amd64", "arm64")
    assert debian.pick_packages_file(release, "main", "amd64").path.endswith("Packages.xz")
    arm = debian.pick_packages_file(release, "main", "arm64")
    assert (arm.path, arm.size) == ("main/binary-arm64/Packages.gz", 456)
    with pytest.raises(ConfigError, match="no Packages index for riscv64"):
        debian.pick_packages_file(release, "main", "riscv64")


def test_release_without_sha256_is_unreadable() -> None:
    with pytest.raises(UnreadableInputError, match="no SHA256"):
        debian.parse_release("Codename: x\nMD5Sum:\n abc 1 main/Packages\n")


def test_relations_drop_versions_and_arch_qualifiers() -> None:
    value = "libc6 (>= 2.28), media-types | mime-support, libpython3.9-minimal:any (= 3.9.2-1)"
    assert debian.parse_relations(value) == (
        ("libc6",),
        ("media-types", "mime-support"),
        ("libpython3.9-minimal",),
    )


def _stanza(name: str, depends: str = "", pre: str = "", provides: str = "") -> str:
    lines = [f"Package: {name}", "Version: 1.0-1", "Architecture: amd64"]
    if pre:
        lines.append(f"Pre-Depends: {pre}")
    if depends:
        lines.append(f"Depends: {depends}")
    if provides:
        lines.append(f"Provides: {provides}")
    digest = hashlib.sha256(name.encode()).hexdigest()
    lines += [f"Filename: pool/main/{name}_1.0-1_amd64.deb", "Size: 10", f"SHA256: {digest}"]
    lines.append("Description: test\n multi-line continuation")
    return "\n".join(lines)


INDEX = "\n\n".join(
    [
        _stanza("python3.9-minimal", "libpython3.9-minimal, zlib1g", pre="libc6 (>= 2.29)"),
        _stanza("libpython3.9-minimal", "libc6, libssl1.1"),
        _stanza("libpython3.9-stdlib", "mime-support | media-types, tzdata, libffi7, dpkg"),
        _stanza("libc6", "libgcc-s1, libcrypt1"),
        _stanza("libgcc-s1", "libc6"),
        _stanza("libcrypt1", "libc6"),
        _stanza("zlib1g", "libc6"),
        _stanza("libssl1.1", "libc6, debconf (>= 0.5) | debconf-2.0"),
        _stanza("media-types"),
        _stanza("tzdata", "debconf"),
        _stanza("dpkg", "tar"),
        _stanza("libffi8", provides="libffi7"),
    ]
)


def test_parse_packages_keeps_hash_filename_and_joined_relations() -> None:
    index = debian.parse_packages(INDEX)
    python = index["python3.9-minimal"]
    assert python.depends == (("libc6",), ("libpython3.9-minimal",), ("zlib1g",))
    assert python.filename == "pool/main/python3.9-minimal_1.0-1_amd64.deb"
    assert python.sha256 == hashlib.sha256(b"python3.9-minimal").hexdigest()
    assert index["libffi8"].provides == ("libffi7",)


def test_resolve_follows_pre_depends_provides_and_skips_package_managers() -> None:
    index = debian.parse_packages(INDEX)
    chosen = debian.resolve(
        index,
        ["libc6", "python3.9-minimal", "libpython3.9-stdlib"],
        skip=["dpkg", "debconf", "tzdata"],
    )
    names = [p.name for p in chosen]
    assert names[:3] == ["libc6", "python3.9-minimal", "libpython3.9-stdlib"]
    assert set(names) == {
        "libc6", "python3.9-minimal", "libpython3.9-stdlib", "libgcc-s1", "libcrypt1",
        "libpython3.9-minimal", "zlib1g", "libssl1.1", "media-types", "libffi8",
    }  # fmt: skip
    assert "dpkg" not in names
    assert "tzdata" not in names


def test_resolve_unknown_seed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"python9\.9-minimal is not in the Packages index"):
        debian.resolve(debian.parse_packages(INDEX), ["python9.9-minimal"])


def test_recipe_data_file_is_valid() -> None:
    recipe = debian.load_recipe()
    assert "dpkg" in recipe.skip
    assert recipe.arches["arm64"] == "aarch64"
    assert recipe.arches["amd64"] == "x86_64"


def test_release_for_an_architecture_the_default_release_lacks() -> None:
    recipe = debian.load_recipe()
    assert "riscv64" not in recipe.releases["bookworm"]
    assert recipe.release_for("arm64", "bookworm") == "bookworm"
    riscv = recipe.release_for("riscv64", "bookworm")
    assert riscv != "bookworm"
    assert "riscv64" in recipe.releases[riscv]
    assert recipe.release_for("arm64", "sid") == "sid"  # an unlisted release is taken as asked
    # Every architecture zigwheel can build a root for is shipped by some listed release.
    for debian_arch in recipe.arches:
        assert debian_arch in recipe.releases[recipe.release_for(debian_arch, "bullseye")]


def test_verified_rejects_a_wrong_hash() -> None:
    data = b"payload"
    assert debian.verified(data, sha256=debian.sha256_of(data), size=7, what="x") == data
    with pytest.raises(UnreadableInputError, match="does not match its published SHA256"):
        debian.verified(data, sha256="0" * 64, size=7, what="x")


# ---------------------------------------------------------------- .deb files


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n"
        out += header.encode() + data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


def _data_tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for entry in entries:
            if isinstance(entry, tuple):
                archive.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                archive.addfile(entry)
    return buffer.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def test_ar_members_reads_odd_sized_members() -> None:
    deb = _ar([("debian-binary", b"2.0\n"), ("control.tar.xz", b"abc"), ("data.tar.xz", b"xy")])
    assert list(debian.ar_members(deb)) == [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", b"abc"),
        ("data.tar.xz", b"xy"),
    ]


def test_ar_members_rejects_a_non_archive() -> None:
    with pytest.raises(UnreadableInputError, match="not an ar archive"):
        list(debian.ar_members(b"PK\x03\x04 zip"))


@pytest.mark.parametrize(("member", "mode"), [("data.tar.xz", "w:xz"), ("data.tar.gz", "w:gz")])
def test_unpack_deb_keeps_modes_symlinks_and_hardlinks(
    tmp_path: Path, member: str, mode: str
) -> None:
    data = _data_tar(
        [
            _dir("./usr/"),
            _dir("./usr/bin/"),
            _file("./usr/bin/python3.9", b"\x7fELF fake", 0o4755),
            _link("./usr/bin/python3", "python3.9"),
            _dir("./lib64/"),
            _link("./lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-2.31.so"),
            _link("./usr/bin/python-hard", "./usr/bin/python3.9", tarfile.LNKTYPE),
        ],
        mode,
    )
    deb = _ar([("debian-binary", b"2.0\n"), ("control.tar.xz", b""), (member, data)])
    assert debian.unpack_deb(deb, tmp_path, what="python3.9") == 4
    python = tmp_path / "usr/bin/python3.9"
    assert python.read_bytes() == b"\x7fELF fake"
    assert python.stat().st_mode & 0o7777 == 0o755  # set-id bits dropped
    assert (tmp_path / "usr/bin/python3").readlink() == Path("python3.9")
    absolute = (tmp_path / "lib64/ld-linux-x86-64.so.2").readlink()
    assert str(absolute) == "/lib/x86_64-linux-gnu/ld-2.31.so"  # kept as the root's own link
    assert (tmp_path / "usr/bin/python-hard").read_bytes() == b"\x7fELF fake"


def test_unpack_deb_writes_through_an_absolute_directory_link_inside_the_root(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    # An absolute directory link must mean ROOT/usr/lib, never the host's folder.
    (root / "lib").symlink_to("/usr/lib")
    data = _data_tar([_file("./lib/libfoo.so.1", b"lib")], "w:xz")
    debian.unpack_deb(_ar([("data.tar.xz", data)]), root, what="libfoo")
    assert (root / "usr/lib/libfoo.so.1").read_bytes() == b"lib"
    assert not Path("/usr/lib/libfoo.so.1").exists()


def test_unpack_deb_refuses_parent_references(tmp_path: Path) -> None:
    data = _data_tar([_file("./../escape", b"x")], "w:xz")
    with pytest.raises(UnreadableInputError, match="unsafe path"):
        debian.unpack_deb(_ar([("data.tar.xz", data)]), tmp_path / "root", what="evil")
    assert not (tmp_path / "escape").exists()


def test_unpack_deb_explains_zstd(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="zstd") as info:
        debian.unpack_deb(_ar([("data.tar.zst", b"\x28\xb5\x2f\xfd")]), tmp_path, what="ubuntu")
    assert info.value.hint is not None
