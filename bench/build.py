"""Benchmark: `zigwheel build` (check included) against the bare `maturin build --zig` it wraps.

Both use the same pinned zig (CARGO_ZIGBUILD_PYTHON_PATH and, when the ziglang package holds the
binary, CARGO_ZIGBUILD_ZIG_PATH, as zigwheel sets them) and each its own CARGO_TARGET_DIR, warmed
first: zigwheel exports CC_<triple> and friends, and a cc-using build script whose compiler
variables change between alternating runs in one target folder would rebuild every time.
Runs alternate; prints medians, the ratio and whether it meets the target (< 3% overhead).

--touch marks the crate's sources changed before every run (the edit-build loop: cargo compiles
and links the crate again); --clean empties the target folder before every run (a CI build from a
fresh checkout, with zig's and cargo's download caches warm); without either each run is a no-op
rebuild, where zigwheel's fixed cost (Python start-up, imports, the rustc probe, the check) is all
there is to see.
Usage: python bench/build.py [--example hello-abi3] [--rounds 5] [--touch | --clean]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_OVERHEAD = 0.03


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{command[2]} failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - started


def _pinned_zig_env(env: dict[str, str]) -> dict[str, str]:
    from zigwheel.toolchain.zig import locate_zig  # noqa: PLC0415 - needs zigwheel importable

    zig = locate_zig(env)
    pinned = {"CARGO_ZIGBUILD_PYTHON_PATH": sys.executable}
    if zig.direct:
        pinned["CARGO_ZIGBUILD_ZIG_PATH"] = str(zig.path)
    return pinned


def main() -> None:
    """Run the benchmark and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="hello-abi3")
    parser.add_argument("--rounds", type=int, default=5)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--touch", action="store_true", help="change the sources before each run")
    mode.add_argument("--clean", action="store_true", help="empty the target dir before each run")
    args = parser.parse_args()
    base = dict(os.environ)
    base.update(_pinned_zig_env(base))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        # A copy, so that --touch never changes the repository's files.
        project = out / args.example
        ignore = shutil.ignore_patterns("target")
        shutil.copytree(REPO / "examples" / args.example, project, ignore=ignore)
        envs = {
            "zigwheel": {**base, "CARGO_TARGET_DIR": str(out / "target-zigwheel")},
            "maturin": {**base, "CARGO_TARGET_DIR": str(out / "target-maturin")},
        }
        commands = {
            "zigwheel": [sys.executable, "-m", "zigwheel", "build", str(project), "-t", "x86_64",
                         "--manylinux", "2_17", "-o", str(out / "zw")],
            "maturin": [sys.executable, "-m", "maturin", "build", "--release", "--zig", "--strip",
                        "--target", "x86_64-unknown-linux-gnu", "--compatibility",
                        "manylinux_2_17", "--manifest-path", str(project / "Cargo.toml"),
                        "--out", str(out / "mt")],
        }  # fmt: skip
        for name, command in commands.items():  # warm each target folder and zig's cache
            _timed(command, envs[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                if args.touch:
                    for source in (project / "src").rglob("*.rs"):
                        source.touch()
                if args.clean:
                    shutil.rmtree(envs[name]["CARGO_TARGET_DIR"], ignore_errors=True)
                times[name].append(_timed(command, envs[name]))
    median_zw = statistics.median(times["zigwheel"])
    median_mt = statistics.median(times["maturin"])
    ratio = median_zw / median_mt
    verdict = "meets" if ratio - 1 < TARGET_OVERHEAD else "misses"
    kind = (
        "sources touched before each run" if args.touch
        else "target folder emptied before each run" if args.clean
        else "no-op rebuilds"
    )  # fmt: skip
    print(f"example: {args.example}, rounds: {args.rounds} (alternating, warm, own target dirs, "
          f"{kind})")  # fmt: skip
    print(f"maturin build --zig : median {median_mt:.2f} s  (all: {_list(times['maturin'])})")
    print(f"zigwheel build      : median {median_zw:.2f} s  (all: {_list(times['zigwheel'])})")
    print(f"ratio zigwheel/maturin: {ratio:.3f} ({(ratio - 1) * 100:+.1f}%): "
          f"{verdict} the target of < {TARGET_OVERHEAD:.0%} overhead")  # fmt: skip


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    main()
