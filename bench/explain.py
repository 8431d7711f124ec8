"""Time `zigwheel explain` on big logs as a ratio to just reading them, with its peak memory.

Usage: python bench/explain.py [--mb 50]

Two logs are written to a temporary folder: 40 000 distinct "offending versions" lines (one
collected group growing with the log: the case that was quadratic) and a build log of about
``--mb`` MB (the fixture logs of tests/data/logs between cargo-like progress lines). Each is
explained in a child process (`python -m zigwheel explain FILE`), whose peak resident memory
is read from getrusage; the floor is the same child reading the file block by block, decoding
and splitting it into lines. Every figure is a ratio measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / "tests" / "data" / "logs"

READ_ONLY = """
import codecs, sys
decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
lines = 0
with open(sys.argv[1], "rb") as handle:
    while block := handle.read(1 << 20):
        lines += len(decoder.decode(block).splitlines())
print(lines)
"""


# Runs one command and prints its peak resident memory: a fresh parent per measurement, as
# getrusage(RUSAGE_CHILDREN) reports the largest child a process ever waited for.
PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], capture_output=True, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _child(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MB) of one child process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *argv], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(done.stdout.strip()) / 1024  # KiB on Linux


def _distinct_log(path: Path, count: int = 40_000) -> None:
    with path.open("w") as handle:
        for index in range(count):
            handle.write(f"  libfoo.so offending versions: GLIBC_2.{index} (line {index})\n")


def _build_log(path: Path, megabytes: int) -> None:
    fixtures = "".join(log.read_text(encoding="utf-8") for log in sorted(LOGS.glob("*.log")))
    noise = "".join(
        f"   Compiling crate{index} v0.{index % 40}.{index % 7} (registry)\n"
        for index in range(2000)
    )
    piece = noise + fixtures
    with path.open("w") as handle:
        for _ in range(max(1, megabytes * (1 << 20) // len(piece))):
            handle.write(piece)


def _measure(label: str, path: Path) -> None:
    size = path.stat().st_size / (1 << 20)
    read_s, read_mb = min(
        (_child([sys.executable, "-c", READ_ONLY, str(path)]) for _ in range(3)),
        key=lambda pair: pair[0],
    )
    explain_s, explain_mb = _child([sys.executable, "-m", "zigwheel", "explain", str(path)])
    start_s, start_mb = _child([sys.executable, "-c", "import zigwheel.explain, zigwheel.cli"])
    work = max(explain_s - start_s, 1e-9)
    ratio = work / max(read_s, 1e-9)
    print(
        f"{label}: {size:.1f} MB; read {read_s:.2f} s, explain {explain_s:.2f} s "
        f"({work / size * 1000:.0f} ms/MB without start-up, {ratio:.1f}x reading); "
        f"peak memory {explain_mb:.0f} MB (importing zigwheel: {start_mb:.0f} MB, "
        f"reading alone: {read_mb:.0f} MB)"
    )


def main() -> None:
    """Write the logs, explain them, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the build log (MB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        distinct = Path(folder) / "distinct.log"
        _distinct_log(distinct)
        _measure("40 000 distinct offending lines", distinct)
        big = Path(folder) / "build.log"
        _build_log(big, args.mb)
        _measure(f"build log of ~{args.mb} MB", big)


if __name__ == "__main__":
    main()
