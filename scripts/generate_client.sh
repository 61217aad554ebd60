#!/usr/bin/env bash
# Regenerate the Python client from the spec. Usage: [SPEC=other-spec.yaml] scripts/generate_client.sh [output-dir]
# The output depends on the pinned openapi-python-client and ruff versions (requirements.lock).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/generated"}
export PATH="$root/.venv/bin:$PATH"
openapi-python-client generate \
  --path "${SPEC:-$root/openapi/dashscope-video.yaml}" \
  --meta uv \
  --config "$root/scripts/openapi-python-client.yaml" \
  --output-path "$out" \
  --overwrite \
  --fail-on-warning
rm -rf "$out/.ruff_cache"
