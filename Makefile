# The single entry point. `make run` serves the API with a private
# PostgreSQL and Redis; `make test` runs every test from a fresh machine.

.PHONY: chaos all deps deps-test build run stop test unit integration \
	cluster-test migrate rollback bench clean admin cluster cluster-stop \
	image image-test fuzz ha ha-stop ha-bench

all: build

# What building and serving need (Debian packages, then the two npm
# packages the docs pages embed); the test toolchain comes with deps-test.
deps:
	@./scripts/deps.sh run
	@./scripts/npm.sh docs

deps-test:
	@./scripts/deps.sh test
	@./scripts/npm.sh

build: deps
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

cluster-test: build deps-test
	@./scripts/test.sh cluster

# Three instances behind HAProxy on https://127.0.0.1:8443 (docs/deployment.md).
cluster: build deps-test
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

bench: build deps-test
	@./scripts/bench.sh

# Booking load with faults injected one at a time (scripts/chaos.sh): a
# table per fault, non-zero on any violation or a recovery over 5 s.
chaos: build deps-test
	@./scripts/chaos.sh

# libFuzzer harnesses under ASan/UBSan, FUZZ_SECONDS (default 60) each.
fuzz: build deps-test
	@./scripts/fuzz.sh run

# Stops what make run started and removes build/ and var/ (README.md, Files it writes).
clean:
	@./scripts/stop.sh clean
