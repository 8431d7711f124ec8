"""End-to-end: the generated workflow's build, check and test steps, run as written on this host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from zigwheel.cli import app

REPO = Path(__file__).resolve().parents[2]
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _steps(project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The one-job workflow zigwheel writes in ``project``: step name -> its shell script."""
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["ci", "github", "-o", "-", "-t", "x86_64", "--one-job",
                                      "--strict"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return {step["name"]: step["run"] for step in document["jobs"]["wheels"]["steps"]
            if "run" in step and "name" in step}  # fmt: skip


@pytest.mark.parametrize("name", ["versioned", "hello-abi3"])
def test_the_workflow_steps_build_check_and_test_a_real_project(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_cache: Path
) -> None:
    """The commands, the interpreter list and the wheel globs of the workflow fit the wheels
    zigwheel really builds: a non-abi3 crate (one wheel per Python) and an abi3 one."""
    project = tmp_path / name
    ignore = shutil.ignore_patterns("target", "dist")
    shutil.copytree(REPO / "examples" / name, project, ignore=ignore)
    pyproject = project / "pyproject.toml"
    # The host's Python only: the runner would set up every version requires-python allows.
    text = pyproject.read_text().replace(
        "[tool.zigwheel]\n", f'[tool.zigwheel]\ninterpreters = ["{HOST_PYTHON}"]\n', 1
    )
    pyproject.write_text(text)
    steps = _steps(project, monkeypatch)
    tests = steps["Test the manylinux_2_17_x86_64 wheels with the project's tests"]
    assert tests.strip().endswith(" --strict")
    if name == "hello-abi3":
        # [tool.zigwheel] interpreters names a version: the abi3 crate is built for it, and tested
        # with it; the glob must match the wheel maturin wrote.
        assert f"dist/*-abi3-*manylinux_2_17_x86_64*.whl --python python{HOST_PYTHON}" in tests
    env = {**os.environ, "ZIGWHEEL_CACHE_DIR": str(session_cache),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    test_step = "Test the manylinux_2_17_x86_64 wheels with the project's tests"
    for step in ("Build", "Check", test_step):
        done = subprocess.run(["bash", "-e", "-c", steps[step]], cwd=project, env=env, text=True,
                              capture_output=True, check=False, timeout=1800)  # fmt: skip
        assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"
    result = done.stdout + done.stderr
    assert "1 passed, 0 failed, 0 not tested" in result
    assert "command python -m pytest" in result
