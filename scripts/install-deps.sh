#!/usr/bin/env bash
# Installs what corio needs to build and test on Debian 12, as root. Idempotent: packages
# already present are skipped; apt's package lists are fetched only when something is missing.
#   scripts/install-deps.sh [extra packages...]
set -euo pipefail

packages=(g++ cmake ninja-build libgtest-dev libgmock-dev curl nlohmann-json3-dev "$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "corio: missing packages: ${missing[*]}; run this as root (or install them)" >&2
    exit 1
fi
echo "corio: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
