#!/usr/bin/env bash
# schemathesis' CLI against a running deployment of the API (by default the mock started by `make mock`).
#   scripts/contract_cli.sh [BASE_URL]        e.g. make contract BASE_URL=http://127.0.0.1:8123
# Every check, every phase (examples, coverage, fuzzing, stateful), as schemathesis.toml sets them: a fixed seed,
# a bound on each request's time, and the spec's documented 400s to schema-valid requests, made precise by
# scripts/contract_hooks.py. MAX_EXAMPLES (default 50) sets the examples per operation and phase.
# Uses DASHSCOPE_API_KEY when set (any sk- key works with the mock). Reports go to out/contract/.
# The control-plane spec (served under /_mock) is exercised too when the target is a mock (it answers GET /_mock/clock).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base_url=${1:-http://127.0.0.1:8000}
key=${DASHSCOPE_API_KEY:-sk-contract}
st=("$root/.venv/bin/schemathesis" --config-file "$root/schemathesis.toml")
export SCHEMATHESIS_HOOKS="$root/scripts/contract_hooks.py"
out="$root/out/contract"
mkdir -p "$out"
if ! curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$base_url/api/v1/tasks/ping"; then
  echo "nothing answers at $base_url: start the mock first (make mock) or pass BASE_URL=..." >&2
  exit 2
fi
# A mock starts from a clean state: no faults, scenarios or tasks left by an earlier run (the control-plane run
# injects faults and moves the clock), and it is left clean at the end.
mock=false
if curl -fsS -o /dev/null "$base_url/_mock/clock" 2>/dev/null; then
  mock=true
  curl -fsS -o /dev/null -X POST "$base_url/_mock/reset"
fi
# Both runs report before the exit status says whether either failed.
status=0
"${st[@]}" run "$root/openapi/dashscope-video.yaml" --url "$base_url" \
  --header "Authorization: Bearer $key" --max-examples "${MAX_EXAMPLES:-50}" \
  --report junit,ndjson --report-dir "$out/public" || status=$?
if $mock; then
  "${st[@]}" run "$root/openapi/mock-control.yaml" --url "$base_url/_mock" --max-examples "${MAX_EXAMPLES:-50}" \
    --report junit --report-dir "$out/control" || status=$?
  curl -fsS -o /dev/null -X POST "$base_url/_mock/reset"
fi
exit "$status"
