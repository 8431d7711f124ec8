"""The zigwheel command line: the only layer that prints and picks exit codes.

``main`` is the console script; ``app`` (every command, for tests and documentation tools) is
built on first use. Both live in ``zigwheel.cli.application``, imported only when needed, so
that a run of one command loads that command's module alone.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


def main() -> None:
    """Run the command line (the ``zigwheel`` console script)."""
    from zigwheel.cli.application import main as run  # noqa: PLC0415

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _full_app()
    msg = f"module 'zigwheel.cli' has no attribute {name!r}"
    raise AttributeError(msg)


@functools.lru_cache(maxsize=1)
def _full_app() -> typer.Typer:
    from zigwheel.cli.application import build_app  # noqa: PLC0415

    return build_app()


__all__ = ["app", "main"]
