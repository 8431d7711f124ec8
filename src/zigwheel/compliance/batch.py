"""Check several wheels at once: worker processes beside this one, the reports in input order."""

from __future__ import annotations

import collections
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from zigwheel.compliance.archive import Limits
from zigwheel.compliance.read import MemberLock
from zigwheel.compliance.report import WheelReport

if TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext
    from multiprocessing.synchronize import Lock as ProcessLock

# ELF parsing is pure Python and holds the GIL: only processes check wheels side by side. A
# spawned worker costs an interpreter start-up and zigwheel's imports (~0.4 s of CPU), paid only
# for more work than that (one core checks about 60 MB of wheels a second).
MIN_BATCH_BYTES = 32 << 20

Check = Callable[[Path, Limits, Optional[MemberLock]], WheelReport]

_worker_lock: ProcessLock | None = None  # a worker's copy of the shared big-member lock
_LOCK_POLL_SECONDS = 0.2
logger = logging.getLogger(__name__)


def cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS and Windows have no affinity call


def worker_count(sizes: Sequence[int], jobs: int | None) -> int:
    """How many worker processes to start beside this one for wheels of these sizes (0: none).

    ``jobs`` caps the processes checking at once, this one included; None means one per CPU,
    and then only for more than ``MIN_BATCH_BYTES`` of wheels.
    """
    if jobs is None:
        if sum(sizes) < MIN_BATCH_BYTES:
            return 0
        jobs = cpus()
    return max(0, min(jobs, len(sizes)) - 1)


def start_method() -> str:
    """fork on Linux when this process runs no other thread, spawn anywhere else.

    A forked worker starts at once; a spawned one imports zigwheel again, which on a busy
    2-CPU machine ate the gain on the three biggest wheels of the corpus (0.96x against 1.10x
    with fork). macOS and Windows only spawn safely, and a fork would copy the locks another
    thread of the caller holds.
    """
    return "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"


def check_files(
    files: Sequence[Path],
    limits: Limits,
    workers: int,
    check: Check,
    *,
    method: str | None = None,
) -> list[WheelReport]:
    """``check`` each file, ``workers`` processes beside this one; reports in ``files``' order.

    The workers take the biggest wheels first and this process the smallest, so the last wheels
    to finish are small ones. Every process inflates a member over 256 MiB only while holding
    one lock they share: memory holds one such member at a time, as for a single wheel.
    ``check`` must be a module-level function (a spawned worker imports it by name); ``method``
    is the multiprocessing start method, ``start_method()``'s choice when None.
    """
    # Imported here: `zigwheel check` of one wheel never starts a process.
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    context: BaseContext = multiprocessing.get_context(method or start_method())
    lock = context.Lock()
    order = collections.deque(sorted(range(len(files)), key=lambda i: -files[i].stat().st_size))
    reports: list[WheelReport | None] = [None] * len(files)
    running: dict[int, Future[WheelReport]] = {}

    def worker_lost() -> bool:
        return any(
            future.done() and isinstance(future.exception(), BrokenProcessPool)
            for future in list(running.values())
        )

    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_share_lock, initargs=(lock,)
        ) as pool:
            try:
                while order:
                    # One wheel per worker at a time, the biggest left; this process checks the
                    # smallest left meanwhile, so a worker waits at most for a small wheel.
                    for index in [i for i, future in running.items() if future.done()]:
                        reports[index] = running.pop(index).result()
                    while order and len(running) < workers:
                        index = order.popleft()
                        running[index] = pool.submit(_in_worker, check, files[index], limits)
                    if order:
                        index = order.pop()
                        reports[index] = check(files[index], limits, _SharedLock(lock, worker_lost))
                for index, future in running.items():
                    reports[index] = future.result()
            except BaseException:
                # Ctrl-C: no wheel is started after it
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    except (BrokenProcessPool, _WorkerLost) as err:
        # A worker died (the system killed it for memory, say), perhaps holding the shared
        # lock: the wheels without a report are checked here, one at a time, as `jobs=1` does.
        logger.warning(
            "a process checking wheels stopped (%s); checking %d wheel(s) in this one",
            str(err) or type(err).__name__, reports.count(None),
        )  # fmt: skip
    for index, report in enumerate(reports):
        if report is None:
            reports[index] = check(files[index], limits, None)
    return [report for report in reports if report is not None]


class _WorkerLost(Exception):
    """This process waited for the shared lock while a worker process died."""


class _SharedLock:
    """The big-member lock the processes share, as this process takes it: in slices of time,
    so that a worker that died holding it (its lock is never released) stops the wait."""

    def __init__(self, lock: ProcessLock, lost: Callable[[], bool]) -> None:
        self._lock = lock
        self._lost = lost

    def __enter__(self) -> bool:
        while not self._lock.acquire(timeout=_LOCK_POLL_SECONDS):
            if self._lost():
                msg = "a worker process died"
                raise _WorkerLost(msg)
        return True

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _share_lock(lock: ProcessLock) -> None:
    global _worker_lock  # noqa: PLW0603 - set once per worker process, by the pool
    _worker_lock = lock


def _in_worker(check: Check, path: Path, limits: Limits) -> WheelReport:
    return check(path, limits, _worker_lock)


__all__ = ["MIN_BATCH_BYTES", "check_files", "cpus", "start_method", "worker_count"]
