/*
 * stripe_signature: the Stripe-Signature header of Stripe's webhook
 * events, checked as Stripe specifies
 * (https://docs.stripe.com/webhooks#verify-manually). A pure function over
 * bytes (OpenSSL and libc only, no Kore), so unit tests and fuzzers call
 * it directly.
 *
 * The header is comma-separated elements "<prefix>=<value>": the one t is
 * the unix time Stripe signed at; every v1 is a lowercase hex
 * HMAC-SHA256, keyed with the endpoint's whole secret ("whsec_..."), of
 * "<t>.<raw body>". Several v1 are sent while a secret is being rotated;
 * one matching is enough. Every other prefix (v0, a test-mode scheme) is
 * ignored, so a signature can never be downgraded to a weaker scheme.
 */
#ifndef __H_STRIPE_SIGNATURE_H
#define __H_STRIPE_SIGNATURE_H

#include <sys/types.h>

#include <stdint.h>

/* Stripe's own libraries' default tolerance, in seconds. */
#define STRIPE_SIGNATURE_TOLERANCE	300
#define STRIPE_SIGNATURE_HEADER_MAX	8192

#define STRIPE_SIGNATURE_OK		0
/* Missing, too long, no t, t not 1-18 digits or twice, no v1. */
#define STRIPE_SIGNATURE_BAD_HEADER	1
/* No v1 is the HMAC of this body with this secret. */
#define STRIPE_SIGNATURE_NO_MATCH	2
/* Rightly signed, but t is more than the tolerance away from now. */
#define STRIPE_SIGNATURE_STALE		3
/* An empty secret, no memory, OpenSSL failed. */
#define STRIPE_SIGNATURE_ERROR		4

/* secret, header, body (each with its length), now, tolerance. */
int		stripe_signature_verify(const void *, size_t, const char *,
		    size_t, const void *, size_t, int64_t, int64_t);
const char	*stripe_signature_result(int);

#endif
