#!/usr/bin/env bash
# make ha / make ha-stop: the service with no single database or Redis
# machine, on one host, without containers (docs/ha.md):
#
#   etcd x3 (the DCS)  <--  Patroni x3, each running one PostgreSQL:
#                           one primary, a synchronous standby, a standby
#   Redis master + replica, watched by 3 Sentinels
#   booking x3 (scripts/cluster.sh) behind HAProxy on https://127.0.0.1:8443
#
# The instances find the primary themselves: DATABASE_URL lists all three
# PostgreSQL members with target_session_attrs=read-write, so libpq skips
# standbys and dead members at each (re)connect; REDIS_SENTINELS lists the
# Sentinels, which the instances ask for the Redis master.
#
#   scripts/ha.sh start        start what is not running
#   scripts/ha.sh stop         stop everything, by PID
#   scripts/ha.sh status       patronictl list, the Redis master, HAProxy
#   scripts/ha.sh env          the instances' settings (DATABASE_URL ...)
#   scripts/ha.sh patronictl ARGS...   patronictl with this cluster's config
#   scripts/ha.sh leader       the name of the PostgreSQL leader (pg1..pg3)
#   scripts/ha.sh role N       member N's role (primary, replica)
#   scripts/ha.sh member N     "pgport apiport etcdport patronipid pgpid"
#   scripts/ha.sh member-start N   start member N's Patroni (it rejoins)
#   scripts/ha.sh redis-master "host port" of the Redis master (Sentinel)
#   scripts/ha.sh redis-start N    start Redis N (1 or 2) again
#
# Settings (environment): HA_DIR (var/ha), HA_BASE_PORT (22300: etcd
# clients base+1..3, etcd peers base+11..13, PostgreSQL base+21..23,
# Patroni REST base+31..33, Redis base+41 (master) and base+42, Sentinels
# base+51..53; all below the ephemeral port range), HA_PORT (8443),
# HA_APP_PORTS ("8444 8445 8446"), HA_STATS_PORT (8404), HA_FSYNC (on),
# HA_SEED (1: load the demo data into an empty database).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/services.sh"

dir=${HA_DIR:-$root/var/ha}
base=${HA_BASE_PORT:-22300}
scope=booking-ha
master_name=booking

etcd_port() { echo $((base + $1)); }
peer_port() { echo $((base + 10 + $1)); }
pg_port() { echo $((base + 20 + $1)); }
api_port() { echo $((base + 30 + $1)); }
redis_port() { echo $((base + 40 + $1)); }
sentinel_port() { echo $((base + 50 + $1)); }

alive() {
	[ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pidfile FILE SECONDS [SIGNAL]: signal, wait, then SIGKILL.
stop_pidfile() {
	local file=$1 secs=$2 sig=${3:-TERM} pid
	alive "$file" || { rm -f "$file"; return 0; }
	pid=$(cat "$file")
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	rm -f "$file"
	return 0
}

# Member N's home: its Patroni config, PID file and data directory, owned
# by the PostgreSQL user (as root, a directory under /var/tmp when the
# checkout is closed to that user; pg_datadir in services.sh).
pg_home() {
	local data
	data=$(pg_datadir "$dir/pg$1/data")
	dirname "$data"
}

etcd_start() {
	local i=$1 cluster="" j
	alive "$dir/etcd$i.pid" && return 0
	for j in 1 2 3; do
		cluster="$cluster${cluster:+,}e$j=http://127.0.0.1:$(peer_port "$j")"
	done
	# Heartbeat and election timeouts at twice etcd's defaults: a
	# shared, busy CPU must not make the DCS itself change leaders.
	(exec etcd --name "e$i" --data-dir "$dir/etcd$i" \
	    --listen-client-urls "http://127.0.0.1:$(etcd_port "$i")" \
	    --advertise-client-urls "http://127.0.0.1:$(etcd_port "$i")" \
	    --listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
	    --initial-cluster "$cluster" --initial-cluster-token "$scope" \
	    --initial-cluster-state new --heartbeat-interval 200 \
	    --election-timeout 2000 --snapshot-count 5000 \
	    --quota-backend-bytes 104857600 \
	    ) >> "$dir/log/etcd$i.log" 2>&1 < /dev/null &
	echo $! > "$dir/etcd$i.pid"
}

etcd_wait() {
	local i
	for i in $(seq 1 300); do
		ETCDCTL_API=3 etcdctl --dial-timeout=1s \
		    --endpoints "http://127.0.0.1:$(etcd_port 1)" \
		    endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "ha: etcd did not become healthy; see $dir/log/etcd1.log" >&2
	return 1
}

# The timeouts, short enough for a failover well within 15 s:
# - ttl 7: the leader key lives 7 s after its holder stops renewing it.
#   A dead primary is replaced after at most ttl + loop_wait (8 s), plus
#   the promotion itself.
# - loop_wait 1: each Patroni runs its loop (renew, check, act) every
#   second; cheap with three members.
# - retry_timeout 3: how long etcd and PostgreSQL operations are retried
#   before Patroni gives up; a primary that cannot renew its key for that
#   long demotes itself. loop_wait + 2 * retry_timeout <= ttl, so it has
#   stepped down before anyone else can take the key.
# - synchronous_mode with synchronous_mode_strict: a commit returns only
#   once the synchronous standby has flushed it, and with no standby at
#   all writes wait rather than go unreplicated: an acknowledged booking
#   is on two machines. Only that standby may be promoted by Patroni.
# - maximum_lag_on_failover 1 MB: the asynchronous standby (which may
#   lag) is never promoted more than 1 MB behind; in synchronous mode the
#   synchronous standby is the one that counts.
# - use_pg_rewind with wal_log_hints: an old primary rejoins as a
#   standby by rewinding, not by a full copy; use_slots: a standby that is
#   down does not lose the WAL it still needs.
# Small PostgreSQLs: the machine is shared (shared_buffers 16MB,
# max_connections 40: three instances with Kore's 2 connections each,
# the tests and Patroni).
patroni_config() {
	local i=$1 home=$2 bindir
	bindir=$(pg_bindir)
	cat <<YML
# Generated by scripts/ha.sh; edits are overwritten.
scope: $scope
namespace: /booking/
name: pg$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(api_port "$i")
  connect_address: 127.0.0.1:$(api_port "$i")
# Only this member's own etcd, as a proxy (no discovery of the other
# etcd members): cutting it off from that etcd member is a network
# partition from the DCS (the test does that), and it must demote itself.
etcd3:
  hosts: 127.0.0.1:$(etcd_port "$i")
  use_proxies: true
bootstrap:
  dcs:
    ttl: 7
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    synchronous_node_count: 1
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_connections: 40
        shared_buffers: 16MB
        max_wal_senders: 6
        max_replication_slots: 6
        wal_keep_size: 128MB
        fsync: "${HA_FSYNC:-on}"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  # Loopback only, trusted as in make run and make cluster.
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$(pg_port "$i")
  connect_address: 127.0.0.1:$(pg_port "$i")
  data_dir: $home/data
  bin_dir: $bindir
  pgpass: $home/pgpass
  authentication:
    superuser:
      username: postgres
      password: $(cat "$dir/pg_password")
    replication:
      username: replicator
      password: $(cat "$dir/pg_password")
    rewind:
      username: postgres
      password: $(cat "$dir/pg_password")
  parameters:
    unix_socket_directories: $home
YML
}

patroni_start() {
	local i=$1 home
	home=$(pg_home "$i")
	if [ -f "$home/patroni.pid" ] &&
	    kill -0 "$(cat "$home/patroni.pid")" 2>/dev/null; then
		return 0
	fi
	mkdir -p "$home"
	[ "$(id -u)" -eq 0 ] && chown "$PG_USER_NAME" "$home"
	chmod 700 "$home"
	patroni_config "$i" "$home" > "$dir/patroni$i.yml"
	as_pg tee "$home/patroni.yml" < "$dir/patroni$i.yml" >/dev/null
	# Patroni with its etcd v3 module corrected (deploy/ha/patroni-run:
	# the leader key renewed only while it names this member, reads
	# linearizable), copied next to its config: as root the checkout
	# may be closed to the PostgreSQL user.
	as_pg tee "$home/patroni-run" < "$root/deploy/ha/patroni-run" >/dev/null
	# The PID is Patroni's own (exec), not the runuser's around it.
	(as_pg sh -c 'echo $$ > "$1"; exec /usr/bin/python3 "$2" "$3"' sh \
	    "$home/patroni.pid" "$home/patroni-run" "$home/patroni.yml" \
	    ) >> "$dir/log/patroni$i.log" 2>&1 < /dev/null &
	for _ in $(seq 1 50); do
		[ -s "$home/patroni.pid" ] && break
		sleep 0.1
	done
}

# The PostgreSQL postmaster of member N (empty when none runs).
postmaster_pid() {
	local f
	f="$(pg_home "$1")/data/postmaster.pid"
	[ -f "$f" ] && head -n 1 "$f"
	return 0
}

patroni_pid() {
	local f
	f="$(pg_home "$1")/patroni.pid"
	[ -f "$f" ] && cat "$f"
	return 0
}

patronictl_() {
	patronictl -c "$dir/patroni1.yml" "$@"
}

# The member's role from its REST API: "primary", "replica", or nothing.
member_role() {
	curl -s --max-time 2 "http://127.0.0.1:$(api_port "$1")/patroni" |
	    sed -n 's/.*"role": *"\([a-z_]*\)".*/\1/p'
}

leader() {
	local i
	for i in 1 2 3; do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "http://127.0.0.1:$(api_port "$i")/leader")" = 200 ]; then
			echo "pg$i"
			return 0
		fi
	done
	return 1
}

# Until there is a leader and a synchronous standby streaming from it.
patroni_wait() {
	local secs=${1:-120} i
	for i in $(seq 1 $((secs * 2))); do
		if leader >/dev/null && [ "$(psql -X -qtA "$(database_url)" \
		    -c "SELECT count(*) FROM pg_stat_replication
		    WHERE sync_state = 'sync' AND state = 'streaming'" \
		    2>/dev/null)" = 1 ]; then
			return 0
		fi
		sleep 0.5
	done
	echo "ha: no primary with a synchronous standby after ${secs}s" >&2
	patronictl_ list >&2 || true
	return 1
}

database_url() {
	echo "postgresql://postgres@127.0.0.1:$(pg_port 1),127.0.0.1:$(pg_port 2),127.0.0.1:$(pg_port 3)/${1:-postgres}?target_session_attrs=read-write&connect_timeout=2"
}

redis_node_start() {
	local i=$1 extra=()
	alive "$dir/redis$i.pid" && return 0
	[ "$i" = 2 ] && extra=(--replicaof 127.0.0.1 "$(redis_port 1)")
	mkdir -p "$dir/redis$i"
	redis-server --bind 127.0.0.1 --port "$(redis_port "$i")" \
	    --daemonize yes --pidfile "$dir/redis$i.pid" \
	    --dir "$dir/redis$i" --logfile "$dir/log/redis$i.log" \
	    --save "" --appendonly no --maxmemory "${REDIS_MAXMEMORY:-64mb}" \
	    --maxmemory-policy allkeys-lru "${extra[@]}" >/dev/null
	for _ in $(seq 1 50); do
		[ -s "$dir/redis$i.pid" ] && return 0
		sleep 0.1
	done
}

# Quorum 2 of 3; a master unanswering for 2 s is down (the service
# follows within 10 s: 2 s to notice, the election, the promotion).
sentinel_start() {
	local i=$1
	alive "$dir/sentinel$i.pid" && return 0
	mkdir -p "$dir/sentinel$i"
	cat > "$dir/sentinel$i/sentinel.conf" <<CONF
bind 127.0.0.1
port $(sentinel_port "$i")
daemonize yes
pidfile $dir/sentinel$i.pid
logfile $dir/log/sentinel$i.log
dir $dir/sentinel$i
sentinel monitor $master_name 127.0.0.1 $(redis_port 1) 2
sentinel down-after-milliseconds $master_name 2000
sentinel failover-timeout $master_name 10000
sentinel parallel-syncs $master_name 1
CONF
	redis-sentinel "$dir/sentinel$i/sentinel.conf" >/dev/null
	for _ in $(seq 1 50); do
		[ -s "$dir/sentinel$i.pid" ] && return 0
		sleep 0.1
	done
}

# "host port" of the Redis master as the Sentinels see it.
redis_master() {
	local i
	for i in 1 2 3; do
		redis-cli -h 127.0.0.1 -p "$(sentinel_port "$i")" --raw \
		    SENTINEL get-master-addr-by-name "$master_name" \
		    2>/dev/null | paste -sd' ' | grep . && return 0
	done
	return 1
}

sentinels() {
	echo "127.0.0.1:$(sentinel_port 1),127.0.0.1:$(sentinel_port 2),127.0.0.1:$(sentinel_port 3)"
}

# What cluster.sh runs the instances with, on top of its own settings.
ha_env() {
	export CLUSTER_DIR="$dir/cluster"
	export CLUSTER_PORT=${HA_PORT:-8443}
	export CLUSTER_APP_PORTS=${HA_APP_PORTS:-"8444 8445 8446"}
	export CLUSTER_STATS_PORT=${HA_STATS_PORT:-8404}
	export CLUSTER_SEED=${HA_SEED:-1}
	export CLUSTER_DATABASE_URL
	CLUSTER_DATABASE_URL=$(database_url booking)
	export CLUSTER_REDIS_URL="redis://127.0.0.1:$(redis_port 1)/0"
	export REDIS_SENTINELS
	REDIS_SENTINELS=$(sentinels)
	export REDIS_MASTER_NAME=$master_name
}

cmd_start() {
	local i
	for t in etcd patroni redis-sentinel haproxy; do
		command -v "$t" >/dev/null || { echo "ha: $t is not installed" \
		    "(scripts/deps.sh ha installs it as root)" >&2; exit 1; }
	done
	mkdir -p "$dir/log" "$dir/cluster"
	[ -s "$dir/pg_password" ] || (umask 077;
	    openssl rand -hex 16 > "$dir/pg_password")

	for i in 1 2 3; do etcd_start "$i"; done
	etcd_wait
	# The first member bootstraps; the others then copy it.
	patroni_start 1
	for _ in $(seq 1 240); do
		leader >/dev/null && break
		sleep 0.5
	done
	leader >/dev/null || { echo "ha: pg1 did not bootstrap; see" \
	    "$dir/log/patroni1.log" >&2; tail -n 20 "$dir/log/patroni1.log" >&2
	    exit 1; }
	patroni_start 2
	patroni_start 3
	patroni_wait 120
	psql -X -q "$(database_url)" -c 'SELECT 1' >/dev/null
	if ! psql -X -qtA "$(database_url)" -c "SELECT 1 FROM pg_database
	    WHERE datname = 'booking'" | grep -q 1; then
		psql -X -q "$(database_url)" -c 'CREATE DATABASE booking'
	fi

	redis_node_start 1
	redis_node_start 2
	for i in 1 2 3; do sentinel_start "$i"; done

	ha_env
	# Its lines about itself (drain, cluster-stop) do not apply here.
	"$root/scripts/cluster.sh" start |
	    sed -n 's/^cluster:/ha:/p; /^  to /p; /curl -sk/p; /^seeded/p'
	echo "ha: PostgreSQL under Patroni (leader $(leader)); Redis master" \
	    "$(redis_master) under Sentinel"
	echo "  scripts/ha.sh status; logs: $dir/log/, $dir/cluster/log/;" \
	    "stop everything with: make ha-stop"
}

cmd_stop() {
	local i home
	ha_env
	"$root/scripts/cluster.sh" stop || true
	# Each Patroni stops its PostgreSQL (fast shutdown) before exiting.
	for i in 1 2 3; do
		home=$(pg_home "$i")
		[ -f "$home/patroni.pid" ] || continue
		stop_pidfile "$home/patroni.pid" 30
	done
	# A PostgreSQL left behind by a Patroni killed with -9.
	for i in 1 2 3; do
		home=$(pg_home "$i")
		[ -f "$home/data/postmaster.pid" ] || continue
		as_pg "$(pg_bindir)/pg_ctl" -D "$home/data" -m immediate -w \
		    stop >/dev/null 2>&1 || true
	done
	for i in 1 2 3; do stop_pidfile "$dir/sentinel$i.pid" 5; done
	for i in 1 2; do stop_pidfile "$dir/redis$i.pid" 5; done
	for i in 1 2 3; do
		# A stopped (SIGSTOP) etcd would never exit on SIGTERM.
		alive "$dir/etcd$i.pid" && kill -CONT "$(cat "$dir/etcd$i.pid")"
		stop_pidfile "$dir/etcd$i.pid" 10
	done
	echo "ha: stopped"
}

cmd_status() {
	patronictl_ list || true
	echo "redis master: $(redis_master || echo unknown)"
	ha_env
	"$root/scripts/cluster.sh" status || true
}

case "${1:-start}" in
start)	cmd_start ;;
stop)	cmd_stop ;;
status)	cmd_status ;;
env)	ha_env; env | grep -E '^(CLUSTER_|REDIS_SENTINELS|REDIS_MASTER)' ;;
patronictl) shift; patronictl_ "$@" ;;
leader)	leader ;;
role)	member_role "${2:?usage: ha.sh role N}" ;;
member)	i=${2:?usage: ha.sh member N}
	echo "$(pg_port "$i") $(api_port "$i") $(etcd_port "$i")" \
	    "$(patroni_pid "$i") $(postmaster_pid "$i")" ;;
redis-master) redis_master ;;
member-start) patroni_start "${2:?usage: ha.sh member-start N}" ;;
redis-start) redis_node_start "${2:?usage: ha.sh redis-start N}" ;;
*)	echo "usage: ha.sh start|stop|status|env|patronictl ARGS|leader|" \
	    "role N|member N|redis-master" >&2
	exit 2 ;;
esac
