"""Settings precedence: default < [tool.zigwheel] < ZIGWHEEL_* < flags, and clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from zigwheel.builder.jobs import plan_build
from zigwheel.builder.project import Project, read_project
from zigwheel.builder.settings import (
    BUILD,
    BUILD_SETTINGS,
    DEFAULT_TEST_TIMEOUT,
    SETTINGS,
    TABLE_KEYS,
    BuildSettings,
    FlagValues,
    TestFlagValues,
    TestSettings,
    resolve_settings,
    resolve_test_settings,
    setting,
)
from zigwheel.errors import ConfigError, ToolchainError

PROJECT = Path("/project")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _resolve(table: Mapping[str, object], env: dict[str, str], flags: FlagValues) -> BuildSettings:
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
    # stdout is not a terminal: the table is plain, one line per job however wide (issue 17),
    # never cut short with "…" nor folded.
    assert "┃" not in text
    assert "…" not in text
    (row,) = [line for line in text.splitlines() if line.startswith("x86_64 ")]
    assert row.split() == [
        "x86_64", "manylinux_2_28", "x86_64-unknown-linux-gnu", "x86_64-linux-gnu.2.28", "abi3",
        "default",
    ]  # fmt: skip
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
        abi3_minimum="3.9" if abi3 else None,
    )


def test_system_crates_need_their_vendored_build() -> None:
    settings = _resolve({}, {}, FlagValues())
    with pytest.raises(ConfigError, match="openssl-sys") as raised:
        plan_build(_project({"openssl-sys"}), settings, {"PATH": ""})
    assert "vendored" in (raised.value.hint or "")
    with pytest.raises(ToolchainError, match="cargo was not found"):  # past it: the next check
        plan_build(_project({"openssl-sys", "openssl-src"}), settings, {"PATH": ""})


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


# --- The settings table: each row through each layer -------------------------------------------

CWD = Path("/here")

# key -> (default, then per layer: what the layer is given, and the value it must make). The layers
# stack: the environment step keeps the table's entries and the flag step keeps both, so each step
# shows a later layer winning (or, for `environment`, adding). None: the setting has no such layer.
LayerCase = tuple[dict[str, Any], object]
ROW_CASES: dict[str, tuple[object, LayerCase, LayerCase | None, LayerCase | None]] = {
    "targets": (
        ("x86_64",),
        ({"targets": ["x86_64", "aarch64"]}, ("x86_64", "aarch64")),
        ({"ZIGWHEEL_TARGETS": "aarch64, i686"}, ("aarch64", "i686")),
        ({"targets": ["riscv64,x86_64", "riscv64"]}, ("riscv64", "x86_64")),
    ),
    "policy": (
        None,
        ({"musllinux": "1_2"}, "musllinux_1_2"),
        ({"ZIGWHEEL_MANYLINUX": " 2014 "}, "manylinux2014"),
        ({"manylinux": "manylinux_2_28"}, "manylinux_2_28"),
    ),
    "interpreters": (
        (),
        ({"interpreters": "3.10 3.11"}, ("3.10", "3.11")),
        ({"ZIGWHEEL_INTERPRETERS": "3.12"}, ("3.12",)),
        ({"interpreters": ["3.13"]}, ("3.13",)),
    ),
    "out-dir": (
        PROJECT / "dist",
        ({"out-dir": "w"}, PROJECT / "w"),
        ({"ZIGWHEEL_OUT_DIR": "e"}, CWD / "e"),
        ({"out_dir": Path("f")}, CWD / "f"),
    ),
    "maturin-args": (
        (),
        ({"maturin-args": ["--features", "a,b"]}, ("--features", "a,b")),
        ({"ZIGWHEEL_MATURIN_ARGS": '--features "a b"'}, ("--features", "a b")),
        ({"maturin_args": ["--locked", "--locked"]}, ("--locked", "--locked")),
    ),
    "environment": (
        {},
        ({"environment": {"A": "1", "B": "1"}}, {"A": "1", "B": "1"}),
        ({"ZIGWHEEL_ENVIRONMENT": "B=2 C=3"}, {"A": "1", "B": "2", "C": "3"}),
        None,
    ),
    "test-command": (
        None,
        ({"test-command": ["pytest -q", "python -c 1"]}, "pytest -q && python -c 1"),
        None,
        ({"command": "pytest"}, "pytest"),
    ),
    "test-requires": (
        (),
        ({"test-requires": ["pytest>=8", "numpy>=2,<3"]}, ("pytest>=8", "numpy>=2,<3")),
        ({"ZIGWHEEL_TEST_REQUIRES": 'pytest "numpy >= 2, < 3"'}, ("pytest", "numpy >= 2, < 3")),
        ({"requires": ["hypothesis"]}, ("hypothesis",)),
    ),
    "test-extras": (
        (),
        ({"test-extras": "test"}, ("test",)),
        ({"ZIGWHEEL_TEST_EXTRAS": "a,b c"}, ("a", "b", "c")),
        ({"extras": ["fast"]}, ("fast",)),
    ),
    "test-groups": (
        (),
        ({"test-groups": ["test", "docs"]}, ("test", "docs")),
        ({"ZIGWHEEL_TEST_GROUPS": "lint"}, ("lint",)),
        ({"groups": ["a.b_c-d"]}, ("a.b_c-d",)),
    ),
    "test-timeout": (
        900.0,
        ({"test-timeout": 60}, 60.0),
        ({"ZIGWHEEL_TEST_TIMEOUT": "1.5"}, 1.5),
        ({"timeout": 30}, 30.0),
    ),
}


def _row_value(
    key: str, table: dict[str, Any], env: dict[str, str], flags: dict[str, Any]
) -> tuple[object, str]:
    """The value and source of one row, resolved the way its command's settings are."""
    row = setting(key)
    pyproject = {"tool": {"zigwheel": table}}
    if row.command == BUILD:
        settings: BuildSettings | TestSettings = resolve_settings(
            pyproject=pyproject, env=env, flags=FlagValues(**flags),
            project_dir=PROJECT, host_arch="x86_64", cwd=CWD,
        )  # fmt: skip
    else:
        settings = resolve_test_settings(
            pyproject=pyproject, env=env, flags=TestFlagValues(**flags),
            project_dir=PROJECT, cwd=CWD,
        )  # fmt: skip
    return getattr(settings, row.attr), settings.sources[key]


def test_every_row_has_a_layer_case_and_every_layer_a_spelling() -> None:
    assert set(ROW_CASES) == {row.key for row in SETTINGS}
    for row in SETTINGS:
        _, _, env_case, flag_case = ROW_CASES[row.key]
        assert row.names, row.key
        assert bool(row.variables) is (env_case is not None), row.key
        assert bool(row.flags) is (flag_case is not None), row.key
        assert row.help.strip(), row.key
        assert "\n" not in row.help, row.key
        assert all(variable.startswith("ZIGWHEEL_") for variable in row.variables), row.key


@pytest.mark.parametrize("key", ROW_CASES)
def test_each_row_through_each_layer_records_its_source(key: str) -> None:
    default, table_case, env_case, flag_case = ROW_CASES[key]
    assert _row_value(key, {}, {}, {}) == (default, "default")
    table, table_value = table_case
    assert _row_value(key, table, {}, {}) == (table_value, "pyproject")
    env: dict[str, str] = {}
    if env_case is not None:
        env, env_value = env_case
        assert _row_value(key, table, env, {}) == (env_value, "env")
        # A blank variable is how a shell unsets a setting for one command.
        blank = dict.fromkeys(env, "  ")
        assert _row_value(key, table, blank, {}) == (table_value, "pyproject")
    if flag_case is not None:
        flags, flag_value = flag_case
        assert _row_value(key, table, env, flags) == (flag_value, "flag")


def test_environment_items_keep_their_own_sources_through_the_loop() -> None:
    settings = resolve_settings(
        pyproject={"tool": {"zigwheel": {"environment": {"A": "1", "B": "1"}}}},
        env={"ZIGWHEEL_ENVIRONMENT": "B=2"}, flags=FlagValues(),
        project_dir=PROJECT, host_arch="x86_64", cwd=CWD,
    )  # fmt: skip
    assert settings.environment_sources == {"A": "pyproject", "B": "env"}
    # An empty table names no variable, so the setting keeps its default source.
    empty = _resolve({"environment": {}}, {}, FlagValues())
    assert empty.sources["environment"] == "default"


def test_test_settings_have_the_rows_defaults_and_sources() -> None:
    settings = resolve_test_settings(pyproject={}, env={}, project_dir=PROJECT)
    assert settings == TestSettings(
        command=None, requires=(), extras=(), groups=(), timeout=DEFAULT_TEST_TIMEOUT,
        sources=dict.fromkeys(
            ("test-command", "test-requires", "test-extras", "test-groups", "test-timeout"),
            "default",
        ),
    )  # fmt: skip


def test_the_build_plan_shows_only_build_rows() -> None:
    assert [row.key for row in BUILD_SETTINGS] == [
        "targets", "policy", "interpreters", "out-dir", "maturin-args", "environment",
    ]  # fmt: skip
    assert set(_resolve({}, {}, FlagValues()).sources) == {row.key for row in BUILD_SETTINGS}


def test_every_table_key_is_in_the_readme_configuration_section() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("### Configuration", 1)[1].split("\n### ", 1)[0]
    for row in SETTINGS:
        for name in (*row.names, *row.variables):
            assert name in section, name


# --- One rule for relative paths: relative to where the path was written ------------------------


def test_a_relative_path_is_relative_to_where_it_was_written() -> None:
    table = {"out-dir": "wheels"}
    assert _row_value("out-dir", table, {}, {})[0] == PROJECT / "wheels"
    assert _row_value("out-dir", {}, {"ZIGWHEEL_OUT_DIR": "wheels"}, {})[0] == CWD / "wheels"
    assert _row_value("out-dir", {}, {}, {"out_dir": Path("wheels")})[0] == CWD / "wheels"
    # An absolute path is itself in every layer.
    assert _row_value("out-dir", {"out-dir": "/abs"}, {}, {})[0] == Path("/abs")
    assert _row_value("out-dir", {}, {"ZIGWHEEL_OUT_DIR": "/abs"}, {})[0] == Path("/abs")
    assert _row_value("out-dir", {}, {}, {"out_dir": Path("/abs")})[0] == Path("/abs")


def test_the_current_folder_is_the_default_base_of_variables_and_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"ZIGWHEEL_OUT_DIR": "from-env"}
    settings = resolve_settings(
        pyproject={}, env=env, flags=FlagValues(), project_dir=PROJECT, host_arch="x86_64"
    )
    assert settings.out_dir == tmp_path / "from-env"
    settings = resolve_settings(
        pyproject={}, env=env, flags=FlagValues(out_dir=Path("from-flag")),
        project_dir=PROJECT, host_arch="x86_64",
    )  # fmt: skip
    assert settings.out_dir == tmp_path / "from-flag"


@pytest.mark.parametrize(
    ("arguments", "env", "expected"),
    [
        ([], {"ZIGWHEEL_OUT_DIR": "env-wheels"}, "cwd/env-wheels"),
        (["-o", "flag-wheels"], {}, "cwd/flag-wheels"),
        ([], {}, "project/dist"),
    ],
)
def test_the_cli_follows_the_relative_path_rule(
    tmp_path: Path, arguments: list[str], env: dict[str, str], expected: str
) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "hello-abi3", project, ignore=shutil.ignore_patterns("target"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    command = [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
               "--print-plan", "--json", *arguments]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, check=True
    )
    plan = json.loads(done.stdout)["plan"]
    assert Path(plan["out_dir"]) == tmp_path / expected


# --- Unknown keys and wrong types are ConfigErrors that say what to write ------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("target", "targets"),
        ("out_dir", "out-dir"),
        ("outdir", "out-dir"),
        ("test-timout", "test-timeout"),
        ("test-require", "test-requires"),
        ("maturin_args", "maturin-args"),
        ("manylinx", "manylinux"),
    ],
)
def test_an_unknown_key_gets_a_did_you_mean(key: str, suggestion: str) -> None:
    with pytest.raises(ConfigError, match="unknown key") as caught:
        _resolve({key: "x"}, {}, FlagValues())
    assert caught.value.hint is not None
    assert f"did you mean {key!r} -> {suggestion!r}?" in caught.value.hint


def test_an_unknown_key_far_from_every_known_one_gets_the_list_only() -> None:
    with pytest.raises(ConfigError, match="unknown key") as caught:
        _resolve({"zzzzzz": 1}, {}, FlagValues())
    assert caught.value.hint is not None
    assert "did you mean" not in caught.value.hint
    assert "known keys: targets" in caught.value.hint


def _resolve_for(key: str, pyproject: Mapping[str, Any]) -> BuildSettings | TestSettings:
    """Resolve the settings of the command that the table key ``key`` belongs to."""
    (row,) = (row for row in SETTINGS if key in row.names)
    if row.command == BUILD:
        return resolve_settings(
            pyproject=pyproject, env={}, flags=FlagValues(), project_dir=PROJECT, host_arch="x86_64"
        )
    return resolve_test_settings(pyproject=pyproject, env={}, project_dir=PROJECT)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"targets": 5}, "[tool.zigwheel] targets must be a string or a list of strings, not 5"),
        ({"out-dir": 3}, "[tool.zigwheel] out-dir must be a string (a path), not 3"),
        ({"out-dir": ["a"]}, "[tool.zigwheel] out-dir must be a string (a path)"),
        ({"interpreters": [3.11]}, "[tool.zigwheel] interpreters must be a string or a list"),
        ({"maturin-args": 5}, "[tool.zigwheel] maturin-args must be a string or a list"),
        ({"musllinux": 1.2}, "[tool.zigwheel] musllinux must be a string, not 1.2"),
        ({"environment": "A=1"}, "[tool.zigwheel] environment must be a table of strings"),
        ({"test-command": 5}, "[tool.zigwheel] test-command must be a string or a list"),
        ({"test-requires": {"pytest": "8"}}, "[tool.zigwheel] test-requires must be a string or"),
        ({"test-extras": [1]}, "[tool.zigwheel] test-extras must be a string or a list"),
        ({"test-groups": True}, "[tool.zigwheel] test-groups must be a string or a list"),
        ({"test-timeout": "600"}, "[tool.zigwheel] test-timeout must be a positive number"),
        ({"test-timeout": True}, "[tool.zigwheel] test-timeout must be a positive number"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_key_and_the_type(
    table: dict[str, object], message: str
) -> None:
    (key,) = table
    pyproject = {"tool": {"zigwheel": table}}
    with pytest.raises(ConfigError) as caught:
        _resolve_for(key, pyproject)
    assert message in str(caught.value)
    assert caught.value.hint is not None
    assert f"write e.g. {key} = " in caught.value.hint


@pytest.mark.parametrize(
    ("table", "env", "message"),
    [
        ({"test-timeout": 0}, {}, "[tool.zigwheel] test-timeout must be a positive number"),
        ({"test-timeout": -1.5}, {}, "must be a positive number of seconds, not -1.5"),
        ({}, {"ZIGWHEEL_TEST_TIMEOUT": "soon"}, "ZIGWHEEL_TEST_TIMEOUT must be a number"),
        ({}, {"ZIGWHEEL_TEST_TIMEOUT": "inf"}, "ZIGWHEEL_TEST_TIMEOUT must be a positive"),
        ({}, {"ZIGWHEEL_TEST_TIMEOUT": "nan"}, "ZIGWHEEL_TEST_TIMEOUT must be a positive"),
        ({"test-requires": ["pytest>=", "x"]}, {}, "'pytest>=' is not a requirement"),
        ({}, {"ZIGWHEEL_TEST_REQUIRES": "pytest 'a b'"}, "ZIGWHEEL_TEST_REQUIRES: 'a b'"),
        ({}, {"ZIGWHEEL_TEST_REQUIRES": "'open"}, "not valid shell quoting"),
        ({"test-extras": ["te/st"]}, {}, "'te/st' is not an extra or dependency group"),
        ({}, {"ZIGWHEEL_TEST_GROUPS": "-x"}, "ZIGWHEEL_TEST_GROUPS: '-x' is not an extra"),
    ],
)
def test_bad_test_settings_are_refused(
    table: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_test_settings(pyproject={"tool": {"zigwheel": table}}, env=env, project_dir=PROJECT)
    assert message in str(caught.value)


def test_test_flags_are_checked_as_the_other_layers_are() -> None:
    with pytest.raises(ConfigError, match="--timeout must be a positive number"):
        resolve_test_settings(
            pyproject={}, env={}, flags=TestFlagValues(timeout=-1), project_dir=PROJECT
        )
    with pytest.raises(ConfigError, match="--test-requires: '!' is not a requirement"):
        resolve_test_settings(
            pyproject={}, env={}, flags=TestFlagValues(requires=["!"]), project_dir=PROJECT
        )


def test_bad_shell_quoting_in_maturin_args_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ZIGWHEEL_MATURIN_ARGS is not valid shell quoting"):
        _resolve({}, {"ZIGWHEEL_MATURIN_ARGS": "--features 'a"}, FlagValues())
    with pytest.raises(ConfigError, match=r"\[tool.zigwheel\] maturin-args is not valid shell"):
        _resolve({"maturin-args": '"open'}, {}, FlagValues())


@pytest.mark.parametrize("raw", [5, 2.5, True, "x", "", [], [1], ["a", 2], {"a": 1}, {}, [[]]])
@pytest.mark.parametrize("name", TABLE_KEYS)
def test_any_toml_value_is_a_setting_or_a_config_error(name: str, raw: object) -> None:
    """Never a TypeError or AttributeError from what a user wrote in [tool.zigwheel]."""
    pyproject = {"tool": {"zigwheel": {name: raw}}}
    hints: list[str | None] = []
    for key in ("targets", "test-timeout"):  # a build and a test resolution
        try:
            _resolve_for(key, pyproject)
        except ConfigError as err:
            hints.append(err.hint)
    assert None not in hints


@pytest.mark.parametrize("pyproject", [{"tool": "x"}, {"tool": {"zigwheel": ["a"]}}])
def test_a_tool_section_that_is_not_a_table_is_a_config_error(pyproject: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"\[tool.zigwheel\] in pyproject.toml must be a table"):
        resolve_settings(
            pyproject=pyproject, env={}, flags=FlagValues(), project_dir=PROJECT, host_arch="x86_64"
        )
