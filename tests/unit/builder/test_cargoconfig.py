"""A cargo config with `[unstable] build-std`: found where cargo looks, refused before building."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import pytest

from zigwheel import api
from zigwheel.builder.cargoconfig import (
    RustcFacts,
    config_files,
    find_build_std,
    honoured_for,
    rust_src_installed,
    rustc_facts,
)
from zigwheel.errors import ConfigError
from zigwheel.explain import explain
from zigwheel.toolchain.rustenv import rustc_sysroot

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BUILD_STD = '[unstable]\nbuild-std = ["std", "panic_abort"]\n'


def test_cargo_s_folders_are_searched_upwards_then_cargo_home(tmp_path: Path) -> None:
    project = tmp_path / "repo" / "py"
    (project / ".cargo").mkdir(parents=True)
    (tmp_path / "repo" / ".cargo").mkdir()
    (tmp_path / "home" / ".cargo").mkdir(parents=True)
    (project / ".cargo" / "config.toml").write_text("[build]\n")
    (tmp_path / "repo" / ".cargo" / "config").write_text(BUILD_STD)  # the old name
    (tmp_path / "repo" / ".cargo" / "config.toml").write_text("[build]\n")  # loses to it
    (tmp_path / "home" / ".cargo" / "config.toml").write_text("[build]\n")
    env = {"HOME": str(tmp_path / "home")}
    assert config_files(project, env) == [
        project / ".cargo" / "config.toml",
        tmp_path / "repo" / ".cargo" / "config",
        tmp_path / "home" / ".cargo" / "config.toml",
    ]
    found = find_build_std(project, env)
    assert found is not None
    assert found.source == str(tmp_path / "repo" / ".cargo" / "config")
    assert found.crates == ("std", "panic_abort")
    from_variable = find_build_std(tmp_path, {"CARGO_UNSTABLE_BUILD_STD": "std,core"})
    assert from_variable is not None
    assert from_variable.crates == ("std", "core")
    assert find_build_std(tmp_path, env) is None


def test_unstable_tables_count_for_the_host_triple_unless_nightly() -> None:
    stable = RustcFacts("x86_64-unknown-linux-gnu", nightly=False)
    triples = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]
    assert honoured_for(triples, stable, {}) == ["x86_64-unknown-linux-gnu"]
    assert honoured_for(triples, stable, {"RUSTC_BOOTSTRAP": "1"}) == triples
    assert (
        honoured_for(triples, RustcFacts("x86_64-unknown-linux-gnu", nightly=True), {}) == triples
    )
    assert honoured_for(triples, None, {}) == []


@pytest.mark.skipif(shutil.which("rustc") is None, reason="needs rustc")
def test_rustc_facts_come_from_the_real_rustc(tmp_path: Path) -> None:
    facts = rustc_facts("rustc", dict(os.environ), tmp_path)
    assert facts is not None
    assert facts.host.startswith(platform.machine())
    assert rustc_facts(str(tmp_path / "no-rustc"), dict(os.environ), tmp_path) is None


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_a_project_with_build_std_is_stopped_before_building_for_the_host(tmp_path: Path) -> None:
    project = tmp_path / "hello"
    shutil.copytree(
        EXAMPLES / "hello-abi3", project, ignore=shutil.ignore_patterns("dist", "target")
    )
    (project / ".cargo").mkdir()
    (project / ".cargo" / "config.toml").write_text(BUILD_STD)
    env = dict(os.environ)
    env.pop("CARGO_UNSTABLE_BUILD_STD", None)
    env.pop("RUSTC_BOOTSTRAP", None)
    host = platform.machine()
    sysroot = rustc_sysroot("rustc", env, project)
    assert sysroot is not None
    if rust_src_installed(sysroot):  # cargo can build std here: a warning, not a refusal
        plan = api.plan(project, targets=[host], env=env)
        assert any("[unstable] build-std in" in warning for warning in plan.warnings)
        return
    with pytest.raises(ConfigError) as raised:
        api.plan(project, targets=[host], env=env)
    message = str(raised.value)
    assert f"[unstable] build-std in {project / '.cargo' / 'config.toml'}" in message
    assert [item.id for item in explain(message)] == ["build-std-without-rust-src"]
    assert str(project / ".cargo" / "config.toml") in (raised.value.hint or "")
    assert "rustup component add rust-src" in (raised.value.hint or "")
