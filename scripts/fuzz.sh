#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time,
# starting from real files. Usage: scripts/fuzz.sh [SECONDS per target, default 60]
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
seconds=${1:-60}
ref=$(cd .. && pwd)/shared/reference
cxx=$(command -v clang++-14 || command -v clang++ || true)
[ -n "$cxx" ] || { echo "fuzz: no clang++ found (scripts/setup.sh installs clang-14)"; exit 1; }
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DPHIDESK_WITH_QT=OFF -DPHIDESK_CUDA=OFF -DPHIDESK_FUZZ=ON >/dev/null
cmake --build build/fuzz --target fuzz_phz fuzz_safetensors phidesk-cli
corpus=build/fuzz/corpus
mkdir -p "$corpus/phz" "$corpus/safetensors"
[ -f "$corpus/phz/micro-phi.phz" ] || build/fuzz/app/phidesk-cli convert --in "$ref/models/micro-phi" --out "$corpus/phz/micro-phi.phz" 2>/dev/null
cp -f "$ref/models/micro-phi/model.safetensors" "$corpus/safetensors/micro-phi.safetensors"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in phz safetensors; do
    # Inputs that once failed must keep passing.
    regressions=(tests/fuzz/regressions/$t/*)
    if [ ${#regressions[@]} -gt 0 ] && ! build/fuzz/tests/fuzz/fuzz_$t "${regressions[@]}" >/dev/null 2>&1; then
        echo "fuzz_$t fails on a saved input in tests/fuzz/regressions/$t"
        exit 1
    fi
    echo "== fuzz_$t for $seconds s =="
    log=build/fuzz/fuzz_$t.log
    if ! build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=1048576 \
            -artifact_prefix=build/fuzz/ -print_final_stats=1 "$corpus/$t" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz_$t found a failure: the input is saved under build/fuzz/ (crash-*, leak-*, oom-*, timeout-*)"
        exit 1
    fi
    grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" "$log"
done
