#!/usr/bin/env bash
# libFuzzer harnesses (tests/fuzz/fuzz_*.c) under ASan and UBSan.
#
#   scripts/fuzz.sh build          build them into build/fuzz/
#   scripts/fuzz.sh run [SECONDS]  fuzz each for SECONDS (FUZZ_SECONDS,
#                                  default 60), seeded from the committed
#                                  corpus; new inputs go to build/fuzz/
#   scripts/fuzz.sh smoke          a few seconds each over the committed
#                                  corpus (part of `make test`)
#
# The application's sources and Kore's JSON parser are compiled again
# with clang's coverage and sanitizers; the rest of Kore is linked as
# built. A crash leaves its input in build/fuzz/ and fails the run: fix
# it and add the input to tests/fuzz/corpus/<name>/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
objs="$root/build/app/booking/.objs"
out="$root/build/fuzz"
mode=${1:-run}
CC=${FUZZ_CC:-clang}

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=c99 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $san
    -I$root/build/kore/include -I$root/build/kore/include/kore -I$root/src
    -I$objs -I/usr/include/postgresql -DKORE_SINGLE_BINARY
    -DKORE_USE_PGSQL -DKORE_USE_TASKS -DKORE_USE_CURL -Wno-unused-parameter
    -Werror"
libs="-lhiredis -ljwt -lcrypt -lpq -lssl -lcrypto -lcurl -lpthread -ldl"

build() {
	local f o kore_objs
	[ -f "$objs/kore.o" ] || { echo "run make build first" >&2; exit 1; }
	mkdir -p "$out/objs"
	for f in "$root"/src/*.c "$root/build/kore/src/json.c"; do
		o="$out/objs/$(basename "$f" .c).o"
		[ "$o" -nt "$f" ] && [ "$o" -nt "$objs/kore.o" ] && continue
		$CC $cflags -fsanitize=fuzzer-no-link -c "$f" -o "$o"
	done
	objcopy --redefine-sym main=kore_main "$objs/kore.o" \
	    "$out/kore_nomain.o"
	# Kore's own objects, but for main and the JSON parser built above.
	kore_objs=$(ls "$objs"/*.o | grep -v '\.c\.o$' |
	    grep -v -e '/kore\.o$' -e '/json\.o$')
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		o="$out/$(basename "$f" .c)"
		$CC $cflags -fsanitize=fuzzer -o "$o" "$f" "$out"/objs/*.o \
		    $kore_objs "$out/kore_nomain.o" -rdynamic $libs
	done
}

# fuzz NAME SECONDS WORKDIR: one harness, seeded from the corpus.
fuzz() {
	local name=$1 secs=$2 work=$3 log
	mkdir -p "$work" "$root/tests/fuzz/corpus/$name"
	log="$out/$name.log"
	if ! "$out/fuzz_$name" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=1024 -print_final_stats=1 \
	    -artifact_prefix="$out/crash-$name-" \
	    "$work" "$root/tests/fuzz/corpus/$name" > "$log" 2>&1; then
		tail -n 40 "$log"
		echo "fuzz_$name: FAILED (input in $out/crash-$name-*)"
		return 1
	fi
	echo "fuzz_$name: $(grep -m1 'stat::number_of_executed_units' \
	    "$log" | awk '{print $2}') executions in ${secs}s, no crash"
}

status=0
case "$mode" in
build)
	build ;;
run)
	build
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c); n=${n#fuzz_}
		fuzz "$n" "${2:-${FUZZ_SECONDS:-60}}" "$out/corpus/$n" ||
		    status=1
	done ;;
smoke)
	build
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c); n=${n#fuzz_}
		rm -rf "$out/smoke/$n"
		fuzz "$n" "${FUZZ_SMOKE_SECONDS:-3}" "$out/smoke/$n" ||
		    status=1
	done ;;
*)
	echo "usage: $0 build | run [SECONDS] | smoke" >&2
	exit 2 ;;
esac
exit $status
