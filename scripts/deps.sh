#!/usr/bin/env bash
# Installs the Debian packages the build, the service and the tests need.
# Run as root it installs what is missing; otherwise it only reports.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config kore libssl-dev libpq-dev
libhiredis-dev libjwt-dev libcrypt-dev python3-yaml libcurl4-openssl-dev"
RUNTIME_PKGS="postgresql redis-server openssl ca-certificates"
# What the built binary alone needs (the container's final stage).
IMAGE_PKGS="libpq5 libhiredis0.14 libjwt0 libcrypt1 libssl3 ca-certificates
curl libcurl4"
TEST_PKGS="libcriterion-dev libcurl4-openssl-dev libjansson-dev curl wrk
postgresql-contrib clang libclang-rt-14-dev"
# make cluster and its tests: the load balancer; the compose.yaml check
# (docker-compose validates against the Compose schema without a daemon).
CLUSTER_PKGS="haproxy docker-compose"
# npm installs the docs pages' files the build embeds (package.json,
# scripts/npm.sh): "docs" is what the image's build stage needs; the
# tests add the browser that renders them.
DOCS_PKGS="nodejs npm"
NODE_PKGS="$DOCS_PKGS chromium"

case "${1:-all}" in
build)	pkgs="$BUILD_PKGS" ;;
image)	pkgs="$IMAGE_PKGS" ;;
runtime) pkgs="$RUNTIME_PKGS" ;;
docs)	pkgs="$DOCS_PKGS" ;;
node)	pkgs="$NODE_PKGS" ;;
*)	pkgs="$BUILD_PKGS $RUNTIME_PKGS $TEST_PKGS $CLUSTER_PKGS $NODE_PKGS" ;;
esac

missing=()
for p in $pkgs; do
	# A node from elsewhere (e.g. NodeSource) ships its own npm; Debian's
	# npm package would fight it.
	case "$p" in
	nodejs|npm) command -v "${p%js}" >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt may hold the dpkg lock for a while: wait for it.
for try in 1 2 3 4 5 6 7 8 9 10; do
	if apt-get update -qq && apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}" >/dev/null; then
		break
	fi
	[ "$try" = 10 ] && exit 1
	echo "apt-get failed (lock held?); retrying in 20 s" >&2
	sleep 20
done
[ "${DEPS_CLEAN_APT:-0}" = 1 ] && rm -rf /var/lib/apt/lists/*
exit 0
