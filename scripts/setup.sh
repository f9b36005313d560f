#!/usr/bin/env bash
# Sets up photogan in ./.venv on a fresh Debian/Ubuntu machine (Python >= 3.11).
#   scripts/setup.sh         the app: command line and desktop app (photogan, photogan gui)
#   scripts/setup.sh test    the app + training + test tools + a virtual display (what CI runs before the tests)
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
# Qt's runtime libraries (the desktop app; offscreen tests need the first line)
qt_libs=(libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0)
# a real window under X11, and the virtual display the window test runs in
x11_libs=(libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
          libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0)
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ "$mode" = "test" ]; then
    apt_install "${qt_libs[@]}" "${x11_libs[@]}" xvfb xauth
    .venv/bin/python -m pip install -q -c constraints/ci.txt -e '.[gui,train,test]'
    # spandrel for the checkpoint-import tests, without the torchvision it asks for: PyPI's torchvision is built
    # for CUDA torch and fails to import beside the pinned CPU torch (photogan does not need it; training.convert)
    .venv/bin/python -m pip install -q -c constraints/ci.txt --no-deps 'spandrel>=0.4' einops
else
    apt_install "${qt_libs[@]}" || echo "photogan: the desktop app may lack Qt libraries; the command line works" >&2
    .venv/bin/python -m pip install -q -e '.[gui]'
fi
