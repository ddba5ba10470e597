#!/usr/bin/env bash
# Booking throughput on a throwaway stack (like tests/support/harness.sh):
# a private PostgreSQL, Redis and server on free loopback ports, all
# stopped by PID on exit. Prints bookings/s for
#   (a) uncontended bookings of distinct seats, and
#   (b) heavy contention: every request wants one of 5 seats,
# each at 32 and 128 concurrent clients (wrk, scripts/bench/bookings.lua),
# next to `pgbench -N` transactions/s on the same database: the machine's
# commit ceiling. Every run is bounded (BENCH_SECONDS, default 5).
#
# Needs build/booking (make build), wrk, pgbench, openssl.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

secs=${BENCH_SECONDS:-5}
users=500		# bench users; each books at most 10 seats per show
shows=10		# shows per uncontended run
per_show=$((users * 10))
bin="$root/build/booking"
lua="$root/scripts/bench/bookings.lua"
pgbin=$(pg_bindir) || exit 1

stack_need "$bin" wrk openssl psql "$pgbin/pgbench" || exit 1

stack_init bench
trap stack_stop EXIT INT TERM
stack_services booking_bench || exit 1
stack_server_start "$bin" || exit 1

psql() { stack_psql "$@"; }

# Users, and HS256 tokens minted here (the same claims token.c checks).
stack_users bench "$users" "$tmp/tokens" || exit 1

# Shows far in the future, each on its own screen, with seats in id order:
# 2 x $shows for the uncontended runs, 2 for the contended ones.
stack_venue Bench $((2 * shows + 2)) "$per_show" || exit 1
psql -tA -c "SELECT id FROM shows ORDER BY id" > "$tmp/shows.all"
ok=$(psql -tA -c "SELECT bool_and(id = (SELECT min(id) FROM seats)
    + (dense_rank - 1) * $per_show + number - 1) FROM (SELECT id, number,
    dense_rank() OVER (ORDER BY show_id) FROM seats) x")
[ "$ok" = t ] || { echo "bench: seat ids are not contiguous" >&2; exit 1; }
seat0=$(psql -tA -c "SELECT min(id) FROM seats")

# run NAME MODE CLIENTS SHOW_OFFSET SHOWS
run() {
	local name=$1 mode=$2 clients=$3 off=$4 n=$5 first threads=2
	sed -n "$((off + 1)),$((off + n))p" "$tmp/shows.all" > "$tmp/shows.$name"
	first=$((seat0 + off * per_show))
	timeout $((secs + 30)) wrk -t$threads -c"$clients" -d"${secs}s" \
	    --timeout 10s -s "$lua" "https://127.0.0.1:$port" -- \
	    "$mode" "$tmp/tokens" "$first" "$users" "$per_show" "$n" \
	    "$name" "$threads" "$tmp/shows.$name" > "$tmp/wrk.$name" 2>&1
	grep '^RESULT' "$tmp/wrk.$name" || { echo "bench: wrk failed:" >&2
	    cat "$tmp/wrk.$name" >&2; return 1; }
}

result() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/wrk.$1"; }

pgbench_tps() {
	timeout $((secs + 60)) "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" \
	    -U postgres -N -c "$1" -j 2 -T "$secs" booking_bench 2>/dev/null |
	    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}

echo "== booking benchmark: ${secs}s per run, $(nproc) cores," \
    "server WORKERS=${WORKERS:-default}, fsync=${PG_FSYNC:-on}," \
    "PAYMENTS=${PAYMENTS:-on} (PAYMENTS=off make bench: confirmed at once)"
run a32 spread 32 0 "$shows" >/dev/null || exit 1
run a128 spread 128 "$shows" "$shows" >/dev/null || exit 1
run b32 contended 32 $((2 * shows)) 5 >/dev/null || exit 1
run b128 contended 128 $((2 * shows + 1)) 5 >/dev/null || exit 1

"$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -i -q -s 10 \
    booking_bench >/dev/null 2>&1 || { echo "bench: pgbench -i failed" >&2
    exit 1; }
pg32=$(pgbench_tps 32)
pg128=$(pgbench_tps 128)

live_dupes=$(psql -tA -c "SELECT count(*) FROM (SELECT seat_id FROM
    booking_seats WHERE live GROUP BY seat_id HAVING count(*) > 1) d")

printf '%-44s %12s %12s\n' "" "32 clients" "128 clients"
printf '%-44s %12s %12s\n' "(a) uncontended: bookings/s (201)" \
    "$(result a32 created_per_s)" "$(result a128 created_per_s)"
printf '%-44s %12s %12s\n' "    p99 latency ms" \
    "$(result a32 p99_ms)" "$(result a128 p99_ms)"
printf '%-44s %12s %12s\n' "(b) 5 seats: claim attempts/s (201 + 409)" \
    "$(result b32 per_s)" "$(result b128 per_s)"
printf '%-44s %12s %12s\n' "    bookings made (201)" \
    "$(result b32 created)" "$(result b128 created)"
printf '%-44s %12s %12s\n' "    p99 latency ms" \
    "$(result b32 p99_ms)" "$(result b128 p99_ms)"
printf '%-44s %12s %12s\n' "pgbench -N: transactions/s" "$pg32" "$pg128"
printf '%-44s %12s %12s\n' "5xx answers (a/b)" \
    "$(result a32 5xx)/$(result b32 5xx)" \
    "$(result a128 5xx)/$(result b128 5xx)"
echo "seats in two live bookings afterwards: $live_dupes"
