#!/usr/bin/env bash
# Root filesystems for the runtime tests (`zigwheel test --root`): Debian 11 (glibc 2.31,
# Python 3.9) for this machine's architecture, and Debian 12 arm64 (Python 3.11) run under
# qemu-user; the Debian 11 root with CPython 3.11 built by zig from Debian's sources (cp311
# wheels on glibc 2.31), and roots of Debian's musl 1.2.3 with that CPython built for musl
# (musllinux wheels: x86_64, aarch64 under qemu-user); each Python takes a few minutes on a
# fresh machine. Built by zigwheel itself from the Debian mirror named in this machine's apt
# sources, into zigwheel's cache; a second run reuses them (the command returns at once).
set -euo pipefail
cd "$(dirname "$0")/../.."

python3 -m zigwheel root debian --release bullseye
python3 -m zigwheel root debian --release bookworm --arch arm64
python3 -m zigwheel root python 3.11 --release bullseye
python3 -m zigwheel root python 3.11 --libc musl --arch x86_64
python3 -m zigwheel root python 3.11 --libc musl --arch aarch64
python3 -m zigwheel root list
