"""The zigwheel command line: the only layer that prints and picks exit codes."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

import typer

from zigwheel._version import __version__
from zigwheel.cli import build_cmd, check_cmd, ci_cmd, test_cmd, toolchain_cmd
from zigwheel.cli._console import err_console
from zigwheel.errors import EXIT_USAGE, ZigwheelError

app = typer.Typer(
    name="zigwheel",
    help="Build manylinux/musllinux wheels for Rust/PyO3 projects with zig, without Docker.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"zigwheel {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output."),
) -> None:
    """Build manylinux/musllinux wheels for Rust/PyO3 projects with zig, without Docker."""
    del version
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        stream=sys.stderr,
    )


for _module in (toolchain_cmd, check_cmd, build_cmd, test_cmd, ci_cmd):
    _module.register(app)


def report_error(err: ZigwheelError) -> int:
    """Print a ZigwheelError for a person and return its exit code."""
    err_console().print(f"[bold red]error:[/] {err}", highlight=False, markup=True)
    if err.hint:
        err_console().print(f"[bold]hint:[/] {err.hint}", highlight=False)
    return err.exit_code


class _Stopped(SystemExit):
    """Raised by the signal handler: exit 128 + the signal's number, as a shell reports it."""


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    del frame
    # CI cancels a job with SIGTERM, a person presses Ctrl-C (SIGINT). Unwinding (instead of
    # dying) runs the finally blocks: the build's process group is stopped and its staging
    # folder removed, so no unchecked wheel is left in the output folder. A second signal must
    # not cut that short. A SystemExit passes through typer, which would turn a
    # KeyboardInterrupt into "Aborted!" and exit 1.
    signal.signal(signum, signal.SIG_IGN)
    raise _Stopped(128 + signum)


def main() -> None:
    """Run the CLI; turn a ZigwheelError into its message, hint and exit code."""
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _on_stop_signal)
    try:
        app()
    except ZigwheelError as err:
        if os.environ.get("ZIGWHEEL_DEBUG"):
            raise
        sys.exit(report_error(err))
    except _Stopped as stopped:
        name = signal.Signals(int(str(stopped.code)) - 128).name
        err_console().print(f"interrupted ({name}): stopped and cleaned up")
        raise
    except KeyboardInterrupt:  # before the handler was installed
        err_console().print("interrupted")
        sys.exit(130)
    sys.exit(EXIT_USAGE)  # pragma: no cover - typer always exits itself
