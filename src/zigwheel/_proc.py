"""The single door to subprocesses: explicit env, logged command line, failures mapped to errors."""

from __future__ import annotations

import errno
import logging
import shlex
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from zigwheel.errors import CommandFailedError, ToolchainError
from zigwheel.host import group_popen_options, stop_process_group

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
    own_group: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` capturing stdout and stderr (merged) as text.

    A missing executable becomes a ToolchainError; a non-zero exit with ``check`` becomes a
    CommandFailedError carrying the tail of the output. With ``own_group`` the command runs in
    its own process group, and the whole group is stopped when this call is interrupted
    (Ctrl-C, or SIGTERM turned into an exception by the CLI): a build tool's children (cargo,
    rustc, zig) must not go on writing after zigwheel gave up. ``on_line`` (which implies
    ``own_group``) hears each output line as it comes, for a caller that streams it.
    """
    argv = [str(part) for part in command]
    logger.info("+ %s", shlex.join(argv))
    try:
        if own_group or on_line is not None:
            result = _run_in_group(
                argv, env=env, cwd=cwd, timeout=timeout, input_text=input_text, on_line=on_line
            )
        else:
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
    except OSError as err:
        raise _cannot_start(argv[0], err) from err
    except subprocess.TimeoutExpired as err:
        msg = f"{shlex.join(argv)} did not finish within {timeout} seconds"
        raise CommandFailedError(msg, command=argv, returncode=-1) from err
    if check and result.returncode != 0:
        msg = f"{Path(argv[0]).name} exited with code {result.returncode}"
        raise CommandFailedError(
            msg, command=argv, returncode=result.returncode, output=result.stdout
        )
    return result


def _cannot_start(program: str, err: OSError) -> ToolchainError:
    """A program that exists but does not start (another architecture, not executable)."""
    reason = err.strerror or str(err)
    msg = f"{program} cannot run on this machine: {reason}"
    if err.errno == errno.ENOEXEC:
        hint = (
            "it is a program for another architecture or operating system; a Linux root of "
            "another architecture runs under qemu-user (Linux hosts only)"
        )
    elif isinstance(err, PermissionError):
        hint = f"make it executable (chmod +x {program}) or use another copy"
    else:
        hint = f"check that {Path(program).name} is a working program for this machine"
    return ToolchainError(msg, hint=hint)


GROUP_GRACE_SECONDS = 5.0


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop the command's process group: a grace period for its leader, then everything."""
    stop_process_group(process, GROUP_GRACE_SECONDS)


def _run_in_group(
    argv: list[str],
    *,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    timeout: float | None,
    input_text: str | None,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    if on_line is not None:
        return _stream_in_group(argv, env=env, cwd=cwd, timeout=timeout, on_line=on_line)
    with subprocess.Popen(
        argv,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.PIPE if input_text is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        **group_popen_options(),  # a group of its own: stopping it reaches cargo and rustc too
    ) as process:
        try:
            stdout, _ = process.communicate(input_text, timeout=timeout)
        except BaseException:  # a timeout, Ctrl-C, or SIGTERM turned into SystemExit
            _stop_group(process)
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, None)


def _stream_in_group(
    argv: list[str],
    *,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    timeout: float | None,
    on_line: Callable[[str], None],
) -> subprocess.CompletedProcess[str]:
    """As _run_in_group, handing each line to ``on_line`` as it is written."""
    lines: list[str] = []

    def pump(stream: IO[str] | None) -> None:
        for line in stream or ():
            lines.append(line)
            on_line(line.rstrip("\n"))

    with subprocess.Popen(
        argv,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        **group_popen_options(),
    ) as process:
        # A thread reads, so that the wait below can time out while the command is silent.
        reader = threading.Thread(target=pump, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            process.wait(timeout=timeout)
        except BaseException:
            _stop_group(process)
            raise
        finally:
            reader.join(timeout=GROUP_GRACE_SECONDS)
    return subprocess.CompletedProcess(argv, process.returncode, "".join(lines), None)
