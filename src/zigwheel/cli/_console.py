"""Console helpers shared by the CLI: stdout for results, stderr for progress and errors."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from zigwheel.errors import ZigwheelError
from zigwheel.output import error_document, json_document


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with control, bidi and other invisible characters written as escapes.

    A file name or archive member holding U+202E (right-to-left override) would reorder the
    terminal's line and hide what the name really is; a raw escape or carriage return could
    rewrite the line. ``newlines`` keeps the line breaks of multi-line text.
    """
    if text.isprintable():
        return text
    kept = "\n" if newlines else ""
    return "".join(
        char if char.isprintable() or char in kept
        else f"\\x{ord(char):02x}" if ord(char) < 0x100
        else f"\\u{ord(char):04x}" if ord(char) < 0x10000
        else f"\\U{ord(char):08x}"
        for char in text
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def out_console() -> Console:
    """The console for results (tables, paths): stdout."""
    return Console(highlight=False, soft_wrap=True)


@functools.lru_cache(maxsize=1)
def err_console() -> Console:
    """The console for progress, warnings and errors: stderr."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


class _JsonRequest:
    """Whether the running command was given --json: its error, too, is then a JSON document."""

    requested = False
    printed = False  # a command prints one document: an error after it adds none


def remember_json(value: bool) -> bool:
    """The callback of every ``--json`` option: typer calls it while it parses the command line."""
    if value:
        _JsonRequest.requested = True
    return value


def json_option(help_text: str, *, default: bool | None = None) -> Any:
    """The ``--json`` option of every command (one spelling, one callback).

    Pass ``default=False`` where the parameter takes its default from the option object rather
    than from ``Annotated``.
    """
    if default is None:
        return typer.Option("--json", help=help_text, callback=remember_json)
    return typer.Option(default, "--json", help=help_text, callback=remember_json)


def json_requested() -> bool:
    """True once the running command's --json option was parsed as given."""
    return _JsonRequest.requested


def print_json(document: Mapping[str, Any]) -> None:
    """Print one JSON document to stdout, ``version`` first, plain (no colour, no wrapping)."""
    print(json.dumps(json_document(document), indent=2, sort_keys=False))
    _JsonRequest.printed = True


def print_table(
    console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]], **options: Any
) -> None:
    """A table: drawn with rich on a terminal, plain aligned columns anywhere else.

    In a CI log or a file a folded cell splits a wheel name or an ELF path over lines that can
    no longer be copied or grepped; there each row is one line, however long. Cells are the
    user's text (file names, paths) and are never read as markup.
    """
    if not console.is_terminal:
        lines = [[printable(" ".join(c.split("\n"))) for c in row] for row in [headers, *rows]]
        widths = [max(len(line[index]) for line in lines) for index in range(len(headers))]
        for cells in lines:
            line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))
            console.print(Text(line.rstrip()), soft_wrap=True, crop=False)
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(*headers, **options)
    for column in table.columns:
        column.overflow = "fold"  # a path or hash cut short at the terminal's width is useless
    for row in rows:
        table.add_row(*(Text(printable(cell, newlines=True)) for cell in row))
    console.print(table)


def on_github_actions(env: Mapping[str, str] | None = None) -> bool:
    """Return True when running inside GitHub Actions."""
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def report_error(err: ZigwheelError) -> int:
    """Say what failed and what to do next, and return the error's exit code.

    The message and hint are the user's own text often (a path, a key, a value): they are printed
    verbatim, never read as markup. With --json stdout also gets the error as a document, so a
    CI step that parses stdout always finds one.
    """
    console = err_console()
    console.print(Text.assemble(("error:", "bold red"), " ", printable(str(err), newlines=True)))
    if err.hint:
        console.print(Text.assemble(("hint:", "bold"), " ", printable(err.hint, newlines=True)))
    if json_requested() and not _JsonRequest.printed:
        print_json(error_document(err))
    return err.exit_code
