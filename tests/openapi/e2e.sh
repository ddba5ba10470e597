#!/usr/bin/env bash
# Run by tests/support/harness.sh (which passes Criterion's arguments; they
# are ignored) against a fresh server: the generated client's scenario,
# then the docs pages in headless Chromium (with the mock; with
# PAYMENT_PROVIDER=stripe only the scenario, paying at the stand-in). The client is generated from
# build/openapi.json into build/client/ (build output, never committed)
# and type-checked with tsc --noEmit before it runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
gen="$root/build/client"
out="$root/build/tests/openapi"
bin="$root/node_modules/.bin"
mkdir -p "$gen" "$out"
rm -f "$out"/*.png

# Node trusts the test server's self-signed certificate, nothing more.
export NODE_EXTRA_CA_CERTS="$TLS_CERT"

echo "-- generate the client (openapi-typescript)"
# From build/client/: the project's redocly.yaml (lint rules with their
# reviewed exceptions) is for `redocly lint`, not for the generator.
(cd "$gen" && "$bin/openapi-typescript" ../openapi.json -o api.ts --silent)
cp "$root/tests/openapi/client/scenario.ts" "$gen/scenario.ts"
cat > "$gen/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": true,
    "types": ["node"],
    "outDir": "js"
  },
  "files": ["scenario.ts"]
}
JSON
echo '{"type": "module"}' > "$gen/package.json"
echo "-- tsc --noEmit"
"$bin/tsc" -p "$gen/tsconfig.json" --noEmit
"$bin/tsc" -p "$gen/tsconfig.json"

# An admin for the catalog the scenario puts up: registered over the API,
# promoted with the server's own command.
admin_email="client-admin-$$-$RANDOM@example.com"
admin_password="client admin password"
curl -sfk -o /dev/null "$BOOKING_URL/api/auth/register" \
    -H 'Content-Type: application/json' \
    -d "{\"name\": \"Admin\", \"email\": \"$admin_email\", \"password\": \"$admin_password\"}"
"$TEST_BIN" admin "$admin_email" >/dev/null

echo "-- client scenario"
ADMIN_EMAIL="$admin_email" ADMIN_PASSWORD="$admin_password" \
    node "$gen/js/scenario.js" | tee "$out/client-scenario.txt"

# With PAYMENT_PROVIDER=stripe (scripts/test.sh runs the scenario again
# with TEST_STRIPE=1: the server pays through the Stripe stand-in) the
# docs pages are not looked at again.
if [ "${PAYMENT_PROVIDER:-mock}" = stripe ]; then
	exit 0
fi

echo "-- docs in headless Chromium"
token=$(curl -sfk "$BOOKING_URL/api/auth/login" \
    -H 'Content-Type: application/json' \
    -d "{\"email\": \"$admin_email\", \"password\": \"$admin_password\"}" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
node "$root/tests/openapi/browser.mjs" "$out" "$token"
