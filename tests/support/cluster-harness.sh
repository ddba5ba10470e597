#!/usr/bin/env bash
# Runs the cluster test binary ($1) against `make cluster`'s own topology
# (scripts/cluster.sh), started here on free loopback ports in a throwaway
# directory: three server instances sharing one PostgreSQL and one Redis,
# behind HAProxy. Everything is stopped (by PID) however the tests end.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/services.sh"
bin=$1
shift

tmp=$(mktemp -d /tmp/booking-cluster.XXXXXX)
chmod 755 "$tmp"

export CLUSTER_DIR="$tmp"
export CLUSTER_PORT=$(free_port) CLUSTER_STATS_PORT=$(free_port)
export CLUSTER_PGPORT=$(free_port) CLUSTER_REDIS_PORT=$(free_port)
export CLUSTER_APP_PORTS="$(free_port) $(free_port) $(free_port)"
export CLUSTER_SEED=0 CLUSTER_WORKERS=1 PG_FSYNC=off
export DRAIN_TIMEOUT_SECONDS=${DRAIN_TIMEOUT_SECONDS:-10}
# Every client is 127.0.0.1: no per-address read limit in these tests.
export RATE_LIMIT_READS=${RATE_LIMIT_READS:-1000000}

cleanup() {
	"$root/scripts/cluster.sh" stop >/dev/null 2>&1
	rm -rf "$tmp" 2>/dev/null
}
trap cleanup EXIT INT TERM

# The tests mint tokens with the cluster's secret.
(umask 077
    echo "cluster-tests-secret-0123456789abcdef0123" > "$tmp/jwt_secret"
    echo "cluster-webhook-secret-0123456789abcdef0" \
        > "$tmp/payment_webhook_secret")

if ! "$root/scripts/cluster.sh" start > "$tmp/start.log" 2>&1; then
	echo "cluster did not start:"
	cat "$tmp/start.log"
	exit 1
fi

export DATABASE_URL="postgresql://postgres@127.0.0.1:$CLUSTER_PGPORT/booking"
export REDIS_URL="redis://127.0.0.1:$CLUSTER_REDIS_PORT/0"
export JWT_SECRET=$(cat "$tmp/jwt_secret")
export BOOKING_URL="https://127.0.0.1:$CLUSTER_PORT"
export TEST_TMP="$tmp" TEST_ROOT="$root" TEST_BIN="$root/build/booking"

"$bin" --jobs 1 "$@"
rc=$?
if [ $rc -ne 0 ]; then
	for f in "$tmp"/log/app*.log; do
		echo "---- $(basename "$f") (last 20 lines)"
		tail -n 20 "$f"
	done
fi
exit $rc
