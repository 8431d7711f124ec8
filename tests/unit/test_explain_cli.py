"""The `zigwheel explain` command: exit codes, stdin, --json, unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from zigwheel.cli import app
from zigwheel.errors import UnreadableInputError

LOGS = Path(__file__).resolve().parent.parent / "data" / "logs"
runner = CliRunner()


def test_explains_a_log_file_and_exits_0() -> None:
    result = runner.invoke(app, ["explain", str(LOGS / "unsupported-linker-arg.log")])
    assert result.exit_code == 0, result.output
    assert "unsupported-linker-arg" in result.output
    assert "cause:" in result.output
    assert "--fix-cortex-a53-843419" in result.output


def test_reads_standard_input() -> None:
    text = (LOGS / "zig-not-found.log").read_text()
    result = runner.invoke(app, ["explain", "-"], input=text)
    assert result.exit_code == 0
    assert "zig was not found" in result.output


def test_square_brackets_in_logs_are_printed_verbatim() -> None:
    result = runner.invoke(app, ["explain", str(LOGS / "too-recent-versioned-symbols.log")])
    assert result.exit_code == 0
    assert '["libc.so.6 offending versions: GLIBC_2.30' in result.output


def test_nothing_matched_exits_1_and_says_so() -> None:
    result = runner.invoke(app, ["explain", "-"], input="all good\n")
    assert result.exit_code == 1
    assert "No known failure found in standard input" in result.output


def test_json_output() -> None:
    result = runner.invoke(app, ["explain", "--json", str(LOGS / "rust-target-missing.log")])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["explained"] is True
    (item,) = document["explanations"]
    assert item["id"] == "rust-target-missing"
    assert item["details"] == {"triple": "aarch64-unknown-linux-gnu"}
    assert item["line_number"] == 2


def test_json_output_when_nothing_matched() -> None:
    result = runner.invoke(app, ["explain", "--json", "-"], input="fine\n")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["explained"] is False
    assert document["explanations"] == []


def test_unreadable_log_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["explain", str(tmp_path / "missing.log")])
    assert isinstance(result.exception, UnreadableInputError)
    assert result.exception.exit_code == 6


def test_undecodable_bytes_are_tolerated(tmp_path: Path) -> None:
    log = tmp_path / "binary.log"
    log.write_bytes(b"\xff\xfe junk\nerror: unsupported linker arg: --icf=all\n")
    result = runner.invoke(app, ["explain", str(log)])
    assert result.exit_code == 0
    assert "--icf=all" in result.output


def test_github_annotations() -> None:
    log = str(LOGS / "rust-target-missing.log")
    result = runner.invoke(app, ["explain", "--github", "--json", log])
    assert json.loads(result.stdout)["explained"] is True  # annotations go to stderr with --json
    (line,) = [item for item in result.stderr.splitlines() if item.startswith("::error")]
    assert line.startswith(
        "::error title=The Rust standard library for the target is not installed::"
    )
    assert "rustup target add aarch64-unknown-linux-gnu" in line
    assert "%0AFix: " in line  # newlines escaped for the workflow command
    plain = runner.invoke(app, ["explain", "--no-github", log], env={"GITHUB_ACTIONS": "true"})
    assert "::error" not in plain.stdout
    auto = runner.invoke(app, ["explain", log], env={"GITHUB_ACTIONS": "true"})
    assert "::error title=" in auto.stdout
