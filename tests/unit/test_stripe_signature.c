/*
 * Unit tests for stripe_signature.c against Stripe's own signer: the
 * headers in stripe_signature_vectors.h were made once with the official
 * stripe npm package's webhooks.generateTestHeaderString (by
 * tests/stripe/signature-vectors.mjs) and committed. Also: rotation (two
 * v1), downgrade to v0, a tampered body, another secret, stale and future
 * t, and malformed headers.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe_signature.h"
#include "stripe_signature_vectors.h"

#define NOW	STRIPE_VECTOR_T
#define NVECTORS	(sizeof(stripe_vectors) / sizeof(stripe_vectors[0]))

static const struct stripe_vector *
vector(const char *name)
{
	size_t		i;

	for (i = 0; i < NVECTORS; i++) {
		if (!strcmp(stripe_vectors[i].name, name))
			return (&stripe_vectors[i]);
	}
	cr_assert_fail("no vector %s", name);
	return (NULL);
}

static int
verify_with(const char *header, const void *body, size_t body_len,
    const char *secret, long long now)
{
	return (stripe_signature_verify(secret, strlen(secret), header,
	    header != NULL ? strlen(header) : 0, body, body_len, now,
	    STRIPE_SIGNATURE_TOLERANCE));
}

static int
verify(const char *header, const struct stripe_vector *v, long long now)
{
	return (verify_with(header, v->payload, v->payload_len, v->secret,
	    now));
}

/* "v1=<hex>" of a vector's header. */
static const char *
v1_of(const struct stripe_vector *v)
{
	const char	*p;

	cr_assert_not_null(p = strstr(v->header, "v1="));
	return (p);
}

Test(stripe_signature, every_header_of_stripes_signer_verifies)
{
	size_t		i;

	cr_assert_geq(NVECTORS, 4);
	for (i = 0; i < NVECTORS; i++) {
		cr_assert_eq(verify(stripe_vectors[i].header, &stripe_vectors[i],
		    NOW), STRIPE_SIGNATURE_OK, "%s", stripe_vectors[i].name);
	}
}

/* The raw body is signed, byte for byte: a NUL inside it included. */
Test(stripe_signature, the_whole_raw_body_is_signed)
{
	const struct stripe_vector	*v = vector("nul_body_secret_a");

	cr_assert_eq(v->payload_len, 12);
	cr_assert_eq(verify(v->header, v, NOW), STRIPE_SIGNATURE_OK);
	/* Only the part before the NUL: another body. */
	cr_assert_eq(verify_with(v->header, v->payload, 6, v->secret, NOW),
	    STRIPE_SIGNATURE_NO_MATCH);
}

Test(stripe_signature, tampered_body_does_not_match)
{
	const struct stripe_vector	*v = vector("event_secret_a");
	char				*body;
	char				*p;

	body = strdup(v->payload);
	cr_assert_not_null(p = strstr(body, "1200"));
	p[0] = '9';
	cr_assert_eq(verify_with(v->header, body, v->payload_len, v->secret,
	    NOW), STRIPE_SIGNATURE_NO_MATCH);
	/* One byte more or less. */
	cr_assert_eq(verify_with(v->header, v->payload, v->payload_len - 1,
	    v->secret, NOW), STRIPE_SIGNATURE_NO_MATCH);
	free(body);
}

Test(stripe_signature, another_secret_does_not_match)
{
	const struct stripe_vector	*v = vector("event_secret_a");

	cr_assert_eq(verify_with(v->header, v->payload, v->payload_len,
	    STRIPE_VECTOR_SECRET_B, NOW), STRIPE_SIGNATURE_NO_MATCH);
	/* The secret is the whole "whsec_..." string, prefix included. */
	cr_assert_eq(verify_with(v->header, v->payload, v->payload_len,
	    STRIPE_VECTOR_SECRET_A + 6, NOW), STRIPE_SIGNATURE_NO_MATCH);
}

/* Secret rotation: two v1, the second is the one of our secret. */
Test(stripe_signature, rotation_any_v1_may_match)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	const struct stripe_vector	*b = vector("event_secret_b");
	char				h[512];

	(void)snprintf(h, sizeof(h), "t=%lld,%s,%s", NOW, v1_of(a), v1_of(b));
	cr_assert_eq(verify(h, b, NOW), STRIPE_SIGNATURE_OK);
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_OK);
	/* t last, as any order is allowed. */
	(void)snprintf(h, sizeof(h), "%s,%s,t=%lld", v1_of(a), v1_of(b), NOW);
	cr_assert_eq(verify(h, b, NOW), STRIPE_SIGNATURE_OK);
	/* Neither is ours. */
	(void)snprintf(h, sizeof(h), "t=%lld,%s,%s", NOW, v1_of(a), v1_of(a));
	cr_assert_eq(verify(h, b, NOW), STRIPE_SIGNATURE_NO_MATCH);
}

/* Other schemes are ignored: a right signature under v0 is no match. */
Test(stripe_signature, other_schemes_are_ignored)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	char				h[512];

	(void)snprintf(h, sizeof(h), "t=%lld,v0=%s,v1=%064d", NOW,
	    v1_of(a) + 3, 0);
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
	(void)snprintf(h, sizeof(h), "t=%lld,v0=%s", NOW, v1_of(a) + 3);
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_BAD_HEADER);
	/* Unknown elements beside a good v1 are harmless. */
	(void)snprintf(h, sizeof(h), "t=%lld,v0=abc,%s,x,=,k=v=w", NOW,
	    v1_of(a));
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_OK);
	/* Not trimmed, as Stripe's libraries do not: " v1" is another key. */
	(void)snprintf(h, sizeof(h), "t=%lld, %s", NOW, v1_of(a));
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_BAD_HEADER);
}

/* Hex is compared as Stripe does: its lowercase text. */
Test(stripe_signature, uppercase_or_short_hex_does_not_match)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	char				h[512];
	size_t				i;

	(void)snprintf(h, sizeof(h), "%s", a->header);
	for (i = 0; h[i] != '\0'; i++) {
		if (i > 15 && h[i] >= 'a' && h[i] <= 'f')
			h[i] -= 32;
	}
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
	(void)snprintf(h, sizeof(h), "%s", a->header);
	h[strlen(h) - 1] = '\0';
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
	(void)snprintf(h, sizeof(h), "%s0", a->header);
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
}

/* 300 s either way; a forgery is no match, not stale, whatever its t. */
Test(stripe_signature, stale_and_future_timestamps)
{
	const struct stripe_vector	*a = vector("event_secret_a");

	cr_assert_eq(verify(a->header, a, NOW + 300), STRIPE_SIGNATURE_OK);
	cr_assert_eq(verify(a->header, a, NOW - 300), STRIPE_SIGNATURE_OK);
	cr_assert_eq(verify(a->header, a, NOW + 301), STRIPE_SIGNATURE_STALE);
	cr_assert_eq(verify(a->header, a, NOW + 86400 * 3),
	    STRIPE_SIGNATURE_STALE);
	cr_assert_eq(verify(a->header, a, NOW - 301), STRIPE_SIGNATURE_STALE);
	cr_assert_eq(verify_with(a->header, a->payload, a->payload_len,
	    STRIPE_VECTOR_SECRET_B, NOW + 3600), STRIPE_SIGNATURE_NO_MATCH);
	/* A rightly signed t far in the past stays stale at any now. */
	cr_assert_eq(verify(a->header, a, 0), STRIPE_SIGNATURE_STALE);
	cr_assert_eq(verify(a->header, a, -1), STRIPE_SIGNATURE_STALE);
	cr_assert_eq(verify(a->header, a, INT64_MAX), STRIPE_SIGNATURE_STALE);
	cr_assert_eq(stripe_signature_verify(a->secret, strlen(a->secret),
	    a->header, strlen(a->header), a->payload, a->payload_len, NOW,
	    INT64_MAX), STRIPE_SIGNATURE_STALE);
}

/* Changing t breaks the signature: t is part of the signed text. */
Test(stripe_signature, t_is_signed)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	char				h[512];

	(void)snprintf(h, sizeof(h), "t=%lld,%s", NOW + 1, v1_of(a));
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
	/* The same number written otherwise is another text. */
	(void)snprintf(h, sizeof(h), "t=0%lld,%s", NOW, v1_of(a));
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_NO_MATCH);
}

Test(stripe_signature, malformed_headers_are_bad_header)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	const char			*v1 = v1_of(a);
	char				h[512];
	size_t				i;
	const char			*bad[] = {
		"", ",", "=", "t", "t=", "v1=", "t=,v1=", "garbage",
		"t=1796000000", "t=abc,%s", "t=-1796000000,%s",
		"t=+1796000000,%s", "t=1796000000x,%s", "t= 1796000000,%s",
		"t=1796000000,t=1796000000,%s", "t=1234567890123456789,%s",
		"%s", "T=1796000000,%s", "t=1796000000;%s",
	};

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(h, sizeof(h), bad[i], v1);
		cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_BAD_HEADER,
		    "%s", h);
	}
	cr_assert_eq(verify(NULL, a, NOW), STRIPE_SIGNATURE_BAD_HEADER);
}

Test(stripe_signature, header_length_is_bounded)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	char				*h;
	size_t				len;

	len = STRIPE_SIGNATURE_HEADER_MAX + 1;
	cr_assert_not_null(h = malloc(len + 1));
	memset(h, 'x', len);
	memcpy(h, a->header, strlen(a->header));
	h[strlen(a->header)] = ',';
	h[len] = '\0';
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_BAD_HEADER);
	/* One byte less is read, and still verifies. */
	h[len - 1] = '\0';
	cr_assert_eq(verify(h, a, NOW), STRIPE_SIGNATURE_OK);
	free(h);
}

/* The length given is the header: no NUL needed, nothing read past it. */
Test(stripe_signature, header_is_not_read_past_its_length)
{
	const struct stripe_vector	*a = vector("event_secret_a");
	char				*h;
	size_t				len;

	len = strlen(a->header);
	cr_assert_not_null(h = malloc(len));
	memcpy(h, a->header, len);
	cr_assert_eq(stripe_signature_verify(a->secret, strlen(a->secret), h,
	    len, a->payload, a->payload_len, NOW,
	    STRIPE_SIGNATURE_TOLERANCE), STRIPE_SIGNATURE_OK);
	cr_assert_eq(stripe_signature_verify(a->secret, strlen(a->secret), h,
	    len - 1, a->payload, a->payload_len, NOW,
	    STRIPE_SIGNATURE_TOLERANCE), STRIPE_SIGNATURE_NO_MATCH);
	free(h);
}

Test(stripe_signature, an_empty_secret_never_verifies)
{
	const struct stripe_vector	*a = vector("event_secret_a");

	cr_assert_eq(stripe_signature_verify("", 0, a->header,
	    strlen(a->header), a->payload, a->payload_len, NOW,
	    STRIPE_SIGNATURE_TOLERANCE), STRIPE_SIGNATURE_ERROR);
	cr_assert_eq(stripe_signature_verify(NULL, 0, a->header,
	    strlen(a->header), a->payload, a->payload_len, NOW,
	    STRIPE_SIGNATURE_TOLERANCE), STRIPE_SIGNATURE_ERROR);
}

Test(stripe_signature, results_have_names)
{
	cr_assert_str_eq(stripe_signature_result(STRIPE_SIGNATURE_OK), "ok");
	cr_assert_str_eq(stripe_signature_result(STRIPE_SIGNATURE_STALE),
	    "timestamp outside the tolerance");
	cr_assert_str_eq(stripe_signature_result(99), "unknown");
}
