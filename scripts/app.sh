#!/usr/bin/env bash
# Installs what is missing, builds, and runs PhiDesk: the desktop app when a display is
# available (on the bundled demo model unless another model is configured), else phidesk-cli on
# the demo model: a question, a chat, and the self-test against the reference goldens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
ref=$(cd .. && pwd)/shared/reference
in_build_env bash -c 'cmake --preset default >/dev/null && cmake --build --preset default --target phidesk phidesk-cli'
if [ -n "${DISPLAY:-}" ] && [ -z "${PHIDESK_CLI_ONLY:-}" ]; then
    in_build_env build/default/app/phidesk "$@"
    exit $?
fi
echo "(no DISPLAY: showing phidesk-cli instead of the desktop app)"
cli=build/default/app/phidesk-cli
demo="$ref/demo/phi-demo"
echo "== phidesk-cli generate --template qa 'What is Phi-2?' (demo model) =="
in_build_env "$cli" generate --model "$demo" --template qa --prompt "What is Phi-2?" --temperature 0
echo "== phidesk-cli chat (demo model) =="
printf 'Hi! Who are you?\nWhat is Phi-2?\n' | in_build_env "$cli" chat --model "$demo" --temperature 0
echo "== phidesk-cli verify (reference model self-test) =="
in_build_env "$cli" verify --model "$ref/models/tiny-phi2" --golden "$ref/models/tiny-phi2/golden.json"
