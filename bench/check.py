"""Time `zigwheel check` against `auditwheel show` on the same real wheels, side by side in one run.

Usage: python bench/check.py [--limit N]

The wheels are the e2e corpus (tests/e2e/test_check_corpus.py), downloaded once into
$ZIGWHEEL_TEST_CORPUS or the user cache. auditwheel show takes one wheel per command;
zigwheel check is timed as one command for all wheels (its normal use), as one command per
wheel, and in-process (check_wheel, as `zigwheel build` calls it). Prints per-wheel times,
totals and the ratios.
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

    from zigwheel.compliance.analysis import check_wheel  # noqa: PLC0415 - after the corpus is ready

    zigwheel = [sys.executable, "-m", "zigwheel", "check", "--json"]
    auditwheel = [sys.executable, "-m", "auditwheel", "show", "--json"]
    theirs_total = in_process_total = 0.0
    print(f"{'wheel':60} {'MB':>6} {'zigwheel s':>10} {'auditwheel s':>12} {'ratio':>6}")
    for wheel in wheels:
        start = time.perf_counter()
        check_wheel(wheel)
        ours = time.perf_counter() - start
        theirs = _run([*auditwheel, str(wheel)])
        in_process_total += ours
        theirs_total += theirs
        size = wheel.stat().st_size / 1e6
        print(f"{wheel.name[:60]:60} {size:6.1f} {ours:10.2f} {theirs:12.2f} {theirs / ours:6.1f}")
    one_command = _run([*zigwheel, *map(str, wheels)])
    per_wheel = sum(_run([*zigwheel, str(wheel)]) for wheel in wheels)

    print()
    print(f"wheels: {len(wheels)}, {sum(w.stat().st_size for w in wheels) / 1e6:.0f} MB")
    print(f"auditwheel show, one command per wheel (it takes one): {theirs_total:7.2f} s")
    print(
        f"zigwheel check, one command for all wheels:            {one_command:7.2f} s"
        f"  -> {theirs_total / one_command:5.1f}x faster"
    )
    print(
        f"zigwheel check, one command per wheel:                 {per_wheel:7.2f} s"
        f"  -> {theirs_total / per_wheel:5.1f}x faster (Python start-up + CLI import each time)"
    )
    print(
        f"zigwheel check_wheel() in-process, all wheels:         {in_process_total:7.2f} s"
        f"  -> {theirs_total / in_process_total:5.1f}x faster"
    )
    for wheel in wheels:
        if wheel.name.startswith("scipy-"):
            start = time.perf_counter()
            check_wheel(wheel)
            print(
                f"{wheel.name}: check_wheel {time.perf_counter() - start:.2f} s, "
                f"command {_run([*zigwheel, str(wheel)]):.2f} s, "
                f"auditwheel {_run([*auditwheel, str(wheel)]):.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
