"""Unit tests for zigwheel.release.workflow and `zigwheel ci github`: the rendered YAML, parsed."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from zigwheel import __version__
from zigwheel.cli import app
from zigwheel.errors import ConfigError, DataError
from zigwheel.release.workflow import (
    MIRROR_VARIABLE,
    fill,
    load_settings,
    parse_settings,
    render_github_workflow,
    resolve_targets,
    write_workflow,
)

runner = CliRunner()


def _render(arches: list[str], policies: list[str], *, one_job: bool = False) -> dict[str, Any]:
    text = render_github_workflow(resolve_targets(arches, policies), one_job=one_job)
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def _uses(document: dict[str, Any]) -> list[str]:
    return [
        step["uses"] for job in document["jobs"].values() for step in job["steps"] if "uses" in step
    ]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_matrix_has_one_entry_per_target() -> None:
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17"])
    matrix = document["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    assert matrix == [
        {
            "arch": "x86_64",
            "policy": "manylinux_2_17",
            "platform": "manylinux_2_17_x86_64",
            "rust-target": "x86_64-unknown-linux-gnu",
            "test": "host",
            "debian-arch": "amd64",
            "debian-release": "bookworm",
        },
        {
            "arch": "aarch64",
            "policy": "manylinux_2_17",
            "platform": "manylinux_2_17_aarch64",
            "rust-target": "aarch64-unknown-linux-gnu",
            "test": "qemu",
            "debian-arch": "arm64",
            "debian-release": "bookworm",
        },
    ]
    runs = _runs(document["jobs"]["wheels"])
    assert "zigwheel build --target ${{ matrix.arch }} --manylinux ${{ matrix.policy }}" in runs
    assert "zigwheel check dist" in runs
    assert "zigwheel test dist" in runs
    assert "rustup target add ${{ matrix.rust-target }}" in runs
    assert "apt-get install -y -q qemu-user-static" in runs


def test_plain_runner_without_container_docker_or_qemu_actions() -> None:
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"])
    for name, job in document["jobs"].items():
        assert job["runs-on"] == load_settings().runner, name
        assert "container" not in job
        assert "services" not in job
    for ref in _uses(document):
        assert not re.search(r"docker|qemu|run-on-arch|maturin-action", ref, re.IGNORECASE), ref


def test_every_action_is_pinned_to_an_exact_release() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"])
    refs = _uses(document)
    assert refs
    for ref in refs:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", ref), ref
    assert any(ref.startswith("actions/upload-artifact@v4.") for ref in refs)


def test_wheels_are_uploaded_as_artifacts() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"])
    (upload,) = [
        s for s in document["jobs"]["wheels"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    assert upload["with"]["path"] == "dist/*.whl"
    assert upload["with"]["name"] == "dist-wheels-${{ matrix.platform }}"
    assert upload["with"]["if-no-files-found"] == "error"


def test_sdist_job_uses_maturin_sdist() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"])
    sdist = document["jobs"]["sdist"]
    assert "maturin sdist --out dist" in _runs(sdist)
    (upload,) = [s for s in sdist["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload["with"]["name"] == "dist-sdist"


def test_publish_uses_trusted_publishing_on_tags_only() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"])
    publish = document["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert sorted(publish["needs"]) == ["sdist", "wheels"]
    assert "startsWith(github.ref, 'refs/tags/')" in publish["if"]
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@v1.")
    assert "with" not in publish["steps"][-1]  # no password: trusted publishing
    download = publish["steps"][0]
    assert download["uses"].startswith("actions/download-artifact@v4.")
    assert download["with"] == {
        "pattern": "dist-*",
        "merge-multiple": True,
        "path": "dist",
    }
    assert "zigwheel publish --dry-run dist/*" in _runs(publish)
    # The top level grants only read access; nothing else can mint an OIDC token.
    assert document["permissions"] == {"contents": "read"}
    assert "pypi" not in json.dumps(document["jobs"]["wheels"]).lower()


def test_workflow_triggers() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"])
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = document[True]  # type: ignore[index]
    assert triggers["push"]["tags"] == ["v*"]
    assert "pull_request" in triggers
    assert "workflow_dispatch" in triggers


def test_musllinux_targets_are_checked_not_imported() -> None:
    document = _render(["x86_64"], ["musllinux_1_2"])
    (entry,) = document["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    assert entry["test"] == "none"
    assert entry["rust-target"] == "x86_64-unknown-linux-musl"


def test_one_job_builds_every_target_in_a_single_job() -> None:
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"], one_job=True)
    job = document["jobs"]["wheels"]
    assert "strategy" not in job
    runs = _runs(job)
    assert "rustup target add x86_64-unknown-linux-gnu x86_64-unknown-linux-musl " in runs
    for arch in ("x86_64", "aarch64"):
        for policy in ("manylinux_2_17", "musllinux_1_2"):
            assert f"zigwheel build --target {arch} --manylinux {policy} --out dist" in runs
    assert "zigwheel test dist/*manylinux_2_17_x86_64*.whl\n" in runs + "\n"
    assert "zigwheel test dist/*manylinux_2_17_aarch64*.whl --root debian:bookworm:arm64" in runs
    assert "musllinux_1_2_x86_64*.whl" not in runs  # no musl Python on the runner
    assert runs.count("qemu-user-static") == 1
    names = [step.get("name", "") for step in job["steps"]]
    assert names.index("Install qemu-user") < names.index(
        "Test the manylinux_2_17_aarch64 wheels under qemu-user"
    )


def test_one_job_without_foreign_targets_installs_no_qemu() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"], one_job=True)
    assert "qemu" not in _runs(document["jobs"]["wheels"])


def _mirror_check(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "Debian mirror" in s.get("name", "")]
    assert isinstance(step, dict)
    return step


@pytest.mark.parametrize("one_job", [False, True])
def test_qemu_jobs_stop_first_when_no_debian_mirror_is_set(one_job: bool) -> None:
    """Ubuntu's apt sources serve no Debian release: without the repository variable the job
    must stop before the build with an ::error:: naming the variable, not fail later."""
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17"], one_job=one_job)
    assert document["env"]["DEBIAN_MIRROR"] == "${{ vars." + MIRROR_VARIABLE + " }}"
    job = document["jobs"]["wheels"]
    check = _mirror_check(job)
    assert job["steps"].index(check) == 0  # before checkout, install and build
    assert ("if" in check) is not one_job
    if not one_job:
        assert check["if"] == "matrix.test == 'qemu'"
    script = check["run"]
    def sh(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False,
                              env={"PATH": os.defpath, **env})  # fmt: skip

    unset = sh({})
    assert unset.returncode == 1
    (line,) = unset.stdout.splitlines()
    assert line.startswith("::error title=")
    assert f"set the repository variable {MIRROR_VARIABLE}".lower() in line.lower()
    assert "Debian mirror URL" in line
    given = sh({"DEBIAN_MIRROR": "http://mirror.invalid/debian"})
    assert (given.returncode, given.stdout) == (0, "")
    roots = [line for line in _runs(job).splitlines() if "zigwheel root debian" in line]
    assert roots
    assert all(line.endswith('--mirror "$DEBIAN_MIRROR"') for line in roots)


@pytest.mark.parametrize("one_job", [False, True])
def test_host_only_workflow_needs_no_mirror(one_job: bool) -> None:
    document = _render(["x86_64"], ["manylinux_2_17", "musllinux_1_2"], one_job=one_job)
    names = [step.get("name", "") for step in document["jobs"]["wheels"]["steps"]]
    assert not [name for name in names if "mirror" in name.lower() or name == "Install qemu-user"]


def test_a_release_without_the_architecture_is_not_used() -> None:
    """bookworm ships no riscv64: that target's Debian root comes from a release that has it."""
    matrix = _render(["x86_64", "riscv64"], ["manylinux_2_31"])["jobs"]["wheels"]["strategy"]
    releases = {e["arch"]: e["debian-release"] for e in matrix["matrix"]["include"]}
    assert releases["x86_64"] == load_settings().debian_release
    assert releases["riscv64"] not in ("bookworm", "bullseye")
    one = _runs(_render(["riscv64"], ["manylinux_2_31"], one_job=True)["jobs"]["wheels"])
    assert f"--root debian:{releases['riscv64']}:riscv64" in one


def test_duplicate_targets_are_merged_and_bad_pairs_refused() -> None:
    assert len(resolve_targets(["x86_64", "amd64"], ["2_17", "manylinux2014"])) == 1
    with pytest.raises(ConfigError, match="riscv64"):
        resolve_targets(["riscv64"], ["manylinux_2_17"])
    with pytest.raises(ConfigError):
        resolve_targets([], ["manylinux_2_17"])


# --- the template filler and the data validation ---------------------------------------------


def test_fill_indents_multi_line_values_and_refuses_unknown_names() -> None:
    assert fill("a:\n  @@block@@\nb: @@x@@", {"block": "- 1\n- 2", "x": "y"}) == (
        "a:\n  - 1\n  - 2\nb: y\n"
    )
    with pytest.raises(DataError, match="@@nope@@"):
        fill("x: @@nope@@", {})
    with pytest.raises(DataError, match="line of its own"):
        fill("x: @@block@@", {"block": "a\nb"})


def test_shipped_settings_validate() -> None:
    settings = load_settings()
    assert settings.runner.startswith("ubuntu-")
    assert set(settings.actions) >= {"checkout", "upload-artifact", "pypi-publish"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actions": {"checkout": "actions/checkout@v4"}}, "exact"),
        ({"actions": {"checkout": "actions/checkout@main"}}, "exact"),
        ({"runner": ""}, "runner"),
        ({"schema": 2}, "schema"),
    ],
)
def test_settings_validation_rejects(change: dict[str, Any], message: str) -> None:
    settings = load_settings()
    document: dict[str, Any] = {
        "schema": 1,
        "runner": settings.runner,
        "runner_arch": settings.runner_arch,
        "python": settings.python,
        "debian_release": settings.debian_release,
        "actions": dict(settings.actions),
        "debian_arch": dict(settings.debian_arch),
    }
    for key, value in change.items():
        if isinstance(value, dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    with pytest.raises(DataError, match=message):
        parse_settings(document, settings.templates, source="github.toml")


def test_settings_validation_rejects_a_missing_template_or_unknown_action() -> None:
    settings = load_settings()
    document = {
        "schema": 1,
        "runner": "r",
        "runner_arch": "x86_64",
        "python": "3.12",
        "debian_release": "bookworm",
        "actions": dict(settings.actions),
        "debian_arch": {},
    }
    templates = dict(settings.templates)
    templates.pop("github-matrix.yml")
    with pytest.raises(DataError, match=r"github-matrix\.yml"):
        parse_settings(document, templates, source="github.toml")
    templates = {**settings.templates, "github.yml": "uses: @@action:nothing@@\n"}
    with pytest.raises(DataError, match="nothing"):
        parse_settings(document, templates, source="github.toml")


# --- writing ----------------------------------------------------------------------------------


def test_write_creates_keeps_refuses_and_forces(tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "wheels.yml"
    assert write_workflow("a: 1\n", path).action == "created"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert write_workflow("a: 1\n", path).action == "unchanged"
    with pytest.raises(ConfigError, match="differs") as refused:
        write_workflow("a: 2\n", path)
    assert "--force" in (refused.value.hint or "")
    assert path.read_text() == "a: 1\n"
    assert write_workflow("a: 2\n", path, force=True).action == "replaced"
    assert path.read_text() == "a: 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["wheels.yml"]  # no temporary files left


# --- the command ------------------------------------------------------------------------------


def test_cli_prints_to_stdout_with_dash() -> None:
    result = runner.invoke(app, ["ci", "github", "-o", "-", "--targets", "x86_64,aarch64"])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert [e["arch"] for e in document["jobs"]["wheels"]["strategy"]["matrix"]["include"]] == [
        "x86_64",
        "aarch64",
    ]
    assert "zigwheel ci github --target x86_64,aarch64 --manylinux manylinux_2_17" in result.stdout


def test_cli_writes_refuses_and_reports_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["ci", "github", "--json", "-t", "x86_64", "--manylinux", "2_28"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["action"] == "created"
    assert report["path"] == ".github/workflows/wheels.yml"
    assert report["targets"][0]["policy"] == "manylinux_2_28"
    written = (tmp_path / ".github" / "workflows" / "wheels.yml").read_text()
    assert "--manylinux manylinux_2_28" in written

    second = runner.invoke(app, ["ci", "github", "--one-job", "-t", "x86_64"])
    assert isinstance(second.exception, ConfigError)
    assert (tmp_path / ".github" / "workflows" / "wheels.yml").read_text() == written

    third = runner.invoke(app, ["ci", "github", "--one-job", "-t", "x86_64", "--force"])
    assert third.exit_code == 0
    assert (
        "strategy"
        not in yaml.safe_load((tmp_path / ".github" / "workflows" / "wheels.yml").read_text())[
            "jobs"
        ]["wheels"]
    )


def _zigwheel_installs(text: str) -> list[str]:
    return re.findall(r'pip install "([^"]*)"', text.replace('"maturin>=1.9,<2"', ""))


def test_cli_installs_the_released_version_by_default_and_says_how_to_change_it() -> None:
    result = runner.invoke(app, ["ci", "github", "-o", "-", "-t", "x86_64,aarch64"])
    assert result.exit_code == 0, result.output
    assert set(_zigwheel_installs(result.stdout)) == {f"zigwheel=={__version__}"}
    assert "--zigwheel-requirement SPEC" in result.stderr
    assert f"set the repository variable {MIRROR_VARIABLE}" in result.stderr
    assert yaml.safe_load(result.stdout)  # stderr notes never mix into the printed workflow


@pytest.mark.parametrize(
    "spec",
    ["zigwheel==0.2.0", "zigwheel @ git+https://example.invalid/zw.git@v0.1.0", "./tools/zw"],
)
def test_cli_zigwheel_requirement_is_what_every_job_installs(spec: str) -> None:
    result = runner.invoke(
        app, ["ci", "github", "-o", "-", "-t", "x86_64", "--zigwheel-requirement", spec]
    )
    assert result.exit_code == 0, result.output
    installs = _zigwheel_installs(result.stdout)
    assert installs == [spec, spec]  # the wheels job and the publish gate
    assert f"pip install {shlex.quote(spec)}" in result.stderr
    assert "if that version is not on the package index" not in result.stderr
    assert MIRROR_VARIABLE not in result.stderr  # x86_64 only: no qemu job, no mirror needed
    # The regenerate line in the header reproduces the same workflow.
    regenerate = result.stdout.splitlines()[1].removeprefix("#").strip()
    assert "--zigwheel-requirement" in regenerate
    again = runner.invoke(app, [*shlex.split(regenerate)[1:], "-o", "-"])
    assert again.exit_code == 0, again.output
    assert again.stdout == result.stdout


@pytest.mark.parametrize("spec", ['zigwheel"; rm -rf ~; "', "zigwheel==$(id)", "", "a\nb"])
def test_cli_refuses_a_requirement_that_breaks_the_workflow(spec: str) -> None:
    result = runner.invoke(
        app, ["ci", "github", "-o", "-", "-t", "x86_64", "--zigwheel-requirement", spec]
    )
    assert isinstance(result.exception, ConfigError), result.output


def test_cli_refuses_unknown_targets() -> None:
    result = runner.invoke(app, ["ci", "github", "-o", "-", "-t", "sparc"])
    assert isinstance(result.exception, ConfigError)
