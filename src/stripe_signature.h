/*
 * stripe_signature: Stripe's webhook signature check (Stripe-Signature:
 * t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, several v1 during
 * a secret rotation, 300 s tolerance, constant-time comparison). Pure,
 * no Kore. (A minimal version over signature.c, which speaks the same
 * scheme; the full verifier with its unit tests replaces it.)
 */
#ifndef __H_STRIPE_SIGNATURE_H
#define __H_STRIPE_SIGNATURE_H

#include <sys/types.h>

#include <stdint.h>

#define STRIPE_SIGNATURE_TOLERANCE	300

#define STRIPE_SIGNATURE_OK		0
#define STRIPE_SIGNATURE_INVALID	1

int	stripe_signature_verify(const char *, size_t, const char *, size_t,
	    const void *, size_t, int64_t, int64_t);

#endif
