# A throwaway stack for the scripts that load the service (make bench,
# make chaos, scripts/profile-booking.sh): a private PostgreSQL, Redis and
# server on free loopback ports under one temporary directory, everything
# stopped by PID by stack_stop. Sourced (it sources services.sh); it sets
# these variables of the caller:
#
#   tmp        the directory (server.log, pg/, redis/, cert/)
#   port pgport redisport    set them before stack_init to choose
#   db         the database's URL
#   secret     the JWT secret the server was given (to mint tokens)
#   server_pid
#
#   stack_need BIN TOOL...   says what is missing (the server binary
#                            BIN, or a command) and fails
#   stack_init NAME          the directory and the ports
#   trap stack_stop EXIT INT TERM
#   stack_services DBNAME    PostgreSQL (PG_FSYNC=off if the caller says
#                            so), the database, Redis, a certificate, and
#                            the server's environment exported
#   stack_server_start BIN [WRAPPER...]  the server (under WRAPPER, e.g.
#                            valgrind), healthy within STACK_WAIT s (30)
#   stack_server_stop        SIGTERM, then SIGKILL after 10 s
#   stack_users PREFIX N FILE  N users and a token each: "uid token" lines
#   stack_venue NAME SCREENS SEATS  a movie, a theatre, SCREENS screens
#                            with one show each, 30 days ahead, and SEATS
#                            seats a show in row A, seat ids in order
stack_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$stack_root/scripts/services.sh"

stack_need() {
	local bin=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$tool is missing" >&2
		    return 1; }
	done
	[ -x "$bin" ] || { echo "$bin is missing (make build)" >&2; return 1; }
}

stack_init() {
	tmp=$(mktemp -d "/tmp/booking-$1.XXXXXX")
	chmod 755 "$tmp"
	server_pid=
	[ -n "${port:-}" ] || port=$(free_port)
	[ -n "${pgport:-}" ] || pgport=$(free_port)
	[ -n "${redisport:-}" ] || redisport=$(free_port)
}

stack_services() {
	pg_start "$tmp/pg" "$pgport" || return 1
	pg_createdb "$pgport" "$1" || return 1
	redis_start "$tmp/redis" "$redisport" || return 1
	make_cert "$tmp/cert"

	db="postgresql://postgres@127.0.0.1:$pgport/$1"
	secret=$(openssl rand -hex 32)
	export DATABASE_URL="$db" REDIS_URL="redis://127.0.0.1:$redisport/0"
	export JWT_SECRET="$secret" PORT=$port
	export MIGRATIONS_DIR="$stack_root/migrations"
	# Loads come from one address: no per-address read limit.
	export RATE_LIMIT_READS=${RATE_LIMIT_READS:-1000000}
	export PAYMENT_WEBHOOK_SECRET=$(openssl rand -hex 32)
	export TLS_CERT="$tmp/cert/server.pem" TLS_KEY="$tmp/cert/key.pem"
}

stack_server_start() {
	local bin=$1
	shift
	(cd "$tmp" && exec "$@" "$bin" -f -n -r >> "$tmp/server.log" 2>&1) &
	server_pid=$!
	if ! wait_health "https://127.0.0.1:$port/api/health" \
	    "${STACK_WAIT:-30}"; then
		echo "the server did not start:" >&2
		tail -n 20 "$tmp/server.log" >&2
		return 1
	fi
}

stack_server_stop() {
	[ -n "$server_pid" ] || return 0
	stop_tree "$server_pid"
	wait "$server_pid" 2>/dev/null
	server_pid=
}

stack_stop() {
	# A Redis left stopped (SIGSTOP) would never stop.
	[ -f "$tmp/redis/redis.pid" ] &&
	    kill -CONT "$(cat "$tmp/redis/redis.pid")" 2>/dev/null
	stack_server_stop
	redis_stop "$tmp/redis"
	pg_stop "$tmp/pg"
	rm -rf "$tmp" 2>/dev/null
}

stack_psql() {
	command psql -q -X -v ON_ERROR_STOP=1 "$db" "$@"
}

# HS256 tokens with the claims token.c checks, minted in one statement
# with pgcrypto (a thousand openssl runs take minutes).
stack_users() {
	local prefix=$1 n=$2 file=$3
	stack_psql -c "CREATE EXTENSION IF NOT EXISTS pgcrypto;
	    INSERT INTO users (name, email, password_hash)
	    SELECT '$prefix ' || g, '$prefix' || g || '@example.test', '!'
	    FROM generate_series(1, $n) g" || return 1
	stack_psql -tA -v secret="$secret" -v now="$(date +%s)" \
	    > "$file" <<'SQL'
CREATE FUNCTION pg_temp.b64url(bytea) RETURNS text LANGUAGE sql AS $$
	SELECT translate(replace(rtrim(encode($1, 'base64'), '='), E'\n', ''),
	    '+/', '-_') $$;
SELECT id || ' ' || hp || '.' || pg_temp.b64url(hmac(hp, :'secret',
    'sha256'))
FROM (SELECT id, pg_temp.b64url('{"alg":"HS256","typ":"JWT"}') || '.' ||
    pg_temp.b64url(convert_to(json_build_object('sub', id::text,
    'role', 'user', 'jti', md5(random()::text || id),
    'sid', gen_random_uuid()::text, 'iss', 'booking',
    'aud', 'booking-api', 'iat', :now, 'exp', :now + 3600)::text, 'UTF8'))
    AS hp FROM users ORDER BY id) t;
SQL
}

stack_venue() {
	stack_psql -c "
	    INSERT INTO movies (title, duration_minutes) VALUES ('$1', 100);
	    INSERT INTO theatres (name, city, timezone)
	        VALUES ('$1', '${1}ville', 'UTC');
	    INSERT INTO screens (theatre_id, name)
	        SELECT (SELECT id FROM theatres), 'S' || g
	        FROM generate_series(1, $2) g;
	    INSERT INTO shows (movie_id, screen_id, start_time, end_time)
	        SELECT (SELECT id FROM movies), sc.id,
	            now() + interval '30 days',
	            now() + interval '30 days 2 hours'
	        FROM screens sc ORDER BY sc.id;
	    INSERT INTO seats (show_id, row_label, number, tier, price_cents)
	        SELECT s.id, 'A', g, 'standard', 1200
	        FROM shows s CROSS JOIN generate_series(1, $3) g
	        ORDER BY s.id, g;"
}
