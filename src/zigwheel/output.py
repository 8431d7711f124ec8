"""The output contract every command shares: JSON documents, GitHub annotations, input folders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zigwheel.errors import ZigwheelError

# Every --json document carries this number; it changes only when a field changes meaning or goes.
JSON_VERSION = 1

WHEEL_SUFFIXES = (".whl",)
DISTRIBUTION_SUFFIXES = (".whl", ".tar.gz")


def json_document(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A --json document: ``version`` first, then the command's own fields."""
    return {"version": JSON_VERSION, **fields}


def error_document(err: ZigwheelError) -> dict[str, Any]:
    """The --json document of a command that stopped with an error: message, hint, exit code.

    Flat, so that a command that adds its own fields to a failure (build adds the target and
    the wheels built before it) keeps the same ``error``, ``hint`` and ``exit_code`` keys.
    """
    return json_document(
        {
            "ok": False,
            "error": str(err),
            "hint": err.hint or None,
            "exit_code": err.exit_code,
            "kind": type(err).__name__,
        }
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # A property value ends at ',' and its name at ':' (the runner's own toolkit escapes both).
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(
    level: str,
    message: str,
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
) -> str:
    """One GitHub workflow command (``::error file=x,title=y::message``), every part escaped.

    ``level`` is ``error``, ``warning`` or ``notice``. Escaping keeps a newline or ``::`` inside
    a wheel name, a path or a log line from ending the command or starting another one.
    """
    if level not in {"error", "warning", "notice"}:
        msg = f"unknown annotation level {level!r}"
        raise ValueError(msg)
    properties = [
        f"{name}={_escape_property(value)}"
        for name, value in (("file", file), ("line", None if line is None else str(line)))
        if value is not None
    ]
    if title is not None:
        properties.append(f"title={_escape_property(title)}")
    head = f"{level} {','.join(properties)}" if properties else level
    return f"::{head}::{_escape_data(message)}"


def github_fold_start(title: str) -> str:
    """Open a folded ``::group::`` of another tool's log, with workflow commands stopped inside.

    The log is maturin's and cargo's, not ours: a line of it that starts with ``::`` must not
    become a workflow command, so the runner reads none until ``github_fold_end``.
    """
    return f"::group::{_escape_data(title)}\n::stop-commands::{_STOP_TOKEN}\n"


def github_fold_end() -> str:
    """Close what ``github_fold_start`` opened."""
    return f"::{_STOP_TOKEN}::\n::endgroup::\n"


_STOP_TOKEN = "zigwheel-maturin-output"


def expand_folders(paths: Sequence[Path], suffixes: Sequence[str] = WHEEL_SUFFIXES) -> list[Path]:
    """The input files of check, test and publish, found the same way in each.

    A file stands for itself. A folder stands for the files directly inside it whose names end in
    one of ``suffixes``, sorted by name (a ``dist/`` folder is flat; a search below it would also
    find wheels in build folders). A folder with none stays in the list as itself, for the command
    to say that it holds none. A file named twice is listed once.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            inside = sorted(
                child
                for child in path.iterdir()
                if child.is_file() and child.name.endswith(tuple(suffixes))
            )
            candidates = inside or [path]
        else:
            candidates = [path]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found
