/*
 * Fuzz target: the Stripe-Signature check (src/stripe_signature.c).
 *
 * Input: header, NUL, body. Any header and body must give one of the
 * five results without a crash; the body is also checked with a header
 * made from its correct HMAC (and a v0 and a wrong v1 beside it), which
 * must verify, and with t moved by 301 s, which must be stale.
 */
#include <kore/kore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signature.h"
#include "stripe_signature.h"

#define SECRET	"whsec_fuzzing_secret_0123456789abcdef"
#define NOW	1796000000

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kore_mem_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t	*nul, *body;
	uint8_t		mac[SIGNATURE_DIGEST_LEN];
	char		hex[SIGNATURE_DIGEST_LEN * 2 + 1], hdr[320];
	size_t		hlen, blen, i;
	int		r, n;

	if (len > 65536)
		return (0);

	nul = memchr(data, '\0', len);
	hlen = nul != NULL ? (size_t)(nul - data) : len;
	body = nul != NULL ? nul + 1 : data + len;
	blen = len - hlen - (nul != NULL);

	r = stripe_signature_verify(SECRET, strlen(SECRET),
	    (const char *)data, hlen, body, blen, NOW,
	    STRIPE_SIGNATURE_TOLERANCE);
	if (r < STRIPE_SIGNATURE_OK || r > STRIPE_SIGNATURE_ERROR)
		abort();
	(void)stripe_signature_result(r);

	if (signature_compute(SECRET, strlen(SECRET), "1796000000", body,
	    blen, mac) != SIGNATURE_OK)
		return (0);
	for (i = 0; i < sizeof(mac); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	n = snprintf(hdr, sizeof(hdr), "v0=%s,t=1796000000,v1=%064d,v1=%s",
	    hex, 0, hex);
	if (stripe_signature_verify(SECRET, strlen(SECRET), hdr, n, body,
	    blen, NOW, STRIPE_SIGNATURE_TOLERANCE) != STRIPE_SIGNATURE_OK)
		abort();
	if (stripe_signature_verify(SECRET, strlen(SECRET), hdr, n, body,
	    blen, NOW + 301, STRIPE_SIGNATURE_TOLERANCE) !=
	    STRIPE_SIGNATURE_STALE)
		abort();

	return (0);
}
