#!/usr/bin/env bash
# make bench: every scripts/bench-<name>.sh in turn, or only the names
# given (`scripts/bench.sh catalog`). Each starts and stops its own
# throwaway stack; none is part of `make test`.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
status=0

if [ $# -eq 0 ]; then
	set -- $(ls "$root"/scripts/bench-*.sh | sed 's|.*/bench-||; s|\.sh$||')
fi

for name in "$@"; do
	echo "== bench: $name"
	"$root/scripts/bench-$name.sh" || status=1
done
exit $status
