"""CLI commands for CI and release: `explain`, `ci github` and `publish`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from zigwheel.cli._console import err_console, out_console, print_json
from zigwheel.errors import EXIT_FAILED_CHECK
from zigwheel.explain import JSON_VERSION, Explanation, explain, read_log


def explain_command(
    logfile: str = typer.Argument(
        "-", metavar="[LOGFILE | -]", help="A build, install or upload log; - reads standard input."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Explain a failed build, install or upload: what went wrong and how to fix it."""
    if logfile == "-":
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        source = "standard input"
    else:
        text = read_log(Path(logfile))
        source = logfile
    found = explain(text)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "source": source,
                "explained": bool(found),
                "explanations": [item.to_json() for item in found],
            }
        )
    else:
        _print_explanations(found, source)
    if not found:
        raise typer.Exit(code=EXIT_FAILED_CHECK)


def _print_explanations(found: list[Explanation], source: str) -> None:
    out = out_console()
    if not found:
        err_console().print(
            f"No known failure found in {source}. zigwheel explain knows build, install and "
            "upload errors of maturin, cargo, zig, pip and twine; pass the full log."
        )
        return
    for index, item in enumerate(found):
        if index:
            out.print()
        out.print(f"[bold]{escape(item.title)}[/] [dim]({item.id})[/]")
        out.print(f"  [dim]line {item.line_number}:[/] {escape(item.matched_line)}")
        out.print(f"  [bold]cause:[/] {escape(item.cause)}")
        out.print(f"  [bold green]fix:[/]   {escape(item.fix)}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the zigwheel app."""
    app.command("explain")(explain_command)
