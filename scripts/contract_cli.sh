#!/usr/bin/env bash
# schemathesis' CLI against a running deployment of the API (by default the mock started by `make mock`).
#   scripts/contract_cli.sh [--allow-billable] [BASE_URL]        e.g. make contract BASE_URL=http://127.0.0.1:8123
# Every check, every phase (examples, coverage, fuzzing, stateful), as schemathesis.toml sets them: a fixed seed,
# a bound on each request's time, and the spec's documented 400s to schema-valid requests, made precise by
# scripts/contract_hooks.py. MAX_EXAMPLES (default 50) sets the examples per operation and phase.
# Uses DASHSCOPE_API_KEY when set (any sk- key works with the mock). Reports go to out/contract/.
# The control-plane spec (served under /_mock) is exercised too when the target is a mock (it answers GET /_mock/clock).
# Against a BASE_URL that is not loopback (127.0.0.0/8, ::1, localhost) the operations the service bills
# (createVideoSynthesis, detectFace) are left out unless ALLOW_BILLABLE=1 or --allow-billable: the spec's examples
# are real inputs, and the real service would run and bill them. contract_tests/target.py decides; it is said at start.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
allow=()
while [ $# -gt 0 ]; do
  case $1 in
    --allow-billable) allow=(--allow-billable); shift ;;
    --) shift; break ;;
    -*) echo "unknown option $1 (usage: scripts/contract_cli.sh [--allow-billable] [BASE_URL])" >&2; exit 2 ;;
    *) break ;;
  esac
done
base_url=${1:-http://127.0.0.1:8000}
key=${DASHSCOPE_API_KEY:-sk-contract}
st=("$root/.venv/bin/schemathesis" --config-file "$root/schemathesis.toml")
# schemathesis' own filters for this target, one argument a line (none against a local mock); the notice goes to
# stderr before anything is sent. A refused BASE_URL or ALLOW_BILLABLE stops the run here (exit 2).
filter_lines=$("$root/.venv/bin/python" "$root/contract_tests/target.py" ${allow[@]+"${allow[@]}"} "$base_url")
filters=()
if [ -n "$filter_lines" ]; then
  mapfile -t filters <<<"$filter_lines"
fi
export SCHEMATHESIS_HOOKS="$root/scripts/contract_hooks.py"
out="$root/out/contract"
mkdir -p "$out"
# Bounded, so that an address nothing routes to fails in seconds rather than at the system's connect timeout.
if ! curl -fsS -o /dev/null --connect-timeout 10 --max-time 30 -H "Authorization: Bearer $key" \
  "$base_url/api/v1/tasks/ping"; then
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
# Both runs report before the exit status says whether either failed. The control plane has no billable operation.
status=0
"${st[@]}" run "$root/openapi/dashscope-video.yaml" --url "$base_url" ${filters[@]+"${filters[@]}"} \
  --header "Authorization: Bearer $key" --max-examples "${MAX_EXAMPLES:-50}" \
  --report junit,ndjson --report-dir "$out/public" || status=$?
if $mock; then
  "${st[@]}" run "$root/openapi/mock-control.yaml" --url "$base_url/_mock" --max-examples "${MAX_EXAMPLES:-50}" \
    --report junit --report-dir "$out/control" || status=$?
  curl -fsS -o /dev/null -X POST "$base_url/_mock/reset"
fi
exit "$status"
