#!/usr/bin/env bash
# Sets up photogan in ./.venv on a fresh Debian/Ubuntu machine (Python >= 3.11).
#   scripts/setup.sh         the app (enough to enhance photos)
#   scripts/setup.sh test    the app + training + test tools (what CI runs before the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

apt_install() {  # only what is missing; needs root or sudo
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { echo "please install: ${missing[*]}" >&2; return 1; }
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ "$mode" = "test" ]; then
    .venv/bin/python -m pip install -q -c constraints/ci.txt -e '.[train,test]'
else
    .venv/bin/python -m pip install -q -e .
fi
