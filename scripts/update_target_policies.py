"""Regenerate the policy lists and zig glibc floors in toolchains/targets.toml.

- `manylinux` / `musllinux` per architecture come from the installed auditwheel package's policy
  files (which policies exist for which architecture). On 32-bit architectures musllinux_1_1 is
  left out: zig ships musl 1.2, whose 64-bit time_t symbols musl 1.1 does not have.
- `zig_min_glibc` is probed with the pinned zig: the oldest manylinux glibc for which
  `zig cc -target <arch>-linux-gnu.<glibc>` links a program (any 2.x, not only policy versions).

Only those lines are rewritten; comments and everything else stay as they are. Run after
upgrading auditwheel or the zig pin:

    python scripts/update_target_policies.py [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import auditwheel

from zigwheel.platforms import Libc
from zigwheel.toolchain.targets import Arch, load_table
from zigwheel.toolchain.zig import locate_zig

TARGETS = Path(__file__).resolve().parent.parent / "toolchains" / "targets.toml"
THIRTY_TWO_BIT = {Arch.I686, Arch.ARMV7L}


def auditwheel_versions(file_name: str, prefix: str, arch: Arch) -> list[str]:
    policies = json.loads((Path(auditwheel.__file__).parent / "policy" / file_name).read_text())
    versions = [
        entry["name"][len(prefix) :]
        for entry in policies
        if entry["name"].startswith(prefix) and arch.value in entry["symbol_versions"]
    ]
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split("_")))


def zig_floor(arch: Arch, versions: list[str], zig_command: tuple[str, ...], work: Path) -> str:
    zig_gnu = load_table().arches[arch].zig[Libc.GLIBC]
    source = work / "probe.c"
    source.write_text("int main(void){return 0;}\n")
    oldest = int(versions[0].split("_")[1])
    newest = int(versions[-1].split("_")[1])
    for minor in range(oldest, newest + 1):  # every glibc 2.x, not only the policy versions
        version = f"2_{minor}"
        triple = f"{zig_gnu}.2.{minor}"
        result = subprocess.run(
            [*zig_command, "cc", "-target", triple, str(source), "-o", str(work / "probe")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            return version
    msg = f"zig links no program for {arch.value} with any of {versions}"
    raise SystemExit(msg)


def replace_line(text: str, arch: Arch, key: str, value: str) -> str:
    section = re.search(rf"^\[arch\.{arch.value}\]\n(?:.*\n)*?(?=^\[|\Z)", text, re.MULTILINE)
    if section is None:
        raise SystemExit(f"no [arch.{arch.value}] in {TARGETS}")
    body = section.group(0)
    new_body, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", body, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"[arch.{arch.value}] has {count} `{key} =` lines")
    return text[: section.start()] + new_body + text[section.end() :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    zig = locate_zig(os.environ)
    text = TARGETS.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for arch in Arch:
            manylinux = auditwheel_versions("manylinux-policy.json", "manylinux_", arch)
            musllinux = auditwheel_versions("musllinux-policy.json", "musllinux_", arch)
            if arch in THIRTY_TWO_BIT:
                musllinux = [v for v in musllinux if v != "1_1"]
            floor = zig_floor(arch, manylinux, zig.command, Path(tmp))
            text = replace_line(text, arch, "manylinux", json.dumps(manylinux))
            text = replace_line(text, arch, "musllinux", json.dumps(musllinux))
            text = replace_line(text, arch, "zig_min_glibc", json.dumps(floor))
    if args.check:
        if text != TARGETS.read_text():
            sys.exit(f"{TARGETS.name} is out of date: run python scripts/update_target_policies.py")
        print(f"{TARGETS.name} is up to date")
        return
    TARGETS.write_text(text)
    print(f"wrote {TARGETS}")


if __name__ == "__main__":
    main()
