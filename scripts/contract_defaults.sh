#!/usr/bin/env bash
# schemathesis as a third party runs it against a deployment (by default the mock of `make mock`): the spec the
# target serves (BASE_URL/openapi.json), every check (--checks all), schemathesis' defaults otherwise (phases,
# examples, statuses, random seed), and none of this project's configuration: run from an empty temporary folder (no
# schemathesis.toml found), without scripts/contract_hooks.py or any SCHEMATHESIS_* variable.
#   scripts/contract_defaults.sh [BASE_URL [schemathesis run options...]]      (make contract runs it)
# Only an API key is passed (DASHSCOPE_API_KEY, default sk-contract-defaults: any sk- key works with the mock), and
# against a target that is not loopback the filters of contract_tests/target.py (the billable operations left out
# unless ALLOW_BILLABLE=1). scripts/contract_defaults_verdict.py reads the run's NDJSON report: every failure fails,
# except the two documented 400s to schema-valid requests (docs/SPEC.md); the report stays in out/contract/defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base_url=${1:-http://127.0.0.1:8000}
[ $# -gt 0 ] && shift
key=${DASHSCOPE_API_KEY:-sk-contract-defaults}
filter_lines=$("$root/.venv/bin/python" "$root/contract_tests/target.py" "$base_url")
filters=()
if [ -n "$filter_lines" ]; then
  mapfile -t filters <<<"$filter_lines"
fi
if ! curl -fsS -o /dev/null --connect-timeout 10 --max-time 30 "$base_url/openapi.json"; then
  echo "nothing serves $base_url/openapi.json: start the mock first (make mock) or pass BASE_URL=..." >&2
  exit 2
fi
out=${CONTRACT_DEFAULTS_OUT:-"$root/out/contract/defaults"}
mkdir -p "$out"
rm -f "$out"/ndjson-*.ndjson
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mock=false
if curl -fsS -o /dev/null "$base_url/_mock/clock" 2>/dev/null; then
  mock=true
  curl -fsS -o /dev/null -X POST "$base_url/_mock/reset"
fi
unset $(env | sed -n 's/^\(SCHEMATHESIS_[A-Za-z0-9_]*\)=.*/\1/p') 2>/dev/null || true
status=0
(cd "$work" && "$root/.venv/bin/schemathesis" run "$base_url/openapi.json" --checks all \
  -H "Authorization: Bearer $key" ${filters[@]+"${filters[@]}"} --report ndjson --report-dir "$out" "$@") || status=$?
if $mock; then
  curl -fsS -o /dev/null -X POST "$base_url/_mock/reset" || true
fi
case $status in
  0 | 1) ;;  # 1: failures found, judged below
  *) echo "schemathesis exited with $status (not a test verdict)" >&2; exit "$status" ;;
esac
report=$(ls "$out"/ndjson-*.ndjson 2>/dev/null | head -n 1)
[ -n "$report" ] || { echo "schemathesis wrote no report in $out" >&2; exit 2; }
"$root/.venv/bin/python" "$root/scripts/contract_defaults_verdict.py" "$report"
