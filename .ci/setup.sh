#!/usr/bin/env bash
# Prepare a fresh Debian machine for zigwheel's tests: Debian packages, the Python package, and
# whatever the scripts in .ci/provision.d/ add (test root filesystems, cached between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v -E '^[[:space:]]*(#|$)' .ci/apt-packages.txt)
missing=""
for package in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing="$missing $package"
done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then $SUDO dpkg --add-architecture arm64; fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

python3 -m pip install -q -e '.[dev]'

for script in .ci/provision.d/*.sh; do
    [ -e "$script" ] || continue
    echo "== $script"
    bash "$script"
done
