"""Wheels checked by worker processes: the one-by-one reports, in input order, memory rule kept."""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import TracebackType

import pytest

from zigwheel.compliance import batch
from zigwheel.compliance.analysis import check_file, check_paths, check_wheel
from zigwheel.compliance.archive import DEFAULT_LIMITS, Limits, WheelArchive
from zigwheel.compliance.batch import MIN_BATCH_BYTES, check_files, cpus, worker_count
from zigwheel.compliance.read import MemberLock, read_wheel
from zigwheel.compliance.report import WheelReport

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="builds Linux ELF files"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc"),
]

# getrandom is GLIBC_2.25: a wheel claiming manylinux_2_17 with it is not compliant.
_NEW = (
    "#include <sys/random.h>\n"
    "void *PyInit_{name}(void) {{ char b[4]; return (void *)(long)getrandom(b, 4, 0); }}\n"
)
_OLD = "#include <unistd.h>\nvoid *PyInit_{name}(void) {{ return (void *)(long)getpid(); }}\n"


def _library(folder: Path, source: str, name: str) -> bytes:
    src, out = folder / f"{name}.c", folder / f"{name}.so"
    src.write_text(source.format(name=name))
    cmd = ["gcc", "-shared", "-fPIC", "-O1", "-o", str(out), str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def _wheel(folder: Path, dist: str, members: dict[str, bytes]) -> Path:
    path = folder / f"{dist}-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        rows = "".join(f"{m},,\n" for m in members) + f"{dist}-1.0.dist-info/RECORD,,\n"
        archive.writestr(f"{dist}-1.0.dist-info/RECORD", rows)
    return path


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real wheels of gcc-built extensions, of sizes that do not follow their order here."""
    folder = tmp_path_factory.mktemp("batch")
    found: list[Path] = []
    for index in range(6):
        source = _NEW if index % 2 else _OLD
        ext = _library(folder, source, f"m{index}")
        # Incompressible padding of a size out of step with the order: the workers take the
        # biggest wheel first, so the reports must be put back in the order given.
        padding = bytes(range(256)) * ((index * 7) % 5 * 400)
        found.append(_wheel(folder, f"d{index}", {f"d{index}/m{index}.abi3.so": ext,
                                                  f"d{index}/pad.bin": padding}))
    return found


def test_workers_give_the_one_by_one_reports_in_input_order(
    wheels: list[Path], tmp_path: Path
) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "empty").mkdir()
    inputs = [wheels[3], junk, *wheels[:3], tmp_path / "gone-1.0-py3-none-any.whl",
              tmp_path / "empty", *wheels[4:]]  # fmt: skip
    one_by_one = check_paths(inputs, jobs=1)
    assert [r.wheel for r in one_by_one] == [p.name for p in inputs]
    assert {r.compliant for r in one_by_one} == {True, False}  # both verdicts travel back
    assert check_paths(inputs, jobs=3) == one_by_one


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_each_start_method_gives_the_same_reports(wheels: list[Path], method: str) -> None:
    # spawn is what macOS and Windows have; Linux forks when it is safe (start_method)
    reports = check_files(wheels, DEFAULT_LIMITS, 2, check_file, method=method)
    assert reports == [check_wheel(wheel) for wheel in wheels]


def test_workers_start_only_for_several_wheels_with_enough_bytes() -> None:
    assert worker_count([MIN_BATCH_BYTES], None) == 0  # one wheel: this process checks it
    assert worker_count([1000, 2000], None) == 0  # too little work to pay for a worker
    assert worker_count([MIN_BATCH_BYTES] * 50, None) == min(cpus(), 50) - 1
    assert worker_count([MIN_BATCH_BYTES] * 5, 1) == 0
    assert worker_count([10, 10], 8) == 1  # never more processes than wheels
    assert cpus() >= 1


class _Recorder:
    """A lock that counts how often it was taken."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken = 0

    def __enter__(self) -> bool:
        self.lock.acquire()
        self.taken += 1
        return True

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.lock.release()


def test_a_member_over_256_mib_is_inflated_under_the_lock_given(tmp_path: Path) -> None:
    # The lock the processes share (compliance.batch) must reach the member that needs it.
    path = _wheel(tmp_path, "big", {"big/zeros.bin": bytes(257 << 20), "big/small.txt": b"x"})
    recorder = _Recorder()
    with WheelArchive(path) as archive:
        content = read_wheel(archive, recorder)
    assert content.readable
    assert recorder.taken == 1  # the big member only


def _killed_holding_the_lock(path: Path, limits: Limits, lock: MemberLock | None) -> WheelReport:
    """check_file, except that a worker given the biggest wheel (d2) is killed by the system
    while it holds the shared lock, and this process then waits for that lock."""
    in_worker = batch._worker_lock is not None
    holding = path.parent / "lock-taken"
    if in_worker and lock is not None and path.name.startswith("d2-"):
        with lock:
            holding.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
    if not in_worker and lock is not None:  # None: the wheels left after the worker died
        while not holding.exists():
            time.sleep(0.01)
        with lock:  # as for a member over 256 MiB: a dead holder must not stall this forever
            pass
    return check_file(path, limits, None)


def test_a_worker_killed_holding_the_lock_leaves_the_wheels_to_this_process(
    wheels: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    faulthandler.dump_traceback_later(120, exit=True)  # a hang fails the test, not CI's clock
    try:
        reports = check_files(wheels, DEFAULT_LIMITS, 1, _killed_holding_the_lock, method="fork")
    finally:
        faulthandler.cancel_dump_traceback_later()
        (wheels[0].parent / "lock-taken").unlink(missing_ok=True)
    assert reports == [check_wheel(wheel) for wheel in wheels]
    assert "a process checking wheels stopped" in caplog.text


def test_jobs_option_caps_the_processes_and_keeps_the_reports(wheels: list[Path]) -> None:
    def run(*options: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "zigwheel", "check", "--json", *options, *map(str, wheels)]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    one, several = run("--jobs", "1"), run("-j", "3")
    assert one.returncode == several.returncode == 1  # some wheels need GLIBC_2.25
    assert json.loads(one.stdout) == json.loads(several.stdout)
    assert [w["wheel"] for w in json.loads(one.stdout)["wheels"]] == [w.name for w in wheels]
    refused = run("--jobs", "0")
    assert refused.returncode == 2
    assert "--jobs" in refused.stderr
    assert not refused.stdout
