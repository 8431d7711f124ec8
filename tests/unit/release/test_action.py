"""zigwheel's composite GitHub Action (action.yml): its inputs, its README table, its plan step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from zigwheel import __version__
from zigwheel.cli import app
from zigwheel.errors import ConfigError
from zigwheel.release.workflow import (
    NO_PROJECT,
    ProjectFacts,
    action_plan,
    load_settings,
    render_github_workflow,
    resolve_targets,
)

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "action.yml"
runner = CliRunner()


def _action() -> dict[str, Any]:
    document = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _readme_inputs() -> dict[str, str]:
    """The README's action-inputs table: input name -> default as written (quotes removed)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- action-inputs:", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines()[3:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name, default = cells[0].strip("`"), cells[1].strip("`")
        rows[name] = default[1:-1] if default.startswith('"') else default
    return rows


def test_readme_documents_every_input_with_its_default() -> None:
    inputs = _action()["inputs"]
    assert _readme_inputs() == {name: str(spec["default"]) for name, spec in inputs.items()}
    for name, spec in inputs.items():
        assert spec["description"].strip(), name
        assert spec["required"] is False, name  # every input has a default


def test_the_issue_s_inputs_exist() -> None:
    assert {"targets", "policy", "interpreters", "zigwheel-version", "args"} <= set(
        _action()["inputs"]
    )


def test_composite_steps_are_pinned_and_name_their_shell() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    pins = set(load_settings().actions.values())
    for step in action["runs"]["steps"]:
        if "uses" in step:
            # The same exact releases as the generated workflow.
            assert step["uses"] in pins, step["uses"]
        else:
            assert step["shell"] == "bash", step.get("name")


def test_expressions_name_only_defined_inputs_and_step_outputs() -> None:
    text = ACTION.read_text(encoding="utf-8")
    action = _action()
    used_inputs = set(re.findall(r"inputs\.([a-z][a-z0-9-]*)", text))
    assert used_inputs <= set(action["inputs"])
    assert used_inputs == set(action["inputs"])  # every input is used
    ids = {step["id"] for step in action["runs"]["steps"] if "id" in step}
    plan_keys = {
        line.split("=", 1)[0]
        for line in action_plan("", "", Path("/nonexistent"), host_arch="x86_64")
        .github_output().splitlines()
    }  # fmt: skip
    for step_id, key in re.findall(r"steps\.([a-z-]+)\.outputs\.([a-z-]+)", text):
        assert step_id in ids
        assert key in plan_keys, key


def _plan_script() -> str:
    (step,) = [s for s in _action()["runs"]["steps"] if s.get("id") == "plan"]
    return str(step["run"])


def _run_plan(folder: Path, targets: str, policy: str) -> dict[str, str]:
    output = folder / "github-output"
    output.write_text("")
    env = {
        **os.environ,
        "INPUT_TARGETS": targets,
        "INPUT_POLICY": policy,
        "GITHUB_OUTPUT": str(output),
        # The `python` of the step is the one zigwheel is installed in.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    script = _plan_script().replace("python - ", f"{sys.executable} - ", 1)
    done = subprocess.run(["bash", "-e", "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_plan_step_resolves_inputs_then_tool_zigwheel(tmp_path: Path) -> None:
    given = _run_plan(tmp_path, "x86_64,arm64", "musllinux_1_2")
    assert given["targets"] == "x86_64,aarch64"
    assert given["policy-args"] == "--musllinux musllinux_1_2"
    assert given["rust-targets"] == "x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
    assert given["version"] == __version__
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.zigwheel]\ntargets = ["aarch64"]\nmanylinux = "2_28"\n'
    )
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\n')
    table = _run_plan(tmp_path, "", "")
    assert table["targets"] == "aarch64"
    assert table["policy-args"] == "--manylinux manylinux_2_28"
    assert table["rust-targets"] == "aarch64-unknown-linux-gnu"
    assert table["cache-key"] != given["cache-key"]


def test_without_inputs_or_table_the_action_builds_for_the_runner(tmp_path: Path) -> None:
    plan = action_plan("", "", tmp_path, host_arch="aarch64")
    assert [t.platform_tag for t in plan.targets] == ["manylinux_2_17_aarch64"]
    assert plan.policy_args == ()  # zigwheel build picks each architecture's default
    with pytest.raises(ConfigError):
        action_plan("sparc", "", tmp_path, host_arch="x86_64")


# --- the workflow that uses the action --------------------------------------------------------


def _use_action(**options: Any) -> dict[str, Any]:
    targets = resolve_targets(["x86_64", "aarch64"], ["manylinux_2_17"])
    document = yaml.safe_load(render_github_workflow(targets, use_action=True, **options))
    assert isinstance(document, dict)
    return document


def test_use_action_builds_with_zigwheel_s_action_and_keeps_the_test_jobs() -> None:
    facts = ProjectFacts(found=True, interpreters=("3.11", "3.12"), free_threaded=("3.13t",))
    document = _use_action(facts=facts)
    steps = document["jobs"]["wheels"]["steps"]
    (step,) = [s for s in steps if "zigwheel's action" in s.get("name", "")]
    assert step["uses"] == f"zigwheel/zigwheel@v{__version__}"
    assert set(step["with"]) <= set(_action()["inputs"])
    assert step["with"]["interpreters"] == "3.11,3.12"
    assert step["with"]["free-threaded"] == "3.13t"
    assert step["with"]["artifact-name"] == "dist-wheels-${{ matrix.platform }}"
    assert "zigwheel-version" not in step["with"]  # the action installs its own copy
    assert not [s for s in steps if s.get("name") in {"Install zigwheel", "Build", "Check"}]
    assert "test-arm" in document["jobs"]
    pinned = _use_action(facts=NO_PROJECT, zigwheel_requirement="zigwheel==9.9.9",
                         action_ref="someone/zigwheel@v9.9.9")  # fmt: skip
    steps = pinned["jobs"]["wheels"]["steps"]
    (step,) = [s for s in steps if "zigwheel's action" in s.get("name", "")]
    assert step["uses"] == "someone/zigwheel@v9.9.9"
    assert step["with"]["zigwheel-version"] == "zigwheel==9.9.9"


def test_use_action_refuses_one_job_and_a_bad_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--use-action"):
        _use_action(one_job=True)
    result = runner.invoke(app, ["ci", "github", "-o", "-", "--use-action",
                                 "--action-ref", "not a ref"])  # fmt: skip
    assert isinstance(result.exception, ConfigError)
    ok = runner.invoke(app, ["ci", "github", "-o", "-", "--use-action",
                             "--action-ref", "me/zigwheel@v1.2.3"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "uses: me/zigwheel@v1.2.3" in ok.stdout
    assert "#   zigwheel ci github --use-action --action-ref me/zigwheel@v1.2.3\n" in ok.stdout
