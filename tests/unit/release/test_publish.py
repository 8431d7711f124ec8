"""Unit tests for release.publish: the file gate, the token rules, redaction, the twine call."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zigwheel.cli import app
from zigwheel.errors import ConfigError, DataError
from zigwheel.release.publish import (
    Credentials,
    choose_repository,
    credential_problems,
    gate,
    load_index_rules,
    parse_index_rules,
    platform_problem,
    read_credentials,
    redact,
    twine_command,
    twine_env,
)

TOKEN = "pypi-AgEIcHlwaS5vcmcCJGUxYjQ5ZDk0LTBmMjYtNDU0ZC1hMDk3"  # the shape of a token, not one
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_upload_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TWINE_USERNAME",
        "TWINE_PASSWORD",
        "MATURIN_PYPI_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def _wheel(folder: Path, filename: str, *, tag: str | None = None) -> Path:
    """A pure-Python wheel file (no ELF) named ``filename``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    project, version = filename.split("-")[:2]
    info = f"{project}-{version}.dist-info"
    members = {
        f"{project}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {project}\n".encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag or 'py3-none-any'}\n"
        ).encode(),
    }
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in members.items()]
    members[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# --- platform tags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "manylinux_2_17_x86_64",
        "manylinux_2_28_aarch64",
        "manylinux2014_aarch64",
        "manylinux1_x86_64",
        "musllinux_1_2_armv7l",
        "manylinux_2_31_riscv64",
        "any",
        "win_amd64",
        "macosx_11_0_arm64",
    ],
)
def test_accepted_platform_tags(tag: str) -> None:
    assert platform_problem(tag, load_index_rules()) is None


@pytest.mark.parametrize(
    ("tag", "needle"),
    [
        ("linux_x86_64", "bare linux tag"),
        ("linux_armv7l", "bare linux tag"),
        ("manylinux_2_17_sparc64", "no manylinux wheels for sparc64"),
        ("musllinux_1_2_ppc64", "no musllinux wheels for ppc64"),
        ("manylinux2014_riscv64", "not a valid"),
        ("manylinux_x86_64", "not a valid"),
    ],
)
def test_refused_platform_tags(tag: str, needle: str) -> None:
    problem = platform_problem(tag, load_index_rules())
    assert problem is not None
    assert needle in problem


def test_index_rules_validation() -> None:
    with pytest.raises(DataError, match="schema"):
        parse_index_rules({"schema": 2}, source="x")
    with pytest.raises(DataError, match="musllinux_arches"):
        parse_index_rules(
            {
                "schema": 1,
                "manylinux_arches": ["x86_64"],
                "musllinux_arches": [],
                "legacy_tags": ["a"],
            },
            source="x",
        )


# --- the gate over files ------------------------------------------------------------------------


def _sdist(path: Path) -> Path:
    """A gzip-compressed tar archive at ``path``: the gate refuses a .tar.gz that is not one."""
    import io  # noqa: PLC0415
    import tarfile  # noqa: PLC0415

    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{path.name.removesuffix('.tar.gz')}/PKG-INFO")
        archive.addfile(info, io.BytesIO(b""))
    return path


def test_gate_accepts_pure_wheels_and_sdists(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "pure-1.0-py3-none-any.whl")
    sdist = _sdist(tmp_path / "pure-1.0.tar.gz")
    verdicts = gate([wheel, sdist])
    assert [(v.kind, v.ok, v.project, v.version) for v in verdicts] == [
        ("wheel", True, "pure", "1.0"),
        ("sdist", True, "pure", "1.0"),
    ]


def test_gate_checks_the_record_of_pure_wheels_too(tmp_path: Path) -> None:
    # An installer verifies every file against RECORD; a wheel whose RECORD lies is refused.
    good = _wheel(tmp_path / "good", "pure-1.0-py3-none-any.whl")
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, b"x = 1\n" if info.filename == "pure/__init__.py" else data)
    (verdict,) = gate([bad])
    assert not verdict.ok
    assert any("pure/__init__.py" in problem for problem in verdict.problems), verdict.problems
    assert gate([good])[0].ok


def test_gate_refuses_linux_tags_and_runs_the_check(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path, "native-1.0-cp311-cp311-linux_x86_64.whl", tag="cp311-cp311-linux_x86_64"
    )
    (verdict,) = gate([wheel])
    assert not verdict.ok
    assert any("bare linux tag" in problem for problem in verdict.problems)
    assert verdict.policy is not None  # zigwheel check ran on it


def test_gate_refuses_manylinux_wheels_that_fail_the_check(tmp_path: Path) -> None:
    # Tagged manylinux but without any compiled code: the check says it should be -none-any.
    wheel = _wheel(
        tmp_path,
        "claims-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        tag="cp311-cp311-manylinux_2_17_x86_64",
    )
    (verdict,) = gate([wheel])
    assert not verdict.ok
    assert verdict.problems
    assert all(problem.startswith("zigwheel check:") for problem in verdict.problems)


def test_gate_refuses_bad_names_unknown_files_and_missing_ones(tmp_path: Path) -> None:
    bad_wheel = tmp_path / "not-a-wheel.whl"
    bad_wheel.write_bytes(b"")
    bad_sdist = tmp_path / "nodashes.tar.gz"
    bad_sdist.write_bytes(b"")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    verdicts = gate([bad_wheel, bad_sdist, other, tmp_path / "missing-1.0.tar.gz"])
    problems = [v.problems[0] for v in verdicts]
    assert "not a valid wheel file name" in problems[0]
    assert "not a valid sdist file name" in problems[1]
    assert "not a distribution" in problems[2]
    assert problems[3] == "no such file"
    assert not any(v.ok for v in verdicts)


def test_gate_refuses_duplicate_file_names_but_not_the_same_path_twice(tmp_path: Path) -> None:
    first = _wheel(tmp_path / "a", "dup-1.0-py3-none-any.whl")
    second = _wheel(tmp_path / "b", "dup-1.0-py3-none-any.whl")
    verdicts = gate([first, first, second])
    assert len(verdicts) == 2
    assert verdicts[0].ok
    assert not verdicts[1].ok
    assert "duplicate file name" in verdicts[1].problems[0]


def test_gate_expands_folders(tmp_path: Path) -> None:
    _wheel(tmp_path / "dist", "one-1.0-py3-none-any.whl")
    (tmp_path / "dist" / "one-1.0.tar.gz").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    verdicts = gate([tmp_path / "dist", tmp_path / "empty"])
    assert [v.path.name for v in verdicts] == [
        "one-1.0-py3-none-any.whl",
        "one-1.0.tar.gz",
        "empty",
    ]
    assert "holds no" in verdicts[2].problems[0]


def test_sdist_names_that_are_not_normalized_get_a_note(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path / "My-Project-1.0.tar.gz")
    (verdict,) = gate([sdist])
    assert verdict.ok
    assert verdict.notes == ["PEP 625 spells this sdist my_project-1.0.tar.gz"]


# --- credentials --------------------------------------------------------------------------------


def test_credentials_precedence() -> None:
    assert read_credentials({}) == Credentials(None, None, "none")
    env = {"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": "p1", "MATURIN_PYPI_TOKEN": "p2"}
    assert read_credentials(env) == Credentials("__token__", "p1", "TWINE_PASSWORD")
    assert read_credentials({**env, "ZIGWHEEL_PYPI_TOKEN": "p3"}) == Credentials(
        "__token__", "p3", "ZIGWHEEL_PYPI_TOKEN"
    )
    assert read_credentials({"MATURIN_PYPI_TOKEN": "p2"}) == Credentials(
        "__token__", "p2", "MATURIN_PYPI_TOKEN"
    )


def test_password_never_in_repr_or_json() -> None:
    credentials = Credentials("__token__", TOKEN, "ZIGWHEEL_PYPI_TOKEN")
    assert TOKEN not in repr(credentials)
    assert TOKEN not in json.dumps(credentials.to_json())


def test_a_good_token_passes() -> None:
    assert credential_problems(Credentials("__token__", TOKEN, "x"), token_rules=True) == []
    assert credential_problems(Credentials(None, TOKEN, "x"), token_rules=True) == []


@pytest.mark.parametrize(
    ("username", "password", "needle"),
    [
        ("__Token__", TOKEN, "lowercase, not __Token__"),
        ("alice", TOKEN, "API tokens only"),
        ("__token__", "hunter2-password", "does not start with pypi-"),
        ("__token__", TOKEN + "\n", "leading or trailing whitespace"),
        ("__token__", TOKEN[:10] + " " + TOKEN[10:], "whitespace inside"),
        ("__token__", TOKEN[:10] + "\x07" + TOKEN[10:], "control or invisible"),
        ("__token__", TOKEN[:10] + "\u200b" + TOKEN[10:], "control or invisible"),
    ],
)
def test_token_rules(username: str, password: str, needle: str) -> None:
    problems = credential_problems(
        Credentials(username, password, "TWINE_PASSWORD"), token_rules=True
    )
    assert any(needle in problem for problem in problems), problems
    assert not any(password.strip() in problem for problem in problems)


def test_missing_token_is_a_problem_unless_trusted_publishing() -> None:
    none = Credentials(None, None, "none")
    assert credential_problems(none, token_rules=True)
    assert credential_problems(none, token_rules=True, trusted_publishing=True) == []


def test_custom_indexes_take_any_credentials_or_none() -> None:
    assert credential_problems(Credentials(None, None, "none"), token_rules=False) == []
    assert credential_problems(Credentials("alice", "secret", "x"), token_rules=False) == []
    # Control characters break HTTP basic auth on any index.
    assert credential_problems(Credentials("alice", "secret\n", "x"), token_rules=False)


def test_redact() -> None:
    assert redact(f"a {TOKEN} b {TOKEN}", TOKEN) == "a ******** b ********"
    assert redact(f"x {TOKEN}", TOKEN + "\n") == "x ********"
    assert redact("nothing", None) == "nothing"


# --- repository and the uploader's command --------------------------------------------------


def test_choose_repository() -> None:
    assert choose_repository(None, None).name == "pypi"
    assert choose_repository("TestPyPI", None).name == "testpypi"
    custom = choose_repository(None, "http://127.0.0.1:8080/")
    assert custom.url == "http://127.0.0.1:8080/"
    assert not custom.token_rules
    with pytest.raises(ConfigError):
        choose_repository("warehouse", None)
    with pytest.raises(ConfigError):
        choose_repository(None, "ftp://example")
    with pytest.raises(ConfigError):
        choose_repository("pypi", "http://127.0.0.1:1/")


def test_twine_gets_credentials_through_the_environment_only() -> None:
    credentials = Credentials("__token__", TOKEN, "ZIGWHEEL_PYPI_TOKEN")
    argv = twine_command("python", choose_repository("testpypi", None), [Path("dist/a.whl")])
    assert argv[:4] == ["python", "-m", "twine", "upload"]
    assert "--non-interactive" in argv
    assert argv[argv.index("--repository") + 1] == "testpypi"
    assert TOKEN not in " ".join(argv)
    env = twine_env(
        {"TWINE_REPOSITORY_URL": "http://elsewhere/", "PATH": "/bin", "COLUMNS": "80"}, credentials
    )
    assert int(env["COLUMNS"]) >= 1000  # a narrow terminal would wrap the lines explain reads
    assert env["TWINE_USERNAME"] == "__token__"
    assert env["TWINE_PASSWORD"] == TOKEN
    assert "TWINE_REPOSITORY_URL" not in env
    assert env["PATH"] == "/bin"
    anonymous = twine_env({}, Credentials(None, None, "none"), anonymous=True)
    assert anonymous["TWINE_USERNAME"] == anonymous["TWINE_PASSWORD"] == ""
    assert "TWINE_PASSWORD" not in twine_env({}, Credentials(None, None, "none"))


# --- the command ----------------------------------------------------------------------------


def test_cli_dry_run_passes_without_a_token(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "pure-1.0-py3-none-any.whl")
    result = runner.invoke(app, ["publish", "--dry-run", str(wheel)], env={"TWINE_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout
    assert "dry run" in result.output


@pytest.mark.parametrize(
    "env",
    [
        {"TWINE_USERNAME": "__Token__", "TWINE_PASSWORD": TOKEN},
        {"ZIGWHEEL_PYPI_TOKEN": TOKEN + "\n"},
        {"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": "not-a-" + TOKEN},
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_cli_never_prints_the_token(tmp_path: Path, env: dict[str, str], as_json: bool) -> None:
    wheel = _wheel(
        tmp_path, "pure-1.0-cp311-cp311-linux_x86_64.whl", tag="cp311-cp311-linux_x86_64"
    )
    args = ["publish", *(["--json"] if as_json else []), str(wheel)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    secret = next(value for key, value in env.items() if key != "TWINE_USERNAME")
    assert secret.strip() not in result.output
    assert TOKEN not in result.output
    assert "REFUSED" in result.output or '"ok": false' in result.output


def test_cli_json(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "pure-1.0-py3-none-any.whl")
    result = runner.invoke(
        app, ["publish", "--dry-run", "--json", "-r", "testpypi", str(wheel)], env={}
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["repository"] == "testpypi"
    assert document["dry_run"] is True
    assert document["uploaded"] is False
    assert document["files"][0]["file"] == wheel.name


def test_cli_refuses_an_unknown_repository(tmp_path: Path) -> None:
    result = runner.invoke(app, ["publish", "-r", "nowhere", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)


def test_cli_annotates_refusals_on_github_actions(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path, "bare-1.0-cp311-cp311-linux_x86_64.whl", tag="cp311-cp311-linux_x86_64"
    )
    env = {"GITHUB_ACTIONS": "true", "TWINE_USERNAME": "__Token__", "TWINE_PASSWORD": TOKEN}
    result = runner.invoke(app, ["publish", str(wheel)], env=env)
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert errors[0].startswith(f"::error file={wheel}::")
    assert "bare linux tag" in errors[0]
    assert "lowercase" in errors[1]
    assert TOKEN not in result.output


def test_cli_json_stays_parseable_on_github_actions(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path, "bare-1.0-cp311-cp311-linux_x86_64.whl", tag="cp311-cp311-linux_x86_64"
    )
    result = runner.invoke(app, ["publish", "--json", str(wheel)], env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False
    assert "::error file=" in result.stderr
