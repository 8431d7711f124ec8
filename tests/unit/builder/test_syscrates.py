"""The system-crate pre-check decides from what the build sees and advises what fits the crate."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from zigwheel.builder.jobs import plan_build
from zigwheel.builder.project import Project, read_project
from zigwheel.builder.settings import FlagValues, resolve_settings
from zigwheel.builder.syscrates import (
    feature_request,
    load_system_crates,
    parse_system_crates,
    static_warnings,
    system_crate_needs,
)
from zigwheel.errors import ConfigError, DataError, ToolchainError
from zigwheel.explain import explain
from zigwheel.resources import load_toml, toolchains_dir

X86, ARM = "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"
PYO3 = 'pyo3 = { version = "0.27", features = ["extension-module", "abi3-py39"] }'


def _project(
    folder: Path, dependencies: str, *, features: str = "", maturin: str = "",
    lock: tuple[str, ...] = ("pyo3", "openssl-sys"),
) -> Project:  # fmt: skip
    """A maturin project on disk, read as zigwheel build reads it."""
    (folder / "Cargo.toml").write_text(
        f'[package]\nname = "demo"\nversion = "0.1.0"\n\n[dependencies]\n{PYO3}\n{dependencies}\n'
        + (f"\n[features]\n{features}\n" if features else "")
    )
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.9,<2"]\nbuild-backend = "maturin"\n\n'
        f'[project]\nname = "demo"\n\n[tool.maturin]\n{maturin}\n'
    )
    packages = "".join(f'[[package]]\nname = "{name}"\nversion = "1.0.0"\n\n' for name in lock)
    (folder / "Cargo.lock").write_text(f"version = 4\n\n{packages}")
    return read_project(folder)


def _needs(project: Project, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
           triples: tuple[str, ...] = (X86,)) -> list[Any]:  # fmt: skip
    return system_crate_needs(project, maturin_args=args, env=env or {}, triples=triples)


def test_a_direct_openssl_sys_is_told_its_own_vendored_feature(tmp_path: Path) -> None:
    (need,) = _needs(_project(tmp_path, 'openssl-sys = "0.9"'))
    assert need.crate == "openssl-sys"
    assert "--maturin-arg=--features=openssl-sys/vendored" in need.fix
    assert "OPENSSL_DIR" in need.fix
    assert "X86_64_UNKNOWN_LINUX_GNU_OPENSSL_DIR" in need.fix
    assert "OPENSSL_STATIC=1" in need.fix


@pytest.mark.parametrize(
    "args",
    [
        ("--features=openssl-sys/vendored",),
        ("--features", "pyo3/abi3, openssl-sys/vendored"),
        ("-F", "openssl-sys/vendored"),
        ("-Fopenssl-sys/vendored",),
        ("--release", "--features=openssl/vendored"),
    ],
)
def test_the_vendored_feature_in_maturin_args_lets_the_build_through(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    project = _project(tmp_path, 'openssl-sys = "0.9"\nopenssl = "0.10"')
    assert _needs(project) != []
    assert _needs(project, args) == []


def test_the_vendored_feature_in_tool_maturin_lets_the_build_through(tmp_path: Path) -> None:
    project = _project(
        tmp_path, 'openssl-sys = "0.9"', maturin='features = ["openssl-sys/vendored"]'
    )
    assert _needs(project) == []


def test_a_dependency_declared_vendored_needs_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, 'openssl = { version = "0.10", features = ["vendored"] }')
    assert _needs(project) == []


def test_the_crate_s_own_feature_is_the_advice_and_passes(tmp_path: Path) -> None:
    project = _project(
        tmp_path, 'openssl = { version = "0.10", optional = true }',
        features='tls = ["dep:openssl"]\nvendored-openssl = ["tls", "openssl?/vendored"]',
    )  # fmt: skip
    (need,) = _needs(project)
    assert "own `vendored-openssl` feature" in need.fix
    assert "--maturin-arg=--features=vendored-openssl" in need.fix
    assert _needs(project, ("--features=vendored-openssl",)) == []
    assert _needs(project, ("--all-features",)) == []


def test_a_default_feature_that_vendors_passes_unless_defaults_are_off(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        'openssl = "0.10"',
        features='default = ["bundled"]\nbundled = ["openssl/vendored"]',
    )
    assert _needs(project) == []
    assert _needs(project, ("--no-default-features",)) != []


def test_openssl_only_through_another_crate_gets_the_dependency_line(tmp_path: Path) -> None:
    project = _project(tmp_path, 'native-tls = "0.2"', lock=("pyo3", "native-tls", "openssl-sys"))
    (need,) = _needs(project)
    assert 'openssl-sys = { version = "0.9", features = ["vendored"] }' in need.fix
    assert "cargo update" not in need.fix
    (locked,) = _needs(project, ("--locked",))
    assert "cargo update -p openssl-sys" in locked.fix


def test_locked_with_a_command_line_feature_is_said_to_pass(tmp_path: Path) -> None:
    (need,) = _needs(_project(tmp_path, 'openssl-sys = "0.9"'), ("--locked",))
    assert "leaves Cargo.lock as it is, so --locked still passes" in need.fix


def test_openssl_dir_supplies_every_target_a_prefixed_one_only_its_own(tmp_path: Path) -> None:
    project = _project(tmp_path, 'openssl-sys = "0.9"')
    both = (X86, ARM)
    assert _needs(project, env={"OPENSSL_DIR": "/opt/ssl"}, triples=both) == []
    (need,) = _needs(project, env={"AARCH64_UNKNOWN_LINUX_GNU_OPENSSL_DIR": "/o"}, triples=both)
    assert need.triples == (X86,)
    assert _needs(project, env={"OPENSSL_DIR": ""}) != []  # an empty variable supplies nothing


def test_a_supplied_openssl_without_static_is_warned_about(tmp_path: Path) -> None:
    project = _project(tmp_path, 'openssl-sys = "0.9"')
    (warning,) = static_warnings(project, {"OPENSSL_DIR": "/opt/ssl"}, (X86,))
    assert "OPENSSL_STATIC=1" in warning
    assert static_warnings(project, {"OPENSSL_DIR": "/o", "OPENSSL_STATIC": "1"}, (X86,)) == []


def test_the_vendored_build_in_cargo_lock_needs_nothing(tmp_path: Path) -> None:
    lock = ("pyo3", "openssl-sys", "openssl-src")
    assert _needs(_project(tmp_path, 'openssl-sys = "0.9"', lock=lock)) == []


def test_plan_build_refuses_in_words_explain_knows_and_passes_with_the_feature(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path, 'openssl-sys = "0.9"')

    def settings(args: list[str]) -> Any:
        return resolve_settings(
            pyproject=dict(project.pyproject), env={},
            flags=FlagValues(targets=["x86_64"], maturin_args=args),
            project_dir=tmp_path, host_arch="x86_64",
        )  # fmt: skip

    with pytest.raises(ConfigError) as raised:
        plan_build(project, settings([]), {"PATH": ""})
    assert [item.id for item in explain(str(raised.value))] == ["openssl-not-found"]
    assert "openssl-sys/vendored" in (raised.value.hint or "")
    with pytest.raises(ToolchainError, match="cargo was not found"):  # the next check: it passed
        plan_build(project, settings(["--features=openssl-sys/vendored"]), {"PATH": ""})
    with pytest.raises(ToolchainError, match="cargo was not found"):
        plan_build(project, settings([]), {"PATH": "", "OPENSSL_DIR": "/opt/ssl"})


def test_feature_request_reads_maturin_s_spellings() -> None:
    request = feature_request(
        ["-F", "a,b", "--features=c", "--no-default-features", "--frozen"], {"features": ["d"]}
    )
    assert sorted(request.named) == ["a", "b", "c", "d"]
    assert (request.default, request.every, request.locked) == (False, False, True)


def test_the_shipped_data_loads_and_broken_data_is_refused() -> None:
    assert {crate.name for crate in load_system_crates()} >= {"openssl-sys", "pq-sys"}
    document = load_toml(toolchains_dir() / "system-crates.toml")
    broken = copy.deepcopy(document)
    broken["crate"][0]["features"] = "openssl-sys/vendored"
    with pytest.raises(DataError, match="features must be a list"):
        parse_system_crates(broken, "system-crates.toml")
    broken = copy.deepcopy(document)
    broken["crate"][0]["vendor"] = True
    with pytest.raises(DataError, match="is not a table of"):
        parse_system_crates(broken, "system-crates.toml")
