#!/usr/bin/env bash
# make test: Criterion unit tests, a short fuzzing smoke over the
# committed corpus (scripts/fuzz.sh), then integration tests over HTTPS
# against a throwaway PostgreSQL and Redis (tests/support/harness.sh), the
# same integration tests against a build with AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/build.sh asan; any report fails),
# then the checks of the API description (tests/openapi/: lint, routes and
# the contract docs/api.md against the description, every response of the integration tests validated
# against it, a generated client's scenario, the docs pages in headless
# Chromium), the booking page in headless Chromium (tests/boxoffice/),
# then the cluster tests against three instances behind HAProxy
# (tests/support/cluster-harness.sh), the compose.yaml check
# (tests/compose/check.sh), the container image built and run with
# podman when podman can run containers here (scripts/image.sh,
# scripts/image-test.sh; otherwise it says why it skipped), and the short
# form of the fault injection run (scripts/chaos.sh --short), and the
# failover run against make ha's topology (scripts/ha-test.sh).
# `scripts/test.sh unit`, `fuzz`, `integration`, `stripe`,
# `stripe-standin`, `asan`, `openapi`,
# `boxoffice`, `cluster`, `compose`, `image`, `ha` or `chaos` runs one part;
# any other name is refused. A part that cannot run here (the image,
# without podman) is named with its reason in the last lines, never
# counted as passed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
objs="$root/build/app/booking/.objs"
out="$root/build/tests"
what=${1:-all}
# scripts/test.sh unit|integration|asan FILTER: only the tests Criterion's
# --filter FILTER selects ("suite/test", wildcards allowed), e.g.
# scripts/test.sh integration 'holds/*'.
filter=()
[ -n "${2:-}" ] && filter=(--filter "$2")
parts="unit fuzz stripe-standin integration stripe asan openapi boxoffice"
parts="$parts cluster compose image"
parts="$parts ha chaos"
case " all $parts " in
*" $what "*) ;;
*)	echo "scripts/test.sh: no part named '$what'; the parts: $parts" >&2
	exit 2 ;;
esac
case "$what" in
compose|image) ;;	# they build what they need themselves
*)	[ -x "$root/build/booking" ] || { echo "build/booking is missing:" \
	    "make build first" >&2; exit 1; } ;;
esac
mkdir -p "$out"

# The test toolchain (make run installs only what serving needs).
"$root/scripts/deps.sh" test
"$root/scripts/npm.sh"

CFLAGS="-std=c99 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror
    -Wno-unused-parameter -Wno-missing-field-initializers
    -I$root/build/kore/include -I$root/src -I$objs -I/usr/include/postgresql
    -DKORE_SINGLE_BINARY -DKORE_USE_PGSQL -DKORE_USE_TASKS -DKORE_USE_CURL"
LIBS="-lcriterion -lhiredis -ljwt -lcrypt -lpq -lssl -lcrypto -lcurl -lpthread -ldl"

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

# Every part's output is also kept in $out/log/PART.log; a part that fails
# is named again at the very end with its failure lines, so the last lines
# of a long CI log say what failed and why.
failed=()
skipped=()
declare -A took=()
order=()
mkdir -p "$out/log"
fail() {
	failed+=("$1")
}
# part NAME CMD...: runs CMD, its output also in $out/log/NAME.log.
part() {
	local name=$1 rc started=$SECONDS
	shift
	set +e
	"$@" 2>&1 | tee -a "$out/log/$name.log"
	rc=${PIPESTATUS[0]}
	set -e
	[ -n "${took[$name]:-}" ] || order+=("$name")
	took[$name]=$(( ${took[$name]:-0} + SECONDS - started ))
	[ "$rc" -eq 0 ] || fail "$name"
	return 0
}
rm -f "$out"/log/*.log
if [ "$what" = all ] || [ "$what" = unit ]; then
	# The one way a state machine is written (src/state.h).
	echo "== unit: the state machine convention (scripts/check-states.sh)"
	part unit "$root/scripts/check-states.sh" --self-test
	part unit "$root/scripts/check-states.sh"
	build_unit
	# The suites of today's sources (not a stale binary of a renamed one).
	for t in "$root"/tests/unit/test_*.c; do
		t="$out/$(basename "$t" .c)"
		echo "== unit: $(basename "$t")"
		part unit "$t" --jobs 2 "${filter[@]}"
	done
fi
if [ "$what" = all ] || [ "$what" = fuzz ]; then
	echo "== fuzz smoke"
	part fuzz "$root/scripts/fuzz.sh" smoke
fi
if [ "$what" = all ] || [ "$what" = stripe-standin ]; then
	# The Stripe stand-in (tests/stripe/standin.mjs) driven by the
	# official stripe npm client (`scripts/test.sh stripe-standin`);
	# bounded: the whole file, 3 minutes.
	echo "== stripe-standin: the stand-in against the official client"
	part stripe-standin timeout 180 node --test \
	    "$root/tests/stripe/standin.test.mjs"
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
	build_http_tests integration integration
	echo "== integration"
	rm -f "$out/responses.jsonl"
	OPENAPI_RECORD="$out/responses.jsonl" \
	    part integration "$root/tests/support/harness.sh" \
	    "$out/integration" "${filter[@]}"
	echo "== openapi: responses of the integration tests"
	part openapi-responses node "$root/tests/openapi/validate.mjs" \
	    "$root/build/openapi.json" "$out/responses.jsonl"
fi
if [ "$what" = all ] || [ "$what" = stripe ]; then
	# The server with PAYMENT_PROVIDER=stripe against the stand-in
	# (TEST_STRIPE=1 in the harness starts it): tests/integration_stripe.
	build_http_tests stripe integration_stripe
	echo "== stripe: payments through the Stripe stand-in"
	rm -f "$out/stripe-responses.jsonl"
	TEST_STRIPE=1 OPENAPI_RECORD="$out/stripe-responses.jsonl" \
	    part stripe "$root/tests/support/harness.sh" "$out/stripe"
	# Our answers only: the stand-in's (/v1, /__control) are Stripe's.
	grep -v -e '"/__control/' -e '"/v1/' "$out/stripe-responses.jsonl" \
	    > "$out/stripe-ours.jsonl" || true
	part openapi-stripe-responses node "$root/tests/openapi/validate.mjs" \
	    "$root/build/openapi.json" "$out/stripe-ours.jsonl"
fi
if [ "$what" = all ] || [ "$what" = asan ]; then
	echo "== asan: integration tests against an ASan/UBSan build"
	part asan-build "$root/scripts/build.sh" asan
	[ "$what" = all ] || build_http_tests integration integration
	TEST_SANITIZE=1 TEST_BIN="$root/build/asan/booking" \
	    part asan "$root/tests/support/harness.sh" "$out/integration" \
	    "${filter[@]}"
fi
if [ "$what" = all ] || [ "$what" = openapi ]; then
	echo "== openapi: lint"
	lint() {
		(cd "$root" && node_modules/.bin/redocly lint --format=summary \
		    assets/openapi.yaml 2>&1 | grep -v '^npm warn')
	}
	part openapi-lint lint
	echo "== openapi: routes"
	part openapi-routes node "$root/tests/openapi/check-routes.mjs" \
	    "$root" "$root/build/openapi.json"
	echo "== openapi: generated client and the docs in a browser"
	rm -f "$out/client-responses.jsonl" "$out/client-stripe-all.jsonl"
	OPENAPI_RECORD="$out/client-responses.jsonl" \
	    part openapi-client "$root/tests/support/harness.sh" \
	    "$root/tests/openapi/e2e.sh"
	echo "== openapi: the generated client pays through the Stripe stand-in"
	TEST_STRIPE=1 OPENAPI_RECORD="$out/client-stripe-all.jsonl" \
	    part openapi-client-stripe "$root/tests/support/harness.sh" \
	    "$root/tests/openapi/e2e.sh"
	# Our answers only: the stand-in's (/v1, /__control) are Stripe's.
	grep -v -e '"/__control/' -e '"/v1/' "$out/client-stripe-all.jsonl" \
	    >> "$out/client-responses.jsonl" || true
	echo "== openapi: responses of the generated client"
	part openapi-client-responses node "$root/tests/openapi/validate.mjs" \
	    "$root/build/openapi.json" "$out/client-responses.jsonl"
fi
if [ "$what" = all ] || [ "$what" = boxoffice ]; then
	echo "== boxoffice: the booking page in headless Chromium"
	HOLD_TTL_SECONDS=20 part boxoffice "$root/tests/support/harness.sh" \
	    "$root/tests/boxoffice/run.sh"
fi
if [ "$what" = all ] || [ "$what" = cluster ]; then
	build_http_tests cluster cluster
	echo "== cluster: 3 instances behind HAProxy"
	part cluster "$root/tests/support/cluster-harness.sh" "$out/cluster"
fi
if [ "$what" = all ] || [ "$what" = compose ]; then
	echo "== compose.yaml"
	part compose "$root/tests/compose/check.sh"
fi
if [ "$what" = all ] || [ "$what" = image ]; then
	echo "== image (podman)"
	# One tag per checkout: two checkouts testing at once on one machine
	# never test each other's image.
	IMAGE=localhost/booking:test-$(echo "$root" | sha256sum | cut -c1-12)
	export IMAGE
	pause_before=$("$root/scripts/image.sh" pause-pid)
	if reason=$("$root/scripts/image.sh" probe 2>&1); then
		part image-build "$root/scripts/image.sh" build
		if [ ${#failed[@]} -eq 0 ] ||
		    [ "${failed[${#failed[@]}-1]}" != image-build ]; then
			part image "$root/scripts/image-test.sh"
		fi
	else
		reason="podman cannot run containers here: ${reason:-unknown reason}"
		echo "image: skipped: $reason"
		skipped+=("image ($reason)")
	fi
	# Rootless podman's pause process, if this part started one.
	"$root/scripts/image.sh" stop-pause "$pause_before"
fi
if [ "$what" = all ] || [ "$what" = ha ]; then
	echo "== ha: Patroni, Sentinel and the service under faults"
	part ha "$root/scripts/ha-test.sh"
fi
if [ "$what" = all ] || [ "$what" = chaos ]; then
	echo "== chaos (short): one fault at a time under a booking load"
	part chaos "$root/scripts/chaos.sh" --short
fi

printf '== make test: seconds per part:'
for name in "${order[@]}"; do
	printf ' %s %s' "$name" "${took[$name]}"
done
echo
for name in "${skipped[@]}"; do
	echo "== make test: SKIPPED: $name"
done
if [ ${#failed[@]} -eq 0 ]; then
	if [ ${#skipped[@]} -eq 0 ]; then
		echo "== make test: every part passed"
	else
		echo "== make test: every part that ran passed;" \
		    "${#skipped[@]} skipped (above)"
	fi
	exit 0
fi
# The failing parts once each, with the lines that say what failed
# (Criterion's [FAIL] lines, a check's "FAIL"/"not ok"/"error", a
# server's last words), at most 12 a part.
echo "== make test: FAILED: $(printf '%s\n' "${failed[@]}" | uniq | tr '\n' ' ')"
for name in $(printf '%s\n' "${failed[@]}" | uniq); do
	echo "-- $name ($out/log/$name.log):"
	grep -E '\[FAIL\]|FAIL|[Ff]ailed|not ok|[Ee]rror|violation|Assertion|Synthesis|ALERT|[Cc]annot|did not' \
	    "$out/log/$name.log" | grep -v ' 0 failed' |
	    grep -v 'Failing: 0 | Crashing: 0' | cut -c1-300 | tail -n 12
done
exit 1
