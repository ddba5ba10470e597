#!/usr/bin/env bash
# make stop: stops what `make run` started, by PID.
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
redis_stop "$var/redis" && echo "stopped redis"
pg_stop "$var/pg" && echo "stopped postgresql"
