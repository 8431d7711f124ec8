"""Locating zig in fake ziglang installs (both wheel layouts), version checks, and the pin."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest

from zigwheel.errors import ToolchainError
from zigwheel.resources import load_toml, toolchains_dir
from zigwheel.toolchain.targets import pinned_zig_version
from zigwheel.toolchain.zig import candidate_binaries, find_package_dir, locate_zig

REPO = Path(__file__).resolve().parents[3]


def fake_zig(path: Path, version: str) -> Path:
    """An executable that answers `version` like zig does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n[ "$1" = version ] && echo {version} && exit 0\nexit 9\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fake_package(site: Path) -> Path:
    package = site / "ziglang"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    # Importing __main__ would run zig: locate_zig must never import it.
    (package / "__main__.py").write_text("raise SystemExit('ziglang.__main__ was imported')\n")
    return package


def test_layout_binary_inside_package(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    package = fake_package(site)
    binary = fake_zig(package / "zig", pinned_zig_version())
    zig = locate_zig(os.environ, search_path=[str(site)])
    assert zig.path == binary
    assert zig.command == (str(binary),)
    assert zig.direct
    assert zig.version == zig.pinned == pinned_zig_version()


def fake_dist_info(site: Path, recorded: list[str]) -> None:
    """The installed-wheel metadata of a fake ziglang: RECORD lists ``recorded`` (site-relative)."""
    dist_info = site / "ziglang-0.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ziglang\nVersion: 0.0.0\n")
    rows = ["ziglang/__init__.py,,", "ziglang/__main__.py,,", *(f"{r},," for r in recorded)]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")


def test_layout_data_scripts_in_prefix_bin(tmp_path: Path) -> None:
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.11" / "site-packages"
    fake_package(site)
    fake_dist_info(site, ["../../../bin/zig"])  # how a wheel's .data/scripts file is recorded
    binary = fake_zig(prefix / "bin" / "zig", pinned_zig_version())
    zig = locate_zig(os.environ, search_path=[str(site)])
    assert zig.path == binary
    assert zig.direct


def test_a_zig_above_the_package_that_ziglang_did_not_install_is_ignored(tmp_path: Path) -> None:
    """A system install: site-packages under /usr, and /usr/bin/zig is another zig entirely."""
    prefix = tmp_path / "usr"
    site = prefix / "lib" / "python3" / "dist-packages"
    package = fake_package(site)
    fake_dist_info(site, [])
    fake_zig(prefix / "bin" / "zig", "0.11.0")
    fake_zig(prefix / "local" / "bin" / "zig", "0.11.0")
    (package / "__main__.py").write_text(
        f"import sys\nif sys.argv[1:] == ['version']:\n    print('{pinned_zig_version()}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    zig = locate_zig(env, search_path=[str(site)])
    assert zig.command == (sys.executable, "-m", "ziglang")
    assert zig.version == pinned_zig_version()
    assert list(candidate_binaries(package)) == [package / "zig"]


def test_fallback_to_python_m_ziglang(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    package = fake_package(site)
    (package / "__main__.py").write_text(
        f"import sys\nif sys.argv[1:] == ['version']:\n    print('{pinned_zig_version()}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    zig = locate_zig(env, search_path=[str(site)])
    assert zig.command == (sys.executable, "-m", "ziglang")
    assert not zig.direct


def test_missing_package(tmp_path: Path) -> None:
    with pytest.raises(ToolchainError) as info:
        locate_zig(os.environ, search_path=[str(tmp_path)])
    assert "ziglang package (zig) is not installed" in str(info.value)
    assert (
        info.value.hint == f"install the pinned zig: pip install 'ziglang=={pinned_zig_version()}'"
    )
    assert info.value.exit_code == 3


def test_wrong_version_is_refused_unless_asked(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    package = fake_package(site)
    fake_zig(package / "zig", "0.11.0")
    with pytest.raises(ToolchainError, match=r"zig 0\.11\.0 at .* is not the pinned version"):
        locate_zig(os.environ, search_path=[str(site)])
    zig = locate_zig(os.environ, search_path=[str(site)], require_pin=False)
    assert zig.version == "0.11.0"
    assert zig.to_json()["matches_pin"] is False


def test_broken_binary(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    package = fake_package(site)
    binary = package / "zig"
    binary.write_text("#!/bin/sh\nexit 3\n")
    binary.chmod(0o755)
    with pytest.raises(ToolchainError, match="version failed with exit code 3") as info:
        locate_zig(os.environ, search_path=[str(site)])
    pin = pinned_zig_version()
    assert (
        info.value.hint
        == f"reinstall the pinned zig: pip install --force-reinstall 'ziglang=={pin}'"
    )


def test_package_is_found_without_importing_it(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    package = fake_package(site)
    (package / "__init__.py").write_text("raise SystemExit('ziglang was imported')\n")
    assert find_package_dir([str(site)]) == package


def test_pin_agrees_with_pyproject() -> None:
    text = (REPO / "pyproject.toml").read_text()
    (pin,) = re.findall(r'"ziglang==([^"]+)"', text)
    assert pin == pinned_zig_version()
    assert load_toml(toolchains_dir() / "targets.toml")["zig"]["version"] == pin


def test_installed_zig_is_the_pin() -> None:
    zig = locate_zig(os.environ)
    assert zig.version == pinned_zig_version()
    assert zig.direct
