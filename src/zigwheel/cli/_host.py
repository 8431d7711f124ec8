"""The host a command serves: one handed in by the caller (tests of other hosts), else this one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from zigwheel.host import Host

_GIVEN: ContextVar[Host | None] = ContextVar("zigwheel_cli_host", default=None)


@contextlib.contextmanager
def serving(host: Host) -> Iterator[Host]:
    """Run the commands invoked inside the block for ``host`` instead of this machine.

    A test of a macOS or Windows host constructs that host and runs the CLI inside this block;
    nothing inside zigwheel patches the platform module.
    """
    token = _GIVEN.set(host)
    try:
        yield host
    finally:
        _GIVEN.reset(token)


def command_host(env: Mapping[str, str]) -> Host:
    """The host handed in with :func:`serving`, else this machine (programs from ``env``'s PATH)."""
    given = _GIVEN.get()
    return given if given is not None else Host.detect(env)
