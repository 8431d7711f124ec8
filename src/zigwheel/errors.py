"""The one exception root of zigwheel, its families, and the exit code each family maps to."""

from __future__ import annotations

from typing import ClassVar

# Exit codes are part of the CLI contract (documented in README.md).
EXIT_OK = 0
EXIT_FAILED_CHECK = 1  # a check or a runtime test found a problem: a result, not a crash
EXIT_USAGE = 2  # bad flag, target, policy or configuration
EXIT_TOOLCHAIN = 3  # zig, maturin, cargo, a Rust target or qemu is missing or broken
EXIT_CACHE = 4  # the cache folder cannot be written or cleaned
EXIT_COMMAND = 5  # an external command (maturin, cargo, an uploader) failed
EXIT_UNREADABLE = 6  # an input file is not a readable wheel/ELF/log
EXIT_INTERNAL = 70  # zigwheel's own shipped data is invalid: a bug to report


class ZigwheelError(Exception):
    """An expected failure: ``str(err)`` says what failed, ``hint`` what to do next."""

    exit_code: ClassVar[int] = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ConfigError(ZigwheelError):
    """A flag, target, policy, environment variable or [tool.zigwheel] value is invalid."""

    exit_code = EXIT_USAGE


class ToolchainError(ZigwheelError):
    """An external tool zigwheel needs is missing, broken or the wrong version."""

    exit_code = EXIT_TOOLCHAIN


class CacheError(ZigwheelError):
    """The cache folder cannot be created, written or cleaned."""

    exit_code = EXIT_CACHE


class CommandFailedError(ZigwheelError):
    """An external command exited non-zero; keeps the command and the tail of its output."""

    exit_code = EXIT_COMMAND

    def __init__(
        self,
        message: str,
        *,
        command: list[str],
        returncode: int,
        output: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.command = command
        self.returncode = returncode
        self.output = output


class UnreadableInputError(ZigwheelError):
    """An input (wheel, ELF, log, root filesystem) cannot be read as what it claims to be."""

    exit_code = EXIT_UNREADABLE


class DataError(ZigwheelError):
    """zigwheel's own shipped data failed validation: a bug in zigwheel, not in the user's input."""

    exit_code = EXIT_INTERNAL
