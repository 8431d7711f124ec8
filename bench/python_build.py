"""Time `zigwheel root python`'s CPython build: zigwheel's -O1 against CPython's own -O3 -g.

Usage: python bench/python_build.py [--libc glibc|musl] [--arch x86_64] [--rounds 1]

Both builds run side by side in this run (interleaved when --rounds > 1), from the same
downloaded and verified Debian sources, into temporary folders (the cache's built Pythons are
not touched). Prints each build's wall time and their ratio, and the time of reusing a built
Python (what a second CI run pays).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zigwheel.cache import cache_root
from zigwheel.host import Host
from zigwheel.platforms import Libc
from zigwheel.runtime import cpython, debian, python_root
from zigwheel.toolchain.zig import locate_zig

CPYTHON_DEFAULT_OPT = "-DNDEBUG -g -fwrapv -O3 -Wall"  # configure's own choice for clang


def _build(recipe: cpython.Recipe, target: cpython.PythonTarget, sources: cpython.Sources,
           into: Path) -> float:  # fmt: skip
    env = dict(os.environ)
    zig = locate_zig(env).command
    start = time.perf_counter()
    cpython.build_python(target, sources=sources, dest=into, zig=zig,
                         build_python_exe=sys.executable, env=env, recipe=recipe,
                         progress=lambda line: print(f"  {line}", flush=True))  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libc", choices=["glibc", "musl"], default="glibc")
    parser.add_argument("--arch", default=Host.detect(os.environ).arch)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    recipe = cpython.load_recipe()
    if version not in recipe.sources:
        print(f"run this with a Python zigwheel builds ({', '.join(recipe.sources)})")
        return 1
    target = cpython.plan_target(version, args.arch, Libc(args.libc), recipe)
    env = dict(os.environ)
    apt = debian.read_apt_sources(Path("/etc/apt"))
    mirrors = debian.mirror_candidates(apt)
    keyrings = list(dict.fromkeys(k for m in mirrors for k in debian.keyrings_for(apt, m)))
    sources = python_root.fetch_sources(target, recipe, cache=cache_root(env), mirrors=mirrors,
                                        keyrings=keyrings, env=env)  # fmt: skip
    variants = {
        f"zigwheel's OPT ({recipe.opt})": recipe,
        f"CPython's OPT ({CPYTHON_DEFAULT_OPT})": dataclasses.replace(
            recipe, opt=CPYTHON_DEFAULT_OPT
        ),
    }
    best = dict.fromkeys(variants, float("inf"))
    reuse = float("inf")
    with tempfile.TemporaryDirectory(prefix="zigwheel-bench-python-") as temp:
        for round_ in range(args.rounds):
            for name, variant in variants.items():
                into = Path(temp) / f"{round_}-{len(name)}"
                print(f"{target.name}, {name}:", flush=True)
                best[name] = min(best[name], _build(variant, target, sources, into))
                start = time.perf_counter()
                cpython.build_python(target, sources=sources, dest=into, zig=(), env=env,
                                     build_python_exe=sys.executable, recipe=variant,
                                     progress=print)  # fmt: skip
                reuse = min(reuse, time.perf_counter() - start)
                shutil.rmtree(into)
    (ours, ours_s), (theirs, theirs_s) = best.items()
    print()
    print(f"{target.name} from {sources.python_source}, best of {args.rounds}:")
    print(f"  {ours}: {ours_s:6.1f} s")
    print(f"  {theirs}: {theirs_s:6.1f} s")
    print(f"  -> zigwheel's build takes {ours_s / theirs_s:4.2f}x the time of CPython's flags")
    print(f"  reusing a built Python: {reuse * 1000:.1f} ms ({ours_s / reuse:,.0f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
