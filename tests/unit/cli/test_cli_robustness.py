"""The CLI as a hostile user meets it: plain help, verbatim text, no traceback, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def zigwheel(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> (
    subprocess.CompletedProcess[str]
):
    """The real command line, in a process of its own (stdout and stderr not terminals)."""
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args],
        capture_output=True, text=True, check=False, cwd=cwd,
        env={**os.environ, "COLUMNS": "80", **(env or {})}, timeout=120,
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
