#!/usr/bin/env bash
# Scaling with the hall, with ratios taken in one run on one build: shows
# of 100, 1,000 and 10,000 seats (a stadium) on a throwaway stack (a
# private PostgreSQL, Redis and server on free loopback ports, stopped by
# PID on exit). Prints, each with req/s and p50/p99/p99.9:
#   - a trivial Kore handler (the JSON 404 of an unknown path): the
#     ceiling of this build on this machine;
#   - the anonymous seat map of each hall (served by src/seatmap.c) and
#     its ratio to the trivial handler;
#   - bookings of distinct seats in halls of each size (wrk,
#     scripts/bench/bookings.lua mode "hall", BENCH_CLIENTS clients) and
#     their ratio to `pgbench -N` at the same concurrency;
#   - the resident memory of each worker afterwards.
# Bounded: BENCH_SECONDS (default 3) per run, 8 runs.
#
# Needs build/booking (make build), wrk, pgbench, openssl.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

secs=${BENCH_SECONDS:-3}
clients=${BENCH_CLIENTS:-32}
conns=${BENCH_CONNS:-64}
users=1000
bin="$root/build/booking"
pgbin=$(pg_bindir) || exit 1

stack_need "$bin" wrk openssl psql "$pgbin/pgbench" || exit 1

stack_init bench
trap stack_stop EXIT INT TERM
stack_services booking_bench || exit 1
stack_server_start "$bin" || exit 1
base="https://127.0.0.1:$port"

psql() { stack_psql "$@"; }

# Users and HS256 tokens (the claims token.c checks).
stack_users bench "$users" "$tmp/tokens" || exit 1
tok=$(head -n 1 "$tmp/tokens" | cut -d' ' -f2)
me=$(curl -sk -H "Authorization: Bearer $tok" "$base/api/users/me")
case "$me" in
*'"id"'*) ;;
*)	echo "bench: a minted token does not work: $me" >&2; exit 1 ;;
esac

# For each size: one quiet show for the seat map, and enough shows that
# every booking run asks for distinct seats (3,000 at least).
psql -c "INSERT INTO movies (title, duration_minutes) VALUES ('Bench', 100);
    INSERT INTO theatres (name, city, timezone)
        VALUES ('Bench', 'Benchville', 'UTC');" || exit 1
make_shows() {		# make_shows SEATS COUNT -> lines "show first_seat"
	psql -tA -c "
	WITH sc AS (INSERT INTO screens (theatre_id, name)
	    SELECT (SELECT id FROM theatres), 'S$1-$RANDOM-' || g
	    FROM generate_series(1, $2) g RETURNING id),
	sh AS (INSERT INTO shows (movie_id, screen_id, start_time, end_time)
	    SELECT (SELECT id FROM movies), id, now() + interval '30 days',
	    now() + interval '30 days 2 hours' FROM sc ORDER BY sc.id
	    RETURNING id)
	SELECT id FROM sh ORDER BY id" | while read -r show; do
		psql -tA -c "INSERT INTO seats (show_id, row_label, number,
		    tier, price_cents) SELECT $show, 'R' || (g / 100 + 1),
		    g % 100 + 1, 'standard', 1200
		    FROM generate_series(0, $1 - 1) g ORDER BY g;
		    SELECT min(id) FROM seats WHERE show_id = $show" |
		    sed "s/^/$show /"
	done
}
for n in 100 1000 10000; do
	make_shows "$n" $(( (3000 + n - 1) / n + 1 )) > "$tmp/shows.$n" ||
	    exit 1
	head -n 1 "$tmp/shows.$n" | cut -d' ' -f1 > "$tmp/quiet.$n"
	sed -n '2,$p' "$tmp/shows.$n" > "$tmp/booked.$n"
done
# Shows for a warm-up run: every pooled connection is opened (Kore opens
# them with a blocking call) and has planned the claim functions before
# anything is measured; without it the first measured run paid for that.
make_shows 1000 3 > "$tmp/booked.warm" || exit 1
psql -c "ANALYZE" || exit 1

# get NAME PATH: wrk over HTTPS, one RESULT line.
get() {
	curl -sk -o /dev/null "$base$2"
	timeout $((secs + 30)) wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s \
	    -s "$root/scripts/bench/get.lua" "$base$2" > "$tmp/wrk.$1" 2>&1
	grep -q '^RESULT' "$tmp/wrk.$1" || { echo "bench: wrk failed:" >&2
	    cat "$tmp/wrk.$1" >&2; return 1; }
}

# book NAME SEATS [SHOWS]: bookings of distinct seats in halls of SEATS
# seats (the shows of booked.SEATS, or of booked.SHOWS).
book() {
	local n f="$tmp/booked.${3:-$2}"
	n=$(wc -l < "$f")
	timeout $((secs + 30)) wrk -t2 -c"$clients" -d"${secs}s" \
	    --timeout 10s -s "$root/scripts/bench/bookings.lua" "$base" -- \
	    hall "$tmp/tokens" 0 "$users" "$2" "$n" "$1" 2 \
	    "$f" > "$tmp/wrk.$1" 2>&1
	grep -q '^RESULT' "$tmp/wrk.$1" || { echo "bench: wrk failed:" >&2
	    cat "$tmp/wrk.$1" >&2; return 1; }
}

result() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/wrk.$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b;
    else printf "-" }'; }

get trivial /bench/trivial || exit 1
for n in 100 1000 10000; do
	get "map$n" "/api/shows/$(cat "$tmp/quiet.$n")/seats" || exit 1
done
book warm 1000 warm || exit 1
for n in 100 1000 10000; do
	book "book$n" "$n" || exit 1
done

"$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -i -q -s 10 \
    booking_bench >/dev/null 2>&1 || { echo "bench: pgbench -i failed" >&2
    exit 1; }
pg=$(timeout $((secs + 60)) "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" \
    -U postgres -N -c "$clients" -j 2 -T "$secs" booking_bench 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)

echo "== halls: ${secs}s per run, $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg); wrk -t2, GETs at $conns" \
    "connections, bookings at $clients clients; fsync on"
printf '%-34s %10s %8s %8s %8s %8s\n' "" "req/s" "p50 ms" "p99 ms" \
    "p99.9 ms" "ratio"
printf '%-34s %10s %8s %8s %8s %8s\n' "trivial handler (JSON 404)" \
    "$(result trivial per_s)" "$(result trivial p50_ms)" \
    "$(result trivial p99_ms)" "$(result trivial p999_ms)" "1.00"
for n in 100 1000 10000; do
	printf '%-34s %10s %8s %8s %8s %8s\n' "seat map, $n seats" \
	    "$(result map$n per_s)" "$(result map$n p50_ms)" \
	    "$(result map$n p99_ms)" "$(result map$n p999_ms)" \
	    "$(ratio "$(result map$n per_s)" "$(result trivial per_s)")"
done
for n in 100 1000 10000; do
	printf '%-34s %10s %8s %8s %8s %8s\n' "bookings/s (201), $n-seat halls" \
	    "$(result book$n created_per_s)" "$(result book$n p50_ms)" \
	    "$(result book$n p99_ms)" "$(result book$n p999_ms)" \
	    "$(ratio "$(result book$n created_per_s)" "$pg")"
done
printf '%-34s %10s   (the ratio column of bookings is to this)\n' \
    "pgbench -N, $clients clients (tps)" "$pg"
for n in 100 1000 10000; do
	echo "map$n: $(result map$n non2xx) non-2xx, $(result map$n errors)" \
	    "socket errors"
done
for n in 100 1000 10000; do
	echo "book$n: $(result book$n created) made, $(result book$n conflict)" \
	    "409, $(result book$n other4xx) other 4xx, $(result book$n 5xx) 5xx"
done
echo "resident memory (ps rss, KiB): $(ps --ppid "$server_pid" \
    -o pid=,rss= | awk '{ printf "worker %s %s  ", $1, $2 }')" \
    "parent $(ps -o rss= -p "$server_pid")"
