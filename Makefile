# The single entry point. `make run` serves the API with a private
# PostgreSQL and Redis; `make test` runs every test from a fresh machine.

.PHONY: chaos all deps build run stop test unit integration cluster-test \
	migrate rollback bench clean admin cluster cluster-stop image \
	image-test fuzz ha ha-stop ha-bench

all: build

deps:
	@./scripts/deps.sh

# npm.sh first: the docs pages embed files of npm packages (package.json).
build: deps
	@./scripts/npm.sh
	@./scripts/build.sh

run: build
	@./scripts/run.sh

stop:
	@./scripts/stop.sh

# make admin EMAIL=someone@example.com: that (registered) user becomes an
# admin, in the database of `make run` unless DATABASE_URL says otherwise.
admin: build
	@./scripts/admin.sh "$(EMAIL)"

test: build
	@./scripts/test.sh

unit: build
	@./scripts/test.sh unit

integration: build
	@./scripts/test.sh integration

cluster-test: build
	@./scripts/test.sh cluster

# Three instances behind HAProxy on https://127.0.0.1:8443 (README, Deploy).
cluster: build
	@./scripts/cluster.sh start

cluster-stop:
	@./scripts/cluster.sh stop

# PostgreSQL under Patroni (3 members, etcd x3), Redis under Sentinel, 3
# instances behind HAProxy on https://127.0.0.1:8443 (docs/ha.md).
ha: build
	@./scripts/deps.sh ha
	@./scripts/ha.sh start

ha-stop:
	@./scripts/ha.sh stop

# Booking throughput on make ha's topology with synchronous replication
# and without, in one run (scripts/ha-bench.sh).
ha-bench: build
	@./scripts/ha-bench.sh

# The container image, built from the Dockerfile with podman (no registry
# needed), and run against a private PostgreSQL and Redis.
image:
	@./scripts/image.sh build

image-test:
	@./scripts/image-test.sh

bench: build
	@./scripts/bench.sh

# Booking load with faults injected one at a time (scripts/chaos.sh): a
# table per fault, non-zero on any violation or a recovery over 5 s.
chaos: build
	@./scripts/chaos.sh

# libFuzzer harnesses under ASan/UBSan, FUZZ_SECONDS (default 60) each.
fuzz: build
	@./scripts/fuzz.sh run

clean:
	rm -rf build
