#!/usr/bin/env bash
# Builds, HERE, the Qt-free binaries the GPU machine runs (it has no compilers' libraries of ours):
# phidesk-cli with the CUDA backend, static but for the driver and cuBLAS, into build/gpu/app.
# Then, with the device tool: run `bash scripts/gpu-check.sh` with carry ["build/gpu/app"].
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake --preset gpu >/dev/null
cmake --build --preset gpu --target phidesk-cli
ls -la build/gpu/app/phidesk-cli
