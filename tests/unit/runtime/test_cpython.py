"""Unit tests of the test-root Python builder's plan: sources, targets, shims, root choice."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from zigwheel.errors import ConfigError, UnreadableInputError
from zigwheel.platforms import Libc
from zigwheel.runtime import cpython, debian, python_root, roots, wheeltest

SOURCES = """\
Package: python3.11
Binary: python3.11, python3.11-minimal
Version: 3.11.2-6+deb12u8
Directory: pool/main/p/python3.11
Checksums-Sha256:
 11111111 3571 python3.11_3.11.2-6+deb12u8.dsc
 AAAAAAAA 26437858 python3.11_3.11.2.orig.tar.gz
 33333333 279556 python3.11_3.11.2-6+deb12u8.debian.tar.xz

Package: zlib
Version: 1:1.2.13.dfsg-1
Directory: pool/main/z/zlib
Checksums-Sha256:
 44444444 1239825 zlib_1.2.13.dfsg.orig.tar.bz2

Package: python3.11
Version: 9.9-older-stanza
Directory: pool/elsewhere
Checksums-Sha256:
 55555555 1 x.orig.tar.gz
"""


def test_sources_index_gives_each_package_its_files_and_orig_tarball() -> None:
    index = debian.parse_sources(SOURCES)
    python = index["python3.11"]
    assert (python.version, python.directory) == ("3.11.2-6+deb12u8", "pool/main/p/python3.11")
    assert len(python.files) == 3
    orig = python.orig_tarball()
    assert orig.name == "python3.11_3.11.2.orig.tar.gz"
    assert orig.sha256 == "aaaaaaaa"  # checksums are compared in lower case
    assert orig.size == 26437858
    assert index["zlib"].orig_tarball().name == "zlib_1.2.13.dfsg.orig.tar.bz2"


def test_a_source_package_without_orig_tarball_is_an_error_with_a_way_out() -> None:
    package = debian.SourcePackage("native", "1", "pool/n", (debian.SourceFile("n.dsc", "0", 1),))
    with pytest.raises(UnreadableInputError, match=r"no \.orig tarball") as info:
        package.orig_tarball()
    assert info.value.hint


def test_sources_file_is_picked_xz_first() -> None:
    files = {
        "main/source/Sources.gz": debian.IndexFile("main/source/Sources.gz", "b", 2),
        "main/source/Sources.xz": debian.IndexFile("main/source/Sources.xz", "a", 1),
    }
    release = debian.Release("bookworm", "stable", ("amd64",), files)
    assert debian.pick_sources_file(release, "main").path == "main/source/Sources.xz"
    with pytest.raises(ConfigError, match="no Sources index"):
        debian.pick_sources_file(debian.Release("x", "", (), {}), "main")


def test_recipe_targets_the_oldest_glibc_for_each_arch() -> None:
    recipe = cpython.load_recipe()
    x86 = cpython.plan_target("3.11", "x86_64", Libc.GLIBC, recipe)
    assert (x86.zig_target, x86.gnu_host, x86.release) == (
        "x86_64-linux-gnu.2.17", "x86_64-linux-gnu", "bookworm",
    )  # fmt: skip
    assert x86.name == "cpython3.11-x86_64-linux-gnu.2.17"
    arm = cpython.plan_target("3.11", "arm64", Libc.GLIBC, recipe)  # an alias is accepted
    assert arm.arch == "aarch64"
    assert arm.zig_target == "aarch64-linux-gnu.2.17"


def test_versions_and_libcs_not_built_say_so_with_the_reason() -> None:
    recipe = cpython.load_recipe()
    with pytest.raises(ConfigError, match=r"builds no CPython 2\.7") as info:
        cpython.plan_target("2.7", "x86_64", Libc.GLIBC, recipe)
    assert "3.11" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="musl CPython") as info:
        cpython.plan_target("3.11", "x86_64", Libc.MUSL, recipe)
    assert "1.2.3" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="no CPython for sparc"):
        cpython.plan_target("3.11", "sparc", Libc.GLIBC, recipe)


def test_shims_call_zig_for_the_target_and_answer_no_for_host_probes(tmp_path: Path) -> None:
    recipe = cpython.load_recipe()
    target = cpython.plan_target("3.11", "x86_64", Libc.GLIBC, recipe)
    shims = cpython.shim_scripts(["/opt/zig dir/zig"], target, recipe.cflags)
    assert shims["cc"].splitlines()[1] == (
        "exec '/opt/zig dir/zig' cc -target x86_64-linux-gnu.2.17 -Wno-date-time -w \"$@\""
    )
    for name in ("readelf", "dpkg-architecture"):
        script = tmp_path / name
        script.write_text(shims[name])
        script.chmod(0o755)
        assert subprocess.run([str(script)], check=False).returncode == 1
    site = cpython.config_site(recipe)
    assert "ac_cv_file__dev_ptmx=yes\n" in site
    argv = cpython.configure_argv(target, build_python="/b/python3.11",
                                  build_triple="x86_64-pc-linux-gnu", recipe=recipe)  # fmt: skip
    assert argv[:5] == ["./configure", "--build=x86_64-pc-linux-gnu", "--host=x86_64-linux-gnu",
                        "--prefix=/usr/local", "--with-build-python=/b/python3.11"]  # fmt: skip


def _root(folder: Path, **marker: object) -> Path:
    folder.mkdir(parents=True)
    (folder / roots.MARKER).write_text(json.dumps(marker))
    return folder


BULLSEYE = {"release": "bullseye", "debian_arch": "amd64", "arch": "x86_64", "glibc": "glibc 2.31"}


def _wheel(tmp_path: Path, name: str) -> wheeltest.WheelFacts:
    from packaging.tags import parse_tag  # noqa: PLC0415

    tags = frozenset(parse_tag(name.split("-", 2)[2].removesuffix(".whl")))
    return wheeltest.WheelFacts(path=tmp_path / name, tags=tags, modules=("m",))


def test_a_cp311_wheel_on_a_python_3_9_root_finds_its_cpython_sibling(tmp_path: Path) -> None:
    base = _root(tmp_path / "roots" / "debian-bullseye-amd64", python="3.9", **BULLSEYE)
    wheel = _wheel(tmp_path, "m-1-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert wheeltest.pick_python_root(wheel, base) is None
    hint = wheeltest.python_root_hint(wheel, base)
    assert hint == ("; a CPython 3.11 root would serve: build it with "
                    "`zigwheel root python 3.11 --release bullseye --arch amd64`")  # fmt: skip
    # Another release's or arch's built Python does not serve; the same root's does.
    _root(tmp_path / "roots" / "other", python="3.11", cpython={}, **{**BULLSEYE, "release": "x"})
    assert wheeltest.pick_python_root(wheel, base) is None
    built = _root(tmp_path / "roots" / python_root.python_root_name("bullseye", "amd64", "3.11"),
                  python="3.11", cpython={}, **BULLSEYE)  # fmt: skip
    assert wheeltest.pick_python_root(wheel, base) == built
    # A wheel no built Python loads (glibc 2.34 > 2.31) gets neither.
    newer = _wheel(tmp_path, "m-1-cp311-cp311-manylinux_2_34_x86_64.whl")
    assert wheeltest.pick_python_root(newer, base) is None
    assert wheeltest.python_root_hint(newer, base) == ""


def test_the_marker_names_the_built_python_before_the_debian_one(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/local/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/python3").write_bytes(b"\x7fELF")
    (tmp_path / "usr/local/bin/python3.11").write_bytes(b"\x7fELF")
    assert roots.find_root_python(tmp_path) == tmp_path / "usr/bin/python3"
    (tmp_path / roots.MARKER).write_text(json.dumps({"python_path": "usr/local/bin/python3.11"}))
    assert roots.find_root_python(tmp_path) == tmp_path / "usr/local/bin/python3.11"
