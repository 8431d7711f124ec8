"""The generated GitHub workflows pass actionlint, the GitHub Actions workflow linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zigwheel.release.workflow import render_github_workflow, resolve_targets


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


VARIANTS = [
    (["x86_64", "aarch64"], ["manylinux_2_17"], False),
    (["x86_64", "aarch64"], ["manylinux_2_17"], True),
    (["x86_64", "aarch64", "i686", "armv7l"], ["manylinux_2_28", "musllinux_1_2"], False),
    (["x86_64", "aarch64", "ppc64le", "s390x"], ["manylinux_2_28", "musllinux_1_2"], True),
    (["riscv64"], ["manylinux_2_31"], True),
]


@pytest.mark.parametrize(("arches", "policies", "one_job"), VARIANTS)
def test_generated_workflow_passes_actionlint(
    tmp_path: Path, arches: list[str], policies: list[str], one_job: bool
) -> None:
    path = tmp_path / "wheels.yml"
    path.write_text(render_github_workflow(resolve_targets(arches, policies), one_job=one_job))
    result = _lint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_does_reject_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really runs: the same workflow with a dangling `needs` fails."""
    text = render_github_workflow(resolve_targets(["x86_64"], ["manylinux_2_17"]))
    path = tmp_path / "wheels.yml"
    path.write_text(text.replace("needs: [wheels, sdist]", "needs: [wheelz, sdist]"))
    result = _lint(path)
    assert result.returncode == 1
    assert "wheelz" in result.stdout
