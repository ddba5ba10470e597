#!/bin/sh
# The container's entry point (Dockerfile ENTRYPOINT): the image takes
# money, so it never falls back to a payment provider by itself. Without
# an explicit PAYMENT_PROVIDER (stripe, or mock for development) it refuses
# to start with one line; the server itself checks the value and the keys
# it needs. Then the server replaces this shell, so it gets the signals.
if [ -z "${PAYMENT_PROVIDER:-}" ]; then
	echo "PAYMENT_PROVIDER is not set: the image needs an explicit" \
	    "payment provider (stripe, or mock for development)" >&2
	exit 1
fi
exec /usr/local/bin/booking "$@"
