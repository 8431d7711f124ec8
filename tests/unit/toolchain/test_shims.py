"""Shim rendering and installation: keys, env names, idempotence, damaged folders, write errors,
the choice of form, and the native program's one build per cache."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

import pytest

from zigwheel.errors import CacheError, ConfigError, DataError, ToolchainError
from zigwheel.host import Host, current_os
from zigwheel.toolchain.native import build_program, host_triple, program_path
from zigwheel.toolchain.shims import (
    FORM_ENV,
    MANIFEST,
    NATIVE_FORM,
    SH_FORM,
    content_hash,
    fill,
    install_shims,
    render_shims,
    shim_form,
)
from zigwheel.toolchain.targets import all_targets, resolve_target
from zigwheel.toolchain.zig import Zig, locate_zig

ZIG = Zig(path=Path("/opt/zig/zig"), version="0.15.2", pinned="0.15.2", command=("/opt/zig/zig",))


def test_every_target_renders() -> None:
    for target in all_targets():
        files = render_shims(target, ZIG.command)
        assert set(files) == {"cc", "c++", "linker", "ar", "ranlib", "toolchain.cmake"}
        assert f"-target {target.zig_triple}" in files["cc"]
        for text in files.values():
            assert not re.search(r"@[a-z_]+@", text)  # every placeholder was filled


def test_install_is_idempotent_and_keyed(tmp_path: Path) -> None:
    target = resolve_target("aarch64", "2_17")
    first = install_shims(target, ZIG, tmp_path, form=SH_FORM)
    second = install_shims(target, ZIG, tmp_path, form=SH_FORM)
    assert first == second
    assert first.directory.parent == tmp_path / "shims" / "zig-0.15.2"
    assert first.directory.name.startswith("aarch64-manylinux_2_17-")
    assert os.access(first.cc, os.X_OK)
    manifest = json.loads((first.directory / MANIFEST).read_text())
    assert manifest["zig_triple"] == "aarch64-linux-gnu.2.17"
    assert first.env() == {
        "CC_aarch64_unknown_linux_gnu": str(first.cc),
        "CXX_aarch64_unknown_linux_gnu": str(first.cxx),
        "AR_aarch64_unknown_linux_gnu": str(first.ar),
        "RANLIB_aarch64_unknown_linux_gnu": str(first.ranlib),
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER": str(first.linker),
        "CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu": str(first.cmake_toolchain),
    }


def test_another_zig_gets_another_folder(tmp_path: Path) -> None:
    target = resolve_target("x86_64", "2_17")
    other = Zig(
        path=Path("/elsewhere/zig"), version="0.15.2", pinned="0.15.2", command=("/elsewhere/zig",)
    )
    assert (
        install_shims(target, ZIG, tmp_path, form=SH_FORM).directory
        != install_shims(target, other, tmp_path, form=SH_FORM).directory
    )
    assert content_hash(render_shims(target, ZIG.command)) != content_hash(
        render_shims(target, other.command)
    )


def test_damaged_folder_is_replaced(tmp_path: Path) -> None:
    target = resolve_target("x86_64", "musllinux_1_2")
    shims = install_shims(target, ZIG, tmp_path, form=SH_FORM)
    (shims.directory / MANIFEST).unlink()
    shims.cc.write_text("#!/bin/sh\n# trunc")
    again = install_shims(target, ZIG, tmp_path, form=SH_FORM)
    assert again.directory == shims.directory
    assert again.cc.read_text() == render_shims(target, ZIG.command)["cc"]
    assert [p.name for p in shims.directory.parent.iterdir()] == [shims.directory.name]


def test_unwritable_cache_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError, match="cannot write the x86_64-manylinux_2_17 shims") as info:
        install_shims(resolve_target("x86_64", "2_17"), ZIG, blocker, form=SH_FORM)
    assert info.value.exit_code == 4


def test_fill_refuses_unknown_placeholders() -> None:
    assert fill("a @x@ b", {"x": "1"}, name="t") == "a 1 b"
    with pytest.raises(DataError, match="unknown placeholders"):
        fill("@nope@", {}, name="t")


def test_each_host_gets_its_form_and_the_environment_can_choose() -> None:
    assert shim_form("linux") == NATIVE_FORM  # measured faster than sh (bench/shims.py)
    assert shim_form("darwin") == SH_FORM  # until the native program has run on a Mac
    assert shim_form("windows") == NATIVE_FORM  # no sh there
    assert shim_form("linux", {FORM_ENV: "sh"}) == SH_FORM
    assert shim_form("darwin", {FORM_ENV: " Native "}) == NATIVE_FORM
    with pytest.raises(ConfigError, match="is not a shim form") as info:
        shim_form("linux", {FORM_ENV: "bash"})
    assert info.value.hint == f"set {FORM_ENV} to one of: sh, native"
    with pytest.raises(ConfigError, match="sh shims do not run on Windows"):
        shim_form("windows", {FORM_ENV: "sh"})


def test_native_rules_files_carry_the_same_data_as_the_sh_shims() -> None:
    target = resolve_target("aarch64", "musllinux_1_2")
    sh = render_shims(target, ZIG.command)
    native = render_shims(target, ZIG.command, form=NATIVE_FORM)
    assert set(native) == {f"{name}.shim" for name in ("cc", "c++", "linker", "ar", "ranlib")} | {
        "toolchain.cmake"
    }
    assert native["toolchain.cmake"] == sh["toolchain.cmake"]
    lines = native["linker.shim"].splitlines()
    assert lines[:3] == ["zigwheel-shim 1", "exec /opt/zig/zig", "exec cc"]
    assert lines[-1] == "end"
    assert [line for line in lines if line.startswith("bake ")] == [
        "bake -target",
        "bake aarch64-linux-musl",
        "bake -fno-sanitize=all",
        "bake -g",
    ]
    # The target's rules in the order of rewrites.toml, `when` resolved: musl's, not x86's.
    rules = [line.split()[2] for line in lines if line.startswith("rule ")]
    assert rules[0] == "rustc-response-file"
    assert "musl-lc" in rules
    assert "march-x86-64" not in rules
    assert "march-aarch64-features" in rules
    assert native["ar.shim"] == "zigwheel-shim 1\nexec /opt/zig/zig\nexec ar\nend\n"
    windows = render_shims(target, ZIG.command, form=NATIVE_FORM, os_name="windows")
    assert '"${CMAKE_CURRENT_LIST_DIR}/cc.exe"' in windows["toolchain.cmake"]


def test_native_shims_are_copies_of_one_program_built_once(tmp_path: Path) -> None:
    zig = locate_zig(os.environ)
    target = resolve_target("x86_64", "2_17")
    shims = install_shims(target, zig, tmp_path, form=NATIVE_FORM)
    host = Host(current_os(), platform.machine())
    program = program_path(tmp_path, zig, host_triple(host.os, host.arch))
    assert program.is_file()
    assert shims.form == NATIVE_FORM
    assert shims.to_json()["form"] == NATIVE_FORM
    for path in (shims.cc, shims.cxx, shims.linker, shims.ar, shims.ranlib):
        assert path.read_bytes() == program.read_bytes()
        assert os.access(path, os.X_OK)
        assert path.with_name(path.name + ".shim").is_file()
    manifest = json.loads((shims.directory / MANIFEST).read_text())
    assert (manifest["form"], manifest["program"]) == (NATIVE_FORM, program.name)
    built = program.stat().st_mtime_ns
    assert install_shims(target, zig, tmp_path, form=NATIVE_FORM) == shims
    assert program.stat().st_mtime_ns == built  # not compiled again
    # sh and native shims of one target live side by side in folders of their own.
    assert install_shims(target, zig, tmp_path, form=SH_FORM).directory != shims.directory


def test_a_failed_native_build_is_a_toolchain_error_and_leaves_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "zig"
    broken.write_text("#!/bin/sh\necho 'error: no libc for you' >&2\nexit 1\n")
    broken.chmod(0o755)
    zig = Zig(path=broken, version="0.15.2", pinned="0.15.2", command=(str(broken),))
    cache = tmp_path / "cache"
    with pytest.raises(ToolchainError, match="no libc for you") as info:
        build_program(zig, cache, "x86_64-linux-musl")
    assert info.value.exit_code == 3
    assert "ZIGWHEEL_SHIM_FORM=sh" in (info.value.hint or "")
    assert [p.name for p in (cache / "shims" / "zig-0.15.2").iterdir()] == []
    with pytest.raises(ToolchainError, match="no native compiler shim for a linux-s390x host"):
        host_triple("linux", "s390x")
