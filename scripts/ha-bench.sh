#!/usr/bin/env bash
# The price of synchronous replication, in one run: make ha's topology
# (scripts/ha.sh) on free loopback ports in a throwaway directory, then
# the same booking load through HAProxy (wrk, scripts/bench/bookings.lua,
# distinct seats) twice: with Patroni's synchronous_mode on (each commit
# waits for the synchronous standby's flush), and with it switched off
# (patronictl edit-config), then back on. Prints bookings/s and p99 for
# each, and their ratio. Every run is bounded (BENCH_SECONDS, default 5);
# everything is stopped by PID on exit.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

secs=${BENCH_SECONDS:-5}
clients=${BENCH_CLIENTS:-16}
users=200
shows=10
per_show=$((users * 10))
lua="$root/scripts/bench/bookings.lua"

"$root/scripts/deps.sh" ha || exit 1
stack_need "$root/build/booking" wrk patroni etcd redis-sentinel haproxy ||
    exit 1

tmp=$(mktemp -d /tmp/booking-ha-bench.XXXXXX)
chmod 755 "$tmp"
base=
for _ in $(seq 1 50); do
	b=$(free_port)
	[ "$b" -lt 32000 ] || continue
	ok=1
	for p in $(seq $((b + 1)) $((b + 65))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { ok=0; break; }
	done
	[ $ok = 1 ] && { base=$b; break; }
done
[ -n "$base" ] || { echo "ha-bench: no free ports" >&2; exit 1; }
export HA_DIR=$tmp HA_BASE_PORT=$base HA_PORT=$((base + 61))
export HA_APP_PORTS="$((base + 62)) $((base + 63)) $((base + 64))"
export HA_STATS_PORT=$((base + 65)) HA_SEED=0
export RATE_LIMIT_BOOKINGS=1000000 CLUSTER_WORKERS=1

ha() { "$root/scripts/ha.sh" "$@"; }
trap 'ha stop >/dev/null 2>&1; rm -rf "$tmp" 2>/dev/null' EXIT INT TERM

mkdir -p "$tmp/cluster"
(umask 077; openssl rand -hex 32 > "$tmp/cluster/jwt_secret"
    openssl rand -hex 32 > "$tmp/cluster/payment_webhook_secret")
ha start > "$tmp/start.log" 2>&1 || { tail -n 30 "$tmp/start.log"; exit 1; }
db=$(ha env | sed -n 's/^CLUSTER_DATABASE_URL=//p')
secret=$(cat "$tmp/cluster/jwt_secret")
psql() { command psql -X -q -tA "$db" "$@"; }

stack_users bench "$users" "$tmp/tokens" || exit 1
stack_venue Bench $((2 * shows)) "$per_show" || exit 1
psql -c "SELECT id FROM shows ORDER BY id" > "$tmp/shows.all"
seat0=$(psql -c "SELECT min(id) FROM seats")

# run NAME SHOW_OFFSET: the load on shows OFFSET+1 .. OFFSET+shows.
run() {
	sed -n "$(($2 + 1)),$(($2 + shows))p" "$tmp/shows.all" > "$tmp/shows.$1"
	timeout $((secs + 30)) wrk -t2 -c"$clients" -d"${secs}s" --timeout 10s \
	    -s "$lua" "https://127.0.0.1:$HA_PORT" -- spread "$tmp/tokens" \
	    $((seat0 + $2 * per_show)) "$users" "$per_show" "$shows" "$1" 2 \
	    "$tmp/shows.$1" > "$tmp/wrk.$1" 2>&1
	grep -q '^RESULT' "$tmp/wrk.$1" || { echo "ha-bench: wrk failed:" >&2
	    cat "$tmp/wrk.$1" >&2; return 1; }
}
result() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/wrk.$1"; }

# sync_mode on|off: set it and wait until the primary has (or has not) a
# synchronous standby.
sync_mode() {
	local want=1 v=true
	[ "$1" = off ] && { want=0; v=false; }
	ha patronictl edit-config --set "synchronous_mode=$v" --force \
	    >/dev/null || return 1
	for _ in $(seq 1 60); do
		[ "$(psql -c "SELECT count(*) FROM pg_stat_replication
		    WHERE sync_state = 'sync'")" = "$want" ] && return 0
		sleep 0.5
	done
	echo "ha-bench: synchronous_mode $1 did not take effect" >&2
	return 1
}

echo "== ha bench: ${secs}s per run, $clients clients through HAProxy," \
    "3 instances x 1 worker, 3 PostgreSQL members, $(nproc) cores"
run sync 0 || exit 1
sync_mode off || exit 1
run async "$shows" || exit 1
sync_mode on || exit 1
twice=$(psql -c "SELECT count(*) FROM (SELECT seat_id FROM booking_seats
    WHERE live GROUP BY seat_id HAVING count(*) > 1) d")

printf '%-36s %12s %12s\n' "" "bookings/s" "p99 ms"
printf '%-36s %12s %12s\n' "synchronous_mode on (sync standby)" \
    "$(result sync created_per_s)" "$(result sync p99_ms)"
printf '%-36s %12s %12s\n' "synchronous_mode off (async)" \
    "$(result async created_per_s)" "$(result async p99_ms)"
awk -v s="$(result sync created_per_s)" -v a="$(result async created_per_s)" \
    'BEGIN { if (a > 0) printf "sync / async throughput: %.2f\n", s / a }'
echo "5xx answers (sync/async): $(result sync 5xx)/$(result async 5xx);" \
    "seats in two live bookings: $twice"
