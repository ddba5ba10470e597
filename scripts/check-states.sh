#!/usr/bin/env bash
# The state machine convention (src/state.h), checked: no file but
# src/state.c writes req->fsm_state (a state moves on with state_next(),
# or a helper that takes the next state), and every `static struct
# http_state` table is written with designated initialisers
# ([PREFIX_FLOW_STEP] = KORE_HTTP_STATE(fn)). Prints each offending line
# as file:line: text and exits 1 when there is one.
#
# scripts/check-states.sh [FILE...]: the files to check (default: every
# .c and .h in src/). scripts/check-states.sh --self-test: the check
# itself, on the fixtures in tests/check-states/ (good.c passes; bad.c
# fails on exactly the lines bad.expected names). Both run by
# `scripts/test.sh unit` before the unit tests.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
self="$root/scripts/check-states.sh"

if [ "${1:-}" = --self-test ]; then
	cd "$root"
	fx=tests/check-states
	if ! out=$("$self" "$fx/good.c"); then
		echo "check-states: FAIL: self-test: $fx/good.c refused:"
		echo "$out"
		exit 1
	fi
	if out=$("$self" "$fx/bad.c"); then
		echo "check-states: FAIL: self-test: $fx/bad.c passed"
		exit 1
	fi
	got=$(echo "$out" | grep -oE "^$fx/bad\.c:[0-9]+" | sort)
	if [ "$got" != "$(sort "$fx/bad.expected")" ]; then
		echo "check-states: FAIL: self-test: $fx/bad.c: refused lines" \
		    "differ from $fx/bad.expected:"
		diff <(sort "$fx/bad.expected") <(echo "$got") || true
		exit 1
	fi
	echo "check-states: self-test passed"
	exit 0
fi

if [ $# -gt 0 ]; then
	files=("$@")
else
	cd "$root"
	files=(src/*.c src/*.h)
fi

bad=0

# src/state.c's state_next() is the one write allowed.
wfiles=()
for f in "${files[@]}"; do
	[ "$(realpath -m "$f")" = "$root/src/state.c" ] || wfiles+=("$f")
done

# Writes of fsm_state: an assignment (=, +=, ...), ++ or --, outside
# comments.
writes=""
[ ${#wfiles[@]} -eq 0 ] || writes=$(awk '
	FNR == 1 { incomment = 0 }
	{
		line = $0
		# Drop strings (they may hold "/*"), then comments, also
		# those spanning lines.
		gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
		out = ""
		while (line != "") {
			if (incomment) {
				i = index(line, "*/")
				if (i == 0) { line = ""; break }
				line = substr(line, i + 2)
				incomment = 0
			} else {
				i = index(line, "/*")
				j = index(line, "//")
				if (j > 0 && (i == 0 || j < i)) {
					out = out substr(line, 1, j - 1)
					line = ""
					break
				}
				if (i == 0) { out = out line; line = ""; break }
				out = out substr(line, 1, i - 1)
				line = substr(line, i + 2)
				incomment = 1
			}
		}
		if (out ~ /fsm_state[ \t]*([-+*\/%&|^]|<<|>>)?=([^=]|$)/ ||
		    out ~ /fsm_state[ \t]*(\+\+|--)/ ||
		    out ~ /(\+\+|--)[ \t]*[A-Za-z_>.-]*fsm_state/)
			printf("%s:%d: %s\n", FILENAME, FNR, $0)
	}
' "${wfiles[@]}")
if [ -n "$writes" ]; then
	echo "check-states: FAIL: req->fsm_state written outside" \
	    "src/state.c (return state_next(req, NEXT) instead):"
	echo "$writes"
	bad=1
fi

# Tables: every entry of a `static struct http_state` table is
# [NAME] = KORE_HTTP_STATE(fn), an entry possibly spread over lines.
tables=$(awk '
	function flush(   n, parts, i, before, k) {
		n = split(text, parts, "KORE_HTTP_STATE\\(")
		for (i = 1; i < n; i++) {
			before = parts[i]
			# What follows the previous entry (or the brace).
			k = match(before, /[,{][^,{]*$/)
			if (k > 0)
				before = substr(before, k + 1)
			if (before !~ designator)
				printf("%s:%d: %s\n", FILENAME, where[i],
				    first[i])
		}
		if (n == 1)
			printf("%s:%d: %s\n", FILENAME, start, head)
	}
	BEGIN {
		designator = "^[ \t]*\\[[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\\]" \
		    "[ \t]*=[ \t]*$"
	}
	FNR == 1 { intable = 0; tcomment = 0 }
	/^[ \t]*static[ \t]+struct[ \t]+http_state[ \t]/ && /\[/ && /=/ {
		intable = 1
		text = ""
		nentry = 0
		start = FNR
		head = $0
		delete where
		delete first
	}
	intable {
		# Comments may hold anything; an entry never spans one.
		line = $0
		if (tcomment) {
			if ((i = index(line, "*/")) == 0)
				next
			line = substr(line, i + 2)
			tcomment = 0
		}
		gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, "", line)
		if ((i = index(line, "/*")) > 0) {
			line = substr(line, 1, i - 1)
			tcomment = 1
		}
		body = line
		# Remember where each entry starts, to print its line.
		while ((i = index(line, "KORE_HTTP_STATE(")) > 0) {
			nentry++
			where[nentry] = FNR
			first[nentry] = $0
			line = substr(line, i + 16)
		}
		text = text " " body
		if (body ~ /};/) {
			intable = 0
			flush()
		}
	}
' "${files[@]}")
if [ -n "$tables" ]; then
	echo "check-states: FAIL: a state table entry without a" \
	    "designated initialiser ([PREFIX_FLOW_STEP] =" \
	    "KORE_HTTP_STATE(fn)):"
	echo "$tables"
	bad=1
fi

if [ "$bad" -eq 0 ]; then
	echo "check-states: the state machine convention holds in" \
	    "${#files[@]} file(s)"
fi
exit "$bad"
