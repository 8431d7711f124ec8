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
    DEFAULT_OUTPUT,
    MIRROR_VARIABLE,
    NO_PROJECT,
    WorkflowOptions,
    choose_targets,
    fill,
    load_settings,
    musl_python,
    parse_settings,
    read_project_facts,
    render_github_workflow,
    resolve_targets,
    write_workflow,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`zigwheel ci github` reads the project in the current folder: none, unless a test adds it."""
    monkeypatch.chdir(tmp_path)


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
            "policy-option": "--manylinux",
            "platform": "manylinux_2_17_x86_64",
            "rust-target": "x86_64-unknown-linux-gnu",
            "test": "host",
            "debian-arch": "amd64",
            "debian-release": "bookworm",
        },
        {
            "arch": "aarch64",
            "policy": "manylinux_2_17",
            "policy-option": "--manylinux",
            "platform": "manylinux_2_17_aarch64",
            "rust-target": "aarch64-unknown-linux-gnu",
            "test": "arm",
            "debian-arch": "arm64",
            "debian-release": "bookworm",
        },
    ]
    runs = _runs(document["jobs"]["wheels"])
    build = "zigwheel build --target ${{ matrix.arch }} ${{ matrix.policy-option }}"
    assert build + " ${{ matrix.policy }}" in runs
    assert "zigwheel check dist" in runs
    assert "zigwheel test dist" in runs
    assert "rustup target add ${{ matrix.rust-target }}" in runs
    # x86_64 and aarch64 need no emulator and no Debian mirror: aarch64 runs on the arm64 runner.
    assert "qemu" not in runs
    assert "DEBIAN_MIRROR" not in runs


def test_plain_runner_without_container_docker_or_qemu_actions() -> None:
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"])
    settings = load_settings()
    for name, job in document["jobs"].items():
        expected = settings.arm_runner if name == "test-arm" else settings.runner
        assert job["runs-on"] == expected, name
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
    # id-token for trusted publishing; attestations for the build provenance of every file.
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert sorted(publish["needs"]) == ["sdist", "wheels"]
    (attest,) = [s for s in publish["steps"] if "attest" in s.get("uses", "")]
    assert attest["with"] == {"subject-path": "dist/*"}
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


def test_musllinux_targets_are_tested_in_a_musl_root_built_on_the_runner() -> None:
    """musllinux wheels are tested in a root of Debian's musl with zig's CPython (built by
    `zigwheel root python`, under qemu-user for aarch64), which needs the Debian mirror; the
    cross build needs a Python of the root's version, which setup-python installs."""
    document = _render(["x86_64", "aarch64"], ["musllinux_1_2"])
    entries = document["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    assert {entry["arch"]: entry["test"] for entry in entries} == {"x86_64": "musl",
                                                                   "aarch64": "musl"}  # fmt: skip
    assert "test-arm" not in document["jobs"]  # the arm64 runner has glibc only
    (entry, _) = entries
    assert entry["rust-target"] == "x86_64-unknown-linux-musl"
    assert entry["policy-option"] == "--musllinux"  # `--manylinux musllinux_1_2` is refused
    steps = {step.get("name", ""): step for step in document["jobs"]["wheels"]["steps"]}
    musl = next(step for name, step in steps.items() if "musl root" in name)
    assert musl["if"] == "matrix.test == 'musl' && env.DEBIAN_MIRROR != ''"
    assert musl["run"].splitlines() == [
        f"zigwheel root python {musl_python()} --libc musl --arch ${{{{ matrix.debian-arch }}}} "
        '--mirror "$DEBIAN_MIRROR"',
        "zigwheel test dist/*${{ matrix.platform }}*.whl",
    ]
    qemu = next(step for name, step in steps.items() if name == "Install qemu-user")
    assert qemu["if"] == "matrix.test == 'musl' && env.DEBIAN_MIRROR != ''"
    all_steps = document["jobs"]["wheels"]["steps"]
    pythons = next(s for s in all_steps if "setup-python" in s.get("uses", ""))
    assert musl_python() in pythons["with"]["python-version"].split()


def test_one_job_builds_every_target_in_a_single_job() -> None:
    document = _render(["x86_64", "aarch64"], ["manylinux_2_17", "musllinux_1_2"], one_job=True)
    job = document["jobs"]["wheels"]
    assert "strategy" not in job
    runs = _runs(job)
    assert "rustup target add x86_64-unknown-linux-gnu x86_64-unknown-linux-musl " in runs
    for arch in ("x86_64", "aarch64"):
        for policy in ("manylinux_2_17", "musllinux_1_2"):
            option = policy.split("_")[0]  # --manylinux manylinux_2_17, --musllinux musllinux_1_2
            assert f"zigwheel build --target {arch} --{option} {policy} --out dist" in runs
    assert "zigwheel test dist/*manylinux_2_17_x86_64*.whl\n" in runs + "\n"
    assert "zigwheel test dist/*musllinux_1_2_x86_64*.whl\n" in runs + "\n"
    # musllinux wheels run in a musl root, the aarch64 one under qemu-user
    assert f"zigwheel root python {musl_python()} --libc musl --arch arm64 " in runs
    # aarch64: one test job on the arm64 runner, over the one artifact.
    arm = document["jobs"]["test-arm"]
    assert arm["needs"] == ["wheels"]
    assert arm["runs-on"] == load_settings().arm_runner
    (download,) = [s for s in arm["steps"] if "download-artifact" in s.get("uses", "")]
    assert download["with"] == {"name": "dist-wheels", "path": "dist"}
    assert _runs(arm).splitlines()[-1:] == ["zigwheel test dist/*manylinux_2_17_aarch64*.whl"]


def test_one_job_tests_other_architectures_under_qemu_after_installing_it() -> None:
    document = _render(["x86_64", "ppc64le"], ["manylinux_2_28"], one_job=True)
    job = document["jobs"]["wheels"]
    runs = _runs(job)
    assert runs.count("qemu-user-static") == 1
    assert "zigwheel test dist/*manylinux_2_28_ppc64le*.whl --root debian:bookworm:ppc64el" in runs
    names = [step.get("name", "") for step in job["steps"]]
    assert names.index("Install qemu-user") < names.index(
        "Test the manylinux_2_28_ppc64le wheels under qemu-user"
    )


def test_one_job_without_foreign_targets_installs_no_qemu() -> None:
    document = _render(["x86_64"], ["manylinux_2_17"], one_job=True)
    assert "qemu" not in _runs(document["jobs"]["wheels"])


def _notice(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if "No Debian mirror" in s.get("name", "")]
    assert isinstance(step, dict)
    return step


@pytest.mark.parametrize("one_job", [False, True])
def test_qemu_tests_are_skipped_with_a_notice_when_no_debian_mirror_is_set(one_job: bool) -> None:
    """Ubuntu's apt sources serve no Debian release: without the repository variable the qemu-user
    test is skipped and a ::notice:: says how to enable it; the job stays green."""
    document = _render(["x86_64", "aarch64", "armv7l"], ["manylinux_2_17"], one_job=one_job)
    assert document["env"]["DEBIAN_MIRROR"] == "${{ vars." + MIRROR_VARIABLE + " }}"
    job = document["jobs"]["wheels"]
    notice = _notice(job)
    when = "matrix.test == 'qemu' && " if not one_job else ""
    assert notice["if"] == when + "env.DEBIAN_MIRROR == ''"
    done = subprocess.run(["sh", "-c", notice["run"]], capture_output=True, text=True,
                          check=False, env={"PATH": os.defpath})  # fmt: skip
    assert done.returncode == 0
    (line,) = done.stdout.splitlines()
    assert line.startswith("::notice title=")
    assert f"set the repository variable {MIRROR_VARIABLE}".lower() in line.lower()
    assert "Debian mirror URL" in line
    # Every step that needs the mirror (qemu install, root, test) runs only when it is set.
    for step in job["steps"]:
        if "qemu-user-static" in step.get("run", "") or "zigwheel root" in step.get("run", ""):
            assert step["if"] == when + "env.DEBIAN_MIRROR != ''", step
    roots = [line for line in _runs(job).splitlines() if "zigwheel root debian" in line]
    assert roots
    assert all(line.endswith('--mirror "$DEBIAN_MIRROR"') for line in roots)
    assert "test: arm" in json.dumps(document) or "test-arm" in document["jobs"]


@pytest.mark.parametrize("one_job", [False, True])
def test_host_only_workflow_needs_no_mirror(one_job: bool) -> None:
    # (musllinux wheels need one: their root is built from Debian's musl package)
    document = _render(["x86_64"], ["manylinux_2_17"], one_job=one_job)
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
    # The regenerate line holds what was given; the rest comes from the project again.
    assert "#   zigwheel ci github --target x86_64,aarch64\n" in result.stdout


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
    assert MIRROR_VARIABLE not in result.stderr  # aarch64 is tested on the arm64 runner
    other = runner.invoke(app, ["ci", "github", "-o", "-", "-t", "x86_64,s390x"])
    assert f"set the repository variable {MIRROR_VARIABLE}" in other.stderr
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


# --- the matrix from the project --------------------------------------------------------------


def _project(
    folder: Path,
    *,
    pyo3: str | None = "0.27.2",
    abi3: bool = False,
    requires_python: str = ">=3.10",
    tool: str = "",
) -> Path:
    features = ', features = ["abi3-py39"]' if abi3 else ""
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.9"]\nbuild-backend = "maturin"\n'
        f'[project]\nname = "demo"\nrequires-python = "{requires_python}"\n'
        + (f"[tool.zigwheel]\n{tool}\n" if tool else "")
    )
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n'
        '[lib]\ncrate-type = ["cdylib"]\n'
        f'[dependencies]\npyo3 = {{ version = "0.22"{features} }}\n'
    )
    if pyo3:
        (folder / "Cargo.lock").write_text(
            "version = 3\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n\n"
            f'[[package]]\nname = "pyo3"\nversion = "{pyo3}"\n'
        )
    return folder


def _render_project(folder: Path, **options: Any) -> dict[str, Any]:
    facts = read_project_facts(folder)
    targets = choose_targets(WorkflowOptions(), facts)
    document = yaml.safe_load(render_github_workflow(targets, facts=facts, **options))
    assert isinstance(document, dict)
    return document


def test_interpreters_come_from_requires_python_and_the_pyo3_version(tmp_path: Path) -> None:
    """PyO3 0.27 builds CPython up to 3.14 and the free-threaded 3.13t and 3.14t, of which maturin
    builds 3.14t only; requires-python >=3.10."""
    facts = read_project_facts(_project(tmp_path))
    assert facts.found
    assert not facts.abi3
    assert facts.pyo3 == "0.27.2"
    assert facts.interpreters == ("3.10", "3.11", "3.12", "3.13", "3.14")
    assert facts.free_threaded == ("3.14t",)
    job = _render_project(tmp_path)["jobs"]["wheels"]
    runs = _runs(job)
    assert "--interpreter 3.10,3.11,3.12,3.13,3.14 --out dist" in runs
    assert "--interpreter 3.14t --out dist" in runs
    # Each wheel is tested with its own Python; setup-python installs them (zigwheel's last).
    (setup,) = [s for s in job["steps"] if "setup-python" in s.get("uses", "")]
    assert setup["with"]["python-version"].split() == ["3.10", "3.11", "3.13", "3.14", "3.14t",
                                                       "3.12"]
    tests = [line for line in runs.splitlines() if line.startswith("zigwheel test")]
    assert tests == [
        f"zigwheel test dist/*-{tag}-*${{{{ matrix.platform }}}}*.whl --python python{version}"
        for tag, version in [("cp310-cp310", "3.10"), ("cp311-cp311", "3.11"),
                             ("cp312-cp312", "3.12"), ("cp313-cp313", "3.13"),
                             ("cp314-cp314", "3.14"), ("cp314-cp314t", "3.14t")]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("pyo3", "newest", "free"),
    [("0.20.3", "3.12", ()), ("0.22.6", "3.13", ()), ("0.23.4", "3.13", ()),
     ("0.26.0", "3.14", ("3.14t",)), ("0.29.2", "3.14", ("3.14t",)), (None, "3.14", ())],
)  # fmt: skip
def test_pyo3_decides_the_newest_python_and_the_free_threaded_builds(
    tmp_path: Path, pyo3: str | None, newest: str, free: tuple[str, ...]
) -> None:
    # PyO3 0.23 supports 3.13t, which maturin refuses to build: no free-threaded wheel.
    facts = read_project_facts(_project(tmp_path, pyo3=pyo3))
    if pyo3 is None:  # no Cargo.lock: Cargo.toml's requirement, 0.22
        assert facts.pyo3 == "0.22"
        newest = "3.13"
    assert facts.interpreters[-1] == newest
    assert facts.free_threaded == free


def test_an_abi3_crate_builds_one_wheel_and_its_free_threaded_ones(tmp_path: Path) -> None:
    facts = read_project_facts(_project(tmp_path, pyo3="0.26.0", abi3=True))
    assert facts.abi3
    assert facts.interpreters == ()
    assert facts.free_threaded == ("3.14t",)
    runs = _runs(_render_project(tmp_path)["jobs"]["wheels"])
    platform = "${{ matrix.platform }}"
    assert "${{ matrix.policy }} --out dist\n" in runs  # the abi3 build names no Python
    assert "--interpreter 3.14t --out dist" in runs
    assert f"zigwheel test dist/*-abi3-*{platform}*.whl\n" in runs + "\n"
    assert f"zigwheel test dist/*-cp314-cp314t-*{platform}*.whl --python python3.14t" in runs


def test_tool_zigwheel_names_targets_policy_and_interpreters(tmp_path: Path) -> None:
    tool = 'targets = ["x86_64", "riscv64"]\nmusllinux = "1_2"\ninterpreters = ["3.11", "3.13t"]'
    facts = read_project_facts(_project(tmp_path, tool=tool))
    assert facts.interpreters == ("3.11",)
    assert facts.free_threaded == ("3.13t",)
    assert facts.interpreters_from == "[tool.zigwheel] interpreters"
    targets = choose_targets(WorkflowOptions(), facts)
    assert [t.platform_tag for t in targets] == ["musllinux_1_2_x86_64", "musllinux_1_2_riscv64"]
    # Flags win over the table.
    flagged = choose_targets(WorkflowOptions(targets=("aarch64",), policies=("2_28",)), facts)
    assert [t.platform_tag for t in flagged] == ["manylinux_2_28_aarch64"]


def test_free_threaded_interpreters_are_accepted_by_zigwheel_build(tmp_path: Path) -> None:
    """The workflow passes `--interpreter 3.13t` to zigwheel build: its settings accept it."""
    from zigwheel.builder.settings import FlagValues, resolve_settings  # noqa: PLC0415

    resolved = resolve_settings(pyproject={}, env={}, flags=FlagValues(
        targets=("x86_64",), interpreters=("3.13t,3.14t",)), project_dir=tmp_path,
        host_arch="x86_64", cwd=tmp_path)  # fmt: skip
    assert resolved.interpreters == ("3.13t", "3.14t")


def test_without_a_project_zigwheel_build_chooses_on_the_runner(tmp_path: Path) -> None:
    assert read_project_facts(tmp_path) == NO_PROJECT
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.15"\n')
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    with pytest.raises(ConfigError, match="requires-python"):
        read_project_facts(tmp_path)


# --- caches, strict -------------------------------------------------------------------------


@pytest.mark.parametrize("one_job", [False, True])
def test_caches_are_keyed_on_cargo_lock_the_target_and_zigwheels_version(one_job: bool) -> None:
    job = _render(["x86_64", "aarch64"], ["manylinux_2_17"], one_job=one_job)["jobs"]["wheels"]
    (cache,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@v4.")]
    paths = cache["with"]["path"].split()
    for folder in ("~/.cargo/registry/index", "~/.cargo/registry/cache", "~/.cargo/git/db",
                   "target", "~/.cache/zig", "~/.cache/zigwheel"):  # fmt: skip
        assert folder in paths
    key = cache["with"]["key"]
    assert key.startswith(f"zigwheel-{__version__}-")
    assert key.endswith("-${{ hashFiles('**/Cargo.lock') }}")
    assert ("${{ matrix.platform }}" in key) is not one_job
    assert cache["with"]["restore-keys"].strip() == key.removesuffix(
        "${{ hashFiles('**/Cargo.lock') }}"
    )
    names = [step.get("name", step.get("uses", "")) for step in job["steps"]]
    assert names.index("Restore the caches (cargo, target, zig, zigwheel)") < names.index("Build")


def test_strict_makes_an_untested_wheel_fail_every_test_step(tmp_path: Path) -> None:
    _project(tmp_path)
    relaxed = json.dumps(_render_project(tmp_path))
    strict = _render_project(tmp_path, strict=True)
    assert "--strict" not in relaxed
    lines = [line for job in strict["jobs"].values() for line in _runs(job).splitlines()
             if line.startswith("zigwheel test")]  # fmt: skip
    assert lines
    assert all(line.endswith(" --strict") for line in lines)


# --- every platform -----------------------------------------------------------------------------


def test_all_platforms_adds_macos_and_windows_jobs_built_with_maturin(tmp_path: Path) -> None:
    _project(tmp_path)
    document = _render_project(tmp_path, all_platforms=True)
    jobs = document["jobs"]
    macos = jobs["macos"]["strategy"]["matrix"]["include"]
    assert {entry["target"] for entry in macos} == {"x86_64-apple-darwin", "aarch64-apple-darwin"}
    (windows,) = jobs["windows"]["strategy"]["matrix"]["include"]
    assert windows["target"] == "x86_64-pc-windows-msvc"
    for name in ("macos", "windows"):
        steps = jobs[name]["steps"]
        builds = [s for s in steps if s.get("uses", "").startswith("PyO3/maturin-action@v1.")]
        assert [b["with"]["args"] for b in builds] == [
            "--release --out dist --interpreter 3.10 3.11 3.12 3.13 3.14",
            "--release --out dist --interpreter 3.14t",
        ]
        (upload,) = [s for s in steps if "upload-artifact" in s.get("uses", "")]
        assert upload["with"]["name"].startswith("dist-wheels-")
    assert "sdist" in jobs
    assert sorted(jobs["publish"]["needs"]) == ["macos", "sdist", "test-arm", "wheels", "windows"]
    assert "macos" not in _render_project(tmp_path)["jobs"]


# --- options, --check ---------------------------------------------------------------------------


def test_options_read_back_from_their_command_line() -> None:
    spec = "zigwheel @ git+https://x.invalid/z@v1"
    options = WorkflowOptions(targets=("x86_64", "s390x"), policies=("manylinux_2_28",),
                              one_job=True, all_platforms=True, strict=True,
                              zigwheel_requirement=spec)  # fmt: skip
    assert WorkflowOptions.from_argv(options.argv()) == options
    assert WorkflowOptions.from_argv(shlex.split(shlex.join(options.argv()))) == options
    with pytest.raises(ConfigError, match="--frobnicate"):
        WorkflowOptions.from_argv(["zigwheel", "ci", "github", "--frobnicate"])


def test_check_says_whether_the_workflow_still_matches(tmp_path: Path) -> None:
    _project(tmp_path)
    written = runner.invoke(app, ["ci", "github", "-t", "x86_64,aarch64", "--all-platforms"])
    assert written.exit_code == 0, written.output
    same = runner.invoke(app, ["ci", "github", "--check"])
    assert same.exit_code == 0, same.output
    assert "matches what zigwheel" in same.stdout
    # A project change (an older PyO3, without 3.14) is drift: exit 1 with a diff.
    _project(tmp_path, pyo3="0.22.6")
    drift = runner.invoke(app, ["ci", "github", "--check", "--json"])
    assert drift.exit_code == 1, drift.output
    report = json.loads(drift.stdout)
    assert report["matches"] is False
    assert "+          zigwheel build" in report["diff"] or "+            3.14" in report["diff"]
    assert "3.14t" in report["diff"]
    assert report["lint"]["tool"] == "actionlint"
    # An edited file is drift too, and the diff shows the edit.
    path = tmp_path / DEFAULT_OUTPUT
    _project(tmp_path)
    path.write_text(path.read_text().replace("fail-fast: false", "fail-fast: true", 1))
    edited = runner.invoke(app, ["ci", "github", "--check"])
    assert edited.exit_code == 1
    assert "-      fail-fast: true" in edited.stdout
    assert "+      fail-fast: false" in edited.stdout
    assert "regenerate with: zigwheel ci github --target x86_64,aarch64 --all-platforms" in (
        edited.stderr
    )


def test_check_refuses_a_workflow_zigwheel_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text("name: mine\non: push\njobs: {}\n")
    result = runner.invoke(app, ["ci", "github", "--check", "-o", str(path)])
    assert isinstance(result.exception, ConfigError)
    missing = runner.invoke(app, ["ci", "github", "--check", "-o", str(tmp_path / "none.yml")])
    assert isinstance(missing.exception, ConfigError)


def test_an_abi3_crate_with_named_interpreters_tests_its_abi3_wheel_with_each(
    tmp_path: Path,
) -> None:
    """maturin writes one abi3 wheel even when told an interpreter: the tests look for it."""
    _project(tmp_path, abi3=True, tool='interpreters = ["3.11", "3.12"]')
    runs = _runs(_render_project(tmp_path)["jobs"]["wheels"])
    tests = [line for line in runs.splitlines() if line.startswith("zigwheel test")]
    assert tests == [
        f"zigwheel test dist/*-abi3-*${{{{ matrix.platform }}}}*.whl --python python{version}"
        for version in ("3.11", "3.12")
    ]


def test_the_publish_gate_lets_the_macos_and_windows_wheels_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--all-platforms puts maturin's macOS and Windows wheels in dist/: the gate step
    (`zigwheel publish --dry-run`, no credentials under trusted publishing) must pass them."""
    import zipfile  # noqa: PLC0415

    for name in ("TWINE_USERNAME", "TWINE_PASSWORD", "MATURIN_PYPI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for tag in ("cp312-cp312-macosx_10_12_x86_64", "cp312-cp312-macosx_11_0_arm64",
                "cp312-cp312-win_amd64"):  # fmt: skip
        with zipfile.ZipFile(tmp_path / f"demo-0.1.0-{tag}.whl", "w") as archive:
            archive.writestr("demo/__init__.py", "")
            archive.writestr("demo-0.1.0.dist-info/METADATA",
                             "Metadata-Version: 2.1\nName: demo\nVersion: 0.1.0\n")  # fmt: skip
            wheel = f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n"
            archive.writestr("demo-0.1.0.dist-info/WHEEL", wheel)
            archive.writestr("demo-0.1.0.dist-info/RECORD", "")
    gate = _runs(_render(["x86_64"], ["manylinux_2_17"])["jobs"]["publish"]).splitlines()
    assert "zigwheel publish --dry-run dist/*" in gate
    result = runner.invoke(app, ["publish", "--dry-run", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("not a Linux wheel") == 3
