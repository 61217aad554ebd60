#!/usr/bin/env bash
# schemathesis' CLI against a running deployment of the API (by default the mock started by `make mock`).
#   scripts/contract_cli.sh [BASE_URL]        e.g. make contract BASE_URL=http://127.0.0.1:8123
# Uses DASHSCOPE_API_KEY when set (any sk- key works with the mock). Reports go to out/contract/.
# The control-plane spec is exercised too when the target is a mock (it answers GET /_mock/clock).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base_url=${1:-http://127.0.0.1:8000}
key=${DASHSCOPE_API_KEY:-sk-contract}
st="$root/.venv/bin/schemathesis"
out="$root/out/contract"
mkdir -p "$out"
if ! curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$base_url/api/v1/tasks/ping"; then
  echo "nothing answers at $base_url: start the mock first (make mock) or pass BASE_URL=..." >&2
  exit 2
fi
"$st" run "$root/openapi/dashscope-video.yaml" --url "$base_url" \
  --header "Authorization: Bearer $key" --seed 1 --max-examples "${MAX_EXAMPLES:-50}" \
  --report junit,ndjson --report-dir "$out/public"
if curl -fsS -o /dev/null "$base_url/_mock/clock"; then
  "$st" run "$root/openapi/mock-control.yaml" --url "$base_url" --seed 1 --max-examples "${MAX_EXAMPLES:-50}" \
    --report junit --report-dir "$out/control"
fi
