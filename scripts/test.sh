#!/usr/bin/env bash
# make test: Criterion unit tests, a short fuzzing smoke over the
# committed corpus (scripts/fuzz.sh), then integration tests over HTTPS
# against a throwaway PostgreSQL and Redis (tests/support/harness.sh), then
# the checks of the API description (tests/openapi/: lint, routes against
# the description, every response of the integration tests validated
# against it, a generated client's scenario, the docs pages in headless
# Chromium), then the cluster tests against three instances behind HAProxy
# (tests/support/cluster-harness.sh), the compose.yaml check
# (tests/compose/check.sh), the container image built and run with
# podman when podman can run containers here (scripts/image.sh,
# scripts/image-test.sh; otherwise it says why it skipped), and the short
# form of the fault injection run (scripts/chaos.sh --short).
# `scripts/test.sh unit`, `fuzz`, `integration`, `openapi`, `cluster`,
# `compose`, `image` or `chaos` runs one part.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
objs="$root/build/app/booking/.objs"
out="$root/build/tests"
what=${1:-all}
mkdir -p "$out"

CFLAGS="-std=c99 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror
    -Wno-unused-parameter -Wno-missing-field-initializers
    -I$root/build/kore/include -I$root/src -I$objs -I/usr/include/postgresql
    -DKORE_SINGLE_BINARY -DKORE_USE_PGSQL -DKORE_USE_TASKS"
LIBS="-lcriterion -lhiredis -ljwt -lcrypt -lpq -lssl -lcrypto -lpthread -ldl"

# The real Kore and application objects, with Kore's main() renamed so
# Criterion's runner is the program's entry point.
objcopy --redefine-sym main=kore_main "$objs/kore.o" "$out/kore_nomain.o"
link_objs=$(ls "$objs"/*.o | grep -v '/kore\.o$')

build_unit() {
	local t bin
	for t in "$root"/tests/unit/test_*.c; do
		bin="$out/$(basename "$t" .c)"
		cc $CFLAGS -o "$bin" "$t" $link_objs "$out/kore_nomain.o" \
		    -rdynamic $LIBS
	done
}

# build_http_tests NAME DIR: tests/DIR/test_*.c with the support code.
build_http_tests() {
	cc $CFLAGS $(pkg-config --cflags jansson libcurl) \
	    -I"$root/tests/support" -o "$out/$1" \
	    "$root"/tests/"$2"/test_*.c "$root"/tests/support/*.c \
	    -lcriterion $(pkg-config --libs jansson libcurl) -lpq -lhiredis -ljwt \
	    -lssl -lcrypto -lpthread
}

status=0
if [ "$what" = all ] || [ "$what" = unit ]; then
	build_unit
	for t in "$out"/test_*; do
		echo "== unit: $(basename "$t")"
		"$t" --jobs 2 || status=1
	done
fi
if [ "$what" = all ] || [ "$what" = fuzz ]; then
	echo "== fuzz smoke"
	"$root/scripts/fuzz.sh" smoke || status=1
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
	build_http_tests integration integration
	echo "== integration"
	rm -f "$out/responses.jsonl"
	OPENAPI_RECORD="$out/responses.jsonl" \
	    "$root/tests/support/harness.sh" "$out/integration" || status=1
	echo "== openapi: responses of the integration tests"
	node "$root/tests/openapi/validate.mjs" "$root/build/openapi.json" \
	    "$out/responses.jsonl" || status=1
fi
if [ "$what" = all ] || [ "$what" = openapi ]; then
	echo "== openapi: lint"
	(cd "$root" && node_modules/.bin/redocly lint --format=summary \
	    assets/openapi.yaml 2>&1 | grep -v '^npm warn') || status=1
	echo "== openapi: routes"
	node "$root/tests/openapi/check-routes.mjs" "$root" \
	    "$root/build/openapi.json" || status=1
	echo "== openapi: generated client and the docs in a browser"
	rm -f "$out/client-responses.jsonl"
	OPENAPI_RECORD="$out/client-responses.jsonl" \
	    "$root/tests/support/harness.sh" "$root/tests/openapi/e2e.sh" ||
	    status=1
	echo "== openapi: responses of the generated client"
	node "$root/tests/openapi/validate.mjs" "$root/build/openapi.json" \
	    "$out/client-responses.jsonl" || status=1
fi
if [ "$what" = all ] || [ "$what" = cluster ]; then
	build_http_tests cluster cluster
	echo "== cluster: 3 instances behind HAProxy"
	"$root/tests/support/cluster-harness.sh" "$out/cluster" || status=1
fi
if [ "$what" = all ] || [ "$what" = compose ]; then
	echo "== compose.yaml"
	"$root/tests/compose/check.sh" || status=1
fi
if [ "$what" = all ] || [ "$what" = image ]; then
	echo "== image (podman)"
	# One tag per checkout: two checkouts testing at once on one machine
	# never test each other's image.
	IMAGE=localhost/booking:test-$(echo "$root" | sha256sum | cut -c1-12)
	export IMAGE
	if reason=$("$root/scripts/image.sh" probe 2>&1); then
		if "$root/scripts/image.sh" build; then
			"$root/scripts/image-test.sh" || status=1
		else
			status=1
		fi
	else
		echo "image: skipped: podman cannot run containers here:" \
		    "${reason:-unknown reason}"
	fi
fi
if [ "$what" = all ] || [ "$what" = chaos ]; then
	echo "== chaos (short): one fault at a time under a booking load"
	"$root/scripts/chaos.sh" --short || status=1
fi
exit $status
