"""Benchmark: `zigwheel build` (check included) against the bare `maturin build --zig` it wraps.

Both run on a warm cache, alternating, on the same example; prints medians and their ratio.
Usage: python bench/build.py [--example hello-abi3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="hello-abi3")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    project = REPO / "examples" / args.example
    env = dict(os.environ)
    # The same pinned zig for both; maturin alone would otherwise look for any zig.
    env["CARGO_ZIGBUILD_PYTHON_PATH"] = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        zigwheel = [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
                    "--manylinux", "2_17", "-o", str(out / "zw")]  # fmt: skip
        maturin = [sys.executable, "-m", "maturin", "build", "--release", "--zig", "--strip",
                   "--target", "x86_64-unknown-linux-gnu", "--compatibility", "manylinux_2_17",
                   "--manifest-path", str(project / "Cargo.toml"),
                   "--out", str(out / "mt")]  # fmt: skip
        _timed(zigwheel, env)  # warm both: cargo's target dir and zig's cache
        _timed(maturin, env)
        times: dict[str, list[float]] = {"zigwheel": [], "maturin": []}
        for _ in range(args.rounds):
            times["zigwheel"].append(_timed(zigwheel, env))
            times["maturin"].append(_timed(maturin, env))
    median_zw = statistics.median(times["zigwheel"])
    median_mt = statistics.median(times["maturin"])
    print(f"example: {args.example}, rounds: {args.rounds} (alternating, warm cache)")
    print(f"maturin build --zig : median {median_mt:.2f} s")
    print(f"zigwheel build      : median {median_zw:.2f} s (check included)")
    print(f"ratio zigwheel/maturin: {median_zw / median_mt:.3f}")


if __name__ == "__main__":
    main()
