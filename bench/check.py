"""Time `zigwheel check` against `auditwheel show` on the same real wheels, side by side in one run.

Usage: python bench/check.py [--limit N]

The wheels are the e2e corpus (tests/e2e/test_check_corpus.py), downloaded once into
$ZIGWHEEL_TEST_CORPUS or the user cache. Both tools run as a command per wheel (so both pay
their start-up), and zigwheel also runs in-process on all wheels at once. Prints per-wheel
times, totals and the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _corpus() -> list[Path]:
    path = REPO / "tests" / "e2e" / "test_check_corpus.py"
    spec = importlib.util.spec_from_file_location("zigwheel_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = module.corpus_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return list(module.download_corpus(folder))


def _run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N wheels")
    args = parser.parse_args()
    wheels = _corpus()
    if args.limit:
        wheels = wheels[: args.limit]
    if not wheels:
        print("no corpus wheels could be downloaded")
        return 1

    from zigwheel.check import check_paths  # noqa: PLC0415 - after the corpus is ready

    ours_total = theirs_total = 0.0
    print(f"{'wheel':60} {'MB':>6} {'zigwheel s':>10} {'auditwheel s':>12} {'ratio':>6}")
    for wheel in wheels:
        ours = _run([sys.executable, "-m", "zigwheel", "check", "--json", str(wheel)])
        theirs = _run([sys.executable, "-m", "auditwheel", "show", "--json", str(wheel)])
        ours_total += ours
        theirs_total += theirs
        size = wheel.stat().st_size / 1e6
        print(f"{wheel.name[:60]:60} {size:6.1f} {ours:10.2f} {theirs:12.2f} {theirs / ours:6.1f}")

    start = time.perf_counter()
    check_paths(wheels)
    in_process = time.perf_counter() - start
    scipy = [w for w in wheels if w.name.startswith("scipy-")]
    print()
    print(f"wheels: {len(wheels)}")
    print(f"zigwheel check (a command per wheel): {ours_total:.2f} s")
    print(f"auditwheel show (a command per wheel): {theirs_total:.2f} s")
    print(f"ratio auditwheel/zigwheel: {theirs_total / ours_total:.1f}x")
    print(
        f"zigwheel in-process, all wheels: {in_process:.2f} s "
        f"(ratio {theirs_total / in_process:.1f}x)"
    )
    for wheel in scipy:
        start = time.perf_counter()
        check_paths([wheel])
        print(f"zigwheel in-process, {wheel.name}: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
