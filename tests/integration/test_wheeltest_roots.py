"""Debian roots against the real mirror of this machine's apt sources: signatures, hashes, reuse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from zigwheel.errors import ConfigError, UnreadableInputError
from zigwheel.runtime import debian, debian_root, roots

pytestmark = [pytest.mark.slow, pytest.mark.network]


@pytest.fixture(scope="module")
def apt_mirror() -> tuple[str, list[Path]]:
    sources = debian.read_apt_sources(Path("/etc/apt"))
    mirrors = debian.mirror_candidates(sources)
    if not mirrors:
        pytest.skip("this machine's apt configuration names no http(s) mirror")
    keyrings = debian.keyrings_for(sources, mirrors[0])
    return mirrors[0], keyrings


def test_inrelease_signature_verifies_and_a_changed_byte_does_not(
    apt_mirror: tuple[str, list[Path]],
) -> None:
    mirror, keyrings = apt_mirror
    gpgv = shutil.which("gpgv")
    if gpgv is None or not keyrings:
        pytest.skip("needs gpgv and a keyring named by Signed-By in the apt sources")
    url = f"{mirror}/dists/bullseye/InRelease"
    data = debian.fetch(url)
    release = debian.parse_release(debian_root.verify_inrelease(data, url, gpgv, keyrings))
    assert release.codename == "bullseye"
    assert "main/binary-arm64/Packages.xz" in release.files
    tampered = data.replace(b"Codename: bullseye", b"Codename: bullseyf", 1)
    assert tampered != data
    with pytest.raises(UnreadableInputError, match="does not verify"):
        debian_root.verify_inrelease(tampered, url, gpgv, keyrings)


def test_second_build_of_a_root_is_reused_and_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    first = debian_root.ensure_debian_root("bullseye", "x86_64", env=os.environ)
    again = debian_root.ensure_debian_root("bullseye", "amd64", env=os.environ)
    assert again.from_cache
    assert again.path == first.path
    assert again.glibc == "glibc 2.31"
    assert any(p.startswith("libc6=2.31-") for p in again.packages)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "file").write_text("mine")
    with pytest.raises(ConfigError, match="is not a root built by zigwheel"):
        debian_root.ensure_debian_root("bullseye", "amd64", env=os.environ, dest=occupied)
    assert (occupied / "file").read_text() == "mine"


def test_an_interrupted_build_leaves_no_half_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unpack = debian.unpack_deb
    calls = []

    def unpack_then_interrupt(deb: bytes, dest: Path, *, what: str) -> int:
        calls.append(what)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_unpack(deb, dest, what=what)

    monkeypatch.setattr(debian, "unpack_deb", unpack_then_interrupt)
    dest = tmp_path / "roots" / "bullseye"
    with pytest.raises(KeyboardInterrupt):
        debian_root.ensure_debian_root("bullseye", "amd64", env=os.environ, dest=dest)
    assert len(calls) == 3
    assert not dest.exists()
    assert list((tmp_path / "roots").iterdir()) == []  # the staging folder is gone too
    monkeypatch.setattr(debian, "unpack_deb", real_unpack)
    built = debian_root.ensure_debian_root("bullseye", "amd64", env=os.environ, dest=dest)
    assert not built.from_cache
    assert (dest / roots.MARKER).is_file()
