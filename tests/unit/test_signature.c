/*
 * Unit tests for signature.c: the X-Signature header parser and the
 * verifier (good, bad, truncated, extra fields, stale and huge t).
 */
#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <string.h>

#include "signature.h"

#define SECRET	"unit-test-webhook-secret-0123456789abcdef"
#define BODY	"{\"id\":\"evt_1\",\"type\":\"payment.succeeded\"," \
		"\"data\":{\"payment_id\":7}}"
#define NOW	1795000000LL

/* The header a gateway would send: an independent HMAC, in hex. */
static void
sign(char *out, size_t len, long long t, const char *secret,
    const char *body)
{
	unsigned char	mac[32];
	unsigned int	maclen;
	char		msg[1024], hex[65];
	int		i, n;

	n = snprintf(msg, sizeof(msg), "%lld.%s", t, body);
	cr_assert(n > 0 && (size_t)n < sizeof(msg));
	cr_assert_not_null(HMAC(EVP_sha256(), secret, strlen(secret),
	    (unsigned char *)msg, n, mac, &maclen));
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	(void)snprintf(out, len, "t=%lld,v1=%s", t, hex);
}

static int
verify(const char *header, const char *body, long long now)
{
	return (signature_verify(SECRET, strlen(SECRET), header,
	    strlen(header), body, strlen(body), now, SIGNATURE_TOLERANCE));
}

static int
parse(const char *header, struct signature_header *h)
{
	return (signature_parse(header, strlen(header), h));
}

Test(signature, good_signature_verifies)
{
	char	h[256];

	sign(h, sizeof(h), NOW, SECRET, BODY);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_OK);
	/* Within 5 minutes either way. */
	cr_assert_eq(verify(h, BODY, NOW + 300), SIGNATURE_OK);
	cr_assert_eq(verify(h, BODY, NOW - 300), SIGNATURE_OK);
}

Test(signature, uppercase_hex_is_accepted)
{
	char	h[256];
	size_t	i;

	sign(h, sizeof(h), NOW, SECRET, BODY);
	for (i = 0; h[i] != '\0'; i++) {
		if (h[i] >= 'a' && h[i] <= 'f')
			h[i] = h[i] - 'a' + 'A';
	}
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_OK);
}

Test(signature, wrong_secret_body_or_t_is_a_mismatch)
{
	char	h[256], other[256];

	sign(h, sizeof(h), NOW, "another-secret-of-enough-length-0123456789",
	    BODY);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_MISMATCH);

	sign(h, sizeof(h), NOW, SECRET, BODY);
	cr_assert_eq(verify(h, BODY " ", NOW), SIGNATURE_MISMATCH);
	cr_assert_eq(verify(h, "", NOW), SIGNATURE_MISMATCH);

	/* The signature of t, presented with another t. */
	sign(other, sizeof(other), NOW, SECRET, BODY);
	other[2 + 9] = other[2 + 9] == '0' ? '1' : '0';
	cr_assert_eq(verify(other, BODY, NOW), SIGNATURE_MISMATCH);

	/* One flipped hex digit. */
	h[strlen(h) - 1] = h[strlen(h) - 1] == '0' ? '1' : '0';
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_MISMATCH);
}

Test(signature, stale_or_future_t_is_refused)
{
	char	h[256];

	sign(h, sizeof(h), NOW - 301, SECRET, BODY);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_STALE);
	sign(h, sizeof(h), NOW + 301, SECRET, BODY);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_STALE);
	sign(h, sizeof(h), 0, SECRET, BODY);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_STALE);
}

Test(signature, huge_t_is_malformed_or_stale_never_overflows)
{
	struct signature_header	hd;
	char			h[256];

	/* 18 digits parse, and are far from now. */
	sign(h, sizeof(h), 999999999999999999LL, SECRET, BODY);
	cr_assert_eq(parse(h, &hd), SIGNATURE_OK);
	cr_assert_eq(hd.t, 999999999999999999LL);
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_STALE);

	/* 19 digits and more are malformed. */
	cr_assert_eq(parse("t=9223372036854775807,v1=" "00000000000000000000"
	    "000000000000000000000000000000000000000000000", &hd),
	    SIGNATURE_MALFORMED);
	cr_assert_eq(parse("t=99999999999999999999999999999999,v1=000000000"
	    "0000000000000000000000000000000000000000000000000000000", &hd),
	    SIGNATURE_MALFORMED);

	/* An absurd clock is refused, not overflowed. */
	sign(h, sizeof(h), NOW, SECRET, BODY);
	cr_assert_eq(verify(h, BODY, INT64_MAX), SIGNATURE_STALE);
	cr_assert_eq(verify(h, BODY, INT64_MIN), SIGNATURE_STALE);
}

Test(signature, missing_or_truncated_parts_are_malformed)
{
	struct signature_header	hd;
	char			h[256], cut[256];
	size_t			i, len;

	cr_assert_eq(parse("", &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(signature_parse(NULL, 0, &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(parse("t=", &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(parse("v1=", &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(parse("t=1795000000", &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(parse(",", &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(parse("=", &hd), SIGNATURE_MALFORMED);

	/* Every proper prefix of a good header is refused. */
	sign(h, sizeof(h), NOW, SECRET, BODY);
	len = strlen(h);
	for (i = 0; i < len; i++) {
		memcpy(cut, h, i);
		cut[i] = '\0';
		cr_assert_neq(signature_verify(SECRET, strlen(SECRET), cut, i,
		    BODY, strlen(BODY), NOW, SIGNATURE_TOLERANCE),
		    SIGNATURE_OK, "prefix of %zu bytes accepted", i);
	}
	cr_assert_eq(verify(h, BODY, NOW), SIGNATURE_OK);
}

Test(signature, malformed_elements_are_refused)
{
	struct signature_header	hd;
	char			h[256], bad[300];

	sign(h, sizeof(h), NOW, SECRET, BODY);

	/* Whitespace, signs, empty elements, duplicate t, bad hex. */
	(void)snprintf(bad, sizeof(bad), " %s", h);
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	(void)snprintf(bad, sizeof(bad), "%s,", h);
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	(void)snprintf(bad, sizeof(bad), "t=-1,%s", h + 13);
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	(void)snprintf(bad, sizeof(bad), "t=1,%s", h);
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	(void)snprintf(bad, sizeof(bad), "%s", h);
	bad[20] = 'g';
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	(void)snprintf(bad, sizeof(bad), "%s0", h);
	cr_assert_eq(parse(bad, &hd), SIGNATURE_MALFORMED);
	cr_assert_eq(signature_parse("t=1\0,v1=00", 10, &hd),
	    SIGNATURE_MALFORMED);
	cr_assert_eq(parse("T=1795000000,V1=0000000000000000000000000000000"
	    "000000000000000000000000000000000", &hd), SIGNATURE_MALFORMED);
}

Test(signature, extra_fields_and_several_v1_are_accepted)
{
	struct signature_header	hd;
	char			h[256], more[600];

	sign(h, sizeof(h), NOW, SECRET, BODY);

	/* Another scheme (v0) and an unknown field are ignored. */
	(void)snprintf(more, sizeof(more), "v0=abc,%s,foo_2=bar", h);
	cr_assert_eq(parse(more, &hd), SIGNATURE_OK);
	cr_assert_eq(hd.nv1, 1);
	cr_assert_eq(verify(more, BODY, NOW), SIGNATURE_OK);

	/* A second v1 (an old secret during rotation): either may match. */
	(void)snprintf(more, sizeof(more), "%s,v1=%064d", h, 0);
	cr_assert_eq(parse(more, &hd), SIGNATURE_OK);
	cr_assert_eq(hd.nv1, 2);
	cr_assert_eq(verify(more, BODY, NOW), SIGNATURE_OK);
	(void)snprintf(more, sizeof(more), "t=%lld,v1=%064d,%s", NOW, 0,
	    h + 13);
	cr_assert_eq(verify(more, BODY, NOW), SIGNATURE_OK);

	/* But not unboundedly many. */
	(void)snprintf(more, sizeof(more), "%s,v1=%064d,v1=%064d,v1=%064d,"
	    "v1=%064d", h, 0, 0, 0, 0);
	cr_assert_eq(parse(more, &hd), SIGNATURE_MALFORMED);
}

Test(signature, oversized_header_is_malformed)
{
	struct signature_header	hd;
	char			big[SIGNATURE_HEADER_MAX + 64];
	char			h[256];
	size_t			n;

	sign(h, sizeof(h), NOW, SECRET, BODY);
	n = (size_t)snprintf(big, sizeof(big), "%s,x=", h);
	memset(big + n, 'a', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(parse(big, &hd), SIGNATURE_MALFORMED);
}
