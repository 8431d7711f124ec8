"""Per-call overhead of zigwheel's cc shims (sh and native) against zig and `python -m ziglang cc`.

Run: python bench/shims.py [--rounds 30]

Compiles one small C file with -c, many times, warm zig cache, the ways interleaved in each
round (so machine load hits them alike), and prints medians, ratios and whether each shim meets
its target: less than 5% over calling zig directly. The sh shim and the native shim (the C
program of toolchains/templates/shim.c, built by the pinned zig) run side by side, each also
with `true` in place of zig, which isolates what its rewriting costs. Wall time on a loaded
machine mostly measures waiting for a CPU, so the CPU time of each call (user + system of the
child processes, from getrusage) is printed too.
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
from zigwheel.toolchain.shims import (
    NATIVE_FORM,
    RULES_SUFFIX,
    SH_FORM,
    baked_flags,
    install_shims,
    render_rules_file,
    render_shims,
    tool_specs,
)
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


def ways_to_compile(work: Path) -> dict[str, list[str]]:
    """Every way of compiling f.c that is timed, by name (the shims installed under ``work``)."""
    target = resolve_target("x86_64", "manylinux_2_17")
    zig = locate_zig(os.environ)
    shims = install_shims(target, zig, work / "cache", form=SH_FORM)
    native = install_shims(target, zig, work / "cache", form=NATIVE_FORM)
    (work / "f.c").write_text(SOURCE)
    # What the shim ends up running, spelled out for the two baselines.
    rewritten = [flag for flag in CC_RS_FLAGS if not flag.startswith("--target=")]
    rewritten = [flag.replace("-Wp,", "") for flag in rewritten]
    zig_args = ["cc", *baked_flags(target, linker=False), *rewritten, "-c", "f.c", "-o"]
    true = shutil.which("true") or "true"
    # The same sh shim with `true` in place of zig: what the sh rewrite loop alone costs.
    noop = work / "noop-cc"
    noop.write_text(render_shims(target, [true])["cc"])
    noop.chmod(0o755)
    # The native program with `true` in place of zig: its start, rules file and rewriting.
    native_noop = work / "native-noop-cc"
    shutil.copyfile(native.cc, native_noop)
    native_noop.chmod(0o755)
    rules_file = native_noop.with_name(native_noop.name + RULES_SUFFIX)
    rules_file.write_text(render_rules_file(tool_specs(target, [true])[0]))
    # The least any sh shim costs: start sh, exec. Shim minus this is the rewrite loop.
    bare = work / "bare-sh"
    bare.write_text('#!/bin/sh\nexec "$@"\n')
    bare.chmod(0o755)
    return {
        "shim": [str(shims.cc), *CC_RS_FLAGS, "-c", "f.c", "-o", "shim.o"],
        "native": [str(native.cc), *CC_RS_FLAGS, "-c", "f.c", "-o", "native.o"],
        "shim without zig": [str(noop), *CC_RS_FLAGS, "-c", "f.c", "-o", "noop.o"],
        "native without zig": [str(native_noop), *CC_RS_FLAGS, "-c", "f.c", "-o", "n.o"],
        "sh exec only": [str(bare), true, *CC_RS_FLAGS],
        "zig": [*zig.command, *zig_args, "zig.o"],
        "python -m ziglang": [sys.executable, "-m", "ziglang", *zig_args, "py.o"],
        # Starting any program costs this much; subtracted from the "without zig" ways.
        "spawn only": [true],
    }


Table = dict[str, list[float]]


def measure(ways: dict[str, list[str]], work: Path, rounds: int) -> tuple[Table, Table]:
    """(wall, CPU) seconds of every way, ``rounds`` times, interleaved in a shuffled order."""
    for argv in ways.values():  # warm zig's cache and the OS page cache
        timed(argv, work)
        timed(argv, work)
    wall: Table = {name: [] for name in ways}
    cpu: Table = {name: [] for name in ways}
    order = list(ways)
    shuffle = random.Random(1234).shuffle
    for _ in range(rounds):
        shuffle(order)  # no way always runs right after another (cache/CPU effects)
        for name in order:
            seconds, cpu_seconds = timed(ways[name], work)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    return wall, cpu


def med(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def paired(a: str, b: str, table: Table) -> float:
    """Median of the per-round differences: steadier than a difference of two medians."""
    return med([x - y for x, y in zip(table[a], table[b])])


def report(wall: Table, cpu: Table) -> None:
    """Print medians, ratios, the parts of each shim's cost and the verdicts."""
    for name in wall:
        print(
            f"  {name:18} median {med(wall[name]) * 1000:7.2f} ms wall"
            f" {med(cpu[name]) * 1000:7.2f} ms CPU"
        )

    def compare(label: str, a: str, b: str) -> None:
        print(
            f"  {label:26} = {med(wall[a]) / med(wall[b]):.3f} wall,"
            f" {med(cpu[a]) / med(cpu[b]):.3f} CPU; paired"
            f" {paired(a, b, wall) * 1000:+.2f} ms wall, {paired(a, b, cpu) * 1000:+.2f} ms CPU"
        )

    compare("sh shim / zig", "shim", "zig")
    compare("native shim / zig", "native", "zig")
    compare("native shim / sh shim", "native", "shim")
    compare("sh shim / python -m ziglang", "shim", "python -m ziglang")
    compare("sh: starting sh", "sh exec only", "spawn only")
    compare("sh: the rewrite loop", "shim without zig", "sh exec only")
    compare("native: start and rewrite", "native without zig", "spawn only")
    for shim in ("shim", "native"):
        for label, table in (("wall", wall), ("CPU", cpu)):
            value = med(table[shim]) / med(table["zig"])
            verdict = "meets" if value < TARGET_RATIO else "MISSES"
            print(f"  {shim}: target < {TARGET_RATIO:.2f} x zig ({label}): {verdict} ({value:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    target = resolve_target("x86_64", "manylinux_2_17")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ways = ways_to_compile(work)
        wall, cpu = measure(ways, work, args.rounds)
    zig = locate_zig(os.environ)
    print(f"zig {zig.version}, {args.rounds} interleaved rounds, {len(rules_for(target))} rules")
    report(wall, cpu)


if __name__ == "__main__":
    main()
