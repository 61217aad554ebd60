#!/usr/bin/env bash
# Regenerate the Python client from the spec. Usage: [SPEC=other-spec.yaml] scripts/generate_client.sh [output-dir]
# The output depends on the pinned openapi-python-client and ruff versions (requirements.lock).
# The client is generated from the spec's client view (scripts/client_spec.py): the request-body objects the service
# is lenient about (x-leniency.unknown_keys: input, parameters) closed again, so that the generated parameter classes
# (the SDK's LivePortraitParameters, ...) refuse unknown fields. docs/SPEC.md says why.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/generated"}
export PATH="$root/.venv/bin:$PATH"
view_dir=$(mktemp -d)
trap 'rm -rf "$view_dir"' EXIT
view="$view_dir/dashscope-video.client.yaml"
"$root/.venv/bin/python" "$root/scripts/client_spec.py" "${SPEC:-$root/openapi/dashscope-video.yaml}" "$view"
openapi-python-client generate \
  --path "$view" \
  --meta uv \
  --config "$root/scripts/openapi-python-client.yaml" \
  --output-path "$out" \
  --overwrite \
  --fail-on-warning
rm -rf "$out/.ruff_cache"
