#!/usr/bin/env bash
# Build an offline Debian base image with python3 and venv support.
#
# There is no image registry on our build machines, so `FROM python:3.12-slim`
# cannot be pulled. This script bootstraps a minimal Debian with debootstrap
# (using the package client's default mirror) and imports it into the local
# engine. Usage: scripts/make-base-image.sh [IMAGE] ; --force rebuilds.
set -euo pipefail

force=0
image="workshop-builder-base:bookworm"
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        -*) echo "error: unknown option $arg (use --force or an image name)" >&2; exit 2 ;;
        *) image="$arg" ;;
    esac
done
suite="${BASE_SUITE:-bookworm}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "[INFO] base image $image already exists (use --force to rebuild)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "error: debootstrap needs root; run: sudo $0 $*" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "error: debootstrap missing; run: apt-get install -y debootstrap" >&2; exit 1; }
[ -r "$ca_bundle" ] || { echo "error: CA bundle $ca_bundle not readable; set CA_BUNDLE" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/workshop-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "[INFO] debootstrap $suite into $rootfs"
debootstrap --variant=minbase --include=python3,python3-venv "$suite" "$rootfs" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# pip inside a build verifies TLS against this bundle.
install -D -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# Trim what a runtime never reads, to keep the base small.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

echo "[INFO] importing as $image"
tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'LABEL org.opencontainers.image.description=offline-debian-python-base' \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
docker run --rm "$image" python3 -c 'import venv, ssl; print("python ok")'
echo "[SUCCESS] base image $image ready"
