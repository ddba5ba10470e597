#!/usr/bin/env bash
# Installs the Debian packages the build, the service and the tests need.
# Run as root it installs what is missing; otherwise it only reports.
#
#   scripts/deps.sh run    what make run needs: build, serve, docs pages
#   scripts/deps.sh test   what make test adds: Criterion, curl, wrk,
#                          clang, HAProxy, compose, Chromium
#   scripts/deps.sh        both
#   (build, runtime, docs, node, image: the Dockerfile's and others' sets)
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
# make ha and its test part: PostgreSQL under Patroni with etcd as its
# store, Redis under Sentinel (scripts/ha.sh); not needed by make run.
HA_PKGS="patroni etcd-server etcd-client redis-sentinel haproxy"
NODE_PKGS="$DOCS_PKGS chromium"

case "${1:-all}" in
build)	pkgs="$BUILD_PKGS" ;;
image)	pkgs="$IMAGE_PKGS" ;;
runtime) pkgs="$RUNTIME_PKGS" ;;
docs)	pkgs="$DOCS_PKGS" ;;
node)	pkgs="$NODE_PKGS" ;;
run)	pkgs="$BUILD_PKGS $RUNTIME_PKGS $DOCS_PKGS" ;;
test)	pkgs="$TEST_PKGS $CLUSTER_PKGS $NODE_PKGS" ;;
ha)	pkgs="$HA_PKGS" ;;
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

export DEBIAN_FRONTEND=noninteractive
# install: apt-get, with a progress line every 10% of the packages it
# downloads and sets up (a first install takes minutes); its whole output
# is in build/deps.log in a checkout (elsewhere, e.g. an image's stage,
# it is not kept).
root=$(cd "$(dirname "$0")/.." && pwd)
log=/dev/null
if [ -f "$root/Makefile" ]; then
	mkdir -p "$root/build"
	log="$root/build/deps.log"
fi
apt_install() {
	local total
	apt-get update -qq >> "$log" 2>&1 || return 1
	total=$(apt-get install -s --no-install-recommends "${missing[@]}" \
	    2>>"$log" | grep -c '^Inst ') || true
	echo "deps: installing ${missing[*]}: $total packages with what" \
	    "they need"
	apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 |
	    tee -a "$log" | awk -v total="$total" '
		function report(what, n) {
			if (total > 0 && (n == total ||
			    int(n * 10 / total) > int((n - 1) * 10 / total)))
				printf "deps: %s %d of %d packages\n", what, n, total
		}
		/^Get:[0-9]/ { report("downloaded", ++got); fflush() }
		/^Setting up / { report("set up", ++set); fflush() }'
	return "${PIPESTATUS[0]}"
}
# Another apt may hold the dpkg lock for a while: wait for it.
for try in 1 2 3 4 5 6 7 8 9 10; do
	if apt_install; then
		break
	fi
	[ "$try" = 10 ] && exit 1
	echo "apt-get failed (lock held?); retrying in 20 s" >&2
	sleep 20
done
[ "${DEPS_CLEAN_APT:-0}" = 1 ] && rm -rf /var/lib/apt/lists/*
exit 0
