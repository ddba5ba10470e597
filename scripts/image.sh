#!/usr/bin/env bash
# make image: builds the service image from the real Dockerfile with
# podman, without any image registry. The base image is made here: a
# minimal Debian 12 (debootstrap --variant=minbase, from the same Debian
# archive apt uses) imported with `podman import` as $IMAGE_BASE; the
# build never pulls (--pull=never).
#
# Cached between runs: the imported base image (podman's store) and the
# debootstrap tarball under $IMAGE_CACHE, so only the first run pays for
# debootstrap; podman's layer cache keeps the apt layers of both stages
# until scripts/deps.sh changes.
#
#   scripts/image.sh            build $IMAGE (booking:latest)
#   scripts/image.sh probe      exit 0 if podman can run containers here,
#                               else print why not and exit 1 (what can
#                               be known before installing podman and
#                               debootstrap is checked first)
#   scripts/image.sh base       only make the base image
#   scripts/image.sh pause-pid  the PID of podman's pause process, if any
#   scripts/image.sh stop-pause PID
#                               stops the pause process unless it is PID
#                               (the one that was there before the caller
#                               ran podman)
#
# Rootless podman keeps its user namespace open with a "podman pause"
# process (its PID in pause.pid) that outlives every podman command. Root
# without CAP_SYS_ADMIN (an unprivileged container) counts as rootless.
# `make test` stops the one its image part started (stop-pause).
#
# podman runs with Debian's runc (crun refuses cgroup v1 hybrid setups)
# and lowered process limits (raising or keeping the host's is refused
# inside some sandboxes); scripts/image-test.sh uses the same options.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-localhost/booking:latest}
IMAGE_BASE=${IMAGE_BASE:-localhost/booking-base:bookworm}
IMAGE_CACHE=${IMAGE_CACHE:-/var/cache/booking-image}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE_PKGS="podman runc buildah debootstrap"

PODMAN="podman --runtime /usr/sbin/runc"
podman_cmd() {
	$PODMAN "$@"
}

RUN_LIMITS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"

# The container tools, installed as root (else only reported).
image_deps() {
	local p missing=()
	for p in $IMAGE_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]} (run as root)" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	    >/dev/null
}

# The base image: debootstrap once, keep the tarball, import it.
image_base() {
	local tar="$IMAGE_CACHE/bookworm-minbase.tar" rootfs
	if podman_cmd image exists "$IMAGE_BASE"; then
		return 0
	fi
	mkdir -p "$IMAGE_CACHE"
	if [ ! -s "$tar" ]; then
		rootfs=$(mktemp -d "$IMAGE_CACHE/rootfs.XXXXXX")
		echo "debootstrap: a minimal bookworm into $rootfs"
		if ! debootstrap --variant=minbase bookworm "$rootfs" \
		    "$DEBIAN_MIRROR" > "$IMAGE_CACHE/debootstrap.log" 2>&1; then
			tail -n 20 "$IMAGE_CACHE/debootstrap.log" >&2
			rm -rf "$rootfs"
			return 1
		fi
		cat > "$rootfs/etc/apt/sources.list" <<SRC
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb ${DEBIAN_MIRROR%/debian}/debian-security bookworm-security main
SRC
		rm -rf "$rootfs"/var/lib/apt/lists/* \
		    "$rootfs"/var/cache/apt/*.bin \
		    "$rootfs"/var/cache/apt/archives/*.deb
		chmod 755 "$rootfs"	# it becomes the image's /
		tar -C "$rootfs" --numeric-owner -cf "$tar.new" .
		mv "$tar.new" "$tar"
		rm -rf "$rootfs"
	fi
	echo "podman import: $IMAGE_BASE"
	podman_cmd import --change 'CMD ["/bin/bash"]' "$tar" "$IMAGE_BASE" \
	    >/dev/null
}

# What can be known before installing anything: root, device nodes
# (debootstrap makes /dev entries; inside a container without CAP_MKNOD
# that fails, and so does podman), namespaces. Says why not.
image_precheck() {
	local out t
	[ "$(id -u)" -eq 0 ] || { echo "not root (podman runs rootful here)"
	    return 1; }
	t=$(mktemp -d)
	if ! out=$(mknod "$t/null" c 1 3 2>&1); then
		rm -rf "$t"
		echo "cannot make device nodes here (${out##*: }): debootstrap" \
		    "and podman need to; this is probably a container without" \
		    "CAP_MKNOD"
		return 1
	fi
	rm -rf "$t"
	if ! out=$(unshare --mount --pid --net --fork true 2>&1); then
		echo "cannot make namespaces here (${out##*: })"
		return 1
	fi
	return 0
}

# Can podman run a container here? Says why not.
image_probe() {
	local out
	command -v podman >/dev/null || { echo "podman is not installed"
	    return 1; }
	[ -x /usr/sbin/runc ] || { echo "runc is not installed"; return 1; }
	[ "$(id -u)" -eq 0 ] || { echo "not root (podman runs rootful" \
	    "here)"; return 1; }
	if ! out=$(timeout 60 $PODMAN info 2>&1 >/dev/null); then
		echo "podman info failed: $(echo "$out" | tail -n 1)"
		return 1
	fi
	if ! out=$(image_base 2>&1); then
		echo "no base image: $(echo "$out" | tail -n 1)"
		return 1
	fi
	if ! out=$(timeout 120 $PODMAN run --rm --network host \
	    $RUN_LIMITS "$IMAGE_BASE" true 2>&1); then
		echo "podman cannot run a container: $(echo "$out" | tail -n 1)"
		return 1
	fi
	return 0
}

# The CA bundle npm in the build stage trusts (the build secret npm_ca):
# the host's, so a registry behind a TLS-inspecting proxy works in the
# image build as it does on the host.
npm_ca() {
	local f
	for f in "${NODE_EXTRA_CA_CERTS:-}" /etc/ssl/certs/ca-certificates.crt; do
		[ -n "$f" ] && [ -r "$f" ] && { echo "$f"; return; }
	done
}

image_build() {
	local started=$SECONDS ca secret=
	image_base
	ca=$(npm_ca)
	[ -n "$ca" ] && secret="--secret id=npm_ca,src=$ca"
	echo "podman build: $IMAGE (Dockerfile, FROM $IMAGE_BASE)"
	# --format docker keeps HEALTHCHECK (OCI images have none);
	# --network host lets apt reach the archive from the build stages.
	podman_cmd build --pull=never --format docker --network host \
	    $RUN_LIMITS $secret --build-arg BASE_IMAGE="$IMAGE_BASE" \
	    -t "$IMAGE" -f "$root/Dockerfile" "$root" \
	    > "$IMAGE_CACHE/build.log" 2>&1 || {
		tail -n 40 "$IMAGE_CACHE/build.log" >&2
		echo "image: podman build failed" \
		    "(log: $IMAGE_CACHE/build.log)" >&2
		return 1
	}
	echo "built $IMAGE in $((SECONDS - started)) s" \
	    "($(podman_cmd image inspect --format '{{.Size}}' "$IMAGE" |
	    awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# The live pause process podman recorded, if any: "PID PIDFILE".
pause_find() {
	local f pid
	for f in /run/libpod/pause.pid \
	    "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/libpod/tmp/pause.pid" \
	    "/tmp/podman-run-$(id -u)/libpod/tmp/pause.pid" \
	    "/tmp/storage-run-$(id -u)/libpod/tmp/pause.pid"; do
		[ -r "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = \
		    "podman pause" ] && { echo "$pid $f"; return 0; }
	done
	return 0
}

# Stops the pause process unless it is $1 (there before), waiting 5 s at
# most, and removes its PID file (a stale one can name another process).
stop_pause() {
	local pid file i
	read -r pid file <<< "$(pause_find)"
	[ -n "$pid" ] && [ "$pid" != "${1:-}" ] || return 0
	echo "image: stopping podman's pause process $pid"
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	[ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -f "$file"
}

case "${1:-build}" in
build)	image_deps; mkdir -p "$IMAGE_CACHE"; image_build ;;
base)	image_deps; image_base ;;
probe)	image_precheck || exit 1
	image_deps >/dev/null 2>&1 || { echo "container tools missing"
	    exit 1; }; image_probe ;;
pause-pid)	pause_find | cut -d' ' -f1 ;;
stop-pause)	stop_pause "${2:-}" ;;
*)	echo "usage: image.sh [build|base|probe|pause-pid|stop-pause PID]" >&2
	exit 2 ;;
esac
