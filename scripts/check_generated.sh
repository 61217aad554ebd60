#!/usr/bin/env bash
# Fail when generated/ differs from what the spec generates now (hand edits or a stale client).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/generate_client.sh" "$tmp/generated" >/dev/null
if ! diff -r -x .ruff_cache -x __pycache__ "$tmp/generated" "$root/generated"; then
  echo "generated/ is out of date with openapi/: run 'make generate' and commit the result." >&2
  exit 1
fi
echo "generated/ matches the spec."
