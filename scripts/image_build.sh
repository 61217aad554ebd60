#!/usr/bin/env bash
# `make image`: the mock's OCI images with buildah, offline: scripts/image_build.sh [full] [slim]
#   IMAGE       the name (default localhost/dashscope-mock; tags :full and :slim)
#   IMAGE_BASE  the base (default localhost/dashscope-mock-base:bookworm, made by scripts/image_base.sh when missing;
#               any Debian bookworm image works, e.g. debian:bookworm-slim where a registry is reachable)
# Each variant: its wheelhouse (scripts/image_wheelhouse.sh), then `buildah bud --target VARIANT` of Containerfile in
# Docker format (OCI images have no HEALTHCHECK). Sizes and build times: out/image/build-results.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
image=${IMAGE:-localhost/dashscope-mock}
base=${IMAGE_BASE:-localhost/dashscope-mock-base:bookworm}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(full slim)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)
source_url=${IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || echo unknown)}  # the repository URL
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
mkdir -p out/image
results=out/image/build-results.json
t0=$(date +%s)
case $base in
  localhost/dashscope-mock-base:*) scripts/image_base.sh "$base" ;;
esac
t_base=$(($(date +%s) - t0))
echo "{" >"$results.tmp"
echo "  \"base_s\": $t_base," >>"$results.tmp"
for variant in "${variants[@]}"; do
  start=$(date +%s)
  scripts/image_wheelhouse.sh "$variant" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
  wheels=$(($(date +%s) - start))
  start=$(date +%s)
  buildah bud --quiet --format docker --isolation chroot --pull-never --layers -f Containerfile --target "$variant" \
    --build-arg BASE="$base" --build-arg VERSION="$version" --build-arg SOURCE="$source_url" \
    --build-arg REVISION="$revision" -t "$image:$variant" . >/dev/null
  build=$(($(date +%s) - start))
  size=$(buildah images --format '{{.Size}}' "$image:$variant" | head -n 1)
  echo "image $image:$variant: $size (wheelhouse ${wheels} s, build ${build} s)"
  echo "  \"$variant\": {\"size\": \"$size\", \"wheelhouse_s\": $wheels, \"build_s\": $build}," >>"$results.tmp"
done
echo "  \"total_s\": $(($(date +%s) - t0))" >>"$results.tmp"
echo "}" >>"$results.tmp"
mv "$results.tmp" "$results"
buildah images | grep -E "^REPOSITORY|^${image%%:*} "
