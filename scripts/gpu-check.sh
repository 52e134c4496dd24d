#!/usr/bin/env bash
# Runs ON the GPU machine (device tool), after scripts/gpu-build.sh built build/gpu/app here:
#   device run: bash scripts/gpu-check.sh     carry: ["build/gpu/app"]
# Checks the CUDA backend against the reference goldens (fp16 tolerance), int8/int4 on the GPU
# against the CPU, and measures speed on random phi-2-shaped weights. Results go to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
cli=build/gpu/app/phidesk-cli
log() { echo "== $*" | tee -a "$out/summary.txt"; }
[ -x "$cli" ] || { echo "no $cli: run scripts/gpu-build.sh first and carry build/gpu/app" | tee "$out/summary.txt"; exit 2; }
ref=
for d in ../shared/reference shared/reference; do [ -d "$d/models" ] && ref=$d && break; done

nvidia-smi > "$out/nvidia-smi.txt" 2>&1
log "devices"
"$cli" devices 2>&1 | tee -a "$out/summary.txt"

status=0
if [ -n "$ref" ]; then
    for m in micro-phi tiny-phi2 tiny-phi15 tiny-phi2-legacy; do
        log "verify $m on cuda"
        "$cli" verify --model "$ref/models/$m" --golden "$ref/models/$m/golden.json" --backend cuda 2>&1 | tee -a "$out/summary.txt"
        [ "${PIPESTATUS[0]}" = 0 ] || status=1
    done
    log "int8/int4 on cuda against cpu (tiny-phi2, max |d logit| over all positions)"
    for q in int8 int4; do
        "$cli" convert --in "$ref/models/tiny-phi2" --out "$out/tiny-phi2-$q.phz" --quant $q >/dev/null 2>&1
        for b in cpu cuda; do
            "$cli" logits --model "$out/tiny-phi2-$q.phz" --tokens 50256,464,318,257,1332,13,198,40 --top 3 --backend $b > "$out/logits-$q-$b.json" 2>&1
        done
        python3 - "$out/logits-$q-cpu.json" "$out/logits-$q-cuda.json" <<'PY' 2>&1 | tee -a "$out/summary.txt"
import json, sys
a, b = (json.load(open(p))["last_logits"] for p in sys.argv[1:3])
d = max(abs(x - y) for x, y in zip(a, b))
print(f"{sys.argv[1].split('-')[-2]}: max |d| = {d:.4g} -> {'ok' if d <= 5e-2 else 'FAIL'}")
sys.exit(0 if d <= 5e-2 else 1)
PY
        [ "${PIPESTATUS[0]}" = 0 ] || status=1
    done
    log "demo model, greedy answer on cuda"
    "$cli" generate --model "$ref/demo/phi-demo" --template qa --prompt "What is Phi-2?" --temperature 0 --backend cuda 2>&1 | tee -a "$out/summary.txt"
else
    log "no reference data on this machine: goldens skipped"
fi

log "speed: random phi-2-shaped weights (F16), 128 prompt + 64 generated tokens"
"$cli" synth --preset phi-2 --seed 1 --out /tmp/phi-2-synth >/dev/null 2>&1
for b in cuda cpu; do   # the CPU of the GPU machine as the baseline of the same run
    timeout 300 "$cli" bench --model /tmp/phi-2-synth --backend $b --prompt-tokens 128 --gen-tokens 64 --runs 3 2>&1 | tee -a "$out/summary.txt"
done
log "exit status $status"
exit $status
