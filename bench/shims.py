"""Per-call overhead of a zigwheel cc shim against zig itself and against `python -m ziglang cc`.

Run: python bench/shims.py [--rounds 30]

Compiles one small C file with -c, many times, warm zig cache, the three ways interleaved in
each round (so machine load hits them alike), and prints the medians and their ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zigwheel.rewrite import rules_for
from zigwheel.shims import baked_flags, install_shims, render_shims
from zigwheel.targets import resolve_target
from zigwheel.zig import locate_zig

SOURCE = """
#include <math.h>
#include <string.h>
double f(const double *v, unsigned n) {
    double s = 0; char buf[8]; memcpy(buf, v, sizeof buf);
    for (unsigned i = 0; i < n; i++) s += sqrt(v[i]);
    return s + buf[0];
}
"""
# Flags the cc crate typically passes, so the shim's rewrite loop has real work to do.
CC_RS_FLAGS = [
    "-O2",
    "-ffunction-sections",
    "-fdata-sections",
    "-fPIC",
    "-gdwarf-4",
    "-fno-omit-frame-pointer",
    "-Wall",
    "-Wextra",
    "-Wp,-D_FORTIFY_SOURCE=2",
    "--target=x86_64-unknown-linux-gnu",
]


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    target = resolve_target("x86_64", "manylinux_2_17")
    zig = locate_zig(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shims = install_shims(target, zig, work / "cache")
        (work / "f.c").write_text(SOURCE)
        # What the shim ends up running, spelled out for the two baselines.
        rewritten = [flag for flag in CC_RS_FLAGS if not flag.startswith("--target=")]
        rewritten = [flag.replace("-Wp,", "") for flag in rewritten]
        zig_args = ["cc", *baked_flags(target, linker=False), *rewritten, "-c", "f.c", "-o"]
        # The same shim with `true` in place of zig: what the sh rewrite loop alone costs.
        noop = work / "noop-cc"
        noop.write_text(render_shims(target, ["true"])["cc"])
        noop.chmod(0o755)
        ways = {
            "shim": [str(shims.cc), *CC_RS_FLAGS, "-c", "f.c", "-o", "shim.o"],
            "shim without zig": [str(noop), *CC_RS_FLAGS, "-c", "f.c", "-o", "noop.o"],
            "zig": [*zig.command, *zig_args, "zig.o"],
            "python -m ziglang": [sys.executable, "-m", "ziglang", *zig_args, "py.o"],
            # Starting any program costs this much; subtracted from "shim without zig".
            "spawn only": [shutil.which("true") or "true"],
        }
        for argv in ways.values():  # warm zig's cache and the OS page cache
            timed(argv, work)
            timed(argv, work)
        times: dict[str, list[float]] = {name: [] for name in ways}
        order = list(ways)
        shuffle = random.Random(1234).shuffle
        for _ in range(args.rounds):
            shuffle(order)  # no way always runs right after another (cache/CPU effects)
            for name in order:
                times[name].append(timed(ways[name], work))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"zig {zig.version}, {args.rounds} interleaved rounds, {len(rules_for(target))} rules")
    for name, value in median.items():
        print(f"  {name:18} median {value * 1000:7.2f} ms")
    print(f"  shim / zig                 = {median['shim'] / median['zig']:.3f}")
    print(f"  shim / python -m ziglang   = {median['shim'] / median['python -m ziglang']:.3f}")
    overhead = (median["shim"] - median["zig"]) * 1000
    print(f"  shim overhead over zig     = {overhead:+.2f} ms per call (noisy: difference of two)")
    own = median["shim without zig"] - median["spawn only"]
    print(f"  shim's own cost            = {own * 1000:.2f} ms = {own / median['zig']:.3f} of zig")


if __name__ == "__main__":
    main()
