"""Runtime tests of tiny C-extension wheels (zig for glibc 2.17, host gcc) in venvs and roots."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from zigwheel.api import run_tests
from zigwheel.host import Host
from zigwheel.platforms import find_qemu
from zigwheel.runtime import debian_root as root_builder
from zigwheel.runtime import wheeltest

# A limited-API (abi3, Python >= 3.9) module whose `spawn()` starts a thread: with the host's
# glibc 2.36, gcc binds pthread_create to GLIBC_2.34; zig for glibc 2.17 binds it to 2.2.5.
TINY_C = r"""
#define Py_LIMITED_API 0x03090000
#include <Python.h>
#include <pthread.h>

static void *work(void *arg) { return arg; }

static PyObject *spawn(PyObject *self, PyObject *args) {
    pthread_t thread;
    void *out = NULL;
    if (pthread_create(&thread, NULL, work, (void *)42) != 0) return PyErr_NoMemory();
    pthread_join(thread, &out);
    return PyLong_FromLong((long)out);
}

static PyMethodDef methods[] = {{"spawn", spawn, METH_NOARGS, "Start a thread."}, {0}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tinyext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_tinyext(void) { return PyModule_Create(&module); }
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    so_file: Path, platform_tag: str, out: Path, python_tag: str = "cp39",
    requires: tuple[str, ...] = (), *, package: dict[str, str] | None = None,
    members: dict[str, str] | None = None,
) -> Path:  # fmt: skip
    """Pack tinyext.abi3.so into a wheel named with ``platform_tag`` (``requires``: its
    Requires-Dist lines; ``package``: the source of tinypkg's files, tinyext then in it;
    ``members``: more files by their path in the wheel)."""
    abi = "abi3" if python_tag == "cp39" else python_tag
    metadata = "Metadata-Version: 2.1\nName: tinyext\nVersion: 0.1\n"
    metadata += "".join(f"Requires-Dist: {line}\n" for line in requires)
    where = "tinypkg/" if package is not None else ""
    files = {
        **{f"tinypkg/{name}": text.encode() for name, text in (package or {}).items()},
        f"{where}tinyext.abi3.so": so_file.read_bytes(),
        **{name: text.encode() for name, text in (members or {}).items()},
        "tinyext-0.1.dist-info/METADATA": metadata.encode(),
        "tinyext-0.1.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\n"
            f"Tag: {python_tag}-{abi}-{platform_tag}\n"
        ).encode(),
    }
    record = [_record_line(name, data) for name, data in files.items()]
    record.append("tinyext-0.1.dist-info/RECORD,,")
    files["tinyext-0.1.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"tinyext-0.1-{python_tag}-{abi}-{platform_tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, data)
    return wheel


def compile_tiny(out: Path, compiler: list[str]) -> Path:
    source = out / "tinyext.c"
    source.write_text(TINY_C)
    so_file = out / "tinyext.abi3.so"
    include = sysconfig.get_paths()["include"]
    cmd = [*compiler, "-shared", "-fPIC", "-O1", f"-I{include}", str(source), "-o", str(so_file)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return so_file


def zig_cc(target: str) -> list[str]:
    return [sys.executable, "-m", "ziglang", "cc", "-target", target]


@pytest.fixture(scope="session")
def tiny_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tinyext wheels: zig x86_64/aarch64 for glibc 2.17, and host gcc (glibc of this host)."""
    out = tmp_path_factory.mktemp("tiny")
    wheels = {}
    for arch in ("x86_64", "aarch64"):
        build = out / f"zig-{arch}"
        build.mkdir()
        so_file = compile_tiny(build, zig_cc(f"{arch}-linux-gnu.2.17"))
        wheels[f"zig-{arch}"] = make_wheel(so_file, f"manylinux_2_17_{arch}", out / "dist")
    if shutil.which("gcc") and Host.detect().arch == "x86_64":
        build = out / "gcc"
        build.mkdir()
        so_file = compile_tiny(build, ["gcc"])
        wheels["gcc-x86_64"] = make_wheel(so_file, "linux_x86_64", out / "dist-gcc")
    return wheels


def debian_root(release: str, arch: str) -> Path:
    """A cached Debian root (built by .ci/provision.d/roots.sh, or now if missing)."""
    return root_builder.ensure_debian_root(release, arch, env=os.environ).path


def test_zig_wheel_imports_in_a_fresh_host_venv(tiny_wheels: dict[str, Path]) -> None:
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-x86_64"],
        env=os.environ,
        host_python=sys.executable,
        command='python -c "import tinyext; assert tinyext.spawn() == 42"',
    )
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.kind == "host"
    assert [m.module for m in result.modules] == ["tinyext"]
    assert result.command_ok is True


@pytest.mark.slow
@pytest.mark.network
def test_zig_wheel_for_glibc_2_17_imports_in_a_bullseye_root(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path
) -> None:
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-x86_64"],
        env=os.environ,
        root=bullseye_amd64,
        command='python -c "import sys, tinyext; assert tinyext.spawn() == 42; print(sys.version)"',
    )
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.kind == "loader"
    assert result.libc == "glibc 2.31"
    assert "3.9." in result.output


@pytest.mark.slow
@pytest.mark.network
def test_host_gcc_wheel_fails_in_a_bullseye_root_with_the_loader_message(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path
) -> None:
    if "gcc-x86_64" not in tiny_wheels:
        pytest.skip("needs gcc on an x86_64 host")
    result = wheeltest.run_wheel_test(
        tiny_wheels["gcc-x86_64"], env=os.environ, root=bullseye_amd64
    )
    assert result.status == wheeltest.FAILED, result.to_json()
    assert "version `GLIBC_2.34' not found" in result.reason
    assert "glibc 2.31" in result.reason
    assert result.modules[0].ok is False


@pytest.mark.slow
@pytest.mark.network
def test_aarch64_zig_wheel_imports_under_qemu_in_a_bookworm_arm64_root(
    tiny_wheels: dict[str, Path], bookworm_arm64: Path
) -> None:
    if find_qemu("aarch64", os.environ.get("PATH", "")) is None:
        pytest.skip("needs qemu-aarch64 (Debian package qemu-user-static)")
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-aarch64"],
        env=os.environ,
        root=bookworm_arm64,
        command='python -c "import platform, tinyext; print(platform.machine(), tinyext.spawn())"',
    )
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.kind == "qemu"
    assert "aarch64 42" in result.output


@pytest.mark.slow
@pytest.mark.network
def test_wheel_for_another_arch_is_refused_by_a_root(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path
) -> None:
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-aarch64"], env=os.environ, root=bullseye_amd64
    )
    assert result.status == wheeltest.NOT_TESTED
    assert "manylinux_2_17_aarch64 does not run on CPython 3.9, glibc 2.31, x86_64" in result.reason


def zigwheel_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
@pytest.mark.network
def test_cli_reports_each_wheel_and_fails_on_the_glibc_error(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path
) -> None:
    if "gcc-x86_64" not in tiny_wheels:
        pytest.skip("needs gcc on an x86_64 host")
    wheels = [tiny_wheels["zig-x86_64"], tiny_wheels["gcc-x86_64"], tiny_wheels["zig-aarch64"]]
    done = zigwheel_cli("test", "--json", "--root", str(bullseye_amd64), *map(str, wheels))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    statuses = {Path(r["path"]).name: r["status"] for r in report["results"]}
    assert statuses == {
        wheels[0].name: "passed",
        wheels[1].name: "failed",
        wheels[2].name: "not-tested",
    }
    assert report["summary"] == {"passed": 1, "failed": 1, "not-tested": 1}
    human = zigwheel_cli("test", "--root", str(bullseye_amd64), str(wheels[1]))
    assert human.returncode == 1
    assert "FAIL " + wheels[1].name in human.stdout
    assert "version `GLIBC_2.34' not found" in human.stdout


def test_cli_passes_a_wheel_in_a_host_venv_and_honours_the_project_command(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.zigwheel]\n"
        "test-command = \"python -c 'import tinyext; assert tinyext.spawn() == 7'\"\n"
    )
    done = zigwheel_cli("test", "--project", str(tmp_path), str(tiny_wheels["zig-x86_64"]))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the test command exited with code 1" in done.stdout
    assert "AssertionError" in done.stdout
    ok = zigwheel_cli(
        "test", "--command", "python -c 'import tinyext; print(tinyext.spawn())'",
        str(tiny_wheels["zig-x86_64"]),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 passed, 0 failed, 0 not tested" in ok.stdout


def test_cli_uses_the_current_folders_test_command_only_for_its_own_wheels(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    """Without --project, ./pyproject.toml's test-command runs for a wheel of that project."""
    wheel = str(tiny_wheels["zig-x86_64"])
    command = "python -c 'import tinyext; assert tinyext.spawn() == 7'"  # fails: spawn() is 42
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "TinyExt"\n\n[tool.zigwheel]\ntest-command = "{command}"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", wheel],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "using test-command from ./pyproject.toml" in done.stderr
    assert f"command {command}: FAILED" in done.stdout
    assert "AssertionError" in done.stdout

    # Another project's folder: its command is not run, only the import smoke test.
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "other"\n\n[tool.zigwheel]\ntest-command = "{command}"\n'
    )
    other = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", "--json", wheel],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert other.returncode == 0, other.stdout + other.stderr
    (result,) = json.loads(other.stdout)["results"]
    assert result["command"] is None
    assert [m["module"] for m in result["modules"]] == ["tinyext"]


REQUIRES_CHECK = (
    "python -c 'import iniconfig, tinyext; assert tinyext.spawn() == 42; "
    "print(\"ini from\", iniconfig.__file__)' && python -m pip --version"
)


@pytest.mark.network
def test_host_venv_gets_pip_and_the_test_requirements(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-x86_64"], env=os.environ, host_python=sys.executable,
        command=REQUIRES_CHECK, requires=["iniconfig"], cache=cache,
    )  # fmt: skip
    assert result.status == wheeltest.PASSED, result.to_json()
    assert "/venv/" in result.output.split("ini from", 1)[1].splitlines()[0]
    # pip came from its own wheel, cached in zigwheel's cache, not from the host's site-packages
    assert f"python {sys.version_info[0]}.{sys.version_info[1]})" in result.output
    (pip,) = (cache / "pip").glob("py*/pip-*.whl")
    assert pip.parent.name == f"py{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.mark.slow
@pytest.mark.network
def test_a_root_installs_requirements_with_its_own_pip(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path, tmp_path: Path
) -> None:
    result = wheeltest.run_wheel_test(
        tiny_wheels["zig-x86_64"], env=os.environ, root=bullseye_amd64,
        command=REQUIRES_CHECK, requires=["iniconfig"], cache=tmp_path / "cache",
    )  # fmt: skip
    assert result.status == wheeltest.PASSED, result.to_json()
    assert "python 3.9)" in result.output  # `pip --version` run by the root's Python 3.9


@pytest.mark.slow
def test_a_wheel_past_its_timeout_fails_with_its_whole_process_group_stopped(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    run = run_tests(
        [tiny_wheels["zig-x86_64"]], command=f"sleep 60 & echo $! > {pid_file}; wait",
        timeout=20, cwd=tmp_path,
    )  # fmt: skip
    (result,) = run.results
    assert result.status == wheeltest.FAILED, result.to_json()
    assert result.timed_out
    assert result.reason.startswith("timeout: the test did not finish within 20 seconds")
    # the background sleep, in the command's process group, was stopped with it
    stat = Path(f"/proc/{pid_file.read_text().strip()}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"


@pytest.mark.slow
def test_cli_timeout_fails_one_wheel_and_tests_the_next(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    first = tiny_wheels["zig-x86_64"]
    second = tmp_path / "fast" / first.name  # the same wheel in another folder
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", "--json", "--timeout", "30",
         "--command", "case {wheel} in */fast/*) ;; *) sleep 120;; esac", str(first), str(second)],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads(done.stdout)["results"]
    assert [r["status"] for r in results] == ["failed", "passed"]
    assert results[0]["timed_out"] is True


# A subprocess of sys.executable reports the libc and machine it runs on, and the environment.
SUBPROCESS_REPORT = (
    "python -c 'import os, subprocess, sys; "
    "print(\"env PYTHONPATH=%s PYTHONHOME=%s\" % (os.environ.get(\"PYTHONPATH\"), "
    "os.environ.get(\"PYTHONHOME\"))); "
    "sys.stdout.flush(); subprocess.run([sys.executable, \"-c\", \"import os, platform; "
    "print(\\\"child\\\", os.confstr(\\\"CS_GNU_LIBC_VERSION\\\"), platform.machine())\"], "
    "check=True)'"
)


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    ("wheel", "root", "reported"),
    [
        ("zig-x86_64", "bullseye_amd64", "child glibc 2.31 x86_64"),
        ("zig-aarch64", "bookworm_arm64", "child glibc 2.36 aarch64"),
    ],
)
def test_a_sealed_root_keeps_subprocesses_of_sys_executable_inside(
    tiny_wheels: dict[str, Path], wheel: str, root: str, reported: str,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    result = wheeltest.run_wheel_test(
        tiny_wheels[wheel], env=os.environ, root=request.getfixturevalue(root),
        command=SUBPROCESS_REPORT,
    )  # fmt: skip
    if result.sealed.startswith("not sealed"):
        pytest.skip(f"this machine cannot seal a root: {result.sealed}")
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.sealed.startswith("sealed: user-namespace chroot"), result.sealed
    assert reported in result.output, result.output
    # the same environment rules as a host venv: zigwheel sets neither variable
    assert "env PYTHONPATH=None PYTHONHOME=None" in result.output


def test_cli_streams_the_output_with_v_and_always_shows_its_last_lines(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    command = "echo first-line; echo '3 passed in 0.01s'"
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "-v", "test", "--command", command,
         str(tiny_wheels["zig-x86_64"])],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  | first-line" in done.stderr  # streamed as it ran
    assert "  3 passed in 0.01s" in done.stdout  # the summary in the report of a passed wheel
    quiet = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", "--json", "--command", command,
         str(tiny_wheels["zig-x86_64"])],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    (result,) = json.loads(quiet.stdout)["results"]
    assert "first-line\n3 passed in 0.01s" in result["output"]  # --json keeps it whole
    assert "  | " not in quiet.stderr


@pytest.mark.slow
@pytest.mark.network
def test_with_deps_installs_the_wheels_dependencies_in_a_root_and_its_absence_is_explained(
    tiny_wheels: dict[str, Path], bullseye_amd64: Path, tmp_path: Path
) -> None:
    so_file = tiny_wheels["zig-x86_64"].parent.parent / "zig-x86_64" / "tinyext.abi3.so"
    wheel = make_wheel(so_file, "manylinux_2_17_x86_64", tmp_path / "dist",
                       requires=("iniconfig", "pytest; extra == 'test'"))  # fmt: skip
    command = "python -c 'import iniconfig'"
    missing = wheeltest.run_wheel_test(wheel, env=os.environ, root=bullseye_amd64,
                                       command=command, cache=tmp_path / "cache")  # fmt: skip
    assert missing.status == wheeltest.FAILED, missing.to_json()
    assert "'iniconfig' is not installed: it is likely iniconfig's" in missing.reason
    assert "--with-deps" in missing.reason
    done = wheeltest.run_wheel_test(wheel, env=os.environ, root=bullseye_amd64, command=command,
                                    with_deps=True, cache=tmp_path / "cache")  # fmt: skip
    assert done.status == wheeltest.PASSED, done.to_json()


@pytest.mark.slow
@pytest.mark.parametrize("root", ["bullseye_amd64", "bookworm_arm64"])
def test_a_wheels_scripts_and_entry_points_are_commands_in_a_root(
    root: str, tiny_wheels: dict[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Unpacked into a root, the wheel's entry points and #!python scripts still run, by the
    root's Python (a host venv gets them from pip)."""
    arch = "x86_64" if root == "bullseye_amd64" else "aarch64"
    so_file = tiny_wheels[f"zig-{arch}"].parent.parent / f"zig-{arch}" / "tinyext.abi3.so"
    wheel = make_wheel(so_file, f"manylinux_2_17_{arch}", tmp_path / "dist", package={
        "__init__.py": "import sys\n"
                       "def main():\n    print('cli', sys.argv, sys.version_info[:2])\n",
    }, members={
        "tinyext-0.1.dist-info/entry_points.txt": "[console_scripts]\ntinycli = tinypkg:main\n",
        "tinyext-0.1.data/scripts/tinyscript": "#!python\nimport platform\n"
                                              "print('script', platform.machine())\n",
    })  # fmt: skip
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=request.getfixturevalue(root),
                                      command="tinycli a 'b c' && tinyscript")  # fmt: skip
    assert result.status == wheeltest.PASSED, result.to_json()
    version = (3, 9) if root == "bullseye_amd64" else (3, 11)
    assert f"cli ['tinycli', 'a', 'b c'] {version}" in result.output
    assert f"script {arch}" in result.output


@pytest.mark.parametrize("where", ["host", pytest.param("bullseye_amd64", marks=pytest.mark.slow)])
def test_a_dependency_missing_at_import_is_named_from_requires_dist_with_the_flag(
    where: str, tiny_wheels: dict[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The package of the extension imports a Requires-Dist distribution that is not installed
    (no --with-deps): the report names the distribution and the flag, on the host and in a root."""
    so_file = tiny_wheels["zig-x86_64"].parent.parent / "zig-x86_64" / "tinyext.abi3.so"
    wheel = make_wheel(so_file, "manylinux_2_17_x86_64", tmp_path / "dist",
                       requires=("iniconfig>=1", "numpy; extra == 'fast'"),
                       package={"__init__.py": "import iniconfig\n"})  # fmt: skip
    root = None if where == "host" else request.getfixturevalue(where)
    result = wheeltest.run_wheel_test(wheel, env=os.environ, root=root, cache=tmp_path / "cache")
    assert result.status == wheeltest.FAILED, result.to_json()
    assert result.kind == ("host" if root is None else "loader")
    assert result.reason == (
        "import tinypkg.tinyext failed: ModuleNotFoundError: No module named 'iniconfig'; "
        "'iniconfig' is not installed: it is likely iniconfig's, a Requires-Dist of the wheel; "
        "zigwheel test installs the wheel's dependencies only with --with-deps"
    )
    args = ["test", str(wheel), *(["--root", str(root)] if root else [])]
    human = zigwheel_cli(*args)
    assert human.returncode == 1, human.stdout + human.stderr
    assert "import tinypkg.tinyext: FAILED" in human.stdout
    assert "likely iniconfig's, a Requires-Dist of the wheel" in human.stdout
    assert "--with-deps" in human.stdout


@pytest.mark.network
def test_cli_installs_the_projects_dependency_group(
    tiny_wheels: dict[str, Path], tmp_path: Path
) -> None:
    """test-groups in ./pyproject.toml: the group's requirements (include-group followed)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "tinyext"\n\n'
        '[dependency-groups]\ntest = [{include-group = "ini"}]\nini = ["iniconfig"]\n\n'
        "[tool.zigwheel]\ntest-groups = [\"test\"]\n"
        "test-command = \"cd {project} && python -c 'import iniconfig, tinyext'\"\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "zigwheel", "test", str(tiny_wheels["zig-x86_64"])],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"command cd {tmp_path} && python" in done.stdout  # {project}: the current folder


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    ("wheel", "root", "reported"),
    [
        ("zig-x86_64", "bullseye_amd64", "child glibc 2.31 x86_64"),
        ("zig-aarch64", "bookworm_arm64", "child glibc 2.36 aarch64"),
    ],
)
def test_an_unsealed_root_says_so_and_its_sys_executable_still_starts_the_root(
    wheel: str, root: str, reported: str, *, tiny_wheels: dict[str, Path],
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:  # fmt: skip
    """Without unshare on PATH the root cannot be sealed: the report says so, and a subprocess
    of sys.executable still runs the root's Python with the root's libc (or under qemu)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "qemu-aarch64-static", "qemu-aarch64"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    result = wheeltest.run_wheel_test(
        tiny_wheels[wheel], env={**os.environ, "PATH": str(bin_dir)},
        root=request.getfixturevalue(root), command=SUBPROCESS_REPORT,
    )  # fmt: skip
    assert result.status == wheeltest.PASSED, result.to_json()
    assert result.sealed.startswith("not sealed: unshare (util-linux) is not on PATH")
    assert reported in result.output, result.output
