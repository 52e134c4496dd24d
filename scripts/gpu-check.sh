#!/usr/bin/env bash
# The GPU check, in two halves so that no device minute goes to compiling:
#   bash scripts/gpu-check.sh build   HERE: phidesk-cli with the CUDA backend linked in (static but
#                                     for the driver and cuBLAS; sm_90 unless PHIDESK_GPU_ARCH says
#                                     otherwise) and the reference files it needs, into build/gpu-check
#   bash scripts/gpu-check.sh run     THERE, with the device tool: carry ["build/gpu-check"]
# `run` ends within 520 s (every command has its own time limit, all under that deadline): devices, goldens on the GPU
# (F16), int8/int4 on the GPU against the CPU, a 300-token prompt and decode against the CPU, the
# demo model's recorded answers, phi-2-shaped speed for f16/int8/int4 and the copy bandwidth they
# are measured against. The device tool brings back at most 8 files, so the steps write to
# /tmp/gpu-check-work and $OUT (or /tmp/gpu-check) receives summary.txt, steps.jsonl,
# summary.json, nvidia-smi.txt and logs.tgz (every log, no models or goldens).
set -uo pipefail
cd "$(dirname "$0")/.."
kit=build/gpu-check

build() {
    set -e
    bash scripts/setup.sh >/dev/null
    cmake --preset gpu -DCMAKE_CUDA_ARCHITECTURES="${PHIDESK_GPU_ARCH:-90-real}" >/dev/null
    cmake --build --preset gpu --target phidesk-cli
    rm -rf "$kit" && mkdir -p "$kit/ref"
    cp build/gpu/app/phidesk-cli "$kit/"
    local ref=../shared/reference
    # The whole reference set does not fit the 64 MiB the device tool carries: micro-phi as it is,
    # tiny-phi2 (phi-2's architecture) as a lossless .phz, goldens gzipped. tiny-phi15 and the
    # legacy naming run the same kernels and are checked on the CPU by CI.
    cp -r --no-preserve=mode "$ref/models/micro-phi" "$kit/ref/micro-phi"
    gzip -9 "$kit/ref/micro-phi/golden.json"
    build/gpu/app/phidesk-cli convert --in "$ref/models/tiny-phi2" --out "$kit/ref/tiny-phi2.phz" --quant keep >/dev/null 2>&1
    gzip -9 -c "$ref/models/tiny-phi2/golden.json" > "$kit/ref/tiny-phi2.golden.json.gz"
    cp "$ref/demo/cases.json" "$kit/ref/demo-cases.json"
    du -sh "$kit"
}

run() {
    local out=${OUT:-/tmp/gpu-check} work=/tmp/gpu-check-work cli=$kit/phidesk-cli status=0
    mkdir -p "$out" && rm -rf "$work" && mkdir -p "$work"
    SECONDS=0
    log() { echo "== $*" | tee -a "$work/summary.txt"; }
    pack() {   # what comes back (the archive renamed into place, so a kill mid-write leaves the last one)
        cp "$work"/summary.txt "$work"/steps.jsonl "$work"/summary.json "$work"/nvidia-smi.txt "$out/" 2>/dev/null
        tar -czf "$out/logs.tgz.part" -C "$work" --exclude='*.phz' --exclude='*golden.json' . 2>/dev/null &&
            mv "$out/logs.tgz.part" "$out/logs.tgz"
    }
    # Everything ends by a deadline (520 s; the device tool stops a command at 600): each command
    # runs under the smaller of its own limit and the time left, and none starts with under 5 s.
    local deadline=${PHIDESK_GPU_CHECK_BUDGET:-520}
    within() {   # within SECONDS CMD...: 124 when it ran out of time, 125 when it never started
        local limit=$1; shift
        (( limit > deadline - SECONDS )) && limit=$(( deadline - SECONDS ))
        (( limit >= 5 )) || return 125
        timeout "$limit" "$@"
    }
    # step NAME SECONDS CMD...: runs, logs, records pass/fail in summary.json, and packs what comes
    # back, so a run stopped at the device tool's limit still returns its logs.
    step() {
        local name=$1 limit=$2 start=$SECONDS rc; shift 2
        log "$name"
        within "$limit" "$@" > "$work/$name.log" 2>&1; rc=$?
        [ $rc = 124 ] && echo "timed out after $((SECONDS - start)) s" >> "$work/$name.log"
        [ $rc = 125 ] && echo "skipped: the check's ${deadline} s were spent" >> "$work/$name.log"
        tail -n 25 "$work/$name.log" | tee -a "$work/summary.txt"
        echo "   (rc $rc, $((SECONDS - start)) s, $SECONDS s in all)" >> "$work/summary.txt"
        [ $rc = 0 ] || status=1
        echo "{\"step\": \"$name\", \"rc\": $rc}" >> "$work/steps.jsonl"
        pack
    }
    touch "$work/steps.jsonl"
    [ -x "$cli" ] || { log "no $cli: run 'scripts/gpu-check.sh build' here and carry build/gpu-check"; pack; exit 2; }
    # cuBLAS comes from that machine: its CUDA toolkit, or the Python packages' copy; a search of
    # the disk (seconds) only when neither is where they usually are.
    local d
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/targets/x86_64-linux/lib \
        /opt/*/.venv/lib/python3*/site-packages/nvidia/cu*/lib /usr/local/lib/python3*/dist-packages/nvidia/cu*/lib; do
        [ -e "$d/libcublas.so.13" ] && LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
    done
    export LD_LIBRARY_PATH=${LD_LIBRARY_PATH-}
    missing() { [[ $(ldd "$cli" 2>&1) == *"not found"* ]]; }
    if missing; then
        for d in $(find /usr/local /opt /usr/lib -maxdepth 9 -name 'libcublas*.so.13' -printf '%h\n' 2>/dev/null | sort -u); do
            LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
        done
    fi
    if missing; then
        log "libraries not found (LD_LIBRARY_PATH=$LD_LIBRARY_PATH):"; ldd "$cli" | tee -a "$work/summary.txt"; pack; exit 2
    fi
    nvidia-smi > "$work/nvidia-smi.txt" 2>&1
    step devices 30 "$cli" devices
    step copy-bandwidth 60 "$cli" bench-memory --backend cuda --mb 2048 --runs 5
    gunzip -c "$kit/ref/micro-phi/golden.json.gz" > "$work/micro-golden.json"
    gunzip -c "$kit/ref/tiny-phi2.golden.json.gz" > "$work/tiny-golden.json"
    step verify-micro-phi 60 "$cli" verify --backend cuda --tolerance 5e-2 --model "$kit/ref/micro-phi" --golden "$work/micro-golden.json"
    step verify-tiny-phi2 60 "$cli" verify --backend cuda --tolerance 5e-2 --model "$kit/ref/tiny-phi2.phz" --golden "$work/tiny-golden.json"
    # compare NAME BOUND TOP1 LOGITS-ARGS...: `logits ... --against B` (the same tokens on two
    # backends), passed when every logit of every position is within BOUND and, with TOP1 = same,
    # every position's top-1 agrees.
    compare() {
        local name=$1 bound=$2 top1=$3 rc; shift 3
        within 90 "$cli" logits --top 1 "$@" > "$work/$name.json" 2> "$work/$name.err"; rc=$?
        [ $rc = 124 ] && echo "logits: timed out" >> "$work/$name.err"
        [ $rc = 125 ] && echo "logits: skipped, the check's ${deadline} s were spent" >> "$work/$name.err"
        step "$name" 10 python3 -c '
import json, sys
try: d = json.load(open(sys.argv[1]))
except Exception: print(open(sys.argv[2]).read()[-500:]); sys.exit(1)
bound = float(sys.argv[3])
worst, differ, n = d["max_abs_diff"], d["top1_positions_differing"], len(d["topk"])
print(f"max |d logit| = {worst:.4g} (bound {bound:g}), top-1 differs at {differ} of {n} positions")
sys.exit(0 if worst <= bound and (sys.argv[4] != "same" or differ == 0) else 1)' "$work/$name.json" "$work/$name.err" "$bound" "$top1"
    }
    compare graph-replay-equals-plain-launches 0 same --backend cuda --against cuda --against-gpu-graphs off --one-at-a-time \
        --model "$kit/ref/tiny-phi2.phz" --tokens 50256,464,318,257,1332,11,290,13,198,40,716,257,1332,13
    step verify-tiny-phi2-no-graphs 60 "$cli" verify --backend cuda --gpu-graphs off --tolerance 5e-2 --model "$kit/ref/tiny-phi2.phz" --golden "$work/tiny-golden.json"
    # 300 tokens: a prompt over two GPU batches (256 + 44), and decode past 256 cached positions
    # (attention in two parts over the KV length), each against the CPU.
    local long; long=$(python3 -c 'print(",".join(str((i * 7919 + 13) % 50000) for i in range(300)))')
    compare long-prompt-gpu-vs-cpu 5e-2 any --backend cuda --against cpu --model "$kit/ref/tiny-phi2.phz" --tokens "$long"
    compare long-decode-gpu-vs-cpu 5e-2 any --backend cuda --against cpu --one-at-a-time --model "$kit/ref/tiny-phi2.phz" --tokens "$long"
    for q in int8 int4; do
        within 60 "$cli" convert --in "$kit/ref/micro-phi" --out "$work/micro-$q.phz" --quant $q > "$work/convert-$q.log" 2>&1 ||
            { status=1; tail -3 "$work/convert-$q.log" | tee -a "$work/summary.txt"; }
        for mode in batch decode; do   # decode: one token at a time (matrix-vector kernels, graph replay)
            compare "$q-$mode-gpu-vs-cpu" 5e-2 same --backend cuda --against cpu --model "$work/micro-$q.phz" \
                --tokens 5,17,300,42,7,99,250,3,11,400 $([ $mode = decode ] && echo --one-at-a-time)
        done
    done
    # phi-1_5's shape (random weights made in memory): rows wider than one pass of the int8/int4
    # matrix-vector kernels, and matrices larger than one dequantized block.
    for q in int8 int4; do
        for mode in batch decode; do
            compare "phi15-$q-$mode-gpu-vs-cpu" 5e-2 any --synth phi-1_5 --quant $q --backend cuda --against cpu \
                --tokens 50256,464,318,257,1332 $([ $mode = decode ] && echo --one-at-a-time)
        done
    done
    step demo-cases 150 python3 -u -c '
import json, subprocess, sys
cli, cases = sys.argv[1], json.load(open(sys.argv[2]))["cases"]
bad = 0
for c in cases:
    try:
        r = subprocess.run([cli, "generate", "--backend", "cuda", "--model", "resources/models/phi-demo.phz", "--template", "raw",
                            "--prompt-ids", ",".join(map(str, c["prompt_ids"])), "--temperature", "0",
                            "--max-tokens", str(len(c["greedy_ids"])), "--json"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        bad += 1; print("TIMEOUT", c["name"]); continue
    got = json.loads(r.stdout) if r.returncode == 0 else {}
    want = c["greedy_ids"][:-1] if c["greedy_ids"][-1] == 50256 else c["greedy_ids"]   # the ids stop before EOS
    if got.get("ids") != want or (want != c["greedy_ids"] and got.get("stop_reason") != "eos"):
        bad += 1; print("MISMATCH", c["name"], r.stderr[-300:])
print(f"{len(cases) - bad}/{len(cases)} demo cases give their recorded greedy ids on the GPU")
sys.exit(1 if bad else 0)' "$cli" "$kit/ref/demo-cases.json"
    for q in f16 int8 int4; do
        step "bench-phi2-$q" 150 "$cli" bench --synth phi-2 --quant $q --backend cuda --prompt-tokens 128 --gen-tokens 256 --runs 3
    done
    step bench-phi2-f16-no-graphs 120 "$cli" bench --synth phi-2 --quant f16 --backend cuda --gpu-graphs off --prompt-tokens 128 --gen-tokens 256 --runs 1
    # A failed capture falls back to plain launches and says so on stderr: the graph checks above
    # would then compare plain with plain, so a capture failure anywhere fails the check.
    local failed; failed=$(grep -l "CUDA Graph capture failed" "$work"/*.log "$work"/*.err 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
    if [ -n "$failed" ]; then log "CUDA Graph capture failed in: $failed"; status=1; fi
    log "exit status $status"
    python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
steps = [json.loads(l) for l in open(os.path.join(work, "steps.jsonl"))]
def last_json(name):
    try:
        text = open(os.path.join(work, name + ".log")).read()
        return json.loads(text[text.index("{"):])
    except Exception: return None
summary = {"steps": steps, "copy": last_json("copy-bandwidth"),
           "bench": {q: last_json("bench-phi2-" + q) for q in ("f16", "int8", "int4", "f16-no-graphs")}}
json.dump(summary, open(os.path.join(work, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
PY
    pack
    exit $status
}

case "${1:-}" in
    build) build ;;
    run) run ;;
    *) echo "usage: scripts/gpu-check.sh build|run" >&2; exit 2 ;;
esac
