#!/usr/bin/env bash
# make run: everything needed to serve https://127.0.0.1:8888 from a fresh
# machine, with a private PostgreSQL and Redis under var/. Running it again
# is harmless; `make stop` stops what it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/services.sh"

var="$root/var"
PGPORT=${PGPORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
PORT=${PORT:-8888}

mkdir -p "$var/log"
pg_start "$var/pg" "$PGPORT"
pg_createdb "$PGPORT" booking
redis_start "$var/redis" "$REDIS_PORT"
make_cert "$var/cert"
[ -f "$var/jwt_secret" ] || { openssl rand -hex 32 > "$var/jwt_secret";
    chmod 600 "$var/jwt_secret"; }
[ -f "$var/payment_webhook_secret" ] || {
    openssl rand -hex 32 > "$var/payment_webhook_secret";
    chmod 600 "$var/payment_webhook_secret"; }

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/booking"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export JWT_SECRET=$(cat "$var/jwt_secret")
export PAYMENT_WEBHOOK_SECRET=$(cat "$var/payment_webhook_secret")
export TLS_CERT="$var/cert/server.pem" TLS_KEY="$var/cert/key.pem"
export MIGRATIONS_DIR="$root/migrations" PORT

"$root/build/booking" migrate
if [ "$(psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM movies')" = 0 ]; then
	psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$root/migrations/seed.sql"
	echo "seeded demo data"
fi

# The demo admin, made once with a random password kept in var/ so a
# second run can say it again (`make admin EMAIL=...` promotes others).
if [ "$(psql "$DATABASE_URL" -tAc \
    "SELECT count(*) FROM users WHERE role = 'admin'")" = 0 ]; then
	if [ ! -s "$var/admin_password" ]; then
		(umask 077; openssl rand -hex 12 > "$var/admin_password")
	fi
	hash=$("$root/build/booking" hash-password < "$var/admin_password")
	psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -v hash="$hash" <<'SQL'
INSERT INTO users (name, email, password_hash, role)
VALUES ('Demo Admin', 'admin@example.com', :'hash', 'admin')
ON CONFLICT ((lower(email))) DO UPDATE
SET role = 'admin', password_hash = EXCLUDED.password_hash;
SQL
	echo "created the demo admin admin@example.com"
fi

if [ -f "$var/booking.pid" ] && kill -0 "$(cat "$var/booking.pid")" 2>/dev/null
then
	echo "already running (pid $(cat "$var/booking.pid"))"
else
	cd "$var"
	nohup "$root/build/booking" -f -n -r >> "$var/log/booking.log" 2>&1 &
	echo $! > "$var/booking.pid"
	if ! wait_health "https://127.0.0.1:$PORT/api/health" 30; then
		echo "the service did not become healthy; see var/log/booking.log"
		tail -n 20 "$var/log/booking.log"
		exit 1
	fi
fi

cat <<MSG
serving https://127.0.0.1:$PORT (self-signed certificate: curl -k)
  booking page: https://127.0.0.1:$PORT/ (API docs: https://127.0.0.1:$PORT/docs)
  curl -sk https://127.0.0.1:$PORT/api/health
  curl -sk https://127.0.0.1:$PORT/api/movies
logs: var/log/booking.log; stop everything with: make stop
MSG
if [ -s "$var/admin_password" ]; then
	echo "demo admin: admin@example.com, password $(cat "$var/admin_password")"
fi
