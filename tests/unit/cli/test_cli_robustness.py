"""The CLI as a hostile user meets it: plain help, verbatim text, no traceback, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def zigwheel(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> (
    subprocess.CompletedProcess[str]
):
    """The real command line, in a process of its own (stdout and stderr not terminals)."""
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args],
        capture_output=True, text=True, check=False, cwd=cwd,
        env={**os.environ, "COLUMNS": "80", **(env or {})}, timeout=900,
    )  # fmt: skip


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def test_help_keeps_bracketed_defaults() -> None:
    result = zigwheel("build", "--help")
    assert result.returncode == 0
    assert "[default: 2_17]" in " ".join(result.stdout.split())
    assert "[default: PROJECT_DIR/dist]" in " ".join(result.stdout.split())


def test_print_plan_is_plain_in_a_log() -> None:
    result = zigwheel("build", str(EXAMPLES / "hello-abi3"), "-t", "x86_64", "--print-plan")
    assert result.returncode == 0, result.stderr
    assert "┃" not in result.stdout
    assert "x86_64-unknown-linux-gnu" in result.stdout


def test_check_table_is_one_line_per_elf_in_a_log() -> None:
    import io  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from zigwheel.cli.check_cmd import render  # noqa: PLC0415
    from zigwheel.compliance.analysis import ElfReport, OffendingSymbol, WheelReport  # noqa: PLC0415

    long_path = "pkg/" + "deeply_nested_[folder]/" * 8 + "_core.cpython-311-x86_64-linux-gnu.so"
    elf = ElfReport(
        path=long_path, arch="x86_64", needed=["libc.so.6"],
        versions={"libc.so.6": ["GLIBC_2.34"]},
        offending=[OffendingSymbol("pthread_create", "GLIBC_2.34", "libc.so.6")],
    )  # fmt: skip
    claimed = ["manylinux_2_17_x86_64"]
    report = WheelReport("w.whl", "w.whl", claimed, "linux_x86_64", False, [], [elf])
    log = io.StringIO()
    render(report, Console(width=80, file=log, color_system=None))
    (row,) = [line for line in log.getvalue().splitlines() if line.startswith("pkg/")]
    assert row.split()[:2] == [long_path, "x86_64"]
    assert "pthread_create@GLIBC_2.34 libc.so.6" in row


def _project(tmp_path: Path, name: str = "demo") -> Path:
    """A copy of examples/hello-abi3 to spoil."""
    import shutil  # noqa: PLC0415

    project = tmp_path / name
    shutil.copytree(
        EXAMPLES / "hello-abi3", project, ignore=shutil.ignore_patterns("target", "dist")
    )
    return project


def _spoil(project: Path, case: str) -> str:
    """Spoil one file of ``project`` as ``case`` says; return what the error must name."""
    pyproject = project / "pyproject.toml"
    cargo = project / "Cargo.toml"
    if case == "maturin features":
        text = pyproject.read_text().replace("[tool.maturin]\n", "[tool.maturin]\nfeatures = 5\n")
        pyproject.write_text(text)
        return f"{pyproject}: [tool.maturin] features must be a list of strings, not 5"
    if case == "pyo3 features":
        text = cargo.read_text()
        start = text.index("features = [", text.index("pyo3"))
        cargo.write_text(text[:start] + "features = 5" + text[text.index("]", start) + 1 :])
        return f"{cargo}: pyo3's features must be a list of strings, not 5"
    if case == "lock package":
        (project / "Cargo.lock").write_text("version = 3\npackage = 5\n")
        return f"{project / 'Cargo.lock'}: package must be an array of tables, not 5"
    if case == "not utf-8":
        pyproject.write_bytes(pyproject.read_bytes() + b"\n# caf\xe9\n")
        return f"{pyproject} is not UTF-8 text"
    if case == "other backend":
        text = pyproject.read_text().replace('"maturin"', '"setuptools.build_meta"', 1)
        pyproject.write_text(text)
        return f"{pyproject} builds with 'setuptools.build_meta', not maturin"
    assert case == "virtual workspace"
    cargo.write_text('[workspace]\nmembers = ["member"]\n')
    return f"{cargo} is a workspace manifest without a [package]"


@pytest.mark.parametrize(
    "case",
    [
        "maturin features",
        "pyo3 features",
        "lock package",
        "not utf-8",
        "other backend",
        "virtual workspace",
    ],
)
def test_a_spoilt_project_is_a_config_error_naming_file_and_key(tmp_path: Path, case: str) -> None:
    project = _project(tmp_path)
    expected = _spoil(project, case)
    result = zigwheel("build", str(project), "-t", "x86_64", "--print-plan")
    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert expected in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize("layout", ["rust", "manifest-path"])
def test_the_crate_is_found_as_maturin_finds_it(tmp_path: Path, layout: str) -> None:
    project = _project(tmp_path)
    folder = project / ("rust" if layout == "rust" else "crates" / Path("py"))
    folder.mkdir(parents=True)
    for name in ("Cargo.toml", "Cargo.lock", "src"):
        if (project / name).exists():
            (project / name).rename(folder / name)
    if layout == "manifest-path":
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text().replace(
            "[tool.maturin]\n", '[tool.maturin]\nmanifest-path = "crates/py/Cargo.toml"\n'
        )
        pyproject.write_text(text)
    result = zigwheel("build", str(project), "-t", "x86_64", "--print-plan", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["plan"]["project"] == str(project)


def test_a_folder_without_a_crate_says_what_is_supported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = zigwheel("build", str(tmp_path), "--print-plan")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "build-backend" in result.stderr
    assert "rust/" in result.stderr


@pytest.mark.parametrize("case", ["a file", "under a file", "unwritable", "not a file system"])
def test_root_debian_refuses_a_destination_before_any_download(tmp_path: Path, case: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    if case == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root may write to any folder")
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    dest = {
        "a file": afile,
        "under a file": afile / "root",
        "unwritable": tmp_path / "locked" / "root",
        "not a file system": Path("/proc/no-such-process/root"),
    }[case]
    # A mirror on a closed port: had zigwheel tried a download, the error would name it.
    result = zigwheel(
        "root", "debian", str(dest), "--release", "bookworm", "--mirror", "http://127.0.0.1:9/"
    )
    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert f"error: {dest} " in result.stderr
    assert "127.0.0.1" not in result.stderr


@pytest.mark.slow
def test_a_crate_in_rust_folder_builds(tmp_path: Path) -> None:
    """pendulum's layout: pyproject.toml at the root, the crate in rust/; maturin builds it."""
    project = _project(tmp_path)
    (project / "rust").mkdir()
    for name in ("Cargo.toml", "Cargo.lock", "src"):
        if (project / name).exists():
            (project / name).rename(project / "rust" / name)
    result = zigwheel("build", str(project), "-t", "x86_64", "--json", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    (wheel,) = json.loads(result.stdout)["wheels"]
    assert (tmp_path / "out" / wheel["wheel"]).is_file()


def _sdist(folder: Path, name: str = "demo-1.0") -> Path:
    """A real (tiny) sdist: a gzip-compressed tar holding PKG-INFO."""
    import io  # noqa: PLC0415
    import tarfile  # noqa: PLC0415

    path = folder / f"{name}.tar.gz"
    files = {
        "PKG-INFO": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        "pyproject.toml": b'[project]\nname = "demo"\nversion = "1.0"\n',
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, body in files.items():
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return path


def test_publish_to_a_closed_port_is_not_blamed_on_credentials(tmp_path: Path) -> None:
    secret = "pypi-NotARealToken0123456789"
    url = f"http://__token__:{secret}@127.0.0.1:9/legacy/"
    env = {"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": secret}
    # -v logs every command line zigwheel runs: the token must not be in twine's either.
    result = zigwheel("-v", "publish", str(_sdist(tmp_path)), "--repository-url", url, env=env)
    # twine's own traceback is part of the uploader output shown; none is zigwheel's.
    assert "zigwheel/" not in result.stderr
    assert result.returncode == 5, result.stderr
    assert "could not reach the package index" in result.stderr
    assert "did not accept the credentials" not in result.stderr
    assert secret not in result.stdout + result.stderr
    assert "http://__token__:********@127.0.0.1:9/legacy/" in result.stderr


def test_publish_dry_run_refuses_a_tar_gz_that_is_not_gzip(tmp_path: Path) -> None:
    fake = tmp_path / "demo-1.0.tar.gz"
    fake.write_text("not an archive")
    good = _sdist(tmp_path, "good-1.0")
    result = zigwheel("publish", "--dry-run", str(fake), str(good))
    assert result.returncode == 1, result.stdout
    assert "REFUSED demo-1.0.tar.gz" in result.stdout
    assert "not a gzip file" in result.stdout
    assert "ok      good-1.0.tar.gz" in result.stdout


def test_publish_names_an_invalid_sdist_project_name(tmp_path: Path) -> None:
    sdist = _sdist(tmp_path, "Bad Name-1.0")
    result = zigwheel("publish", "--dry-run", str(sdist))
    assert result.returncode == 1
    assert "'Bad Name' is not a valid project name" in " ".join(result.stdout.split())
    assert "spells this sdist" not in result.stdout


needs_rustup = pytest.mark.skipif(
    __import__("shutil").which("rustup") is None, reason="rustup reads rust-toolchain files"
)
# A toolchain no machine keeps installed; rustup must not fetch it while the test asks about it.
OLD_CHANNEL = "1.60.0"
NO_AUTO_INSTALL = {"RUSTUP_AUTO_INSTALL": "0"}


@needs_rustup
def test_build_names_a_pinned_toolchain_that_is_not_installed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "rust-toolchain.toml").write_text(f'[toolchain]\nchannel = "{OLD_CHANNEL}"\n')
    result = zigwheel(
        "build", str(project), "-t", "x86_64", "--print-plan", env=NO_AUTO_INSTALL
    )
    assert_no_traceback(result)
    assert result.returncode == 3, result.stderr
    text = " ".join(result.stderr.split())
    assert f"pins the Rust toolchain '{OLD_CHANNEL}', which is not installed" in text
    assert f"rustup toolchain install {OLD_CHANNEL}" in text
    assert "RUSTUP_TOOLCHAIN=" in text
    # The user's own choice of toolchain wins over the file, as it does for rustup.
    chosen = zigwheel(
        "build", str(project), "-t", "x86_64", "--print-plan",
        env={**NO_AUTO_INSTALL, "RUSTUP_TOOLCHAIN": "stable"},
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr


@needs_rustup
def test_doctor_names_a_pinned_toolchain_that_is_not_installed(tmp_path: Path) -> None:
    (tmp_path / "rust-toolchain").write_text(f"{OLD_CHANNEL}\n")
    result = zigwheel("doctor", "-t", "x86_64", cwd=tmp_path, env=NO_AUTO_INSTALL)
    assert result.returncode == 1
    assert f"missing  rust toolchain: {tmp_path / 'rust-toolchain'} pins" in result.stdout
    assert f"rustup toolchain install {OLD_CHANNEL}" in result.stdout
    assert "cargo was not found" not in result.stdout
    assert "reinstall Rust" not in result.stdout


@needs_rustup
def test_a_pinned_toolchain_is_never_replaced_by_another_rustc(tmp_path: Path) -> None:
    import subprocess as sp  # noqa: PLC0415

    from zigwheel.toolchain.rustenv import choose_rustc  # noqa: PLC0415

    installed = sp.run(["rustup", "toolchain", "list"], capture_output=True, text=True, check=True)
    channel = installed.stdout.split()[0].split("-")[0]
    (tmp_path / "rust-toolchain.toml").write_text(f'[toolchain]\nchannel = "{channel}"\n')
    # No rustup toolchain has the std of this triple unless added on purpose.
    triple = "s390x-unknown-linux-gnu"
    choice = choose_rustc(triple, dict(os.environ), cwd=tmp_path)
    if choice.rustc is not None and choice.pin is None:
        pytest.skip(f"the pinned toolchain has the {triple} std")
    assert choice.rustc is None
    assert choice.pin is not None
    assert choice.pin.channel == channel
    assert f"rustup target add --toolchain {channel} {triple}" in choice.fix(os.environ)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-t", ""], "--target was given an empty value"),
        (["-t", "x86_64", "--manylinux", ""], "--manylinux is empty"),
        (["-t", "x86_64", "--musllinux", " "], "--musllinux is empty"),
    ],
)
def test_empty_values_are_refused_not_ignored(args: list[str], expected: str) -> None:
    result = zigwheel("build", str(EXAMPLES / "hello-abi3"), "--print-plan", *args)
    assert_no_traceback(result)
    assert result.returncode == 2, result.stdout
    assert f"error: {expected}" in result.stderr


def test_an_empty_policy_in_the_table_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('manylinux = "2_17"', 'manylinux = ""'))
    result = zigwheel("build", str(project), "--print-plan")
    assert result.returncode == 2
    assert "error: [tool.zigwheel] manylinux is empty" in result.stderr
    assert 'manylinux = "2_17"' in result.stderr  # the hint's example is a policy


def test_aliases_of_one_architecture_plan_one_build() -> None:
    args = ("build", str(EXAMPLES / "hello-abi3"), "--print-plan", "--json", "-t", "x86_64,amd64")
    result = zigwheel(*args)
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["plan"]["jobs"]
    assert [job["platform_tag"] for job in jobs] == ["manylinux_2_17_x86_64"]


def test_bidi_and_control_characters_in_file_names_are_printed_escaped(tmp_path: Path) -> None:
    name = "evil\u202egpj.whl"
    wheel = tmp_path / name
    wheel.write_bytes(b"not a zip")
    checked = zigwheel("check", str(wheel))
    published = zigwheel("publish", "--dry-run", str(wheel))
    for result in (checked, published):
        assert_no_traceback(result)
        text = result.stdout + result.stderr
        assert "\u202e" not in text
        assert "evil\\u202egpj.whl" in text
    assert checked.returncode == 6
    assert published.returncode == 1


@pytest.mark.slow
def test_a_failed_target_is_said_once(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with (project / "src" / "lib.rs").open("a") as source:
        source.write("fn broken( {\n")
    result = zigwheel("build", str(project), "-t", "x86_64,aarch64", "-o", str(tmp_path / "out"))
    assert result.returncode == 5
    lines = result.stderr.splitlines()
    assert [line for line in lines if "manylinux_2_17_x86_64: failed" in line] == [
        "manylinux_2_17_x86_64: failed, no wheel written"
    ]
    assert "manylinux_2_17_aarch64: not attempted, no wheel written" in lines
    assert "error: maturin failed for manylinux_2_17_x86_64 (exit code 1)" in lines


def _job() -> Any:
    from zigwheel.builder.jobs import BuildJob  # noqa: PLC0415
    from zigwheel.toolchain.targets import resolve_target  # noqa: PLC0415

    return BuildJob(resolve_target("x86_64", "manylinux_2_17"), (), None)


def test_verbose_progress_streams_each_line_as_it_comes(capsys: pytest.CaptureFixture[str]) -> None:
    from zigwheel.cli.build_cmd import BuildWatch  # noqa: PLC0415

    watch = BuildWatch(verbose=True, github=True, terminal=False, heartbeat=60)
    job = _job()
    watch("start", job, "")
    watch("line", job, "   Compiling zstd-sys v2.0.9")
    assert capsys.readouterr().err.endswith("   Compiling zstd-sys v2.0.9\n")  # before the end
    watch("line", job, "::error::not a command of ours")
    watch("output", job, "...")
    watch.close()
    err = capsys.readouterr().err
    # The tool's own "::" lines are inside stop-commands: the runner does not act on them.
    assert err.index("::error::not") < err.index("::zigwheel-maturin-output::")
    assert err.rstrip().endswith("::endgroup::")
    assert watch.folded


def test_without_a_terminal_a_running_build_says_where_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import time  # noqa: PLC0415

    from zigwheel.cli.build_cmd import BuildWatch  # noqa: PLC0415

    watch = BuildWatch(verbose=False, github=False, terminal=False, heartbeat=0.2)
    job = _job()
    watch("start", job, "")
    watch("line", job, "   Compiling zstd-sys v2.0.9")
    time.sleep(0.7)  # one crate compiling for long: no line comes, the heartbeat speaks
    watch("output", job, "   Compiling zstd-sys v2.0.9\n")
    watch.close()
    err = capsys.readouterr().err
    beats = [line for line in err.splitlines() if "Compiling zstd-sys" in line]
    assert len(beats) >= 2
    assert beats[0].startswith("manylinux_2_17_x86_64: Compiling zstd-sys (1 crate(s) compiled, ")
    assert "\r" not in err  # a log gets whole lines, never a redrawn status line
    assert not watch.folded  # the output is shown only if the build fails


@pytest.mark.slow
def test_a_failed_build_on_github_is_folded_once_and_annotated(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with (project / "src" / "lib.rs").open("a") as source:
        source.write("fn broken( {\n")
    result = zigwheel(
        "build", str(project), "-t", "x86_64", "-o", str(tmp_path / "out"),
        env={"GITHUB_ACTIONS": "true", "ZIGWHEEL_PROGRESS_SECONDS": "2"},
    )  # fmt: skip
    assert result.returncode == 5
    assert result.stderr.count("::group::maturin output (manylinux_2_17_x86_64)") == 1
    assert "crate(s) compiled" in result.stderr  # the heartbeat while the dependencies compiled
    (annotation,) = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=zigwheel build%3A manylinux_2_17_x86_64 failed::")
    assert "maturin failed for manylinux_2_17_x86_64" in annotation


@pytest.mark.slow
def test_two_builds_of_one_commit_give_the_same_wheel(tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415

    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    digests = []
    for run in ("first", "second"):
        # The second run compiles everything again, in a target folder of its own.
        run_env = {**env, "CARGO_TARGET_DIR": str(tmp_path / f"target-{run}")}
        result = subprocess.run(
            [sys.executable, "-m", "zigwheel", "build", str(EXAMPLES / "hello-abi3"),
             "-t", "x86_64", "-o", str(tmp_path / run), "--json"],
            capture_output=True, text=True, check=False, env=run_env, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (wheel,) = json.loads(result.stdout)["wheels"]
        digests.append(wheel["sha256"])
    assert digests[0] == digests[1]
    commit = subprocess.run(
        ["git", "-C", str(EXAMPLES / "hello-abi3"), "log", "-1", "--format=%ct"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with zipfile.ZipFile(next((tmp_path / "first").glob("*.whl"))) as archive:
        import datetime  # noqa: PLC0415

        stamp = datetime.datetime(*archive.infolist()[0].date_time, tzinfo=datetime.timezone.utc)
    assert abs(stamp.timestamp() - int(commit)) <= 2  # zip dates have a 2-second grain


def test_a_workspace_root_names_the_member_to_build(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    member = _project(root / "crates", "py")
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/*"]\n')
    (root / "pyproject.toml").write_text((member / "pyproject.toml").read_text())
    result = zigwheel("build", str(root), "--print-plan")
    assert result.returncode == 2
    assert 'manifest-path = "crates/py/Cargo.toml"' in result.stderr
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace(
        "[tool.maturin]\n", '[tool.maturin]\nmanifest-path = "crates/py/Cargo.toml"\n'
    )
    pyproject.write_text(text)
    planned = zigwheel("build", str(root), "--print-plan", "-t", "x86_64")
    assert planned.returncode == 0, planned.stderr


@needs_rustup
def test_doctor_and_build_name_the_command_that_adds_a_missing_musl_std(tmp_path: Path) -> None:
    # No rustup toolchain has s390x's musl std unless someone added it on purpose.
    triple = "s390x-unknown-linux-musl"
    doctor = zigwheel("doctor", "--musllinux", "1_2", "-t", "s390x", env=NO_AUTO_INSTALL)
    assert_no_traceback(doctor)
    assert doctor.returncode == 1, doctor.stdout
    assert f"missing  {triple}: no std" in doctor.stdout
    assert f"fix: rustup target add {triple}" in doctor.stdout
    build = zigwheel("build", str(_project(tmp_path)), "--musllinux", "1_2", "-t", "s390x",
                     "--print-plan", env=NO_AUTO_INSTALL)  # fmt: skip
    assert_no_traceback(build)
    assert build.returncode == 3, build.stderr
    assert f"rustup target add {triple}" in build.stderr
    both = zigwheel("doctor", "--musllinux", "1_2", "--manylinux", "2_17")
    assert both.returncode == 2
    assert "both a manylinux and a musllinux policy" in both.stderr
