"""The output contract every command keeps: JSON documents, annotations, input folders, pipes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from zigwheel.errors import ConfigError
from zigwheel.output import (
    DISTRIBUTION_SUFFIXES,
    JSON_VERSION,
    error_document,
    expand_folders,
    github_annotation,
    json_document,
)


def _zigwheel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "zigwheel", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_documents_start_with_the_version() -> None:
    document = json_document({"ok": True})
    assert list(document) == ["version", "ok"]
    assert document["version"] == JSON_VERSION


def test_an_error_document_keeps_message_hint_and_exit_code() -> None:
    document = error_document(ConfigError("bad [x] value", hint="write it so"))
    assert document == {
        "version": JSON_VERSION,
        "ok": False,
        "error": "bad [x] value",
        "hint": "write it so",
        "exit_code": 2,
        "kind": "ConfigError",
    }


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["build", "{tmp}/nowhere", "--json"], 2),
        (["test", "{tmp}", "--json"], 2),
        (["doctor", "-t", "sparc64", "--json"], 2),
    ],
)
def test_every_json_command_that_fails_prints_one_error_document(
    tmp_path: Path, command: list[str], code: int
) -> None:
    result = _zigwheel(*(part.format(tmp=tmp_path) for part in command), cwd=tmp_path)
    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)  # one document, nothing else on stdout
    assert document["version"] == JSON_VERSION
    assert document["ok"] is False
    assert document["exit_code"] == code
    assert document["error"] in result.stderr  # the words for a person stay on stderr


def test_annotations_escape_what_would_end_or_start_a_command() -> None:
    line = github_annotation(
        "error", "50% done\nnext::error::x", title="a: b, c", file="dist/x,y:z.whl"
    )
    assert line == (
        "::error file=dist/x%2Cy%3Az.whl,title=a%3A b%2C c::50%25 done%0Anext::error::x"
    )
    assert "\n" not in line
    assert github_annotation("notice", "plain") == "::notice::plain"
    with pytest.raises(ValueError, match="unknown annotation level"):
        github_annotation("fatal", "x")


def test_folders_give_the_files_directly_inside_them(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "nested").mkdir(parents=True)
    for name in ("b-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl", "a-1.0.tar.gz", "notes.txt"):
        (dist / name).write_bytes(b"")
    (dist / "nested" / "c-1.0-py3-none-any.whl").write_bytes(b"")
    empty = tmp_path / "empty"
    empty.mkdir()
    named_twice = dist / "a-1.0-py3-none-any.whl"
    found = expand_folders([dist, named_twice, empty])
    assert [path.name for path in found] == [
        "a-1.0-py3-none-any.whl",
        "b-1.0-py3-none-any.whl",
        "empty",
    ]
    with_sdists = expand_folders([dist], DISTRIBUTION_SUFFIXES)
    assert [path.name for path in with_sdists] == [
        "a-1.0-py3-none-any.whl",
        "a-1.0.tar.gz",
        "b-1.0-py3-none-any.whl",
    ]


def _pure_wheel(folder: Path, name: str) -> None:
    info = f"{name}-1.0.dist-info"
    members = {
        f"{name}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for member, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(data)}")
    members[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_a_reader_that_goes_away_does_not_change_the_exit_code(tmp_path: Path) -> None:
    # `zigwheel check dist --json | head -c 10`: 400 compliant wheels make a document far longer
    # than a pipe's buffer, so writes go on after the reader has gone.
    for index in range(400):
        _pure_wheel(tmp_path, f"pure{index}")
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert reader.stdin is not None
    writer = subprocess.run(
        [sys.executable, "-m", "zigwheel", "check", str(tmp_path), "--json"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=300,
    )
    reader.stdin.close()
    reader.wait(timeout=30)
    assert writer.returncode == 0, writer.stderr  # the verdict: every wheel is compliant
    assert "BrokenPipeError" not in writer.stderr
