# The single entry point. `make run` serves the API with a private
# PostgreSQL and Redis; `make test` runs every test from a fresh machine.

.PHONY: all deps build run stop test unit integration migrate rollback \
	bench clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	@./scripts/build.sh

run: build
	@./scripts/run.sh

stop:
	@./scripts/stop.sh

test: build
	@./scripts/test.sh

unit: build
	@./scripts/test.sh unit

integration: build
	@./scripts/test.sh integration

bench: build
	@./scripts/bench.sh

clean:
	rm -rf build
