#!/usr/bin/env bash
# Catalog read throughput over HTTPS with wrk: GET /api/movies (served
# from the Redis cache after the first request) and GET
# /api/shows/{id}/seats (anonymous: served by src/seatmap.c), at 32
# and 128 connections, BENCH_SECONDS (5) each. Runs against a throwaway
# PostgreSQL, Redis and server on free loopback ports, seeded with
# migrations/seed.sql, and stops all of it by PID on exit.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

secs=${BENCH_SECONDS:-5}
threads=${BENCH_THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
[ -x "$root/build/booking" ] || { echo "run make build first" >&2; exit 1; }

stack_init bench
trap stack_stop EXIT INT TERM
PG_FSYNC=off stack_services booking_bench || exit 1
"$root/build/booking" migrate >/dev/null || exit 1
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$root/migrations/seed.sql" \
    >/dev/null || exit 1
stack_server_start "$root/build/booking" || exit 1
base="https://127.0.0.1:$port"

show=$(psql "$DATABASE_URL" -tAc "SELECT min(id) FROM shows")
seats=$(psql "$DATABASE_URL" -tAc \
    "SELECT count(*) FROM seats WHERE show_id = $show")
echo "workers: ${WORKERS:-one per core ($(nproc))}; wrk -t$threads," \
    "${secs}s per run; seat map of show $show has $seats seats"

# wrk's output -> "requests/s  p50  p99  errors"
summary() {
	awk '
	/Requests\/sec/		{ rps = $2 }
	/^ +50%/		{ p50 = $2 }
	/^ +99%/		{ p99 = $2 }
	/Non-2xx/		{ non2xx = $NF }
	/Socket errors/		{ errs = $0; sub(/.*Socket errors: /, "", errs) }
	END {
		printf "%12s req/s   p50 %-9s p99 %-9s", rps, p50, p99
		if (non2xx != "") printf "  non-2xx %s", non2xx
		if (errs != "") printf "  socket errors: %s", errs
		printf "\n"
	}'
}

status=0
printf "%-28s %5s %s\n" "endpoint" "conns" "result"
for path in "/api/movies" "/api/shows/$show/seats"; do
	# One request first, so the cached endpoint measures cache hits.
	curl -sk -o /dev/null "$base$path"
	for conns in 32 128; do
		out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency \
		    "$base$path" 2>&1) || status=1
		printf "%-28s %5s" "GET $path" "$conns"
		echo "$out" | summary
	done
done

exit $status
