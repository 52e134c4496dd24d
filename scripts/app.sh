#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main program. Until the desktop app lands
# (issue 5/8) that is phidesk-cli: model summary, self-test against the reference goldens,
# and a benchmark of the bundled demo model's architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
ref=$(cd .. && pwd)/shared/reference
in_build_env bash -c 'cmake --preset default >/dev/null && cmake --build --preset default --target phidesk-cli'
cli=build/default/app/phidesk-cli
in_build_env "$cli" info --model "$ref/demo/phi-demo" | head -14
in_build_env "$cli" verify --model "$ref/models/tiny-phi2" --golden "$ref/models/tiny-phi2/golden.json"
in_build_env "$cli" bench --model "$ref/demo/phi-demo" --prompt-tokens 128 --gen-tokens 64
