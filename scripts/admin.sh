#!/usr/bin/env bash
# make admin EMAIL=...: gives an existing user the admin role, in the
# database `make run` serves (or $DATABASE_URL when it is set).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
email=${1:-}
if [ -z "$email" ]; then
	echo "usage: make admin EMAIL=user@example.com" >&2
	exit 2
fi

PGPORT=${PGPORT:-55432}
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:$PGPORT/booking}
exec "$root/build/booking" admin "$email"
