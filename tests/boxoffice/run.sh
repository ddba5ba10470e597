#!/usr/bin/env bash
# Run by tests/support/harness.sh against a fresh server (scripts/test.sh
# boxoffice starts it with HOLD_TTL_SECONDS short enough to see a hold
# lapse): an admin, made over the API and promoted with the server's own
# command, for the catalog the browser test puts up; then the booking page
# in headless Chromium (browser.mjs). Criterion's arguments are ignored.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/tests/boxoffice"
mkdir -p "$out"
rm -f "$out"/*.png

# Node trusts the test server's self-signed certificate, nothing more.
export NODE_EXTRA_CA_CERTS="$TLS_CERT"

admin_email="boxoffice-admin-$$-$RANDOM@example.com"
admin_password="boxoffice admin password"
curl -sfk -o /dev/null "$BOOKING_URL/api/auth/register" \
    -H 'Content-Type: application/json' \
    -d "{\"name\": \"Admin\", \"email\": \"$admin_email\", \"password\": \"$admin_password\"}"
"$TEST_BIN" admin "$admin_email" >/dev/null

# The CSP of the page and of its scripts, as served.
curl -sk -D "$out/headers.txt" -o /dev/null "$BOOKING_URL/"

ADMIN_EMAIL="$admin_email" ADMIN_PASSWORD="$admin_password" \
    DATABASE_URL="$DATABASE_URL" \
    timeout -k 10 180 node "$root/tests/boxoffice/browser.mjs" "$out"
