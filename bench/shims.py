"""Per-call overhead of a zigwheel cc shim against zig itself and against `python -m ziglang cc`.

Run: python bench/shims.py [--rounds 30]

Compiles one small C file with -c, many times, warm zig cache, the ways interleaved in each
round (so machine load hits them alike), and prints medians, ratios and whether the shim meets
its target: less than 5% over calling zig directly. Wall time on a loaded machine mostly
measures waiting for a CPU, so the CPU time of each call (user + system of the child
processes, from getrusage) is printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zigwheel.toolchain.rewrite import rules_for
from zigwheel.toolchain.shims import baked_flags, install_shims, render_shims
from zigwheel.toolchain.targets import resolve_target
from zigwheel.toolchain.zig import locate_zig

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


TARGET_RATIO = 1.05  # the shim may cost at most 5% over calling zig directly


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
        # The least any sh shim costs: start sh, exec. Shim minus this is the rewrite loop.
        bare = work / "bare-sh"
        bare.write_text('#!/bin/sh\nexec "$@"\n')
        bare.chmod(0o755)
        true = shutil.which("true") or "true"
        ways = {
            "shim": [str(shims.cc), *CC_RS_FLAGS, "-c", "f.c", "-o", "shim.o"],
            "shim without zig": [str(noop), *CC_RS_FLAGS, "-c", "f.c", "-o", "noop.o"],
            "sh exec only": [str(bare), true, *CC_RS_FLAGS],
            "zig": [*zig.command, *zig_args, "zig.o"],
            "python -m ziglang": [sys.executable, "-m", "ziglang", *zig_args, "py.o"],
            # Starting any program costs this much; subtracted from "shim without zig".
            "spawn only": [true],
        }
        for argv in ways.values():  # warm zig's cache and the OS page cache
            timed(argv, work)
            timed(argv, work)
        wall: dict[str, list[float]] = {name: [] for name in ways}
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        order = list(ways)
        shuffle = random.Random(1234).shuffle
        for _ in range(args.rounds):
            shuffle(order)  # no way always runs right after another (cache/CPU effects)
            for name in order:
                seconds, cpu_seconds = timed(ways[name], work)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def paired(a: str, b: str, table: dict[str, list[float]]) -> float:
        """Median of the per-round differences: steadier than a difference of two medians."""
        return med([x - y for x, y in zip(table[a], table[b])])

    print(f"zig {zig.version}, {args.rounds} interleaved rounds, {len(rules_for(target))} rules")
    for name in ways:
        print(
            f"  {name:18} median {med(wall[name]) * 1000:7.2f} ms wall"
            f" {med(cpu[name]) * 1000:7.2f} ms CPU"
        )
    ratio = med(wall["shim"]) / med(wall["zig"])
    cpu_ratio = med(cpu["shim"]) / med(cpu["zig"])
    print(f"  shim / zig                 = {ratio:.3f} wall, {cpu_ratio:.3f} CPU")
    print(
        f"  shim / python -m ziglang   = {med(wall['shim']) / med(wall['python -m ziglang']):.3f}"
    )
    print(
        f"  shim - zig (paired)        = {paired('shim', 'zig', wall) * 1000:+.2f} ms wall,"
        f" {paired('shim', 'zig', cpu) * 1000:+.2f} ms CPU per call"
    )
    start = paired("sh exec only", "spawn only", wall)
    loop = paired("shim without zig", "sh exec only", wall)
    print(
        f"  of which starting sh       = {start * 1000:+.2f} ms wall,"
        f" {paired('sh exec only', 'spawn only', cpu) * 1000:+.2f} ms CPU"
    )
    print(
        f"  of which the rewrite loop  = {loop * 1000:+.2f} ms wall,"
        f" {paired('shim without zig', 'sh exec only', cpu) * 1000:+.2f} ms CPU"
    )
    for label, value in (("wall", ratio), ("CPU", cpu_ratio)):
        verdict = "meets" if value < TARGET_RATIO else "MISSES"
        print(f"  target < {TARGET_RATIO:.2f} x zig ({label}): {verdict} ({value:.3f})")


if __name__ == "__main__":
    main()
