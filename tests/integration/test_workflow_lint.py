"""The generated GitHub workflows pass actionlint, the GitHub Actions workflow linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from zigwheel.release.workflow import (
    NO_PROJECT,
    ProjectFacts,
    render_github_workflow,
    resolve_targets,
)


def _actionlint() -> str:
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    assert found, "actionlint is missing: install the test extras (pip install -e '.[test]')"
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", "-oneline", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=path.parent,
    )


# A non-abi3 crate (several interpreters and a free-threaded build) and an abi3 one.
CRATE = ProjectFacts(found=True, name="demo", pyo3="0.26.0",
                     interpreters=("3.10", "3.11", "3.12", "3.13", "3.14"),
                     free_threaded=("3.13t", "3.14t"))  # fmt: skip
ABI3 = ProjectFacts(found=True, name="demo", abi3=True, pyo3="0.23.0", free_threaded=("3.13t",))
GLIBC_MUSL = ["manylinux_2_28", "musllinux_1_2"]

VARIANTS: list[tuple[list[str], list[str], dict[str, Any]]] = [
    (["x86_64", "aarch64"], ["manylinux_2_17"], {}),
    (["x86_64", "aarch64"], ["manylinux_2_17"], {"one_job": True}),
    (["x86_64", "aarch64", "i686", "armv7l"], GLIBC_MUSL, {"facts": CRATE}),
    (["x86_64", "aarch64", "ppc64le", "s390x"], GLIBC_MUSL, {"one_job": True, "facts": ABI3}),
    (["riscv64"], ["manylinux_2_31"], {"one_job": True}),
    (["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"],
     {"facts": CRATE, "all_platforms": True, "strict": True}),
    (["x86_64", "aarch64"], ["manylinux_2_17"], {"one_job": True, "facts": ABI3,
                                                 "all_platforms": True}),
]  # fmt: skip


@pytest.mark.parametrize(("arches", "policies", "options"), VARIANTS)
def test_generated_workflow_passes_actionlint(
    tmp_path: Path, arches: list[str], policies: list[str], options: dict[str, Any]
) -> None:
    path = tmp_path / "wheels.yml"
    facts = options.get("facts", NO_PROJECT)
    text = render_github_workflow(resolve_targets(arches, policies), **{**options, "facts": facts})
    path.write_text(text)
    result = _lint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_does_reject_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really runs: the same workflow with a dangling `needs` fails."""
    text = render_github_workflow(resolve_targets(["x86_64", "aarch64"], ["manylinux_2_17"]))
    path = tmp_path / "wheels.yml"
    assert "needs: [wheels, test-arm, sdist]" in text
    path.write_text(text.replace("needs: [wheels, test-arm, sdist]", "needs: [wheelz, sdist]"))
    result = _lint(path)
    assert result.returncode == 1
    assert "wheelz" in result.stdout


ACTION = Path(__file__).resolve().parents[2] / "action.yml"


def _repository_using_the_action(tmp_path: Path, workflow: str) -> Path:
    """A repository with zigwheel's action.yml at its root: actionlint checks a `uses: ./`
    step's inputs against that file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    shutil.copy(ACTION, tmp_path / "action.yml")
    path = tmp_path / ".github" / "workflows" / "wheels.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow)
    return path


@pytest.mark.parametrize("facts", [NO_PROJECT, CRATE, ABI3])
def test_a_workflow_using_the_action_passes_actionlint(tmp_path: Path, facts: ProjectFacts) -> None:
    targets = resolve_targets(["x86_64", "aarch64", "s390x"], GLIBC_MUSL)
    text = render_github_workflow(targets, use_action=True, action_ref="./", facts=facts,
                                  zigwheel_requirement="zigwheel==0.1.0",
                                  all_platforms=True)  # fmt: skip
    result = _lint(_repository_using_the_action(tmp_path, text))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_checks_the_inputs_against_action_yml(tmp_path: Path) -> None:
    """The action's inputs really are read: an input action.yml lacks is an error."""
    text = render_github_workflow(resolve_targets(["x86_64"], ["manylinux_2_17"]),
                                  use_action=True, action_ref="./")  # fmt: skip
    assert "    free-threaded: " in text
    path = _repository_using_the_action(tmp_path, text.replace("free-threaded:", "free-thread:"))
    result = _lint(path)
    assert result.returncode == 1
    assert 'input "free-thread" is not defined in action' in result.stdout


def test_a_hand_written_workflow_with_every_input_passes_actionlint(tmp_path: Path) -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    inputs = "\n".join(f"          {name}: x" for name in action["inputs"])
    workflow = (
        "name: build\non: push\npermissions:\n  contents: read\njobs:\n  wheels:\n"
        "    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4.2.2\n"
        f"      - id: zw\n        uses: ./\n        with:\n{inputs}\n"
        "      - run: echo \"$WHEELS\"\n        env:\n"
        "          WHEELS: ${{ steps.zw.outputs.wheels }} ${{ steps.zw.outputs.rust-targets }}\n"
    )
    result = _lint(_repository_using_the_action(tmp_path, workflow))
    assert result.returncode == 0, result.stdout + result.stderr



OWN_WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"


def test_zigwheels_own_workflow_passes_actionlint_and_builds_on_every_host() -> None:
    """The workflow behind the macOS and Windows claim: it builds there, tests on Linux."""
    result = _lint(OWN_WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    jobs = yaml.safe_load(OWN_WORKFLOW.read_text())["jobs"]
    lint_steps = " ".join(str(step.get("run", "")) for step in jobs["lint-and-test"]["steps"])
    assert all(tool in lint_steps for tool in ("ruff check", "mypy", "pytest"))
    build = jobs["build-on-host"]
    assert build["strategy"]["matrix"]["host"] == ["macos-14", "macos-15-intel", "windows-latest"]
    build_steps = " ".join(str(step.get("run", step.get("uses"))) for step in build["steps"])
    assert "zigwheel doctor" in build_steps
    assert "zigwheel build examples/hello-abi3 -t x86_64,aarch64 --manylinux 2_17" in build_steps
    assert "actions/upload-artifact" in build_steps
    test = jobs["test-on-linux"]
    assert test["needs"] == "build-on-host"
    runners = {row["arch"]: row["runner"] for row in test["strategy"]["matrix"]["include"]}
    assert runners == {"x86_64": "ubuntu-24.04", "aarch64": "ubuntu-24.04-arm"}
    test_steps = " ".join(str(step.get("run", step.get("uses"))) for step in test["steps"])
    assert "zigwheel check dist" in test_steps
    assert "zigwheel test dist/*_${{ matrix.arch }}.whl --project examples/hello-abi3" in test_steps
