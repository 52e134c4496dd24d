#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test (this is what CI runs):
#  1. the Qt-free build on the host itself (gcc 12 on Debian 12: engine, kernels, phidesk-cli);
#  2. the full build with the QtTest suites (in the Debian 13 root on Debian 12);
#  3. the file readers under libFuzzer (clang, bounded time);
#  4. the engine suites again under AddressSanitizer + UBSan;
#  5. the Debian package: built, installed with apt, run on the demo model, removed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh

if use_native; then
    echo "== headless build (no Qt) =="
else
    echo "== headless build on the Debian 12 host (gcc 12, no Qt) =="
fi
cmake --preset headless >/dev/null
cmake --build --preset headless
ctest --preset headless

echo "== libFuzzer: .phz and safetensors readers, 60 s each =="
bash scripts/fuzz.sh 60

echo "== sanitizers: ASan + UBSan, engine suites =="
in_build_env bash -c 'cmake --preset sanitize >/dev/null && cmake --build --preset sanitize &&
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset sanitize -L engine'

echo "== full build, all tests =="
in_build_env bash -c 'cmake --preset default >/dev/null && cmake --build --preset default && ctest --preset default'

echo "== Debian package: build, validate, install with apt, run, remove =="
bash scripts/package.sh
