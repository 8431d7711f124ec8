"""The single door to subprocesses: explicit env, logged command line, failures mapped to errors."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from zigwheel.errors import CommandFailedError, ToolchainError

logger = logging.getLogger(__name__)

OUTPUT_TAIL_LINES = 60


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``text``."""
    return "\n".join(text.splitlines()[-lines:])


def run(
    command: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` capturing stdout and stderr (merged) as text.

    A missing executable becomes a ToolchainError; a non-zero exit with ``check`` becomes a
    CommandFailedError carrying the tail of the output.
    """
    argv = [str(part) for part in command]
    logger.info("+ %s", shlex.join(argv))
    try:
        result = subprocess.run(  # noqa: PLW1510 - the return code is checked below
            argv,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout,
            input=input_text,
        )
    except FileNotFoundError as err:
        msg = f"{argv[0]} was not found"
        raise ToolchainError(msg, hint=f"install {Path(argv[0]).name} or put it on PATH") from err
    except subprocess.TimeoutExpired as err:
        msg = f"{shlex.join(argv)} did not finish within {timeout} seconds"
        raise CommandFailedError(msg, command=argv, returncode=-1) from err
    if check and result.returncode != 0:
        msg = f"{Path(argv[0]).name} exited with code {result.returncode}"
        raise CommandFailedError(
            msg, command=argv, returncode=result.returncode, output=result.stdout
        )
    return result
