#!/usr/bin/env bash
# Shell functions to run a private PostgreSQL cluster and Redis on
# loopback, for `make run` and the tests. Source it; nothing here runs by
# itself. PostgreSQL refuses to run as root, so as root the cluster runs
# as the user Debian's postgresql package made, "postgres" (no user is
# created; only where that user is missing, a system user "booking" is).

PG_USER_NAME=postgres
id postgres >/dev/null 2>&1 || PG_USER_NAME=booking

pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || { echo "PostgreSQL server is not installed" >&2; return 1; }
	echo "$d"
}

# Runs a command as the cluster's owner. As root it runs from /: the
# caller's directory (a checkout under /root) may be closed to that user,
# and PostgreSQL's tools then complain that they cannot change into it.
# Every path given to them is absolute.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		if ! id "$PG_USER_NAME" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin \
			    "$PG_USER_NAME"
		fi
		(cd / && runuser -u "$PG_USER_NAME" -- "$@")
	else
		"$@"
	fi
}

# A directory the cluster's owner can reach: $1 itself when it can,
# otherwise (as root, in a checkout the owner cannot enter, e.g. under
# /root) /var/tmp/booking-pg-<hash of $1>, linked from $1; pg_remove
# removes both.
pg_datadir() {
	local want=$1 alt
	mkdir -p "$(dirname "$want")"
	if [ "$(id -u)" -ne 0 ] || as_pg test -x "$(dirname "$want")"; then
		echo "$want"
		return
	fi
	alt=/var/tmp/booking-pg-$(echo "$want" | sha256sum | cut -c1-12)
	mkdir -p "$alt"
	chown "$PG_USER_NAME" "$alt"
	[ -L "$want" ] || { rm -rf "$want"; ln -s "$alt" "$want"; }
	echo "$alt/data"
}

# pg_remove DIR: stops the cluster and removes its data, also the
# /var/tmp directory pg_datadir linked from DIR.
pg_remove() {
	local dir=$1
	pg_stop "$dir"
	if [ -L "$dir" ]; then
		case "$(readlink "$dir")" in
		/var/tmp/booking-pg-*) rm -rf "$(readlink "$dir")" ;;
		esac
	fi
	rm -rf "$dir"
}

# pg_start DATADIR PORT: initialise when new, start, wait until ready.
pg_start() {
	local dir port=$2 bin
	bin=$(pg_bindir) || return 1
	dir=$(pg_datadir "$1")
	# A cluster made by an earlier owner (the former "booking" user).
	if [ "$(id -u)" -eq 0 ] && [ -d "$dir" ] &&
	    [ "$(stat -c %U "$dir")" != "$PG_USER_NAME" ]; then
		chown -R "$PG_USER_NAME" "$dir"
	fi
	if [ ! -f "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		[ "$(id -u)" -eq 0 ] && chown "$PG_USER_NAME" "$dir"
		chmod 700 "$dir"
		as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust \
		    --encoding=UTF8 --locale=C.UTF-8 >/dev/null || return 1
	fi
	if as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		return 0
	fi
	as_pg "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" start \
	    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${PG_FSYNC:-on} -c max_connections=200" \
	    >/dev/null || { cat "$dir/server.log" >&2; return 1; }
}

pg_stop() {
	local dir bin
	bin=$(pg_bindir) || return 0
	dir=$1
	[ -L "$dir" ] && dir=$(readlink "$dir")/data
	[ -f "$dir/postmaster.pid" ] || return 0
	as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_restart DATADIR: a fast restart (every connection is cut), with the
# options it was started with.
pg_restart() {
	local dir bin
	bin=$(pg_bindir) || return 1
	dir=$1
	[ -L "$dir" ] && dir=$(readlink "$dir")/data
	as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 -l "$dir/server.log" \
	    restart >/dev/null 2>&1
}

# pg_createdb PORT NAME: creates the database unless it exists.
pg_createdb() {
	local port=$1 name=$2
	if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc \
	    "SELECT 1 FROM pg_database WHERE datname = '$name'" postgres |
	    grep -q 1; then
		psql -h 127.0.0.1 -p "$port" -U postgres -q \
		    -c "CREATE DATABASE \"$name\"" postgres
	fi
}

# redis_start DIR PORT: a Redis without persistence on 127.0.0.1, bounded
# in memory (REDIS_MAXMEMORY, default 64mb) and never evicting: it holds
# security state (deny list, counters, idempotency records) that must not
# be pushed out, and the cache bounds itself (CACHE_SLOTS x
# CACHE_BODY_MAX_BYTES, docs/security-hardening.md). When full, writes
# fail and the server falls back to PostgreSQL.
redis_start() {
	local dir port=$2 i
	mkdir -p "$1"
	dir=$(cd "$1" && pwd)
	if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null
	then
		return 0
	fi
	redis-server --bind 127.0.0.1 --port "$port" --daemonize yes \
	    --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
	    --save "" --appendonly no --maxmemory "${REDIS_MAXMEMORY:-64mb}" \
	    --maxmemory-policy noeviction >/dev/null || return 1
	for i in $(seq 1 50); do
		redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "redis did not start on port $port" >&2
	return 1
}

redis_stop() {
	local dir=$1
	[ -f "$dir/redis.pid" ] || return 0
	stop_tree "$(cat "$dir/redis.pid")" 5
	rm -f "$dir/redis.pid"
}

# free_port: a loopback port nothing listens on and nobody else was handed,
# below the kernel's ephemeral range (where outgoing connections take their
# source ports, so a port picked there can be taken before the server binds
# it: "Address already in use"): from 10000 up to the range's start.
#
# A port handed out is reserved for as long as the calling script ($$)
# lives: a directory per port under PORT_RESERVE_DIR holding the holder's
# PID, made under an flock so two pickers (this function, or
# test_free_port() in tests/support/client.c, in any checkout) never hand
# out the same port. A reservation whose holder has exited is reused.
PORT_RESERVE_DIR=${PORT_RESERVE_DIR:-/tmp/booking-ports}
free_port() {
	local p lo=32768 fd holder tries
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    lo=32768
	[ "$lo" -gt 11024 ] || lo=32768
	# Shared by every user of the machine: the directory is sticky and
	# world-writable, its files world-writable.
	if [ ! -d "$PORT_RESERVE_DIR" ]; then
		mkdir -p "$PORT_RESERVE_DIR" 2>/dev/null
		chmod 1777 "$PORT_RESERVE_DIR" 2>/dev/null
	fi
	if [ ! -e "$PORT_RESERVE_DIR/lock" ]; then
		: >> "$PORT_RESERVE_DIR/lock"
		chmod 666 "$PORT_RESERVE_DIR/lock" 2>/dev/null
	fi
	exec {fd}<"$PORT_RESERVE_DIR/lock" || return 1
	flock "$fd"
	for tries in $(seq 1 1000); do
		p=$((10000 + RANDOM % (lo - 10000)))
		holder=$(cat "$PORT_RESERVE_DIR/$p" 2>/dev/null)
		# Alive, whoever's it is (kill -0 fails on another user's).
		[ -n "$holder" ] && [ -d "/proc/$holder" ] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		{ echo $$ > "$PORT_RESERVE_DIR/$p"; } 2>/dev/null || continue
		chmod 666 "$PORT_RESERVE_DIR/$p" 2>/dev/null
		exec {fd}<&-
		echo "$p"
		return 0
	done
	exec {fd}<&-
	echo "free_port: no free port below $lo" >&2
	return 1
}

# stop_tree PID [SECONDS] [SIGNAL]: SIGNAL (TERM) to a server, up to
# SECONDS (10) for it to stop its workers and exit; if it did not, SIGKILL
# to it and to the children it had. Kore's workers do not notice their
# parent's death: a parent killed before it stopped them leaves them
# serving (and holding the port). The one way scripts/ and tests/support/
# stop a process they started.
stop_tree() {
	local pid=$1 secs=${2:-10} sig=${3:-TERM} kids
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	# Callers run under set -e: ps says 1 for a process without children,
	# and kill fails for one that exited meanwhile; neither is an error.
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# A parent that exited stopped its workers itself.
	if kill -0 "$pid" 2>/dev/null; then
		echo "pid $pid did not stop in ${secs}s; killing it" >&2
		kill -9 "$pid" $kids 2>/dev/null || true
	fi
	return 0
}

# stop_under DIR: stop_tree every process running inside DIR (its working
# directory there, as a Redis or PostgreSQL a test started in its own
# directory has): a test that fails between starting one and stopping it
# does not leave it behind. By PID, from /proc; a PostgreSQL postmaster
# stops its backends itself.
stop_under() {
	local dir=$1 p cwd
	[ -n "$dir" ] && [ -d /proc ] || return 0
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$cwd" in
		"$dir"/*) stop_tree "${p#/proc/}" 5 ;;
		esac
	done
	return 0
}

# make_cert DIR: a self-signed RSA certificate for localhost/127.0.0.1.
make_cert() {
	local dir=$1
	[ -f "$dir/server.pem" ] && [ -f "$dir/key.pem" ] && return 0
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
	    -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$dir/key.pem" -out "$dir/server.pem" >/dev/null 2>&1
	chmod 600 "$dir/key.pem"
}

# wait_health URL SECONDS: until GET URL answers 200.
wait_health() {
	local url=$1 secs=${2:-20} i
	for i in $(seq 1 $((secs * 10))); do
		[ "$(curl -sk -o /dev/null -w '%{http_code}' "$url")" = 200 ] &&
		    return 0
		sleep 0.1
	done
	return 1
}
