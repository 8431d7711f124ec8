"""Unit tests of the test-root Python builder's plan: sources, targets, shims, root choice."""

from __future__ import annotations

import json
import os
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


def test_versions_and_arches_not_built_say_so_with_the_way_out() -> None:
    recipe = cpython.load_recipe()
    with pytest.raises(ConfigError, match=r"builds no CPython 2\.7") as info:
        cpython.plan_target("2.7", "x86_64", Libc.GLIBC, recipe)
    assert "3.11" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="no CPython for sparc"):
        cpython.plan_target("3.11", "sparc", Libc.GLIBC, recipe)


def test_a_musl_build_declares_what_musl_1_2_3_lacks_and_links_dynamically() -> None:
    recipe = cpython.load_recipe()
    target = cpython.plan_target("3.11", "aarch64", Libc.MUSL, recipe)
    assert (target.zig_target, target.gnu_host) == ("aarch64-linux-musl", "aarch64-linux-musl")
    assert target.name == "cpython3.11-aarch64-linux-musl"
    musl_site, glibc_site = cpython.config_site(recipe, Libc.MUSL), cpython.config_site(recipe)
    for function in ("preadv2", "pwritev2"):  # musl 1.2.5 (zig's headers), not 1.2.3
        assert f"ac_cv_func_{function}=no\n" in musl_site
        assert function not in glibc_site
    assert "-dynamic" in cpython.target_cflags(recipe, Libc.MUSL)
    assert "-dynamic" not in cpython.target_cflags(recipe, Libc.GLIBC)
    assert python_root.python_root_name("bookworm", "arm64", "3.11", Libc.MUSL) == (
        "musl-bookworm-arm64-cpython3.11"
    )
    assert python_root.build_command("3.11", "bookworm", "arm64", Libc.MUSL) == (
        "zigwheel root python 3.11 --libc musl --release bookworm --arch arm64"
    )


def test_shims_call_zig_for_the_target_and_answer_no_for_host_probes(tmp_path: Path) -> None:
    recipe = cpython.load_recipe()
    target = cpython.plan_target("3.11", "x86_64", Libc.GLIBC, recipe)
    shims = cpython.shim_scripts(["/opt/zig dir/zig"], target, recipe.cflags)
    assert shims["cc"].splitlines()[-1] == (
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


def test_the_cc_shim_hides_the_build_machines_include_folders_from_setup_py(
    tmp_path: Path,
) -> None:
    """setup.py adds every folder `$CC -E -v -` lists to each module's -I flags; zig lists the
    build machine's /usr/include there, whose glibc headers broke the musl modules."""
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    zig = locate_zig(dict(os.environ)).command
    recipe = cpython.load_recipe()
    target = cpython.plan_target("3.11", "x86_64", Libc.MUSL, recipe)
    cc = tmp_path / "cc"
    cc.write_text(cpython.shim_scripts(zig, target, recipe.cflags)["cc"])
    cc.chmod(0o755)
    asked = subprocess.run([str(cc), "-E", "-v", "-"], input="", capture_output=True, text=True,
                           check=True, env={**os.environ, "LC_ALL": "C"})  # fmt: skip
    assert "/usr/include" not in asked.stdout + asked.stderr
    # Any other call is zig's compiler for the target: a musl program, linked dynamically.
    (tmp_path / "m.c").write_text("#include <stdio.h>\nint main(void){puts(\"m\");return 0;}\n")
    subprocess.run([str(cc), *cpython.target_cflags(recipe, Libc.MUSL), "m.c", "-o", "m"],
                   cwd=tmp_path, check=True, capture_output=True)  # fmt: skip
    info = roots.read_elf_info(tmp_path / "m")
    assert info.interpreter == "/lib/ld-musl-x86_64.so.1"


def test_a_musllinux_wheel_without_a_musl_root_names_the_command_that_builds_one(
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path, "m-1-cp39-abi3-musllinux_1_2_aarch64.whl")
    reason = wheeltest.no_root_reason(wheel, tmp_path / "roots")
    assert reason.endswith(
        "a musl root with CPython 3.11 would serve: build it with "
        "`zigwheel root python 3.11 --libc musl --release bookworm --arch arm64`"
    ), reason
    # A glibc wheel is still sent to a Debian root.
    glibc = _wheel(tmp_path, "m-1-cp39-abi3-manylinux_2_17_aarch64.whl")
    assert "zigwheel root debian" in wheeltest.no_root_reason(glibc, tmp_path / "roots")
