"""End-to-end: the generated workflow's build, check and test steps, run as written on this host."""

from __future__ import annotations

import os
import re
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


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The `${{ inputs.X }}` and `${{ steps.plan.outputs.X }}` expressions of action.yml."""
    value = re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: inputs[m.group(1)], value)
    return re.sub(r"\$\{\{ steps\.plan\.outputs\.([a-z-]+) \}\}", lambda m: outputs[m.group(1)],
                  value)  # fmt: skip


def test_the_action_s_steps_build_check_and_test_a_real_project(
    tmp_path: Path, session_cache: Path
) -> None:
    """action.yml's own scripts (plan, build, check, test), run as GitHub would run them."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    project = tmp_path / "hello-abi3"
    shutil.copytree(REPO / "examples" / "hello-abi3", project,
                    ignore=shutil.ignore_patterns("target", "dist"))  # fmt: skip
    inputs = {name: str(spec["default"]) for name, spec in action["inputs"].items()}
    inputs.update(targets="x86_64", policy="2_17", test="true",
                  args="--maturin-arg=--locked")  # fmt: skip
    github_output = tmp_path / "github-output"
    github_output.write_text("")
    base = {**os.environ, "ZIGWHEEL_CACHE_DIR": str(session_cache),
            "GITHUB_OUTPUT": str(github_output),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    outputs: dict[str, str] = {}
    ran = []
    for step in action["runs"]["steps"]:
        if step.get("name") not in {"Plan the targets", "Build", "Check",
                                    "Test with the project's tests"}:  # fmt: skip
            continue
        given = step.get("env", {})
        env = {**base, **{key: _expand(str(v), inputs, outputs) for key, v in given.items()}}
        script = step["run"].replace("python - ", f"{sys.executable} - ", 1)
        done = subprocess.run(["bash", "-e", "-c", script], cwd=project, env=env, text=True,
                              capture_output=True, check=False, timeout=1800)  # fmt: skip
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout}\n{done.stderr}"
        outputs = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
        ran.append((step["name"], done.stdout + done.stderr))
    assert [name for name, _ in ran] == ["Plan the targets", "Build", "Check",
                                         "Test with the project's tests"]  # fmt: skip
    assert outputs["policy-args"] == "--manylinux manylinux_2_17"
    (wheel,) = (project / "dist").glob("*.whl")
    assert "abi3-manylinux" in wheel.name or "-abi3-" in wheel.name
    assert "1 passed, 0 failed, 0 not tested" in ran[-1][1]
