#!/usr/bin/env bash
# Installs the npm packages of package.json exactly as package-lock.json
# pins them (npm ci), into node_modules/, when the lock file changed since
# the last install. `scripts/npm.sh docs` installs only what the server
# embeds (swagger-ui-dist, redoc), as the Dockerfile does.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
cd "$root"

if ! command -v npm >/dev/null 2>&1; then
	echo "npm is missing: scripts/deps.sh installs it (run as root)" >&2
	exit 1
fi

stamp="node_modules/.booking-stamp"
want="$what $(sha256sum package-lock.json | cut -d' ' -f1)"
have=$(cat "$stamp" 2>/dev/null || true)
# A full install serves a docs-only build too.
if [ "$have" = "$want" ] || { [ "$what" = docs ] &&
    [ "$have" = "all ${want#docs }" ]; }; then
	exit 0
fi

flags="--no-audit --no-fund --ignore-scripts --loglevel=error"
[ "$what" = docs ] && flags="$flags --omit=dev"
echo "npm ci ($what)"
# shellcheck disable=SC2086
npm ci $flags
echo "$want" > "$stamp"
