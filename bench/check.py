"""Time `zigwheel check` against `auditwheel show` on the same real wheels, side by side in one run.

Usage: python bench/check.py [--limit N] [--startup-only]

The wheels are the e2e corpus (tests/e2e/test_check_corpus.py), downloaded once into
$ZIGWHEEL_TEST_CORPUS or the user cache. auditwheel show takes one wheel per command;
zigwheel check is timed as one command for all wheels (its normal use) and in-process
(check_wheel, as `zigwheel build` calls it). Every figure is a ratio measured in the same run:
against auditwheel on the corpus and on its three slowest wheels; check_wheel on the wheel with
the biggest member against inflating just its ELF members with the same inflater (zipfile's
zlib); and `zigwheel check` of the smallest wheel against `python -c pass` (start-up), with
zigwheel's modules compiled to bytecode first, as pip does when it installs a wheel (an editable
install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module on every run).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from types import ModuleType

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


def _best(cmd: list[str], runs: int = 5) -> float:
    """The fastest of ``runs`` runs: start-up time without the noise of a busy machine."""
    return min(_run(cmd) for _ in range(runs))


def _inflate_elf_members(wheel: Path) -> float:
    """Seconds to inflate just the ELF members of ``wheel`` in chunks, with the check's inflater."""
    from zigwheel.compliance.archive import WheelArchive  # noqa: PLC0415 - timed apart

    start = time.perf_counter()
    with WheelArchive(wheel) as archive:
        for name in archive.iter_files():
            if archive.head(name) == b"\x7fELF":
                for _chunk in archive.inflate(name):
                    pass
    return time.perf_counter() - start


def _inflate_with(module: ModuleType, wheel: Path) -> float:
    """Seconds to inflate the biggest member's raw deflate stream with ``module`` (zlib's API)."""
    with zipfile.ZipFile(wheel) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    with wheel.open("rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        raw = handle.read(info.compress_size)
    start = time.perf_counter()
    inflater = module.decompressobj(-15)
    for offset in range(0, len(raw), 1 << 20):
        inflater.decompress(raw[offset : offset + (1 << 20)])
    return time.perf_counter() - start


def _in_process(wheel: Path) -> float:
    from zigwheel.compliance.analysis import check_wheel  # noqa: PLC0415 - timed apart

    start = time.perf_counter()
    check_wheel(wheel)
    return time.perf_counter() - start


ROUNDS = 3  # interleaved rounds for the three slowest wheels (best of each side)
STARTUP_TARGET = 0.25  # seconds, wall, for `zigwheel check` of a small wheel


def _startup(wheels: list[Path]) -> None:
    """`zigwheel check` of the smallest wheel against `python -c pass`, both best of 10."""
    import zigwheel  # noqa: PLC0415 - only to find its installed folder

    compileall.compile_dir(Path(zigwheel.__file__).parent, quiet=1)
    small = min(wheels, key=lambda w: w.stat().st_size)
    bare = _best([sys.executable, "-c", "pass"], runs=10)
    command = _best([sys.executable, "-m", "zigwheel", "check", str(small)], runs=10)
    verdict = "meets" if command < STARTUP_TARGET else "misses"
    print(
        f"start-up: `zigwheel check {small.name}` {command:.3f} s, `python -c pass` {bare:.3f} s "
        f"-> {command / bare:4.1f}x ({verdict} the {STARTUP_TARGET} s target)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N wheels")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up figure")
    args = parser.parse_args()
    wheels = _corpus()
    if args.limit:
        wheels = wheels[: args.limit]
    if not wheels:
        print("no corpus wheels could be downloaded")
        return 1
    if args.startup_only:
        _startup(wheels)
        return 0

    zigwheel = [sys.executable, "-m", "zigwheel", "check", "--json"]
    auditwheel = [sys.executable, "-m", "auditwheel", "show", "--json"]
    theirs: dict[Path, float] = {}
    ours: dict[Path, float] = {}
    print(f"{'wheel':60} {'MB':>6} {'zigwheel s':>10} {'auditwheel s':>12} {'ratio':>6}")
    for wheel in wheels:
        ours[wheel] = _in_process(wheel)
        theirs[wheel] = _run([*auditwheel, str(wheel)])
        size = wheel.stat().st_size / 1e6
        ratio = theirs[wheel] / ours[wheel]
        print(
            f"{wheel.name[:60]:60} {size:6.1f} {ours[wheel]:10.2f} {theirs[wheel]:12.2f} "
            f"{ratio:6.1f}"
        )
    theirs_total = sum(theirs.values())
    one_command = min(_run([*zigwheel, *map(str, wheels)]) for _ in range(2))
    slowest = sorted(wheels, key=lambda w: -theirs[w])[:3]
    # The three slowest are timed again in interleaved rounds (auditwheel on each, then one
    # zigwheel command), so that a slow spell of this shared machine hits both sides alike.
    slow_theirs = slow_ours = float("inf")
    for _ in range(ROUNDS):
        slow_theirs = min(slow_theirs, sum(_run([*auditwheel, str(w)]) for w in slowest))
        slow_ours = min(slow_ours, _run([*zigwheel, *map(str, slowest)]))

    print()
    print(f"wheels: {len(wheels)}, {sum(w.stat().st_size for w in wheels) / 1e6:.0f} MB")
    print(
        f"corpus: auditwheel show one command per wheel {theirs_total:7.2f} s, zigwheel check "
        f"one command {one_command:7.2f} s -> {theirs_total / one_command:5.1f}x faster"
    )
    print(
        f"3 slowest ({', '.join(w.name.split('-')[0] for w in slowest)}), best of {ROUNDS} "
        f"interleaved rounds: auditwheel "
        f"{slow_theirs:6.2f} s, zigwheel check one command {slow_ours:6.2f} s -> "
        f"{slow_theirs / slow_ours:5.1f}x faster"
    )
    print(
        f"check_wheel() in-process, all wheels: {sum(ours.values()):7.2f} s "
        f"-> {theirs_total / sum(ours.values()):5.1f}x faster than auditwheel"
    )
    biggest = max(
        wheels, key=lambda w: max(i.file_size for i in zipfile.ZipFile(w).infolist())
    )
    inflate = min(_inflate_elf_members(biggest) for _ in range(3))
    check = min(_in_process(biggest) for _ in range(3))
    print(
        f"{biggest.name}: check_wheel {check:.2f} s, inflating its ELF members alone "
        f"{inflate:.2f} s -> {check / inflate:4.2f}x the floor"
    )
    zlib_time = min(_inflate_with(zlib, biggest) for _ in range(3))
    try:
        from isal import isal_zlib  # noqa: PLC0415 - measured only when installed
    except ImportError:
        print("isal is not installed: zlib inflates")
    else:
        isal_time = min(_inflate_with(isal_zlib, biggest) for _ in range(3))
        print(
            f"inflating its biggest member: zlib {zlib_time:.2f} s, ISA-L {isal_time:.2f} s "
            f"-> ISA-L {zlib_time / isal_time:4.2f}x as fast"
        )
    _startup(wheels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
