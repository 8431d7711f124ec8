"""zigwheel: Docker-free manylinux/musllinux wheels for Rust/PyO3 projects, built with zig.

The public API (``zigwheel.build``, ``zigwheel.check``, ``zigwheel.test``, ``zigwheel.plan``)
lives in ``zigwheel.api`` and is loaded on first use, so that ``import zigwheel`` and the CLI's
start-up stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zigwheel._version import __version__

if TYPE_CHECKING:
    from zigwheel.api import BuildResult, TestRun, build, check, plan, run_plan, test
    from zigwheel.errors import ZigwheelError

_API = frozenset({"BuildResult", "TestRun", "build", "check", "plan", "run_plan", "test"})


def __getattr__(name: str) -> Any:
    if name in _API:
        from zigwheel import api  # noqa: PLC0415

        return getattr(api, name)
    if name == "ZigwheelError":
        from zigwheel.errors import ZigwheelError  # noqa: PLC0415

        return ZigwheelError
    msg = f"module 'zigwheel' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "BuildResult",
    "TestRun",
    "ZigwheelError",
    "__version__",
    "build",
    "check",
    "plan",
    "run_plan",
    "test",
]
