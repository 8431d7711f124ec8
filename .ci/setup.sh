#!/usr/bin/env bash
# Prepare a fresh Debian machine for zigwheel's tests: Debian packages, the Python package, and
# whatever the scripts in .ci/provision.d/ add (test root filesystems, cached between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v -E '^\s*(#|$)' .ci/apt-packages.txt | tr '\n' ' ')
missing=$(dpkg-query -W -f='${binary:Package} ${Status}\n' $packages 2>/dev/null | grep -c -v ' installed$' || true)
if [ "$missing" != 0 ] || ! dpkg-query -W $packages >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then $SUDO dpkg --add-architecture arm64; fi
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $packages
fi

python3 -m pip install -q -e '.[dev]'

for script in .ci/provision.d/*.sh; do
    [ -e "$script" ] || continue
    echo "== $script"
    bash "$script"
done
