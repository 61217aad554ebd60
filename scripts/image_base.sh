#!/usr/bin/env bash
# The local Debian base image for `make image`, made offline from the machine's Debian archive (no registry needed):
#   scripts/image_base.sh [IMAGE]          (default localhost/dashscope-mock-base:bookworm)
# Does nothing when IMAGE is already in buildah's storage. Otherwise debootstrap --variant=minbase bookworm into a
# temporary folder, trimmed as debian:bookworm-slim is (no apt lists or .deb caches; docs, man pages and locales left
# out of later installs), imported with `buildah from scratch` + `buildah add` (a tar is unpacked) + `buildah commit`.
# DEBIAN_MIRROR overrides the archive (default: http://deb.debian.org/debian, security from debian-security).
set -euo pipefail
image=${1:-localhost/dashscope-mock-base:bookworm}
if buildah inspect --type image "$image" >/dev/null 2>&1; then
  echo "base image $image: present"
  exit 0
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/dashscope-mock-base.XXXXXX")
ctr=""
cleanup() {
  [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
rootfs=$work/rootfs
echo "base image $image: debootstrap --variant=minbase bookworm from $mirror (~1 min)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# As debian:bookworm-slim: the suites with their updates, no caches kept, no documentation installed.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
DPKG
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
tar --numeric-owner --xattrs -C "$rootfs" -cf "$work/rootfs.tar" .
ctr=$(buildah from scratch)
buildah add "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label org.opencontainers.image.description="Debian bookworm minbase (debootstrap), local base of dashscope-mock" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=""
echo "base image $image: made"
buildah images "$image"
