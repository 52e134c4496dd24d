#!/usr/bin/env bash
# Builds the Debian packages (phidesk, and phidesk-cuda where nvcc exists) and checks them the way
# a user meets them: validates the metainfo and .desktop file, installs phidesk with apt, runs both
# installed programs (the CLI on the installed demo model), adds the CUDA plugin and sees it
# found, then removes everything and checks nothing is left behind.
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
cuda_deb=$(ls build/package/package/phidesk-cuda_*.deb 2>/dev/null || true)
if [ -n "$cuda_deb" ]; then   # built where nvcc exists; it needs NVIDIA's cuBLAS package to install
    echo "package: $cuda_deb ($(du -h "$cuda_deb" | cut -f1)), Depends: $(dpkg-deb --field "$cuda_deb" Depends)"
    dpkg-deb --contents "$cuda_deb" | grep -q 'usr/lib/phidesk/libphidesk-cuda.so' ||
        { echo "package: phidesk-cuda lacks the plugin" >&2; exit 1; }
fi

appstreamcli validate --no-net --pedantic packaging/io.github.phidesk.PhiDesk.metainfo.xml
desktop-file-validate resources/io.github.phidesk.PhiDesk.desktop

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "./$deb" >/dev/null
trap 'dpkg -r phidesk-cuda >/dev/null 2>&1; apt-get remove -y -qq phidesk >/dev/null 2>&1 || true' EXIT
phidesk-cli --version
phidesk --version
# Without the CUDA plugin the app runs on the CPU and says why.
devices=$(phidesk-cli devices) && echo "$devices"
grep -q "the CUDA backend is not installed" <<<"$devices"
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

if [ -n "$cuda_deb" ]; then   # the plugin is found where it installs (cuBLAS here comes from the toolkit)
    dpkg -i --force-depends "$cuda_deb" >/dev/null
    devices=$(phidesk-cli devices) && echo "$devices"
    grep -q "backends: cpu, cuda" <<<"$devices"
    dpkg -r phidesk-cuda >/dev/null
fi
apt-get remove -y -qq phidesk >/dev/null
trap - EXIT
left=$(ls -d /usr/bin/phidesk /usr/bin/phidesk-cli /usr/share/phidesk /usr/lib/phidesk 2>/dev/null || true)
[ -z "$left" ] || { echo "package: left behind after removal: $left" >&2; exit 1; }
echo "package: installed, ran and removed cleanly"
