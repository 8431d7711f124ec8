"""Shim rendering and installation: keys, env names, idempotence, damaged folders, write errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from zigwheel.errors import CacheError, DataError
from zigwheel.toolchain.shims import MANIFEST, content_hash, fill, install_shims, render_shims
from zigwheel.toolchain.targets import all_targets, resolve_target
from zigwheel.toolchain.zig import Zig

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
    first = install_shims(target, ZIG, tmp_path)
    second = install_shims(target, ZIG, tmp_path)
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
        install_shims(target, ZIG, tmp_path).directory
        != install_shims(target, other, tmp_path).directory
    )
    assert content_hash(render_shims(target, ZIG.command)) != content_hash(
        render_shims(target, other.command)
    )


def test_damaged_folder_is_replaced(tmp_path: Path) -> None:
    target = resolve_target("x86_64", "musllinux_1_2")
    shims = install_shims(target, ZIG, tmp_path)
    (shims.directory / MANIFEST).unlink()
    shims.cc.write_text("#!/bin/sh\n# trunc")
    again = install_shims(target, ZIG, tmp_path)
    assert again.directory == shims.directory
    assert again.cc.read_text() == render_shims(target, ZIG.command)["cc"]
    assert [p.name for p in shims.directory.parent.iterdir()] == [shims.directory.name]


def test_unwritable_cache_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError, match="cannot write the x86_64-manylinux_2_17 shims") as info:
        install_shims(resolve_target("x86_64", "2_17"), ZIG, blocker)
    assert info.value.exit_code == 4


def test_fill_refuses_unknown_placeholders() -> None:
    assert fill("a @x@ b", {"x": "1"}, name="t") == "a 1 b"
    with pytest.raises(DataError, match="unknown placeholders"):
        fill("@nope@", {}, name="t")
