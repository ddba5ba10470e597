#!/usr/bin/env bash
# Shell functions to run a private PostgreSQL cluster and Redis on
# loopback, for `make run` and the tests. Source it; nothing here runs by
# itself. PostgreSQL refuses to run as root, so as root the cluster runs
# as the unprivileged system user "booking" (made on first use).

PG_USER_NAME=booking

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
# otherwise one under /var/tmp, linked from $1.
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

# pg_start DATADIR PORT: initialise when new, start, wait until ready.
pg_start() {
	local dir port=$2 bin
	bin=$(pg_bindir) || return 1
	dir=$(pg_datadir "$1")
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
	local dir=$1 pid i
	[ -f "$dir/redis.pid" ] || return 0
	pid=$(cat "$dir/redis.pid")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$dir/redis.pid"
}

# A port nothing listens on, below the kernel's ephemeral range (where
# outgoing connections take their source ports, so a port picked there
# can be taken before the server binds it: "Address already in use"):
# from 10000 up to the range's start (32768 by default).
free_port() {
	local p lo=32768
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    lo=32768
	[ "$lo" -gt 11024 ] || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# stop_tree PID [SECONDS]: SIGTERM to a server, up to SECONDS (10) for it
# to stop its workers and exit; if it did not, SIGKILL to it and to the
# children it had. Kore's workers do not notice their parent's death: a
# parent killed before it stopped them leaves them serving (and holding
# the port).
stop_tree() {
	local pid=$1 secs=${2:-10} kids
	kill -0 "$pid" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# A parent that exited stopped its workers itself.
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" $kids 2>/dev/null
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
