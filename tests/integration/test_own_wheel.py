"""zigwheel's own wheel: the toolchain data ships inside it and is read from there installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]

PROBE = """
import json, zigwheel
from zigwheel.resources import data_dir, toolchains_dir
from zigwheel.toolchain.shims import render_shims
from zigwheel.toolchain.targets import pinned_zig_version, resolve_target
files = render_shims(resolve_target("aarch64", "musllinux_1_2"), ["zig"])
print(json.dumps({"package": zigwheel.__file__, "toolchains": str(toolchains_dir()),
                  "data": str(data_dir()), "pin": pinned_zig_version(), "files": sorted(files)}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling (zigwheel's build backend, in the test extra) is not installed")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [*PIP_WHEEL, "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("zigwheel-*.whl")
    return built


def test_wheel_holds_the_toolchain_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {
        f"zigwheel/toolchains/{path.relative_to(REPO / 'toolchains').as_posix()}"
        for path in (REPO / "toolchains").rglob("*")
        if path.is_file()
    }
    for name in (
        "zigwheel/toolchains/targets.toml",
        "zigwheel/toolchains/rewrites.toml",
        "zigwheel/toolchains/templates/compiler.sh",
        "zigwheel/toolchains/templates/tool.sh",
        "zigwheel/toolchains/templates/toolchain.cmake",
    ):
        assert name in shipped  # the repository still has it ...
    assert shipped <= names, sorted(shipped - names)  # ... and so does the wheel, every file
    assert "zigwheel/data/explanations.toml" in names
    assert not [name for name in names if name.startswith("toolchains/")]  # only inside zigwheel/


def test_installed_wheel_reads_its_own_data_not_the_repository(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what an installer lays out in site-packages
    # PYTHONPATH puts the unpacked wheel before any zigwheel installed in this environment.
    env = dict(os.environ, PYTHONPATH=str(site), ZIGWHEEL_CACHE_DIR=str(tmp_path / "cache"))
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result

    result = run("-c", PROBE)
    found = json.loads(result.stdout)
    assert Path(found["package"]).parent == site / "zigwheel"
    # The repository fallback (<package>/../../toolchains) would point outside the wheel.
    assert Path(found["toolchains"]) == site / "zigwheel" / "toolchains"
    assert Path(found["data"]) == site / "zigwheel" / "data"
    assert found["files"] == ["ar", "c++", "cc", "linker", "ranlib", "toolchain.cmake"]
    shims = run("-m", "zigwheel", "shims", "-t", "x86_64", "--json")
    assert Path(json.loads(shims.stdout)["paths"]["cc"]).is_file()
