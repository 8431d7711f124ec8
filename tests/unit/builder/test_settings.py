"""Settings precedence: default < [tool.zigwheel] < ZIGWHEEL_* < flags, and clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zigwheel.builder.jobs import Project, plan_build, read_project, system_crate_problems
from zigwheel.builder.settings import FlagValues, resolve_settings
from zigwheel.errors import ConfigError

PROJECT = Path("/project")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _resolve(table: dict[str, object], env: dict[str, str], flags: FlagValues):  # type: ignore[no-untyped-def]
    return resolve_settings(
        pyproject={"tool": {"zigwheel": table}},
        env=env,
        flags=flags,
        project_dir=PROJECT,
        host_arch="x86_64",
    )


def test_defaults() -> None:
    settings = _resolve({}, {}, FlagValues())
    assert settings.targets == ("x86_64",)
    assert settings.policy is None
    assert settings.out_dir == PROJECT / "dist"
    assert set(settings.sources.values()) == {"default"}


def test_each_layer_overrides_the_one_before() -> None:
    table = {"targets": ["x86_64", "aarch64"], "manylinux": "2_28", "out-dir": "wheels"}
    settings = _resolve(table, {}, FlagValues())
    assert settings.targets == ("x86_64", "aarch64")
    assert settings.policy == "manylinux_2_28"
    assert settings.out_dir == PROJECT / "wheels"
    assert settings.sources["targets"] == "pyproject"

    env = {"ZIGWHEEL_TARGETS": "aarch64", "ZIGWHEEL_MANYLINUX": "2014"}
    settings = _resolve(table, env, FlagValues())
    assert settings.targets == ("aarch64",)
    assert settings.policy == "manylinux2014"
    assert settings.sources["policy"] == "env"
    assert settings.out_dir == PROJECT / "wheels"

    settings = _resolve(table, env, FlagValues(targets=["x86_64,i686"], musllinux="1_2"))
    assert settings.targets == ("x86_64", "i686")
    assert settings.policy == "musllinux_1_2"
    assert settings.sources["targets"] == settings.sources["policy"] == "flag"


def test_maturin_args_and_environment() -> None:
    table = {"maturin-args": "--features fast --locked", "environment": {"A": "1"}}
    settings = _resolve(table, {}, FlagValues())
    assert settings.maturin_args == ("--features", "fast", "--locked")
    assert settings.environment == {"A": "1"}


def test_interpreters_are_split_on_commas_in_every_layer() -> None:
    settings = _resolve({}, {}, FlagValues(interpreters=["3.11,3.12", "3.13"]))
    assert settings.interpreters == ("3.11", "3.12", "3.13")
    assert settings.sources["interpreters"] == "flag"
    settings = _resolve({}, {"ZIGWHEEL_INTERPRETERS": "3.10, 3.11"}, FlagValues())
    assert settings.interpreters == ("3.10", "3.11")
    settings = _resolve({"interpreters": ["3.9,3.10"]}, {}, FlagValues())
    assert settings.interpreters == ("3.9", "3.10")
    # A path to an interpreter is what maturin accepts too.
    settings = _resolve({}, {}, FlagValues(interpreters=["/opt/py/bin/python3"]))
    assert settings.interpreters == ("/opt/py/bin/python3",)


@pytest.mark.parametrize(
    ("table", "env", "flags", "where"),
    [
        ({}, {}, FlagValues(interpreters=["3.11;3.12"]), "--interpreter"),
        ({}, {}, FlagValues(interpreters=["311"]), "--interpreter"),
        ({}, {"ZIGWHEEL_INTERPRETERS": "cp311"}, FlagValues(), "ZIGWHEEL_INTERPRETERS"),
        ({"interpreters": ["3.x"]}, {}, FlagValues(), "interpreters"),
    ],
)
def test_interpreters_that_are_not_versions_are_refused(
    table: dict[str, object], env: dict[str, str], flags: FlagValues, where: str
) -> None:
    with pytest.raises(ConfigError, match="is not a Python version") as caught:
        _resolve(table, env, flags)
    assert where in str(caught.value)
    assert caught.value.hint is not None
    assert "-i 3.11,3.12" in caught.value.hint


def test_environment_from_table_and_variable_with_sources() -> None:
    table = {"environment": {"A": "1", "B": "2"}}
    settings = _resolve(table, {}, FlagValues())
    assert settings.sources["environment"] == "pyproject"
    env = {"ZIGWHEEL_ENVIRONMENT": 'B=3 C="two words" D='}
    settings = _resolve(table, env, FlagValues())
    assert settings.environment == {"A": "1", "B": "3", "C": "two words", "D": ""}
    assert settings.environment_sources == {"A": "pyproject", "B": "env", "C": "env", "D": "env"}
    assert settings.sources["environment"] == "env"
    assert _resolve({}, {}, FlagValues()).sources["environment"] == "default"


@pytest.mark.parametrize("text", ["A", "1A=x", "A=1 -x", 'A="open'])
def test_bad_environment_pairs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="ZIGWHEEL_ENVIRONMENT") as caught:
        _resolve({}, {"ZIGWHEEL_ENVIRONMENT": text}, FlagValues())
    assert caught.value.hint is not None
    assert "KEY=VALUE" in caught.value.hint


def test_test_command_may_be_a_list_as_zigwheel_test_reads_it() -> None:
    settings = _resolve({"test-command": ["pytest -q", "python -c 1"]}, {}, FlagValues())
    assert settings.test_command == "pytest -q && python -c 1"


def test_print_plan_shows_values_sources_and_environment(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(EXAMPLES / "hello-abi3", project, ignore=shutil.ignore_patterns("target"))
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert "[tool.zigwheel]\n" in text
    table = '[tool.zigwheel]\nenvironment = { FROM_TABLE = "1" }\n'
    pyproject.write_text(text.replace("[tool.zigwheel]\n", table))
    env = {**os.environ, "ZIGWHEEL_ENVIRONMENT": "FROM_SHELL=2", "COLUMNS": "80"}
    command = [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
               "--manylinux", "2_28", "--print-plan"]  # fmt: skip
    text = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    assert "policy: manylinux_2_28 (from flag)" in text
    assert "FROM_TABLE=1 (from pyproject)" in text
    assert "FROM_SHELL=2 (from env)" in text
    # The table is wider than 80 columns: its cells fold onto more lines instead of ending in "…".
    assert "┃" in text
    assert "…" not in text
    document = json.loads(
        subprocess.run(
            [*command, "--json"], capture_output=True, text=True, env=env, check=True
        ).stdout
    )
    assert document["plan"]["environment"] == {
        "FROM_TABLE": {"value": "1", "source": "pyproject"},
        "FROM_SHELL": {"value": "2", "source": "env"},
    }
    assert document["plan"]["policy"] == "manylinux_2_28"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"target": "x86_64"}, "unknown key"),
        ({"manylinux": 2.17}, "must be a string"),
        ({"targets": 3}, "string or a list"),
        ({"manylinux": "2_17", "musllinux": "1_2"}, "both a manylinux and a musllinux"),
        ({"environment": {"A": 1}}, "table of strings"),
    ],
)
def test_bad_settings_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _resolve(table, {}, FlagValues())


def _project(lock: set[str], *, abi3: bool = True, requires: str | None = None) -> Project:
    return Project(
        directory=PROJECT,
        manifest=PROJECT / "Cargo.toml",
        name="demo",
        abi3=abi3,
        requires_python=requires,
        pyproject={},
        lock_packages=frozenset(lock),
    )


def test_system_crates_need_their_vendored_build() -> None:
    errors, _ = system_crate_problems(frozenset({"openssl-sys", "pyo3"}))
    assert errors
    assert "vendored" in errors[0]
    errors, _ = system_crate_problems(frozenset({"openssl-sys", "openssl-src"}))
    assert not errors
    settings = _resolve({}, {}, FlagValues())
    with pytest.raises(ConfigError, match="openssl-sys"):
        plan_build(_project({"openssl-sys"}), settings, {"PATH": ""})


def test_unsupported_policy_for_arch_is_refused() -> None:
    settings = _resolve({}, {}, FlagValues(targets=["aarch64"], manylinux="2010"))
    with pytest.raises(ConfigError, match="aarch64"):
        plan_build(_project(set()), settings, {"PATH": ""})


ABI3_CARGO = {
    "dependency": 'pyo3 = { version = "0.27", features = ["abi3-py39"] }',
    "target dependency": (
        "[target.'cfg(unix)'.dependencies]\n"
        'pyo3 = { version = "0.27", features = ["abi3-py310"] }'
    ),
    "default feature": (
        'pyo3 = "0.27"\n[features]\ndefault = ["stable"]\nstable = ["pyo3/abi3-py39"]'
    ),
    "maturin feature": (
        'pyo3 = { version = "0.27", optional = true }\n'
        '[features]\nlimited = ["dep:pyo3", "pyo3?/abi3-py311"]'
    ),
}


@pytest.mark.parametrize("case", [*ABI3_CARGO, "none"])
def test_abi3_is_seen_where_pyo3_s_feature_is_turned_on(tmp_path: Path, case: str) -> None:
    body = ABI3_CARGO.get(case, 'pyo3 = { version = "0.27", features = ["extension-module"] }')
    dependencies = "" if body.startswith("[target") else "[dependencies]\n"
    (tmp_path / "Cargo.toml").write_text(f'[package]\nname = "x"\n\n{dependencies}{body}\n')
    maturin = '[tool.maturin]\nfeatures = ["limited"]\n' if case == "maturin feature" else ""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n{maturin}')
    assert read_project(tmp_path).abi3 is (case != "none")
