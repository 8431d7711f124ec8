"""The `zigwheel check` command: render check reports as rich tables, JSON or GitHub annotations."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, TextIO

import typer

from zigwheel.cli._console import (
    err_console,
    json_option,
    on_github_actions,
    out_console,
    print_json,
    print_table,
    printable,
)
from zigwheel.errors import EXIT_FAILED_CHECK, EXIT_OK, EXIT_UNREADABLE
from zigwheel.output import github_annotation

if TYPE_CHECKING:
    from rich.console import Console

    from zigwheel.compliance.analysis import ElfReport, WheelReport

HELP = (
    "Check wheels against the manylinux/musllinux policies, without unpacking them.\n\n"
    "Reads every ELF file in each wheel and reports the most compatible policy the content "
    "satisfies (the tag `auditwheel show` gives), whether every platform tag in the file name "
    "holds, and which symbols or libraries break a tag. Folders are searched for *.whl files.\n\n"
    "Exit codes: 0 every wheel is compliant; 1 some wheel is not; 2 usage error; 6 some input "
    "could not be read (6 wins over 1: the verdict is incomplete)."
)


def exit_code(reports: list[WheelReport]) -> int:
    """6 if any input was unreadable, else 1 if any wheel is non-compliant, else 0."""
    if any(not r.readable for r in reports):
        return EXIT_UNREADABLE
    if any(not r.compliant for r in reports):
        return EXIT_FAILED_CHECK
    return EXIT_OK


_OFFENDING_SHOWN = 8


def _esc(text: str) -> str:
    """User text (names from the wheel) for a markup line: invisible characters escaped."""
    from rich.markup import escape  # noqa: PLC0415 - keep `zigwheel --help` fast

    return escape(printable(text))


def _render_elf_row(elf: ElfReport) -> tuple[str, str, str, str]:
    from zigwheel.compliance.policy import newest_versions  # noqa: PLC0415

    # Each DT_NEEDED library with the newest version it is asked for in each namespace; then
    # libraries only the version needs name (the loader, usually).
    libraries = list(dict.fromkeys([*elf.needed, *elf.versions]))
    needs = "\n".join(
        _esc(lib)
        + (f" [dim]{_esc(', '.join(newest_versions(elf.versions[lib])))}[/]"
           if elf.versions.get(lib) else "")
        for lib in libraries
    )  # fmt: skip
    lines = []
    for o in elf.offending[:_OFFENDING_SHOWN]:
        version = f"@{_esc(o.version)}" if o.version else " [dim](blacklisted)[/]"
        lines.append(f"[bold red]{_esc(o.symbol)}[/]{version} [dim]{_esc(o.library)}[/]")
    if len(elf.offending) > _OFFENDING_SHOWN:
        lines.append(f"[red]... and {len(elf.offending) - _OFFENDING_SHOWN} more[/]")
    path = _esc(elf.path) + (f" [dim]({_esc(elf.note)})[/]" if elf.note else "")
    return path, elf.arch or "?", needs or "[dim]-[/]", "\n".join(lines)


def _plain_elf_row(elf: ElfReport) -> list[str]:
    from zigwheel.compliance.policy import newest_versions  # noqa: PLC0415

    needs = "; ".join(
        lib + (f" {', '.join(newest_versions(elf.versions[lib]))}" if elf.versions.get(lib) else "")
        for lib in dict.fromkeys([*elf.needed, *elf.versions])
    )
    offending = [
        f"{o.symbol}{f'@{o.version}' if o.version else ' (blacklisted)'} {o.library}"
        for o in elf.offending[:_OFFENDING_SHOWN]
    ]
    if len(elf.offending) > _OFFENDING_SHOWN:
        offending.append(f"... and {len(elf.offending) - _OFFENDING_SHOWN} more")
    path = elf.path + (f" ({elf.note})" if elf.note else "")
    return [path, elf.arch or "?", needs or "-", ", ".join(offending) or "-"]


def render(report: WheelReport, console: Console | None = None) -> None:
    """Print one wheel's verdict, its ELF table and its problems."""
    from rich.table import Table  # noqa: PLC0415

    console = console or out_console()
    mark = "[bold green]compliant[/]" if report.compliant else "[bold red]NOT compliant[/]"
    if not report.readable:
        mark = "[bold red]unreadable[/]"
    console.print(f"[bold]{_esc(report.wheel)}[/]: {mark}")
    console.print(f"  claims:    {_esc(', '.join(report.claimed) or '-')}")
    console.print(f"  satisfies: [bold]{_esc(report.policy)}[/]")
    if report.elves and not console.is_terminal:
        # A log or a file: one line per ELF file, so no path is split (see print_table).
        rows = [_plain_elf_row(elf) for elf in report.elves]
        print_table(console, ("ELF", "arch", "needs (newest versions)", "offending symbols"), rows)
    elif report.elves:
        # A blank line between ELF files: their cells span several lines.
        table = Table(leading=1, pad_edge=False, box=None, header_style="bold")
        # Long names fold onto more lines instead of being cut at the terminal's width.
        for column in ("ELF", "arch", "needs (newest versions)", "offending symbols"):
            table.add_column(column, overflow="fold")
        for elf in report.elves:
            table.add_row(*_render_elf_row(elf))
        console.print(table)
    for problem in report.problems:
        console.print(f"  [red]-[/] {_esc(problem)}")
    console.print()


def _annotate(reports: list[WheelReport], *, stream: TextIO) -> None:
    """One ``::error`` workflow command per non-compliant wheel, all its problems as lines."""
    for report in reports:
        if report.compliant:
            continue
        lines = [f"{report.wheel} is not compliant (its content satisfies {report.policy})"]
        lines += [f"- {problem}" for problem in report.problems]
        print(github_annotation("error", "\n".join(lines), file=report.path), file=stream)


def check(
    wheels: Annotated[
        list[Path],
        typer.Argument(help="Wheel files or folders holding wheels.", show_default=False),
    ],
    as_json: Annotated[bool, json_option("Print a JSON report (version 1).")] = False,
    github: Annotated[
        Optional[bool],  # noqa: UP045 - typer evaluates this annotation on Python 3.9
        typer.Option(
            "--github/--no-github",
            help="Print ::error annotations (default: when GITHUB_ACTIONS=true).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        Optional[int],  # noqa: UP045 - typer evaluates this annotation on Python 3.9
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes checking wheels at once, this one included (default: one per CPU "
            "when there are several wheels; 1 checks them one by one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check wheels against the manylinux/musllinux policies."""
    from zigwheel.api import check as check_wheels  # noqa: PLC0415
    from zigwheel.compliance.analysis import reports_to_json  # noqa: PLC0415

    # Several wheels are checked by one process per CPU unless --jobs says otherwise: ELF
    # parsing is pure Python.
    reports = check_wheels(wheels, jobs=jobs)
    if as_json:
        print_json(reports_to_json(reports))
    else:
        for report in reports:
            render(report)
        bad = sum(not r.compliant for r in reports)
        summary = f"{len(reports)} wheel(s) checked, {bad} not compliant"
        err_console().print(summary if bad else f"{summary}: all good")
    if github is None:
        github = on_github_actions(os.environ)
    if github:
        # stdout stays valid JSON with --json; the runner reads workflow commands on stderr too.
        _annotate(reports, stream=sys.stderr if as_json else sys.stdout)
    code = exit_code(reports)
    if code:
        raise typer.Exit(code=code)


def register(app: typer.Typer) -> None:
    """Add `zigwheel check` to the app."""
    app.command("check", help=HELP)(check)
