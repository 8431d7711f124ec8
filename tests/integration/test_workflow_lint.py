"""The generated GitHub workflows pass actionlint, the GitHub Actions workflow linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
