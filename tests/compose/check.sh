#!/usr/bin/env bash
# Checks compose.yaml without running it: the compose tool's own schema
# validation (`docker compose config`, else Debian's docker-compose 1.29,
# which validates against the Compose Specification schema without a
# daemon), then what the deployment promises: the five services, three
# app replicas, health checks, the migration step before the replicas,
# secrets only from the environment (compose refuses to start without
# them), and HAProxy's configuration parsing with `haproxy -c`.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/services.sh"
file="$root/compose.yaml"
tmp=$(mktemp -d /tmp/booking-compose.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() {
	local what=$1
	shift
	if "$@" > "$tmp/out" 2>&1; then
		passed=$((passed + 1))
		echo "compose: ok: $what"
	else
		failed=$((failed + 1))
		echo "compose: FAILED: $what"
		sed 's/^/    /' "$tmp/out" | tail -n 20
	fi
}

if docker compose version >/dev/null 2>&1; then
	compose="docker compose"
elif command -v docker-compose >/dev/null; then
	compose=docker-compose
else
	echo "compose: no compose tool" \
	    "(scripts/deps.sh installs docker-compose)"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "compose: validating with $($compose version 2>/dev/null | head -n 1)"

secrets="POSTGRES_PASSWORD=pg-test-password REDIS_PASSWORD=redis-test-password
JWT_SECRET=compose-test-secret-0123456789abcdef0123
PAYMENT_WEBHOOK_SECRET=compose-test-webhook-0123456789abcdef0
PAYMENT_PROVIDER=stripe"

valid() {
	env $secrets $compose -f "$file" config -q
}
resolved() {
	env $secrets $compose -f "$file" config > "$tmp/resolved.yaml"
}
refuses_without() {
	local missing=$1 out
	out=$(env -u "$missing" $(echo $secrets | tr ' ' '\n' |
	    grep -v "^$missing=") $compose -f "$file" config -q 2>&1)
	[ $? -ne 0 ] && echo "$out" | grep -q "$missing"
}
structure() {
	python3 - "$tmp/resolved.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
# The "ha" profile (docs/ha.md) is checked by ha_profile below.
s = {n: v for n, v in c["services"].items() if not v.get("profiles")}
def need(ok, what):
    if not ok:
        sys.exit("not so: " + what)
need(set(s) == {"postgres", "redis", "migrate", "app", "haproxy"},
     "services are postgres, redis, migrate, app, haproxy: %s" % sorted(s))
need(s["app"].get("deploy", {}).get("replicas") == 3, "app has 3 replicas")
for n in ("postgres", "redis", "app", "haproxy"):
    need("test" in s[n].get("healthcheck", {}), n + " has a healthcheck")
need("migrate" in s["migrate"]["entrypoint"], "migrate runs booking migrate")
dep = s["app"]["depends_on"]
need(dep["migrate"]["condition"] == "service_completed_successfully",
     "app waits for the migration step")
need(dep["postgres"]["condition"] == "service_healthy" and
     dep["redis"]["condition"] == "service_healthy",
     "app waits for healthy postgres and redis")
need(s["app"]["environment"].get("AUTO_MIGRATE") == "0",
     "replicas do not migrate")
need(not s["app"].get("ports"), "replicas are reached only through HAProxy")
need(any(str(p.get("target", p) if isinstance(p, dict) else p).endswith("8443")
         for p in s["haproxy"].get("ports", [])), "HAProxy publishes 8443")
env = s["app"]["environment"]
need(env["JWT_SECRET"] == "compose-test-secret-0123456789abcdef0123",
     "JWT_SECRET comes from the environment")
need(env["PAYMENT_WEBHOOK_SECRET"] ==
     "compose-test-webhook-0123456789abcdef0",
     "PAYMENT_WEBHOOK_SECRET comes from the environment")
need(env.get("PAYMENT_PROVIDER") == "stripe",
     "PAYMENT_PROVIDER comes from the environment")
need(s["migrate"]["environment"].get("PAYMENT_PROVIDER") == "stripe",
     "the migration step gets the same settings")
need("pg-test-password" in env["DATABASE_URL"] and
     "redis-test-password" in env["REDIS_URL"],
     "passwords come from the environment")
print("services:", ", ".join(sorted(s)), "- app replicas:",
      s["app"]["deploy"]["replicas"])
PY
}
# The "ha" profile: make ha's topology (docs/ha.md), services only in it.
ha_profile() {
	python3 - "$tmp/resolved.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
def need(ok, what):
    if not ok:
        sys.exit("not so: " + what)
ha = {n for n, v in s.items() if "ha" in (v.get("profiles") or [])}
want = {"etcd1", "etcd2", "etcd3", "pg1", "pg2", "pg3", "redis-ha-master",
        "redis-ha-replica", "sentinel1", "sentinel2", "sentinel3",
        "migrate-ha", "app-ha", "haproxy-ha"}
need(ha == want, "profile ha has %s: %s" % (sorted(want), sorted(ha)))
for n in want - {"migrate-ha"}:
    need("test" in s[n].get("healthcheck", {}), n + " has a healthcheck")
need(s["app-ha"].get("deploy", {}).get("replicas") == 3,
     "app-ha has 3 replicas")
env = s["app-ha"]["environment"]
url = env["DATABASE_URL"]
need(all(h in url for h in ("pg1:5432", "pg2:5432", "pg3:5432")) and
     "target_session_attrs=read-write" in url,
     "app-ha finds the primary among the three members")
need(env.get("REDIS_SENTINELS", "").count(":26379") == 3 and
     env.get("REDIS_MASTER_NAME"), "app-ha asks the three Sentinels")
need(not s["app-ha"].get("ports"), "app-ha is reached only through HAProxy")
etcd = set()
for n in ("pg1", "pg2", "pg3"):
    e = s[n]["environment"]
    etcd.add(e["PATRONI_ETCD3_HOSTS"])
    need(e["PATRONI_NAME"] == n, n + " is named " + n)
    need("pg-test-password" in e["PATRONI_SUPERUSER_PASSWORD"],
         n + "'s password comes from the environment")
need(len(etcd) == 3, "each Patroni has its own etcd member")
need(all(s[n]["command"][0] == "patroni-run" for n in ("pg1", "pg2", "pg3")),
     "the members run Patroni through patroni-run (docs/ha.md)")
need(s["haproxy-ha"]["environment"]["BOOKING_APP_HOST"] == "app-ha",
     "haproxy-ha balances app-ha")
print("profile ha:", ", ".join(sorted(ha)))
PY
}
no_literal_secret() {
	! grep -nE '^ *-? *[A-Z_]*(PASSWORD|SECRET|AUTH)[A-Z_]*: +[^$ ]' "$file"
}
haproxy_cfg() {
	make_cert "$tmp/cert" || return 1
	cat "$tmp/cert/server.pem" "$tmp/cert/key.pem" > "$tmp/cert/haproxy.pem"
	sed "s|/etc/haproxy/cert|$tmp/cert|g" \
	    "$root/deploy/haproxy-compose.cfg" > "$tmp/haproxy.cfg"
	BOOKING_APP_HOST=app haproxy -c -q -f "$tmp/haproxy.cfg"
}

check "schema ($compose config)" valid
check "resolves" resolved
check "structure" structure
check "profile ha" ha_profile
check "refuses to start without POSTGRES_PASSWORD" \
    refuses_without POSTGRES_PASSWORD
check "refuses to start without REDIS_PASSWORD" refuses_without REDIS_PASSWORD
check "refuses to start without JWT_SECRET" refuses_without JWT_SECRET
check "refuses to start without PAYMENT_WEBHOOK_SECRET" \
    refuses_without PAYMENT_WEBHOOK_SECRET
check "refuses to start without PAYMENT_PROVIDER" \
    refuses_without PAYMENT_PROVIDER
check "no literal password or secret in compose.yaml" no_literal_secret
check "deploy/haproxy-compose.cfg parses (haproxy -c)" haproxy_cfg

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
