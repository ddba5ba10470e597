#!/usr/bin/env bash
# make chaos: a booking load on a throwaway stack (private PostgreSQL,
# Redis and server on free loopback ports, stopped by PID on exit) with
# one fault injected at a time:
#   kill9        kill -9 of a worker
#   pg_restart   pg_ctl restart -m fast
#   pg_terminate pg_terminate_backend of the server's connections
#   redis_restart Redis stopped for a second, then started (empty)
#   redis_stall  redis-server stopped with SIGSTOP for 2 s
# For each it prints requests, a status histogram, connection errors,
# 201s missing from the database, seats in two live bookings, bookings
# without seats, bookings that committed but were answered 5xx, worker
# crashes (exits other than our kill -9, from the server log) and the
# seconds from the end of the fault until health and a booking succeed.
# Exit status 1 on any violation or a recovery slower than CHAOS_RECOVERY
# seconds (default 5).
#
# `scripts/chaos.sh --short` is the form `make test` runs: fewer clients
# and a shorter load. Every loop is bounded in count and time.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

clients=${CHAOS_CLIENTS:-8}
after=${CHAOS_AFTER:-3}		# seconds of load after each fault
max=${CHAOS_MAX:-300}		# requests per client per fault
limit=${CHAOS_RECOVERY:-5}
if [ "${1:-}" = --short ]; then
	clients=4
	after=2
	max=120
fi
faults="kill9 pg_restart pg_terminate redis_restart redis_stall"
per_show=$((clients * 10))	# 10 seats per client (the per-user limit)
shows_per_fault=$(((max + 9) / 10))
bin="$root/build/booking"

[ -x "$bin" ] || { echo "chaos: build/booking is missing" >&2; exit 1; }

stack_init chaos
trap stack_stop EXIT INT TERM
B="https://127.0.0.1:$port"
PG_FSYNC=off stack_services booking_chaos || exit 1
export WORKERS=2 RATE_LIMIT_BOOKINGS=1000000
stack_server_start "$bin" || exit 1

psql() { stack_psql "$@"; }

# One user per client plus a prober, with tokens minted here: line c + 1
# is client c's token, the last line the prober's.
stack_users chaos $((clients + 1)) "$tmp/users" || exit 1
cut -d' ' -f2 "$tmp/users" > "$tmp/tokens"

# Shows with contiguous seat ids: client c books seats c*10 .. c*10+9 of
# one show, then moves to the next. The last shows are the prober's.
nshows=$((shows_per_fault * 5 + 5))
stack_venue Chaos "$nshows" "$per_show" || exit 1
psql -c "CREATE TABLE chaos_answers (key text, status int, curl int)" ||
    exit 1
seat0=$(psql -tA -c "SELECT min(id) FROM seats")
show0=$(psql -tA -c "SELECT min(id) FROM shows")

# client FAULT N TOKEN SHOWBASE: sequential bookings until told to stop.
client() {
	local fault=$1 c=$2 token=$3 base=$4 i=0 show seat key code rc
	while [ ! -f "$tmp/stop" ] && [ $i -lt "$max" ]; do
		show=$((show0 + base + i / 10))
		seat=$((seat0 + (base + i / 10) * per_show + c * 10 + i % 10))
		key="chaos-$fault-$c-$i"
		code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 10 \
		    -H "Authorization: Bearer $token" \
		    -H "Idempotency-Key: $key" \
		    -H 'Content-Type: application/json' \
		    -d "{\"show_id\": $show, \"seat_id\": $seat}" \
		    "$B/api/bookings")
		rc=$?
		echo "$key,$code,$rc" >> "$tmp/answers"
		i=$((i + 1))
	done
}

# Seconds from now until health is 200 and a booking is 201.
probe_n=0
recovery() {
	local start=$EPOCHREALTIME token show seat code
	token=$(sed -n "$((clients + 1))p" "$tmp/tokens")
	while :; do
		show=$((show0 + nshows - 5 + probe_n / 10))
		seat=$((seat0 + (nshows - 5 + probe_n / 10) * per_show +
		    probe_n % 10))
		if [ "$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$B/api/health")" = 200 ]; then
			code=$(curl -sk -o /dev/null -w '%{http_code}' \
			    --max-time 2 -H "Authorization: Bearer $token" \
			    -H "Idempotency-Key: probe-$probe_n" \
			    -H 'Content-Type: application/json' \
			    -d "{\"show_id\": $show, \"seat_id\": $seat}" \
			    "$B/api/bookings")
			probe_n=$((probe_n + 1))
			[ "$code" = 201 ] && break
		fi
		if awk "BEGIN { exit !($EPOCHREALTIME - $start > 30) }"; then
			echo 99
			return
		fi
		sleep 0.1
	done
	awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }"
}

worker_pid() {
	local p
	for p in $(cat "/proc/$server_pid/task/$server_pid/children"); do
		grep -q 'wrk' "/proc/$p/cmdline" 2>/dev/null && { echo "$p"
		    return; }
	done
}

inject() {
	local rpid
	case $1 in
	kill9)
		kill -9 "$(worker_pid)" ;;
	pg_restart)
		pg_restart "$tmp/pg" ;;
	pg_terminate)
		command psql -q -X -tA "$db" -c "SELECT
		    count(pg_terminate_backend(pid)) FROM pg_stat_activity
		    WHERE datname = current_database()
		    AND pid <> pg_backend_pid()" >/dev/null ;;
	redis_restart)
		redis_stop "$tmp/redis"
		sleep 1
		redis_start "$tmp/redis" "$redisport" ;;
	redis_stall)
		rpid=$(cat "$tmp/redis/redis.pid")
		kill -STOP "$rpid"
		sleep 2
		kill -CONT "$rpid" ;;
	esac
}

printf '%-14s %5s %-30s %5s %5s %5s %5s %6s %6s %6s\n' fault requests \
    statuses connerr missing double halfwr commit5xx crashes recov_s
bad=0
idx=0
for fault in $faults; do
	rm -f "$tmp/stop" "$tmp/answers"
	: > "$tmp/answers"
	log0=$(wc -l < "$tmp/server.log")
	pids=
	for c in $(seq 0 $((clients - 1))); do
		client "$fault" "$c" "$(sed -n "$((c + 1))p" "$tmp/tokens")" \
		    $((idx * shows_per_fault)) &
		pids="$pids $!"
	done
	sleep 1
	inject "$fault"
	rec=$(recovery)
	sleep "$after"
	touch "$tmp/stop"
	wait $pids

	psql -c "TRUNCATE chaos_answers" \
	    -c "\\copy chaos_answers FROM '$tmp/answers' WITH (FORMAT csv)"
	requests=$(wc -l < "$tmp/answers")
	statuses=$(cut -d, -f2 "$tmp/answers" | sort | uniq -c |
	    awk '{print $2 ":" $1}' | paste -sd' ')
	connerr=$(psql -tA -c "SELECT count(*) FROM chaos_answers
	    WHERE curl <> 0 OR status = 0")
	missing=$(psql -tA -c "SELECT count(*) FROM chaos_answers a
	    WHERE a.status = 201 AND NOT EXISTS (SELECT 1 FROM bookings b
	    WHERE b.idempotency_key = a.key)")
	double=$(psql -tA -c "SELECT count(*) FROM (SELECT seat_id
	    FROM booking_seats WHERE live GROUP BY seat_id
	    HAVING count(*) > 1) d")
	halfwr=$(psql -tA -c "SELECT count(*) FROM bookings b
	    WHERE NOT EXISTS (SELECT 1 FROM booking_seats s
	    WHERE s.booking_id = b.id)")
	commit5xx=$(psql -tA -c "SELECT count(*) FROM chaos_answers a
	    WHERE a.status >= 500 AND EXISTS (SELECT 1 FROM bookings b
	    WHERE b.idempotency_key = a.key)")
	crashes=$(tail -n +$((log0 + 1)) "$tmp/server.log" |
	    grep 'exited with status' | grep -vc 'status 9$')

	printf '%-14s %5s %-30s %5s %5s %5s %5s %6s %6s %6s\n' "$fault" \
	    "$requests" "$statuses" "$connerr" "$missing" "$double" \
	    "$halfwr" "$commit5xx" "$crashes" "$rec"
	if [ "$missing" != 0 ] || [ "$double" != 0 ] || [ "$halfwr" != 0 ] ||
	    [ "$commit5xx" != 0 ] || [ "$crashes" != 0 ] ||
	    awk "BEGIN { exit !($rec > $limit) }"; then
		bad=1
	fi
	idx=$((idx + 1))
done

if [ $bad -ne 0 ]; then
	echo "chaos: VIOLATION (see the table above)"
	grep -i 'exited\|fatal' "$tmp/server.log" | tail -n 20
	exit 1
fi
echo "chaos: no violation; every fault recovered within ${limit}s"
