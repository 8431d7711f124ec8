"""End-to-end: zigwheel build of every example for x86_64 and aarch64 at manylinux 2_17."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from zigwheel.compliance.analysis import check_wheel

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ("hello-abi3", "cmix", "versioned")
ARCHES = ("x86_64", "aarch64")
E_MACHINE = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _glibc_versions(wheel: Path) -> dict[str, tuple[str, set[tuple[int, ...]]]]:
    """Per ELF in the wheel: its machine and the GLIBC_x.y versions it needs (pyelftools)."""
    found: dict[str, tuple[str, set[tuple[int, ...]]]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if not data.startswith(b"\x7fELF"):
                continue
            elf = ELFFile(io.BytesIO(data))
            versions: set[tuple[int, ...]] = set()
            for section in elf.iter_sections():
                if isinstance(section, GNUVerNeedSection):
                    for _verneed, aux_iter in section.iter_versions():
                        for aux in aux_iter:
                            if aux.name.startswith("GLIBC_") and aux.name[6:7].isdigit():
                                versions.add(tuple(int(x) for x in aux.name[6:].split(".")))
            found[name] = (elf["e_machine"], versions)
    return found


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_wheel_is_manylinux_2_17(
    name: str, arch: str, example_wheel: Callable[..., Path]
) -> None:
    wheel = example_wheel(name, arch)
    assert f"manylinux_2_17_{arch}" in wheel.name
    elves = _glibc_versions(wheel)
    assert elves, f"no ELF in {wheel.name}"
    for member, (machine, versions) in elves.items():
        assert machine == E_MACHINE[arch], member
        assert versions, f"{member} needs no GLIBC version at all: not a real link?"
        assert max(versions) <= (2, 17), f"{member} needs GLIBC_{max(versions)}"
    report = check_wheel(wheel)
    assert report.compliant, report.problems
    assert report.policy == f"manylinux_2_17_{arch}"


@pytest.mark.parametrize("arch", ARCHES)
def test_musllinux_wheel_needs_only_musl_and_passes_check(arch: str, tmp_path: Path) -> None:
    """A musllinux_1_2 build links musl (soname libc.so), nothing of glibc, and passes check."""
    import zigwheel  # noqa: PLC0415

    result = zigwheel.build(REPO / "examples" / "hello-abi3", targets=[arch], musllinux="1_2",
                            out_dir=tmp_path, env=dict(os.environ))  # fmt: skip
    (wheel,) = result.wheels
    assert wheel.path.name.endswith(f"-musllinux_1_2_{arch}.whl"), wheel.path.name
    elves = _glibc_versions(wheel.path)
    assert elves, f"no ELF in {wheel.path.name}"
    for member, (machine, versions) in elves.items():
        assert machine == E_MACHINE[arch], member
        assert not versions, f"{member} needs glibc symbol versions {sorted(versions)}"
    report = check_wheel(wheel.path)
    assert report.compliant, report.problems
    assert report.policy == f"musllinux_1_2_{arch}"
    assert {need for elf in report.elves for need in elf.needed} <= {"libc.so", "libgcc_s.so.1"}


def _fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=False, system_site_packages=False)
    return path / "bin" / "python"


@pytest.mark.parametrize("name", EXAMPLES)
def test_x86_64_wheel_passes_its_own_tests(
    name: str, example_wheel: Callable[..., Path], tmp_path: Path
) -> None:
    wheel = example_wheel(name, "x86_64")
    python = _fresh_venv(tmp_path / "venv")
    # The host's pip installs into the fresh venv (no network: the wheel has no dependencies).
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)],
        check=True,
    )  # fmt: skip
    # pytest itself comes from the host environment; the module under test only from the venv.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    pytest_dir = Path(pytest.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([site, str(pytest_dir)])}
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(REPO / "examples" / name / "tests")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_native_build_fails_manylinux_2_17(
    example_wheel: Callable[..., Path], tmp_path: Path
) -> None:
    """Without zig, this host's glibc leaks into the wheel: maturin and zigwheel both say so."""
    result = subprocess.run(
        [sys.executable, "-m", "maturin", "build", "--release", "--out", str(tmp_path),
         "--manifest-path", str(REPO / "examples" / "cmix" / "Cargo.toml"),
         "--compatibility", "manylinux_2_17", "--interpreter", sys.executable],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "too-recent versioned symbols" in output
    assert not list(tmp_path.glob("*.whl"))

    native = example_wheel("cmix", "x86_64", native=True)
    report = check_wheel(native)
    assert report.policy != "manylinux_2_17_x86_64"
    newest = max(
        (tuple(int(x) for x in version[6:].split(".")), version)
        for elf in report.elves
        for versions in elf.versions.values()
        for version in versions
        if version.startswith("GLIBC_2")
    )
    assert newest[0] > (2, 17), newest


def test_cli_build_json_and_plan(tmp_path: Path, example_wheel: Callable[..., Path]) -> None:
    example_wheel("hello-abi3", "x86_64")  # warms cargo's cache for this example
    out = tmp_path / "dist"
    plan = subprocess.run(
        [sys.executable, "-m", "zigwheel", "build", str(REPO / "examples" / "hello-abi3"),
         "-t", "x86_64,aarch64", "--print-plan", "--json", "-o", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    document = json.loads(plan.stdout)
    assert [job["platform_tag"] for job in document["plan"]["jobs"]] == [
        "manylinux_2_17_x86_64",
        "manylinux_2_17_aarch64",
    ]
    assert document["plan"]["sources"]["targets"] == "flag"
    assert not out.exists()

    built = subprocess.run(
        [sys.executable, "-m", "zigwheel", "build", str(REPO / "examples" / "hello-abi3"),
         "-t", "x86_64", "--json", "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    (wheel,) = result["wheels"]
    assert wheel["policy"] == "manylinux_2_17_x86_64"
    assert sorted(p.name for p in out.iterdir()) == [wheel["wheel"]]


def test_non_compliant_wheel_never_reaches_the_output(tmp_path: Path) -> None:
    """A wheel that needs a library it does not bundle is refused; the output stays empty.

    maturin's own audit is skipped (as a user may do), so only zigwheel's check stands between
    the wheel and the output folder.
    """
    from zigwheel.toolchain.shims import install_shims  # noqa: PLC0415
    from zigwheel.toolchain.targets import resolve_target  # noqa: PLC0415
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415

    env = dict(os.environ)
    shims = install_shims(resolve_target("x86_64", "2_17"), locate_zig(env), tmp_path / "cache")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    (libdir / "extra.c").write_text("int zigwheel_extra(void) { return 42; }\n")
    subprocess.run(
        [str(shims.cc), "-shared", "-fPIC", "-o", str(libdir / "libzwextra.so"),
         str(libdir / "extra.c")],
        check=True,
    )  # fmt: skip
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("target")
    shutil.copytree(REPO / "examples" / "hello-abi3", project, ignore=ignore)
    out = tmp_path / "dist"
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    link = ["-L", str(libdir), "-Wl,--no-as-needed", "-lzwextra"]
    env["RUSTFLAGS"] = " ".join(f"-C link-arg={arg}" for arg in link)
    result = subprocess.run(
        [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
         "-o", str(out), "--maturin-arg=--auditwheel=skip", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "libzwextra.so" in result.stdout + result.stderr
    assert not list(out.glob("*.whl"))
    assert not [p for p in out.iterdir() if p.name.startswith(".zigwheel-")]


def test_failed_second_target_keeps_and_reports_the_first(tmp_path: Path) -> None:
    """x86_64 builds, aarch64's C compiler fails: exit 5 (maturin), the x86_64 wheel is listed.

    The user's own CC_<triple> wins over zigwheel's shim, so pointing the aarch64 one at
    `false` makes the cc crate in cmix's build script fail for that target only.
    """
    out = tmp_path / "dist"
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    env["CC_aarch64_unknown_linux_gnu"] = shutil.which("false") or "false"
    command = [sys.executable, "-m", "zigwheel", "build", str(REPO / "examples" / "cmix"),
               "-t", "x86_64,aarch64", "-o", str(out)]  # fmt: skip
    env["COLUMNS"] = "300"  # the summary table on one line per wheel
    result = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 5, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["target"] == "manylinux_2_17_aarch64"
    assert document["not_built"] == [{"target": "manylinux_2_17_aarch64", "state": "failed"}]
    (wheel,) = document["wheels"]
    assert wheel["target"] == "manylinux_2_17_x86_64"
    assert sorted(p.name for p in out.iterdir()) == [wheel["wheel"]]
    assert check_wheel(out / wheel["wheel"]).compliant

    # The same run for a person: the summary names the wheel that exists and the failed target.
    (out / wheel["wheel"]).unlink()
    text = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert text.returncode == 5, text.stderr
    assert wheel["wheel"] in text.stdout
    assert "manylinux_2_17_aarch64: failed, no wheel written" in text.stderr
    assert "maturin failed for manylinux_2_17_aarch64" in text.stderr


def test_cmix_build_log_has_no_zig_error(tmp_path: Path) -> None:
    """cmix's build script uses the cc crate, whose probes (--version, -dumpmachine) reach the
    shims: maturin's whole output (-v) shows neither a zig error nor a cc crate warning."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"))
    command = [sys.executable, "-m", "zigwheel", "build", str(REPO / "examples" / "cmix"),
               "-t", "x86_64", "-o", str(tmp_path / "dist"), "-v"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "Compiling cmix" in log  # the log really is maturin's and cargo's
    assert "zig: error" not in log
    assert "warning: cmix@" not in log


def _session_members(session: int) -> list[int]:
    """Pids of live processes in the session ``session`` (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session, ...; zombies are already gone.
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_during_maturin_leaves_no_wheel_and_no_staging(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """CI cancels with SIGTERM, a person with Ctrl-C (SIGINT): maturin's whole process group
    stops, zigwheel exits 128 + the signal's number and the output stays clean."""
    out = tmp_path / "dist"
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")  # cold: maturin runs long enough
    build = subprocess.Popen(
        [sys.executable, "-m", "zigwheel", "build", str(REPO / "examples" / "hello-abi3"),
         "-t", "x86_64", "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        maturin: int | None = None
        while time.monotonic() < deadline and build.poll() is None:
            kids = _children(build.pid)
            # maturin leads its own session; wait until cargo or rustc runs inside it.
            if kids and len(_session_members(kids[0])) > 1:
                maturin = kids[0]
                break
            time.sleep(0.2)
        assert maturin is not None, "maturin never started a compiler"
        assert list(out.glob(".zigwheel-*")), "the staging folder should exist while building"
        build.send_signal(stop)
        _, stderr = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == 128 + stop, stderr
    assert f"interrupted ({stop.name})" in stderr
    assert not _session_members(maturin), "maturin's process group outlived zigwheel"
    assert sorted(p.name for p in out.iterdir()) == []


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc locates the host's libc.so.6")
def test_host_glibc_in_a_zig_link_is_refused_and_explained(tmp_path: Path) -> None:
    """The host's libc.so.6/libm.so.6 on the link line (as a stray link-arg or -L does) make
    the zig-linked cmix need GLIBC_2.29 (log, pow, exp) and GLIBC_2.34 (pthread_create): the
    build fails naming those symbols and the explanation, and nothing reaches the output.
    """
    libs = [
        subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                       check=True).stdout.strip()
        for name in ("libm.so.6", "libc.so.6")
    ]  # fmt: skip
    assert all(Path(lib).is_file() for lib in libs), libs
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "cmix", project, ignore=shutil.ignore_patterns("target"))
    out = tmp_path / "dist"
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = str(tmp_path / "target")
    env["RUSTFLAGS"] = " ".join(f"-C link-arg={lib}" for lib in libs)
    command = [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
               "-o", str(out), "--json"]  # fmt: skip

    # maturin's own audit is skipped: only zigwheel's check stands between wheel and output.
    skipped = subprocess.run(
        [*command, "--maturin-arg=--auditwheel=skip"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert skipped.returncode == 1, skipped.stdout + skipped.stderr
    document = json.loads(skipped.stdout)
    assert document["wheels"] == []
    for symbol in ("log@GLIBC_2.29", "pow@GLIBC_2.29", "pthread_create@GLIBC_2.34"):
        assert symbol in document["error"] + skipped.stderr, symbol
    ids = [item["id"] for item in document["explanations"]]
    assert ids[0] == "zig-build-needs-newer-glibc", ids
    assert "GLIBC_2.34" in document["explanations"][0]["cause"]
    assert "too-recent-versioned-symbols" not in ids  # its fix says "build with zig"
    assert "A wheel linked with zig for an old glibc" in skipped.stderr
    assert sorted(p.name for p in out.iterdir()) == []

    # With maturin's audit on, maturin refuses it first (exit 5), explained the same way.
    audited = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert audited.returncode == 5, audited.stdout + audited.stderr
    document = json.loads(audited.stdout)
    assert [item["id"] for item in document["explanations"]][:1] == ["zig-build-needs-newer-glibc"]
    assert "GLIBC_2.34" in document["explanations"][0]["cause"]
    assert sorted(p.name for p in out.iterdir()) == []


def _hello_copy(tmp_path: Path, old: str, new: str, file: str) -> Path:
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "hello-abi3", project,
                    ignore=shutil.ignore_patterns("target", "dist"))  # fmt: skip
    text = (project / file).read_text()
    assert old in text
    (project / file).write_text(text.replace(old, new))
    return project


def test_a_bare_abi3_crate_cross_builds_for_the_oldest_python_allowed(tmp_path: Path) -> None:
    """pyo3's `abi3` without `abi3-py3X` (as bcrypt has): maturin alone finds no interpreter
    for aarch64; build passes the oldest that requires-python (>=3.9) allows."""
    project = _hello_copy(tmp_path, '"abi3-py39"', '"abi3"', "Cargo.toml")
    out = tmp_path / "dist"
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    result = subprocess.run(
        [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "aarch64",
         "-o", str(out), "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = json.loads(result.stdout)["wheels"]
    assert "-cp39-abi3-" in wheel["wheel"]
    assert wheel["wheel"].endswith("manylinux_2_17_aarch64.whl")
    assert check_wheel(out / wheel["wheel"]).compliant


def test_a_wheel_maturin_says_will_not_import_is_refused(tmp_path: Path) -> None:
    """A module name without its PyInit_ symbol: maturin warns and writes the wheel anyway;
    zigwheel build keeps no such wheel and says why (exit 1)."""
    project = _hello_copy(
        tmp_path, 'module-name = "hello_abi3"', 'module-name = "hello_other"', "pyproject.toml"
    )
    out = tmp_path / "dist"
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    result = subprocess.run(
        [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
         "-o", str(out), "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert [item["id"] for item in document["explanations"]] == ["module-init-symbol-missing"]
    assert document["explanations"][0]["details"]["symbol"] == "PyInit_hello_other"
    assert "cannot be imported" in document["error"]
    assert document["kind"] == "UnimportableWheel"
    assert not list(out.glob("*.whl"))
