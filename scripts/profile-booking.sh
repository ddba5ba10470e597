#!/usr/bin/env bash
# Where a booking's time goes, in measures that do not depend on how
# loaded the machine is (docs/performance.md, "Performance: where a
# booking's time goes"). On a throwaway stack like scripts/bench-bookings.sh (private
# PostgreSQL with pg_stat_statements, Redis, server; all stopped by PID):
#
#  1. PROFILE_N (default 200) bookings of distinct seats, one after the
#     other over one keep-alive HTTPS connection; per booking: Redis
#     commands (INFO commandstats), SQL statements (pg_stat_statements,
#     nested ones included) and transactions committed.
#  2. PROFILE_CALLGRIND=1: the same with the server's one worker under
#     valgrind --tool=callgrind, zeroed before and dumped after the
#     bookings: instructions per booking and the top functions.
#  3. The claim's statements with EXPLAIN (ANALYZE, BUFFERS) (auto_explain
#     of one booking_claim() call, rolled back).
#  4. PROFILE_WAITS=1: wrk at 32 and then 128 clients (PROFILE_SECONDS,
#     default 5, each) while pg_stat_activity is sampled every 100 ms:
#     what the server's connections were doing (idle, running, waiting on
#     what), next to the wrk figures.
#
# Ports: PROFILE_PORT (default: free ones), PROFILE_PORT+1 PostgreSQL,
# PROFILE_PORT+2 Redis. PROFILE_BIN: another build to measure (default
# build/booking). Needs python3, psql, PostgreSQL's pg_stat_statements
# and auto_explain, and valgrind or wrk for 2 and 4.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

n=${PROFILE_N:-200}
secs=${PROFILE_SECONDS:-5}
users=500
bin=${PROFILE_BIN:-$root/build/booking}
pgbin=$(pg_bindir) || exit 1
[ -x "$bin" ] || { echo "profile: build/booking is missing" >&2; exit 1; }

if [ -n "${PROFILE_PORT:-}" ]; then
	port=$PROFILE_PORT pgport=$((PROFILE_PORT + 1))
	redisport=$((PROFILE_PORT + 2))
fi
stack_init profile

# stop_server: the server, and anything still on its port (a worker that
# outlived it under valgrind).
stop_server() {
	stack_server_stop
	for p in $(ss -tlnpH "sport = :$port" 2>/dev/null |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
		kill -9 "$p" 2>/dev/null
	done
}
cleanup() {
	stop_server
	stack_stop
}
trap cleanup EXIT INT TERM

stack_services booking_profile || exit 1
psql -q -h 127.0.0.1 -p "$pgport" -U postgres -c \
    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
    postgres || exit 1
pg_restart "$tmp/pg" || exit 1
psql -q -h 127.0.0.1 -p "$pgport" -U postgres \
    -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" \
    -c "SELECT pg_reload_conf()" postgres >/dev/null || exit 1

psql() { stack_psql "$@"; }
rcli() { redis-cli -h 127.0.0.1 -p "$redisport" "$@"; }

# start_server [WRAPPER...]: the server, under the wrapper if given.
start_server() {
	STACK_WAIT=120 stack_server_start "$bin" "$@" || exit 1
}

start_server
psql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" || exit 1

stack_users profile "$users" "$tmp/tokens" || exit 1

# Six shows of 5,000 seats: one per sequential pass, two for wrk.
stack_venue Profile 6 5000 || exit 1
mapfile -t shows < <(psql -tA -c "SELECT id FROM shows ORDER BY id")

# book SHOW COUNT: bookings of the show's first COUNT seats, one user per
# seat (round robin), over one keep-alive connection; prints seconds.
book() {
	python3 - "$port" "$tmp/tokens" "$db" "$1" "$2" <<'PY'
import http.client, json, ssl, subprocess, sys, time
port, tokens, db, show, count = sys.argv[1:6]
toks = [l.split()[1] for l in open(tokens)]
seats = subprocess.run(["psql", "-tAX", db, "-c",
    "SELECT id FROM seats WHERE show_id = %d ORDER BY id LIMIT %d"
    % (int(show), int(count))], capture_output=True, text=True,
    check=True).stdout.split()
ctx = ssl._create_unverified_context()
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
c.request("GET", "/api/health")
c.getresponse().read()
t0 = time.monotonic()
for i, seat in enumerate(seats):
    c.request("POST", "/api/bookings",
        json.dumps({"show_id": int(show), "seat_ids": [int(seat)]}), {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + toks[i % len(toks)],
        "Idempotency-Key": "profile-%s-%d" % (show, i)})
    r = c.getresponse()
    r.read()
    if r.status != 201:
        sys.exit("booking %d: %d" % (i, r.status))
print("%.3f" % (time.monotonic() - t0))
PY
}

# cputicks NAME PID...: "NAME ticks" for the processes and their children
# (utime + stime of /proc/PID/stat, threads included).
cputicks() {
	local name=$1 p all
	shift
	all=$(for p in "$@"; do echo "$p"; ps -o pid= --ppid "$p"; done)
	echo "$name $(for p in $all; do cut -d')' -f2- "/proc/$p/stat" \
	    2>/dev/null; done | awk '{ t += $12 + $13 } END { print t + 0 }')"
}
cpu_sample() {
	cputicks server "$server_pid"
	cputicks postgres "$(head -n 1 "$(pg_datadir "$tmp/pg")/postmaster.pid")"
	cputicks redis "$(cat "$tmp/redis/redis.pid")"
}

# One warm-up pass (plans cached, connections open), then the counted one.
book "${shows[0]}" 50 >/dev/null || exit 1
psql -c "SELECT pg_stat_statements_reset()" >/dev/null
rcli config resetstat >/dev/null
cpu_sample > "$tmp/cpu0"
elapsed=$(book "${shows[1]}" "$n") || exit 1
cpu_sample > "$tmp/cpu1"

echo "== $n sequential bookings over one connection: ${elapsed}s" \
    "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "-- Redis commands per booking (INFO commandstats):"
rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([a-z]*\):calls=\([0-9]*\),.*/\1 \2/p' |
    awk -v n="$n" '{ printf "   %-10s %6.2f\n", $1, $2 / n }'
echo "-- SQL statements per booking (pg_stat_statements, track = all;" \
    "'top' = sent by the server):"
psql -tA -F' ' -c "SELECT round(calls::numeric / $n, 2),
        CASE WHEN toplevel THEN 'top' ELSE 'nested' END,
        regexp_replace(left(query, 70), '\s+', ' ', 'g')
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database
        WHERE datname = current_database())
    AND query !~* 'pg_stat|xact_commit'
    ORDER BY toplevel DESC, calls DESC" |
    awk '{ printf "   %6s %-6s", $1, $2; $1 = $2 = ""; print $0 }'
echo "-- CPU time per booking, ms (/proc/PID/stat; includes the client's" \
    "connection, not its TLS handshake):"
join "$tmp/cpu0" "$tmp/cpu1" | awk -v n="$n" -v hz="$(getconf CLK_TCK)" \
    '{ printf "   %-10s %6.3f\n", $1, ($3 - $2) * 1000 / hz / n }'

# 3. The claim's statements, each with its plan and buffers.
seat=$(psql -tA -c "SELECT id FROM seats WHERE show_id = ${shows[2]}
    ORDER BY id LIMIT 1")
uid=$(head -n 1 "$tmp/tokens" | cut -d' ' -f1)
echo "== EXPLAIN (ANALYZE, BUFFERS) of one booking_claim() (auto_explain," \
    "nested statements, rolled back)"
cat > "$tmp/explain.sql" <<SQL
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
BEGIN;
SELECT outcome FROM booking_claim($uid, ${shows[2]}, ARRAY[$seat]::bigint[],
    NULL, 'explain-1', 'fp', 10, make_interval(secs => 900));
ROLLBACK;
SQL
command psql -X -q "$db" -f "$tmp/explain.sql" 2>&1 >/dev/null |
    sed 's/^psql:[^:]*:[0-9]*: //' | sed 's/^/   /'

if [ "${PROFILE_CALLGRIND:-0}" = 1 ]; then
	# valgrind's own system calls are not on the sandbox's list: for
	# this measurement only, prctl(PR_SET_SECCOMP) is made a no-op.
	cat > "$tmp/noseccomp.c" <<'C'
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int
prctl(int op, ...)
{
	va_list		ap;
	unsigned long	a[4];
	int		i;

	va_start(ap, op);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (op == PR_SET_SECCOMP)
		return (0);
	return (syscall(SYS_prctl, op, a[0], a[1], a[2], a[3]));
}
C
	cc -shared -fPIC -o "$tmp/noseccomp.so" "$tmp/noseccomp.c" || exit 1
	stop_server
	export WORKERS=1
	start_server env LD_PRELOAD="$tmp/noseccomp.so" valgrind --tool=callgrind --trace-children=yes \
	    --callgrind-out-file="$tmp/callgrind.%p"
	unset WORKERS
	book "${shows[3]}" 20 >/dev/null || exit 1
	# The worker: the process that has the PostgreSQL connections.
	wpid=$(psql -tA -c "SELECT DISTINCT client_port FROM pg_stat_activity
	    WHERE datname = current_database() AND pid <> pg_backend_pid()
	    AND client_port IS NOT NULL" | while read -r p; do
		ss -tnpH "sport = :$p" 2>/dev/null |
		    sed -n 's/.*pid=\([0-9]*\).*/\1/p'; done | sort -u | head -n 1)
	[ -n "$wpid" ] || { echo "profile: no worker found" >&2; exit 1; }
	callgrind_control -z "$wpid" >/dev/null 2>&1
	cn=$((n / 4))
	book "${shows[4]}" "$cn" >/dev/null || exit 1
	callgrind_control -d "$wpid" >/dev/null 2>&1
	sleep 1
	out=$(ls -t "$tmp"/callgrind."$wpid"* | head -n 1)
	total=$(callgrind_annotate "$out" 2>/dev/null |
	    sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
	echo "== callgrind: $cn bookings in worker $wpid:" \
	    "$((total / cn)) instructions per booking"
	echo "-- inclusive share of the worker's instructions, top entries:"
	callgrind_annotate --inclusive=yes --tree=none "$out" 2>/dev/null |
	    grep -E '^ *[0-9,]+ \(' | grep -vE 'PROGRAM TOTALS|below main' |
	    grep -vE 'libc-start|worker\.c:kore_worker|kore\.c:main|0x0000' |
	    sed -E 's/ \[[^]]*\]$//; s/^ *[0-9,]+ +\( *([0-9.]+%)\) +/\1 /' |
	    sed -E 's#^([0-9.]+% )[^ ]*/#\1#' | uniq | head -n 30 |
	    sed 's/^/   /'
	stop_server
	start_server
fi

if [ "${PROFILE_WAITS:-0}" = 1 ]; then
	printf '%s\n' "${shows[4]}" > "$tmp/shows.w32"
	printf '%s\n' "${shows[5]}" > "$tmp/shows.w128"
	lua="$root/scripts/bench/bookings.lua"
	for c in 32 128; do
		first=$(psql -tA -c "SELECT min(id) FROM seats
		    WHERE show_id = $(cat "$tmp/shows.w$c")")
		: > "$tmp/waits.$c"
		( end=$((SECONDS + secs + 2)); while [ $SECONDS -lt $end ]; do
			command psql -tAX -F' ' "$db" -c "SELECT state,
			    coalesce(wait_event_type, '-'),
			    coalesce(wait_event, '-') FROM pg_stat_activity
			    WHERE datname = current_database()
			    AND pid <> pg_backend_pid()
			    AND backend_type = 'client backend'"
			echo '#'
			sleep 0.1
		done >> "$tmp/waits.$c" ) &
		sampler=$!
		cpu_sample > "$tmp/wcpu0.$c"
		read -r _ u0 n0 s0 i0 w0 _ < /proc/stat
		# wrk in a subshell whose `times` are then wrk's own.
		( timeout $((secs + 30)) wrk -t2 -c"$c" -d"${secs}s" \
		    --timeout 10s --latency -s "$lua" \
		    "https://127.0.0.1:$port" -- spread "$tmp/tokens" \
		    "$first" "$users" 5000 1 "w$c" 2 "$tmp/shows.w$c" \
		    > "$tmp/wrk.$c" 2>&1; times > "$tmp/times.$c" )
		tail -n 1 "$tmp/times.$c" | sed 's/[ms]/ /g' | awk '{ print \
		    "wrk", $1 * 60 + $2 + $3 * 60 + $4 }' > "$tmp/wrktime.$c"
		read -r _ u1 n1 s1 i1 w1 _ < /proc/stat
		cpu_sample > "$tmp/wcpu1.$c"
		wait "$sampler"
		echo "== wrk $c clients, ${secs}s (load average:" \
		    "$(cut -d' ' -f1-3 /proc/loadavg)):"
		grep -E '^RESULT|Latency  |99%' "$tmp/wrk.$c" | sed 's/^/   /'
		made=$(sed -n 's/.* created=\([0-9]*\).*/\1/p' "$tmp/wrk.$c")
		echo "-- CPU ms per booking made ($made), and the machine's" \
		    "idle share:"
		{ join "$tmp/wcpu0.$c" "$tmp/wcpu1.$c" |
		    awk -v hz="$(getconf CLK_TCK)" '{ print $1, ($3 - $2) / hz }'
		  cat "$tmp/wrktime.$c"; } |
		    awk -v m="${made:-0}" 'm > 0 { printf "   %-10s %6.3f\n",
		    $1, $2 * 1000 / m }'
		awk -v a="$((u1 + n1 + s1 - u0 - n0 - s0))" \
		    -v i="$((i1 + w1 - i0 - w0))" 'BEGIN { printf \
		    "   machine idle %.0f%% of %d cores\n", 100 * i / (a + i),
		    '"$(nproc)"' }'
		samples=$(grep -c '^#' "$tmp/waits.$c")
		echo "-- server connections by state/wait event" \
		    "(mean over $samples samples, 100 ms apart):"
		grep -v '^#' "$tmp/waits.$c" | sort | uniq -c | sort -rn |
		    awk -v s="$samples" '{ printf "   %6.1f %s\n", $1 / s,
		    $2 " " $3 " " $4 }' | head -n 12
	done
fi
