#!/usr/bin/env bash
# Builds the Debian package (CPU build) and checks it the way a user meets it: validates the
# metainfo and .desktop file, installs the .deb with apt, runs both installed programs (the CLI
# on the installed demo model), then removes the package and checks nothing is left behind.
# Runs where the full build lives (the Debian 13 root on Debian 12, see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if [ "${1:-}" != --inside ]; then
    bash scripts/setup.sh >/dev/null
    in_build_env bash scripts/package.sh --inside
    exit
fi

cmake --preset package >/dev/null
cmake --build --preset package
rm -rf build/package/package
(cd build/package && cpack -G DEB >/dev/null)
deb=$(ls build/package/package/phidesk_*.deb)
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Depends

appstreamcli validate --no-net --pedantic packaging/io.github.phidesk.PhiDesk.metainfo.xml
desktop-file-validate resources/io.github.phidesk.PhiDesk.desktop

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "./$deb" >/dev/null
trap 'apt-get remove -y -qq phidesk >/dev/null 2>&1 || true' EXIT
phidesk-cli --version
phidesk --version
# The demo model's recorded answer to this prompt (../shared/reference/demo/cases.json, qa_phi2).
out=$(cd / && phidesk-cli generate --model /usr/share/phidesk/models/phi-demo.phz --template qa \
    --prompt "What is Phi-2?" --temperature 0 --max-tokens 80 2>/dev/null)
echo "installed phidesk-cli generate: $out"
grep -qF " Phi-2 is a small language model from Microsoft with 2.7 billion parameters, released in December 2023." <<<"$out" ||
    { echo "package: the installed demo model did not give its recorded answer" >&2; exit 1; }
for f in /usr/share/applications/io.github.phidesk.PhiDesk.desktop /usr/share/metainfo/io.github.phidesk.PhiDesk.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/io.github.phidesk.PhiDesk.svg /usr/share/icons/hicolor/48x48/apps/io.github.phidesk.PhiDesk.png \
         /usr/share/man/man1/phidesk-cli.1.gz /usr/share/doc/phidesk/copyright; do
    [ -s "$f" ] || { echo "package: $f missing" >&2; exit 1; }
done
man -l /usr/share/man/man1/phidesk-cli.1.gz >/dev/null 2>&1 || zcat /usr/share/man/man1/phidesk-cli.1.gz | grep -q '^.SH NAME'

apt-get remove -y -qq phidesk >/dev/null
trap - EXIT
left=$(ls -d /usr/bin/phidesk /usr/bin/phidesk-cli /usr/share/phidesk 2>/dev/null || true)
[ -z "$left" ] || { echo "package: left behind after removal: $left" >&2; exit 1; }
echo "package: installed, ran and removed cleanly"
