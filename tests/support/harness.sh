#!/usr/bin/env bash
# Runs the integration test binary ($1) against a throwaway PostgreSQL,
# Redis and server on free loopback ports, and tears all of it down (by
# PID) however the tests end.
#
# TEST_BIN names the server (build/booking unless set). With
# TEST_SANITIZE=1 (a build from `scripts/build.sh asan`) every process the
# tests start writes ASan/UBSan reports under the run's directory; any
# report fails the run, and the reports are kept in
# build/tests/sanitizer/ and printed.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/services.sh"
bin=$1
shift

tmp=$(mktemp -d /tmp/booking-test.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/pids"

cleanup() {
	local f
	for f in "$tmp"/pids/* "$tmp/server.pid"; do
		[ -f "$f" ] && stop_tree "$(cat "$f")"
	done
	redis_stop "$tmp/redis"
	pg_stop "$tmp/pg"
	# What a failed test started in its own directory under $tmp.
	stop_under "$tmp"
	rm -rf "$tmp" "$tmp.pg" 2>/dev/null
}
trap cleanup EXIT INT TERM

pgport=$(free_port)
redisport=$(free_port)
port=$(free_port)

PG_FSYNC=off pg_start "$tmp/pg" "$pgport" || exit 1
pg_createdb "$pgport" booking_test || exit 1
redis_start "$tmp/redis" "$redisport" || exit 1
make_cert "$tmp/cert"

export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/booking_test"
export TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$pgport/postgres"
export REDIS_URL="redis://127.0.0.1:$redisport/0"
export JWT_SECRET="integration-tests-secret-0123456789abcdef"
export PAYMENT_WEBHOOK_SECRET="integration-webhook-secret-0123456789abcdef"
export TLS_CERT="$tmp/cert/server.pem" TLS_KEY="$tmp/cert/key.pem"
export MIGRATIONS_DIR="$root/migrations"
export PORT=$port WORKERS=2
# Every test reads from 127.0.0.1: the per-address read limit is for
# the tests that set it.
export RATE_LIMIT_READS=${RATE_LIMIT_READS:-1000000}
export BOOKING_URL="https://127.0.0.1:$port"
export TEST_TMP="$tmp" TEST_ROOT="$root"
export TEST_BIN=${TEST_BIN:-$root/build/booking}
sanitize=${TEST_SANITIZE:-0}
if [ "$sanitize" = 1 ]; then
	# Kore's workers run under seccomp: no leak check at exit (LSan
	# stops the world with ptrace) and no external symbolizer (gcc's
	# libasan symbolizes in process). Kore forks: one file a process.
	mkdir -p "$tmp/sanitizer"
	export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:symbolize=1:\
log_path=$tmp/sanitizer/asan:detect_stack_use_after_return=0"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:\
log_path=$tmp/sanitizer/ubsan"
	rm -rf "$root/build/tests/sanitizer"
fi
# sanitizer_reports: 1 (and the reports kept and printed) if any.
sanitizer_reports() {
	local f keep="$root/build/tests/sanitizer"
	[ "$sanitize" = 1 ] || return 0
	[ -n "$(ls -A "$tmp/sanitizer" 2>/dev/null)" ] || return 0
	mkdir -p "$keep"
	cp "$tmp"/sanitizer/* "$keep/"
	echo "---- sanitizer reports (kept in $keep)"
	for f in "$keep"/*; do
		echo "== $(basename "$f")"
		head -n 60 "$f"
	done
	return 1
}
export TEST_REDIS_DIR="$tmp/redis" TEST_REDIS_PORT=$redisport
export TEST_PG_DIR="$tmp/pg" TEST_SERVER_LOG="$tmp/server.log"

# TEST_STRIPE=1: the server pays through Stripe's API, spoken by the
# stand-in (tests/stripe/standin.mjs), which also sends it webhooks.
if [ "${TEST_STRIPE:-0}" = 1 ]; then
	standinport=$(free_port)
	export PAYMENT_PROVIDER=stripe STRIPE_SECRET_KEY=sk_test_standin
	export STRIPE_WEBHOOK_SECRET=whsec_integration_0123456789abcdef
	export STRIPE_API_BASE="http://127.0.0.1:$standinport"
	export STRIPE_STANDIN_URL=$STRIPE_API_BASE
	export PROVIDER_TIMEOUT_MS=${PROVIDER_TIMEOUT_MS:-2000}
	# The outbox retries fast and gives a dead deliverer's row to
	# another after 4 s, so the bad-day tests end in seconds.
	export OUTBOX_BACKOFF_MS=100 OUTBOX_BACKOFF_MAX_MS=1000
	export OUTBOX_LEASE_MS=4000 OUTBOX_MAX_ATTEMPTS=10
	node "$root/tests/stripe/standin.mjs" --port "$standinport" \
	    --secret-key "$STRIPE_SECRET_KEY" \
	    --webhook-url "$BOOKING_URL/api/payments/webhooks/stripe" \
	    --webhook-secret "$STRIPE_WEBHOOK_SECRET" \
	    > "$tmp/standin.log" 2>&1 &
	echo $! > "$tmp/pids/standin"
	for _ in $(seq 1 100); do
		grep -q "standin listening" "$tmp/standin.log" && break
		sleep 0.1
	done
	if ! grep -q "standin listening" "$tmp/standin.log"; then
		echo "the Stripe stand-in did not start:"
		cat "$tmp/standin.log"
		exit 1
	fi
fi

(cd "$tmp" && exec "$TEST_BIN" -f -n -r > "$tmp/server.log" 2>&1) &
echo $! > "$tmp/server.pid"
export TEST_SERVER_PID=$(cat "$tmp/server.pid")

if ! wait_health "$BOOKING_URL/api/health" 30; then
	echo "server did not start:"
	tail -n 30 "$tmp/server.log"
	exit 1
fi

"$bin" --jobs 1 "$@"
rc=$?
if [ $rc -ne 0 ]; then
	echo "---- server log (last 40 lines)"
	tail -n 40 "$tmp/server.log"
fi
# The servers' last words are in the reports too: stop them first.
if [ "$sanitize" = 1 ]; then
	for f in "$tmp"/pids/* "$tmp/server.pid"; do
		[ -f "$f" ] || continue
		stop_tree "$(cat "$f")"
	done
	sanitizer_reports || rc=1
	mkdir -p "$root/build/tests/sanitizer"
	cp "$tmp"/server*.log "$root/build/tests/sanitizer/"
fi
exit $rc
