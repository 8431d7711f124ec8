"""Projects zigwheel build meets: abi3 with or without a minimum, setuptools-rust, warnings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zigwheel import api
from zigwheel.builder.jobs import maturin_warnings
from zigwheel.builder.project import read_project
from zigwheel.errors import ConfigError
from zigwheel.explain import explain

LOGS = Path(__file__).resolve().parents[2] / "data" / "logs"


def _maturin_project(folder: Path, pyo3_features: str, requires: str | None) -> Path:
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\n\n[lib]\ncrate-type = ["cdylib"]\n\n'
        f'[dependencies]\npyo3 = {{ version = "0.27", features = [{pyo3_features}] }}\n'
    )
    line = f'requires-python = "{requires}"\n' if requires else ""
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.9,<2"]\nbuild-backend = "maturin"\n\n'
        f'[project]\nname = "demo"\n{line}'
    )
    return folder


@pytest.mark.parametrize(
    ("features", "minimum"),
    [('"abi3"', None), ('"abi3-py39"', "3.9"), ('"abi3", "abi3-py310", "abi3-py38"', "3.10")],
)
def test_the_abi3_minimum_is_read_from_pyo3_s_features(
    tmp_path: Path, features: str, minimum: str | None
) -> None:
    project = read_project(_maturin_project(tmp_path, features, ">=3.8"))
    assert project.abi3
    assert project.abi3_minimum == minimum


def _planned(folder: Path, *interpreters: str) -> list[tuple[str, ...]]:
    plan = api.plan(folder, targets=["x86_64", "aarch64"], interpreters=interpreters,
                    env=dict(os.environ))  # fmt: skip
    return [job.interpreters for job in plan.jobs]


@pytest.mark.parametrize(("requires", "chosen"), [(">=3.8", "3.9"), (">=3.11,<3.14", "3.11")])
def test_a_bare_abi3_builds_for_the_oldest_python_requires_python_allows(
    tmp_path: Path, requires: str, chosen: str
) -> None:
    folder = _maturin_project(tmp_path, '"extension-module", "abi3"', requires)
    assert _planned(folder) == [(chosen,), (chosen,)]
    assert _planned(folder, "3.12") == [("3.12",), ("3.12",)]  # -i still wins


def test_abi3_with_a_minimum_passes_no_interpreter(tmp_path: Path) -> None:
    folder = _maturin_project(tmp_path, '"abi3-py39"', ">=3.9")
    assert _planned(folder) == [(), ()]


def test_a_bare_abi3_without_requires_python_says_what_to_add(tmp_path: Path) -> None:
    folder = _maturin_project(tmp_path, '"abi3"', None)
    with pytest.raises(ConfigError, match="abi3 without a minimum Python version") as raised:
        _planned(folder)
    hint = raised.value.hint or ""
    assert '"abi3-py39"' in hint
    assert 'requires-python = ">=3.9"' in hint
    assert "-i 3.9" in hint


def _setuptools_rust_project(folder: Path, *, setup_py: bool = False) -> Path:
    (folder / "src" / "_ext").mkdir(parents=True)
    (folder / "src" / "_ext" / "Cargo.toml").write_text('[package]\nname = "ext"\n')
    if setup_py:  # an older layout: no [build-system] at all, setup.py imports the backend
        (folder / "setup.py").write_text(
            "from setuptools import setup\nfrom setuptools_rust import RustExtension\n"
            'setup(rust_extensions=[RustExtension("demo._ext", "src/_ext/Cargo.toml")])\n'
        )
        return folder
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=42.0.0", "wheel", "setuptools-rust>=1.7.0"]\n'
        'build-backend = "setuptools.build_meta"\n\n[project]\nname = "demo"\n\n'
        '[[tool.setuptools-rust.ext-modules]]\ntarget = "demo._ext"\n'
        'path = "src/_ext/Cargo.toml"\n'
    )
    return folder


@pytest.mark.parametrize("setup_py", [False, True], ids=["pyproject", "setup.py"])
def test_a_setuptools_rust_project_is_recognised_and_shown_the_shims_route(
    tmp_path: Path, setup_py: bool
) -> None:
    folder = _setuptools_rust_project(tmp_path, setup_py=setup_py)
    with pytest.raises(ConfigError, match="setuptools-rust") as raised:
        read_project(folder)
    assert "Cargo.toml" not in str(raised.value)
    hint = raised.value.hint or ""
    for needed in (
        'eval "$(zigwheel shims --env -t aarch64)"',
        "CARGO_BUILD_TARGET=aarch64-unknown-linux-gnu",
        "PYO3_CROSS_PYTHON_VERSION=3.X",
        "--plat-name=manylinux_2_17_aarch64",
        "zigwheel check dist/*.whl",
    ):
        assert needed in hint


def test_another_backend_is_still_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    with pytest.raises(ConfigError, match=r"builds with 'hatchling\.build', not maturin"):
        read_project(tmp_path)


def test_maturin_s_warnings_are_read_from_a_real_build_log() -> None:
    log = (LOGS / "module-init-symbol-missing.log").read_text()
    (warning,) = maturin_warnings(log)
    assert warning.startswith("Couldn't find the symbol `PyInit_hello_other`")
    assert [item.id for item in explain(warning)] == ["module-init-symbol-missing"]
    assert maturin_warnings("warning: unused variable `x`\n   Compiling demo\n") == []
