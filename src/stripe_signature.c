/*
 * stripe_signature: Stripe-Signature checked by signature.c, whose
 * grammar and rules are Stripe's (stripe_signature.h).
 */
#include <sys/types.h>

#include "signature.h"
#include "stripe_signature.h"

int
stripe_signature_verify(const char *secret, size_t secret_len,
    const char *header, size_t header_len, const void *body, size_t len,
    int64_t now, int64_t tolerance)
{
	if (signature_verify(secret, secret_len, header, header_len, body,
	    len, now, tolerance) != SIGNATURE_OK)
		return (STRIPE_SIGNATURE_INVALID);

	return (STRIPE_SIGNATURE_OK);
}
