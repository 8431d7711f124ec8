"""The toolchain commands as a user runs them: output forms and documented exit codes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from zigwheel.toolchain.targets import pinned_zig_version


def zigwheel(*args: str, cache: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZIGWHEEL_CACHE_DIR=str(cache), NO_COLOR="1", **extra_env)
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_toolchain_json(tmp_path: Path) -> None:
    result = zigwheel("toolchain", "--json", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["version"] == document["pinned"] == pinned_zig_version()
    assert Path(document["path"]).is_file()


def test_toolchain_with_another_zig_exits_3(tmp_path: Path) -> None:
    """Shown, warned about, and exit 3 (a tool is wrong) as the README says; --json alike."""
    site = tmp_path / "site"
    package = site / "ziglang"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    binary = package / "zig"
    binary.write_text('#!/bin/sh\n[ "$1" = version ] && echo 0.11.0\n')
    binary.chmod(0o755)
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    for args in (["toolchain"], ["toolchain", "--json"]):
        result = zigwheel(*args, cache=tmp_path / "cache", PYTHONPATH=path)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "0.11.0" in result.stdout
        assert f"pip install 'ziglang=={pinned_zig_version()}'" in result.stderr
    assert json.loads(result.stdout)["matches_pin"] is False


def test_shims_paths_env_and_json(tmp_path: Path) -> None:
    plain = zigwheel("shims", "--target", "aarch64", "--manylinux", "2_17", cache=tmp_path)
    assert plain.returncode == 0, plain.stderr
    roles = dict(line.split(None, 1) for line in plain.stdout.splitlines())
    assert set(roles) == {"cc", "c++", "ar", "ranlib", "linker", "cmake-toolchain"}
    assert all(Path(path).is_file() for path in roles.values())

    env = zigwheel("shims", "-t", "arm64", "--manylinux", "manylinux2014", "--env", cache=tmp_path)
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in env.stdout.splitlines()
    )
    assert exports["CC_aarch64_unknown_linux_gnu"] == roles["cc"]
    assert exports["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"] == roles["linker"]
    assert exports["CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu"] == roles["cmake-toolchain"]

    musl = json.loads(
        zigwheel("shims", "-t", "x86_64", "--musllinux", "1_2", "--json", cache=tmp_path).stdout
    )
    assert musl["zig_triple"] == "x86_64-linux-musl"
    assert "musl-lc" in [rule["id"] for rule in musl["rules"]]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["shims", "-t", "sparc64"], 2, "unknown architecture 'sparc64'"),
        (["shims", "-t", "aarch64", "--manylinux", "manylinux1"], 2, "does not exist for aarch64"),
        (["shims", "-t", "x86_64", "--manylinux", "2_17", "--musllinux", "1_2"], 2, "both given"),
        (["shims", "-t", "x86_64", "--manylinux", "garbage"], 2, "--manylinux 'garbage' is not"),
        (["shims", "-t", "x86_64", "--musllinux", "9"], 2, "--musllinux '9' is not a musllinux"),
    ],
)
def test_errors_have_one_sentence_a_hint_and_an_exit_code(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    result = zigwheel(*args, cache=tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert "hint:" in result.stderr


def test_cache_dir_and_clean(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert zigwheel("cache", "dir", cache=cache).stdout.strip() == str(cache)
    assert zigwheel("shims", "-t", "x86_64", cache=cache).returncode == 0
    cleaned = zigwheel("cache", "clean", "--json", cache=cache)
    assert cleaned.returncode == 0, cleaned.stderr
    assert [Path(p).name for p in json.loads(cleaned.stdout)["removed"]] == ["shims"]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    refused = zigwheel("cache", "clean", cache=foreign)
    assert refused.returncode == 4
    assert "not a zigwheel cache folder" in refused.stderr
    assert (foreign / "keep.txt").exists()


def test_doctor_json(tmp_path: Path) -> None:
    result = zigwheel("doctor", "--json", "-t", "x86_64", cache=tmp_path)
    document = json.loads(result.stdout)
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert statuses["zig"] == "ok"
    assert result.returncode == (0 if document["ok"] else 1)


def test_shims_take_a_target_list_like_build(tmp_path: Path) -> None:
    both = zigwheel("shims", "-t", "x86_64,arm64", "--json", cache=tmp_path)
    assert both.returncode == 0, both.stderr
    document = json.loads(both.stdout)
    assert document["version"] == 1
    triples = [target["zig_triple"] for target in document["targets"]]
    assert triples == ["x86_64-linux-gnu.2.17", "aarch64-linux-gnu.2.17"]
    assert all(Path(target["paths"]["cc"]).is_file() for target in document["targets"])
    env = zigwheel("shims", "-t", "x86_64", "-t", "aarch64", "--env", cache=tmp_path).stdout
    assert "export CC_x86_64_unknown_linux_gnu=" in env
    assert "export CC_aarch64_unknown_linux_gnu=" in env
