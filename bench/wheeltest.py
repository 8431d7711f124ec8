"""Cost of one `zigwheel test` per environment: fresh host venv, other-glibc root, qemu-user root.

Run: python bench/wheeltest.py [--rounds 5]

Builds a tiny abi3 C extension with zig for x86_64 and aarch64 (glibc 2.17), makes sure the
Debian bullseye amd64 and bookworm arm64 roots are in the cache, then runs the three kinds of
test interleaved in each round (so machine load hits them alike) and prints the medians and
their ratios to the host venv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

from zigwheel.runtime import debian_root, wheeltest

SOURCE = """
#define Py_LIMITED_API 0x03090000
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "benchext", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_benchext(void) { return PyModule_Create(&module); }
"""


def build_wheel(arch: str, out: Path) -> Path:
    source = out / "benchext.c"
    source.write_text(SOURCE)
    so_file = out / f"benchext-{arch}.so"
    include = sysconfig.get_paths()["include"]
    subprocess.run(
        [sys.executable, "-m", "ziglang", "cc", "-target", f"{arch}-linux-gnu.2.17", "-shared",
         "-fPIC", f"-I{include}", str(source), "-o", str(so_file)],
        check=True,
    )  # fmt: skip
    wheel = out / f"benchext-0.1-cp39-abi3-manylinux_2_17_{arch}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("benchext.abi3.so", so_file.read_bytes())
        archive.writestr(
            "benchext-0.1.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: benchext\nVersion: 0.1\n",
        )
        archive.writestr(
            "benchext-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
        )
        archive.writestr("benchext-0.1.dist-info/RECORD", "")
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bullseye = debian_root.ensure_debian_root("bullseye", "x86_64", env=os.environ).path
    arm = debian_root.ensure_debian_root("bookworm", "aarch64", env=os.environ).path
    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp)
        x86, aarch64 = build_wheel("x86_64", out), build_wheel("aarch64", out)
        cases = {
            "host venv": (x86, None),
            "bullseye root (own loader)": (x86, bullseye),
            "bookworm arm64 root (qemu)": (aarch64, arm),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (wheel, root) in cases.items():
                start = time.perf_counter()
                result = wheeltest.run_wheel_test(
                    wheel, env=os.environ, root=root, host_python=sys.executable
                )
                times[name].append(time.perf_counter() - start)
                assert result.passed, result.to_json()
    base = statistics.median(times["host venv"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:30} median {median:6.2f} s  ratio to host venv {median / base:5.2f}")


if __name__ == "__main__":
    main()
