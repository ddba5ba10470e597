#!/usr/bin/env bash
# scripts/test.sh ha: make ha's topology (scripts/ha.sh) on free loopback
# ports in a throwaway directory, a booking load through HAProxy, and one
# fault at a time:
#   kill_primary  kill -9 of the PostgreSQL primary and its Patroni; then
#                 its Patroni is started again and the member must rejoin
#                 as a read-only standby (pg_rewind)
#   switchover    patronictl switchover to the synchronous standby
#   redis_master  kill -9 of the Redis master (Sentinel promotes)
#   partition     the primary's etcd member stopped (SIGSTOP): its Patroni
#                 loses the DCS and must demote itself; then the etcd
#                 member is resumed under load and for HA_WATCH s (12)
#                 that member must never be primary again, nor two members
#                 primary at once; then exactly one primary, holding every
#                 booking acknowledged so far, and the member cut off
#                 follows it as a standby that refuses writes
# After the faults, every booking answered 201 must be in the database
# (by id), no seat may be in two live bookings, no booking that committed
# may have been answered 5xx, replaying acknowledged Idempotency-Keys
# must give the same booking, and bookings must succeed again within
# HA_PG_LIMIT s (15) of a kill or switchover, HA_PARTITION_LIMIT s (20)
# of the partition and HA_REDIS_LIMIT s (10) of the Redis master's kill.
# A table per fault, then one line:
#   ha: faults=N acknowledged_missing=0 seats_twice=0 committed_5xx=0 max_outage_s=S
# Exit status 1 on any violation. Every loop is bounded in count and time;
# everything started is stopped by PID (scripts/ha.sh stop).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/stack.sh"

clients=${HA_CLIENTS:-3}
max=${HA_MAX:-900}		# requests per client per fault (a bound; the
				# load is meant to end by time: the partition's
				# ~45 s took up to 600 a client here)
after=${HA_AFTER:-3}		# seconds of load after the allowed outage
pg_limit=${HA_PG_LIMIT:-15}
redis_limit=${HA_REDIS_LIMIT:-10}
# A partitioned primary first has to notice (retry_timeout) while the
# others wait for its leader key to expire (ttl): slower than a kill.
partition_limit=${HA_PARTITION_LIMIT:-20}
# After the partition its etcd member is resumed under load and every
# member's role watched for this long: the member cut off must not become
# primary again, and there must never be two primaries.
watch=${HA_WATCH:-12}
faults=${HA_FAULTS:-"kill_primary switchover redis_master partition"}
per_show=$((clients * 10))
shows_per_fault=$(((max + 9) / 10))

"$root/scripts/deps.sh" ha || exit 1
stack_need "$root/build/booking" patroni etcd redis-sentinel haproxy ||
    exit 1

tmp=$(mktemp -d /tmp/booking-ha.XXXXXX)
chmod 755 "$tmp"

# A base port with base+1 .. base+65 all free, below the ephemeral range.
pick_base() {
	local lo b p ok
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    lo=32768
	[ "$lo" -gt 11024 ] || lo=32768
	for _ in $(seq 1 50); do
		b=$((10000 + RANDOM % (lo - 10100)))
		ok=1
		for p in $(seq $((b + 1)) $((b + 65))); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
				ok=0
				break
			fi
		done
		[ $ok = 1 ] && { echo "$b"; return 0; }
	done
	return 1
}
base=$(pick_base) || { echo "ha: no free ports" >&2; exit 1; }
export HA_DIR=$tmp HA_BASE_PORT=$base HA_PORT=$((base + 61))
export HA_APP_PORTS="$((base + 62)) $((base + 63)) $((base + 64))"
export HA_STATS_PORT=$((base + 65)) HA_SEED=0 HA_FSYNC=off
export RATE_LIMIT_BOOKINGS=1000000 CLUSTER_WORKERS=1
B="https://127.0.0.1:$HA_PORT"

ha() { "$root/scripts/ha.sh" "$@"; }
# HA_KEEP=1 keeps the directory (logs, data, answers).
cleanup() {
	ha stop >/dev/null 2>&1
	if [ "${HA_KEEP:-0}" = 1 ]; then
		echo "ha: kept $tmp"
	else
		rm -rf "$tmp" 2>/dev/null
	fi
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/cluster"
(umask 077; openssl rand -hex 32 > "$tmp/cluster/jwt_secret"
    openssl rand -hex 32 > "$tmp/cluster/payment_webhook_secret")
echo "ha: starting etcd x3, Patroni x3, Redis + Sentinel x3, 3 instances"
if ! ha start > "$tmp/start.log" 2>&1; then
	echo "ha: the topology did not start:"
	tail -n 30 "$tmp/start.log"
	exit 1
fi
db=$(ha env | sed -n 's/^CLUSTER_DATABASE_URL=//p')
secret=$(cat "$tmp/cluster/jwt_secret")
# Bounded: a primary without a synchronous standby (strict mode) makes a
# write wait for ever; the test must report that, not hang on it.
psql() { PGOPTIONS="-c statement_timeout=60s" command psql -X -q -tA "$db" "$@"; }

stack_users ha $((clients + 1)) "$tmp/users" || exit 1
cut -d' ' -f2 "$tmp/users" > "$tmp/tokens"
nfaults=$(echo $faults | wc -w)
nshows=$((shows_per_fault * nfaults + 6))
stack_venue HA "$nshows" "$per_show" || exit 1
seat0=$(psql -c "SELECT min(id) FROM seats")
show0=$(psql -c "SELECT min(id) FROM shows")
psql -c "CREATE TABLE ha_answers (fault text, key text, status int,
    booking bigint, t float8, seats text)" || exit 1

# book KEY SHOW SEAT TOKEN: "status booking-id" (id empty unless 201).
book() {
	local out code
	out=$(curl -sk --max-time 30 -w '\n%{http_code}' \
	    -H "Authorization: Bearer $4" -H "Idempotency-Key: $1" \
	    -H 'Content-Type: application/json' \
	    -d "{\"show_id\": $2, \"seat_id\": $3}" "$B/api/bookings")
	code=${out##*$'\n'}
	echo "${code:-0} $(printf '%s' "${out%$'\n'*}" |
	    sed -n 's/^{"id": *\([0-9]*\).*/\1/p')"
}

# client FAULT C TOKEN SHOWBASE: sequential bookings until told to stop.
client() {
	local fault=$1 c=$2 token=$3 base=$4 i=0 show seat key r
	while [ ! -f "$tmp/stop" ] && [ $i -lt "$max" ]; do
		show=$((show0 + base + i / 10))
		seat=$((seat0 + (base + i / 10) * per_show + c * 10 + i % 10))
		key="ha-$fault-$c-$i"
		r=$(book "$key" "$show" "$seat" "$token")
		echo "$fault,$key,${r% *},${r#* },$EPOCHREALTIME,$show:$seat" \
		    >> "$tmp/answers"
		i=$((i + 1))
	done
}

member_of() { echo "${1#pg}"; }

# wait_role N ROLE SECS: until member N's Patroni says ROLE.
wait_role() {
	local i
	for i in $(seq 1 $(($3 * 2))); do
		[ "$(ha role "$1")" = "$2" ] && return 0
		sleep 0.5
	done
	return 1
}

# A standby refuses writes: in recovery, and a write fails.
read_only() {
	local port
	port=$(ha member "$1" | cut -d' ' -f1)
	[ "$(command psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres \
	    -c 'SELECT pg_is_in_recovery()' booking 2>/dev/null)" = t ] &&
	    ! command psql -X -q -h 127.0.0.1 -p "$port" -U postgres \
	    -c 'CREATE TABLE ha_split_brain (x int)' booking 2>/dev/null
}

# rejoin N: member N follows the new primary again, read-only.
rejoin() {
	local n=$1
	if ! wait_role "$n" replica 60; then
		echo "ha: pg$n did not rejoin as a replica" >&2
		return 1
	fi
	if ! read_only "$n"; then
		echo "ha: pg$n accepts writes after rejoining" >&2
		return 1
	fi
	if grep -q 'running pg_rewind' "$tmp/log/patroni$n.log"; then
		echo "ha: pg$n rejoined as a read-only standby (pg_rewind ran)"
	else
		echo "ha: pg$n rejoined as a read-only standby"
	fi
	return 0
}

checks_failed=0
sync_standby() {
	ha patronictl list -f json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m.get("Role") == "Sync Standby":
        print(m["Member"])'
}

# inject FAULT START: the fault; sets "limit" (seconds allowed).
inject() {
	local l n pid pmpid port
	case $1 in
	kill_primary)
		limit=$pg_limit
		l=$(ha leader); n=$(member_of "$l")
		read -r _ _ _ pid pmpid <<< "$(ha member "$n")"
		kill -9 "$pid" "$pmpid"
		echo "$n" > "$tmp/victim" ;;
	switchover)
		limit=$pg_limit
		l=$(ha leader)
		ha patronictl switchover --leader "$l" \
		    --candidate "$(sync_standby)" --force > "$tmp/switch.log" 2>&1 ||
		    { cat "$tmp/switch.log"; checks_failed=1; } ;;
	redis_master)
		limit=$redis_limit
		port=$(ha redis-master | cut -d' ' -f2)
		n=$((port - base - 40))
		echo "$n" > "$tmp/victim"
		kill -9 "$(cat "$tmp/redis$n.pid")" ;;
	partition)
		limit=$partition_limit
		l=$(ha leader); n=$(member_of "$l")
		echo "$n" > "$tmp/victim"
		kill -STOP "$(cat "$tmp/etcd$n.pid")" ;;
	esac
}

# heal FAULT: undo it, and check the member rejoins without split brain.
heal() {
	local n
	case $1 in
	kill_primary)
		n=$(cat "$tmp/victim")
		ha member-start "$n"
		rejoin "$n" || checks_failed=1 ;;
	redis_master)
		n=$(cat "$tmp/victim")
		[ "$(ha redis-master | cut -d' ' -f2)" != $((base + 40 + n)) ] ||
		    { echo "ha: Sentinel did not promote the replica" >&2
		    checks_failed=1; }
		# Back as a replica of the new master (Sentinel reconfigures it).
		ha redis-start "$n" ;;
	partition)
		# resume_watch ran under load; now, the load stopped: the one
		# primary has every booking acknowledged so far, and the member
		# that was cut off follows it, read-only.
		n=$(cat "$tmp/victim")
		missing=$(acknowledged_missing)
		if [ "$missing" != 0 ]; then
			echo "ha: after the partition the primary lacks $missing" \
			    "acknowledged bookings" >&2
			checks_failed=1
		fi
		rejoin "$n" || checks_failed=1 ;;
	esac
}

is_primary() { case $(ha role "$1") in primary|master) return 0 ;; esac; return 1; }

# resume_watch: the partition's end, under load. While cut off the member
# must have stopped being primary; then its etcd member is resumed (its
# Patroni sees the DCS again, possibly stale at first) and for $watch s
# every member's role is read every half second: the member cut off must
# never be primary again, nor two members primary at once, nor its
# Patroni log a promotion; at the end exactly one member is primary.
resume_watch() {
	local n m p i ok=0 lines who back='' two=''
	n=$(cat "$tmp/victim")
	if is_primary "$n"; then
		echo "ha: pg$n is still primary while partitioned" >&2
		ok=1
	fi
	lines=$(wc -l < "$tmp/log/patroni$n.log")
	kill -CONT "$(cat "$tmp/etcd$n.pid")"
	for i in $(seq 1 $((watch * 2))); do
		p=0 who=
		for m in 1 2 3; do
			is_primary "$m" && { p=$((p + 1)); who="$who pg$m"; }
		done
		case " $who " in
		*" pg$n "*) [ -n "$back" ] || echo "ha: pg$n, cut off before," \
		    "is primary again $((i / 2)) s after its etcd member" \
		    "resumed" >&2
		    back=1 ;;
		esac
		[ "$p" -gt 1 ] && [ -z "$two" ] && { two=1
		    echo "ha: two primaries at once:$who" >&2; }
		sleep 0.5
	done
	[ -z "$back$two" ] || ok=1
	if tail -n +"$((lines + 1))" "$tmp/log/patroni$n.log" |
	    grep -q 'promoted self to leader'; then
		echo "ha: pg$n promoted itself after its etcd member resumed" >&2
		ok=1
	fi
	if [ "$p" != 1 ]; then
		echo "ha: $p primaries after the partition:$who" >&2
		ok=1
	fi
	return $ok
}

# How many bookings answered 201 so far are not on the primary (by id and
# Idempotency-Key). Read-only: it answers on a primary that cannot commit.
acknowledged_missing() {
	{
		echo "SELECT count(*) FROM (VALUES (NULL::text, NULL::bigint)"
		awk -F, '$3 == 201 { print ",('"'"'" $2 "'"'"', " $4 ")" }' \
		    "$tmp/answers"
		echo ") a (key, booking) WHERE a.key IS NOT NULL AND NOT EXISTS"
		echo "(SELECT 1 FROM bookings b WHERE b.id = a.booking"
		echo "AND b.idempotency_key = a.key);"
	} | psql -f - || echo unknown
}

max_outage=0
idx=0
for fault in $faults; do
	rm -f "$tmp/stop"
	pids=
	for c in $(seq 0 $((clients - 1))); do
		client "$fault" "$c" "$(sed -n "$((c + 1))p" "$tmp/tokens")" \
		    $((idx * shows_per_fault)) &
		pids="$pids $!"
	done
	sleep 2
	inject "$fault"
	# A partitioned primary serves until it notices: the window starts
	# when it stepped down.
	if [ "$fault" = partition ]; then
		for _ in $(seq 1 60); do
			case $(ha role "$(cat "$tmp/victim")") in
			primary|master) sleep 0.5 ;;
			*) break ;;
			esac
		done
	fi
	# The load goes on for the allowed outage and $after seconds more:
	# the service must be back within it (outage_of below).
	sleep $((limit + after))
	[ "$fault" = partition ] && { resume_watch || checks_failed=1; }
	touch "$tmp/stop"
	wait $pids
	heal "$fault"
	idx=$((idx + 1))
done

# The longest time without a 201 in each fault's load, up to its last
# answer (a load that ends without service counts to its end).
outage_of() {
	psql -c "SELECT round(coalesce(max(d), 0)::numeric, 1) FROM (SELECT
	    t - lag(t) OVER (ORDER BY t) AS d FROM ha_answers
	    WHERE fault = '$1' AND status = 201
	    UNION ALL SELECT max(t) - max(t) FILTER (WHERE status = 201)
	    FROM ha_answers WHERE fault = '$1') g"
}

# The figures, on the primary at the end (it has every member's history).
patroni_wait_db() {
	for _ in $(seq 1 60); do
		psql -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
patroni_wait_db || { echo "ha: no primary at the end" >&2; exit 1; }
psql -c "\\copy ha_answers (fault, key, status, booking, t, seats) FROM '$tmp/answers' WITH (FORMAT csv)" ||
    exit 1

# Replays: up to 20 acknowledged keys a fault, sent again; each must
# answer the booking it answered the first time.
idem_twice=0
: > "$tmp/replays"
[ $checks_failed = 0 ] || echo "ha: no replays: a violation is already" \
    "recorded (each replay may wait 30 s on a broken cluster)"
[ $checks_failed = 0 ] && psql -c "SELECT key, split_part(seats, ':', 1), split_part(seats, ':', 2),
    booking FROM (SELECT *, row_number() OVER (PARTITION BY fault
    ORDER BY key) AS n FROM ha_answers WHERE status = 201) a
    WHERE n <= 20" > "$tmp/replays"
while IFS='|' read -r key show seat id; do
	c=${key#ha-*-}; c=${c%%-*}
	for _ in 1 2 3 4 5; do
		r=$(book "$key" "$show" "$seat" \
		    "$(sed -n "$((c + 1))p" "$tmp/tokens")")
		[ "${r% *}" -lt 500 ] && break
		sleep 1
	done
	if [ "${r#* }" != "$id" ]; then
		echo "ha: key $key answered booking ${r#* } (${r% *}), first $id" >&2
		idem_twice=$((idem_twice + 1))
	fi
done < "$tmp/replays"

printf '%-13s %8s %5s %9s %11s %10s %8s\n' fault requests 201s 5xx \
    ack_missing seats_twice outage_s
total_missing=0
total_5xx=0
for fault in $faults; do
	read -r requests created fivexx missing c5xx <<< "$(psql -F' ' -c "
	    SELECT count(*), count(*) FILTER (WHERE status = 201),
	    count(*) FILTER (WHERE status >= 500 OR status = 0),
	    count(*) FILTER (WHERE status = 201 AND NOT EXISTS (SELECT 1
	        FROM bookings b WHERE b.id = a.booking
	        AND b.idempotency_key = a.key)),
	    count(*) FILTER (WHERE status >= 500 AND EXISTS (SELECT 1
	        FROM bookings b WHERE b.idempotency_key = a.key))
	    FROM ha_answers a WHERE fault = '$fault'")"
	out=$(outage_of "$fault")
	limit=$pg_limit
	[ "$fault" = redis_master ] && limit=$redis_limit
	[ "$fault" = partition ] && limit=$partition_limit
	if awk "BEGIN { exit !($out > $limit) }"; then
		echo "ha: $fault: no booking for ${out}s (limit ${limit}s)" >&2
		checks_failed=1
	fi
	awk "BEGIN { exit !($out > $max_outage) }" && max_outage=$out
	# Back by the end: the load's last answer was a booking.
	if [ "$(psql -c "SELECT status FROM ha_answers WHERE fault = '$fault'
	    ORDER BY t DESC LIMIT 1")" != 201 ]; then
		echo "ha: $fault: the load ended without service" >&2
		checks_failed=1
	fi
	total_missing=$((total_missing + missing))
	total_5xx=$((total_5xx + c5xx))
	printf '%-13s %8s %5s %9s %11s %10s %8s\n' "$fault" "$requests" \
	    "$created" "$fivexx" "$missing" - "$out"
	if [ "$fault" = switchover ] && [ "$fivexx" -gt "$clients" ]; then
		echo "ha: switchover failed $fivexx bookings (more than the" \
		    "$clients in flight)" >&2
		checks_failed=1
	fi
done
twice=$(psql -c "SELECT count(*) FROM (SELECT seat_id FROM booking_seats
    WHERE live GROUP BY seat_id HAVING count(*) > 1) d")
halfwr=$(psql -c "SELECT count(*) FROM bookings b WHERE NOT EXISTS
    (SELECT 1 FROM booking_seats s WHERE s.booking_id = b.id)")
echo "seats in two live bookings: $twice; bookings without seats: $halfwr;" \
    "replayed keys answering another booking: $idem_twice"

# Every standby has what the primary has (nothing written on one side).
sleep 1
want=$(psql -c "SELECT count(*) FROM bookings")
for n in 1 2 3; do
	port=$(ha member "$n" | cut -d' ' -f1)
	got=
	for _ in $(seq 1 20); do
		got=$(command psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres \
		    -c 'SELECT count(*) FROM bookings' booking 2>/dev/null)
		[ "$got" = "$want" ] && break
		sleep 0.5
	done
	if [ "$got" != "$want" ]; then
		echo "ha: pg$n has $got bookings, the primary $want" >&2
		checks_failed=1
	fi
done

echo "ha: faults=$nfaults acknowledged_missing=$total_missing" \
    "seats_twice=$twice committed_5xx=$total_5xx max_outage_s=$max_outage"
if [ "$total_missing" != 0 ] || [ "$twice" != 0 ] || [ "$total_5xx" != 0 ] ||
    [ "$halfwr" != 0 ] || [ "$idem_twice" != 0 ] || [ $checks_failed != 0 ]
then
	echo "ha: VIOLATION (see above)"
	for f in "$tmp"/cluster/log/app*.log; do
		echo "---- $(basename "$f") (last 10 lines)"
		tail -n 10 "$f"
	done
	exit 1
fi
