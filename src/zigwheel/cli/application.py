"""The zigwheel app: its root options, the commands it loads, signals, stdout, errors."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import signal
import sys
from types import FrameType, ModuleType
from typing import TextIO

import typer

from zigwheel._version import __version__
from zigwheel.cli._console import err_console, report_error
from zigwheel.errors import EXIT_USAGE, ZigwheelError


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"zigwheel {__version__}")
        raise typer.Exit


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


# Which module registers each top-level command: a run loads only the module of its command, so
# `zigwheel check` does not import the build, the workflow generator and the publish gate.
COMMAND_MODULES = {
    "build": "build_cmd",
    "check": "check_cmd",
    "test": "test_cmd",
    "root": "test_cmd",
    "toolchain": "toolchain_cmd",
    "shims": "toolchain_cmd",
    "doctor": "toolchain_cmd",
    "cache": "toolchain_cmd",
    "explain": "ci_cmd",
    "ci": "ci_cmd",
    "publish": "ci_cmd",
}


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or with the commands of ``command``'s module only."""
    app = typer.Typer(
        name="zigwheel",
        help="Build manylinux/musllinux wheels for Rust/PyO3 projects with zig, without Docker.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=False,
        # Help is plain text: rich markup would eat "[default: 2_17]" and any bracket in help.
        rich_markup_mode=None,
    )
    app.callback()(_root)
    names = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULES.values()
    for name in dict.fromkeys(names):
        module: ModuleType = importlib.import_module(f"zigwheel.cli.{name}")
        module.register(app)
    # Each sub-app (cache, root, ci) renders its own help: plain too.
    for group in app.registered_groups:
        if group.typer_instance is not None:
            group.typer_instance.rich_markup_mode = None
    return app


def _command_of(argv: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option.

    The root takes no option with a value (--verbose counts, --version stops), so the first
    such word is the command; any other word (a typo, none) loads every command, so that
    help and "No such command" list them all.
    """
    return next((word for word in argv if not word.startswith("-")), None)


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


class _PipeSafeStdout(io.TextIOBase):
    """stdout that, once its reader has gone (``zigwheel check ... | head``), drops the rest.

    The command then runs to its end and exits with its own code, not with 1 from a traceback
    of BrokenPipeError: ``head`` having read enough says nothing about the wheels.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream: TextIO | None = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self._stream = None
        # Python flushes the real stdout at exit: point descriptor 1 at /dev/null so that the
        # last buffered bytes cannot raise there either.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
            os.close(devnull)

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding if self._stream is not None else "utf-8"

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("stdout was closed by its reader")
        return self._stream.fileno()


def main() -> None:
    """Run the CLI; turn a ZigwheelError into its message, hint and exit code."""
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _on_stop_signal)
    sys.stdout = _PipeSafeStdout(sys.stdout)
    app = build_app(_command_of(sys.argv[1:]))
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
