#!/usr/bin/env bash
# make stop: stops what `make run` started, by PID.
# make clean (`scripts/stop.sh clean`): stops it too, then removes what
# make run and make build wrote: build/ and var/ (the database, Redis's
# files, the certificate, the secrets, the logs) and, as root, the
# /var/tmp/booking-pg-<hash> directory var/pg links to.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/services.sh"
var="$root/var"

if [ -f "$var/booking.pid" ]; then
	pid=$(cat "$var/booking.pid")
	if kill -0 "$pid" 2>/dev/null; then
		stop_tree "$pid"
		echo "stopped the service (pid $pid)"
	fi
	rm -f "$var/booking.pid"
fi
if [ -f "$var/redis/redis.pid" ]; then
	redis_stop "$var/redis" && echo "stopped redis"
fi
if [ -e "$var/pg" ]; then
	pg_stop "$var/pg" && echo "stopped postgresql"
fi

if [ "${1:-}" = clean ]; then
	[ -e "$var/pg" ] && pg_remove "$var/pg"
	rm -rf "$var" "$root/build"
	echo "removed build/ and var/"
fi
exit 0
