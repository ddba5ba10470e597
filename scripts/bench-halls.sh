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
. "$root/scripts/services.sh"

secs=${BENCH_SECONDS:-3}
clients=${BENCH_CLIENTS:-32}
conns=${BENCH_CONNS:-64}
users=1000
bin="$root/build/booking"
pgbin=$(pg_bindir) || exit 1

for tool in wrk openssl psql "$pgbin/pgbench"; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2
	    exit 1; }
done
[ -x "$bin" ] || { echo "bench: build/booking is missing (make build)" >&2
    exit 1; }

tmp=$(mktemp -d /tmp/booking-bench.XXXXXX)
chmod 755 "$tmp"
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$server_pid" 2>/dev/null
	fi
	redis_stop "$tmp/redis"
	pg_stop "$tmp/pg"
	rm -rf "$tmp" 2>/dev/null
}
trap cleanup EXIT INT TERM

pgport=$(free_port)
redisport=$(free_port)
port=$(free_port)

pg_start "$tmp/pg" "$pgport" || exit 1
pg_createdb "$pgport" booking_bench || exit 1
redis_start "$tmp/redis" "$redisport" || exit 1
make_cert "$tmp/cert"

db="postgresql://postgres@127.0.0.1:$pgport/booking_bench"
secret=$(openssl rand -hex 32)
export DATABASE_URL="$db" REDIS_URL="redis://127.0.0.1:$redisport/0"
export JWT_SECRET="$secret" PORT=$port MIGRATIONS_DIR="$root/migrations"
export TLS_CERT="$tmp/cert/server.pem" TLS_KEY="$tmp/cert/key.pem"
export PAYMENT_WEBHOOK_SECRET=$(openssl rand -hex 32)

(cd "$tmp" && exec "$bin" -f -n -r > "$tmp/server.log" 2>&1) &
server_pid=$!
base="https://127.0.0.1:$port"
if ! wait_health "$base/api/health" 30; then
	echo "bench: server did not start" >&2
	tail -n 20 "$tmp/server.log" >&2
	exit 1
fi

psql() { command psql -q -X -v ON_ERROR_STOP=1 "$db" "$@"; }

# Users and HS256 tokens (the claims token.c checks), minted in one
# statement with pgcrypto: a thousand openssl runs take minutes here.
psql -c "CREATE EXTENSION IF NOT EXISTS pgcrypto;
    INSERT INTO users (name, email, password_hash)
    SELECT 'Bench ' || g, 'bench' || g || '@example.test', '!'
    FROM generate_series(1, $users) g" || exit 1
now=$(date +%s)
psql -tA -v secret="$secret" -v now="$now" <<'SQL' > "$tmp/tokens" || exit 1
CREATE FUNCTION pg_temp.b64url(bytea) RETURNS text LANGUAGE sql AS $$
	SELECT translate(replace(rtrim(encode($1, 'base64'), '='), E'\n', ''),
	    '+/', '-_') $$;
SELECT id || ' ' || hp || '.' || pg_temp.b64url(hmac(hp, :'secret',
    'sha256'))
FROM (SELECT id, pg_temp.b64url('{"alg":"HS256","typ":"JWT"}') || '.' ||
    pg_temp.b64url(convert_to(json_build_object('sub', id::text,
    'role', 'user', 'jti', md5('hall' || id), 'iss', 'booking',
    'aud', 'booking-api', 'iat', :now, 'exp', :now + 3600)::text, 'UTF8'))
    AS hp FROM users ORDER BY id) t;
SQL
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
