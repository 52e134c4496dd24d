#!/usr/bin/env bash
# Starts the app under Xvfb with the demo model, drives one chat, one code completion and one
# summary, and saves a PNG of each workspace in screenshots/ (for review and the README; not CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh >/dev/null
in_build_env bash -c '
    set -e
    command -v Xvfb >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb xauth fonts-dejavu-core fonts-noto-cjk >/dev/null
    cmake --preset default >/dev/null && cmake --build --preset default --target screenshot_tour
    Xvfb :97 -screen 0 1280x900x24 >/dev/null 2>&1 & xvfb=$!
    trap "kill $xvfb" EXIT
    sleep 1
    DISPLAY=:97 QT_QPA_PLATFORM=xcb build/default/tests/screenshot_tour "$PWD/screenshots"
'
