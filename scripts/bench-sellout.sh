#!/usr/bin/env bash
# The sell-out (docs/sellout.md): a crowd selling out one show through
# best available, on a throwaway stack (a private PostgreSQL, Redis and
# server on free loopback ports, stopped by PID on exit). BUYERS (2,000)
# buyers over CONNS (64) connections each hold the best 1-4 seats and
# book the hold, again until their 10-seat limit or the show is sold out
# (scripts/bench/sellout.mjs); then the sold-out show is asked again for
# SOLD_SECS (3) to time its 409s. Runs, all in one run of this script:
#   1. a 10,000-seat show (50 x 200) with statistics taken while every
#      table was empty (ANALYZE before seeding, autovacuum off): the
#      plans of a fresh deployment's first hours;
#   2. another 10,000-seat show after ANALYZE;
#   3. a 300-seat show (15 x 20), analysed.
# Prints seconds to sell 99% of the seats, holds/s, p50/p99 of holds and
# bookings, the 409s, the sold-out show's asks/s and p50/p99, and the
# database's checks (no seat in two live bookings or holds, every 201
# booking in the database with its seats); `pgbench -N` at 32 clients on
# the same database is the same-run baseline. Every run is bounded
# (MAX_SECS, default 60, per sale).
#
# Needs build/booking (make build), node, pgbench, openssl.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

buyers=${BUYERS:-2000}
conns=${CONNS:-64}
max_secs=${MAX_SECS:-60}
sold_secs=${SOLD_SECS:-3}
bin="$root/build/booking"
pgbin=$(pg_bindir) || exit 1

stack_need "$bin" node openssl psql "$pgbin/pgbench" || exit 1

stack_init sellout
trap stack_stop EXIT INT TERM
stack_services booking_sellout || exit 1
# The per-user request limits are for people, not for this crowd.
export RATE_LIMIT_HOLDS=1000000 RATE_LIMIT_BOOKINGS=1000000
stack_server_start "$bin" || exit 1
base="https://127.0.0.1:$port"

psql() { stack_psql "$@"; }

# Statistics from empty tables, kept: no autovacuum to re-analyse.
psql -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" \
    >/dev/null || exit 1
psql -c "ANALYZE" || exit 1

stack_users sellout "$buyers" "$tmp/tokens" || exit 1

# make_show ROWS SEATS: a show on a new screen of ROWS rows of SEATS seats.
psql -c "INSERT INTO movies (title, duration_minutes) VALUES ('Sell', 100);
    INSERT INTO theatres (name, city, timezone)
        VALUES ('Sell', 'Sellville', 'UTC');" >/dev/null || exit 1
make_show() {
	psql -tA -c "
	WITH sc AS (INSERT INTO screens (theatre_id, name)
	    SELECT id, 'S$1x$2-' || $RANDOM FROM theatres RETURNING id),
	r AS (INSERT INTO screen_rows (screen_id, position, label, seats,
	    tier, price_cents)
	    SELECT sc.id, g - 1, 'R' || lpad(g::text, 2, '0'), $2,
	    'standard', 1200 FROM sc, generate_series(1, $1) g RETURNING *),
	sh AS (INSERT INTO shows (movie_id, screen_id, start_time, end_time)
	    SELECT (SELECT id FROM movies), id, now() + interval '30 days',
	    now() + interval '30 days 2 hours' FROM sc RETURNING id),
	x AS (INSERT INTO seats (show_id, row_label, number, tier,
	    price_cents) SELECT sh.id, r.label, n, r.tier, r.price_cents
	    FROM sh, r, generate_series(1, r.seats) n ORDER BY r.position, n)
	SELECT id FROM sh"
}
show_stale=$(make_show 50 200) || exit 1
show_big=$(make_show 50 200) || exit 1
show_small=$(make_show 15 20) || exit 1

# sell NAME SHOW SEATS: one sale, its RESULT line in $tmp/run.NAME.
sell() {
	timeout $((max_secs + sold_secs + 60)) node \
	    "$root/scripts/bench/sellout.mjs" "$base" "$tmp/tokens" "$2" "$3" \
	    "$buyers" "$conns" "$max_secs" "$sold_secs" "$tmp/booked.$1" \
	    > "$tmp/run.$1" 2>&1
	grep -q '^RESULT' "$tmp/run.$1" || { echo "bench: $1 failed:" >&2
	    cat "$tmp/run.$1" >&2; return 1; }
}

# check NAME SHOW: the database's word on a sale.
check() {
	{ echo "CREATE TEMP TABLE got (id bigint, seats integer);"
	  echo "COPY got FROM STDIN WITH (FORMAT text, DELIMITER ' ');"
	  cat "$tmp/booked.$1"
	  echo '\.'
	  cat <<'SQL'
SELECT 'db: ' ||
    (SELECT count(*) FROM booking_seats bs JOIN bookings b
     ON b.id = bs.booking_id WHERE b.show_id = :show AND bs.live) ||
    ' seats booked; seats in two live bookings: ' ||
    (SELECT count(*) FROM (SELECT bs.seat_id FROM booking_seats bs
     WHERE bs.live GROUP BY bs.seat_id HAVING count(*) > 1) d) ||
    '; seats in two live holds: ' ||
    (SELECT count(*) FROM (SELECT hs.seat_id FROM hold_seats hs
     JOIN holds h ON h.id = hs.hold_id WHERE h.released_at IS NULL
     AND h.expires_at > now() GROUP BY hs.seat_id HAVING count(*) > 1) d) ||
    '; 201 bookings missing or changed: ' ||
    (SELECT count(*) FROM got g LEFT JOIN bookings b ON b.id = g.id
     AND b.show_id = :show
     AND b.status IN ('confirmed', 'pending_payment')
     AND (SELECT count(*) FROM booking_seats bs
     WHERE bs.booking_id = b.id AND bs.live) = g.seats
     WHERE b.id IS NULL) ||
    ' of ' || (SELECT count(*) FROM got) ||
    '; booked seats not answered 201: ' ||
    ((SELECT count(*) FROM booking_seats bs JOIN bookings b
     ON b.id = bs.booking_id WHERE b.show_id = :show AND bs.live) -
     (SELECT coalesce(sum(seats), 0) FROM got));
SQL
	} | psql -tA -v show="$2"
}

sell stale "$show_stale" 10000 || exit 1
stale_check=$(check stale "$show_stale")
psql -c "ANALYZE" || exit 1
sell big "$show_big" 10000 || exit 1
big_check=$(check big "$show_big")
sell small "$show_small" 300 || exit 1
small_check=$(check small "$show_small")

"$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -i -q -s 10 \
    booking_sellout >/dev/null 2>&1 || { echo "bench: pgbench -i failed" >&2
    exit 1; }
pg=$(timeout 90 "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -N \
    -c 32 -j 2 -T 5 booking_sellout 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)

# Where a sold-out ask's time goes: the database's share alone, the
# same call hold_claim_best() the server makes, for 3 s at 1 and 8
# clients on the sold-out 10,000-seat show.
uid=$(psql -tA -c "SELECT min(id) FROM users") || exit 1
echo "SELECT * FROM hold_claim_best($uid, $show_big, 1, NULL, 600, 10);" \
    > "$tmp/soldout.sql"
soldout_db() {
	timeout 30 "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -n \
	    -M prepared -f "$tmp/soldout.sql" -c "$1" -j "$1" -T 3 \
	    booking_sellout 2>/dev/null | awk '/^latency average/ {l=$4}
	    /^tps/ {t=$3} END {printf "%.0f/s, mean %.3f ms", t, l}'
}
db1=$(soldout_db 1)
db8=$(soldout_db 8)

r() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$tmp/run.$1"; }
echo "== sellout: $buyers buyers over $conns connections, $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); fsync on"
printf '%-28s %7s %7s %6s %7s %7s %7s %7s %7s %6s\n' "" "sold" "99% s" \
    "holds/s" "hold50" "hold99" "book50" "book99" "no-adj" "5xx+err"
for run in stale big small; do
	case $run in
	stale)	label="10,000 seats, empty stats" ;;
	big)	label="10,000 seats, analysed" ;;
	small)	label="300 seats, analysed" ;;
	esac
	printf '%-28s %7s %7s %6s %7s %7s %7s %7s %7s %6s\n' "$label" \
	    "$(r $run booked)/$(r $run seats)" "$(r $run t99_s)" \
	    "$(r $run holds_per_s)" "$(r $run hold_p50_ms)" \
	    "$(r $run hold_p99_ms)" "$(r $run book_p50_ms)" \
	    "$(r $run book_p99_ms)" "$(r $run no_adjacent_409)" \
	    "$(( $(r $run 5xx) + $(r $run errors) ))"
done
echo "(times in ms; 99% s = seconds until 99% of the seats were booked)"
for run in stale big small; do
	echo "$run sold out, asked again: $(r $run soldout_per_s)/s," \
	    "p50 $(r $run soldout_p50_ms) ms, p99 $(r $run soldout_p99_ms) ms," \
	    "$(r $run soldout_409) x 409 no_adjacent_seats," \
	    "$(r $run soldout_other) other"
done
echo "stale $stale_check"
echo "big   $big_check"
echo "small $small_check"
echo "pgbench -N, 32 clients, same database (tps): $pg"
echo "sold-out ask, database only (hold_claim_best on the sold-out show):" \
    "1 client $db1; 8 clients $db8"
