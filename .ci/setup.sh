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

# musllinux wheels need Rust's musl standard libraries, which only rustup provides here (Debian's
# rustc has none); without them the musllinux tests cannot run, so CI stops with the reason.
musl_targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
if ! command -v rustup >/dev/null; then
    echo "error: rustup is not on PATH: the musl standard libraries ($musl_targets) cannot be added" >&2
    exit 1
fi
for triple in $musl_targets; do
    if ! rustup target list --installed | grep -qx "$triple"; then
        rustup target add "$triple" || {
            echo "error: \`rustup target add $triple\` failed: musllinux wheels cannot be built" >&2
            exit 1
        }
    fi
done

for script in .ci/provision.d/*.sh; do
    [ -e "$script" ] || continue
    echo "== $script"
    bash "$script"
done
