/*
 * stripe_signature: verifying Stripe-Signature (the rules are in
 * stripe_signature.h). stripe_signature_verify() is the only place
 * a Stripe event's signature is accepted.
 *
 * The header is split as Stripe's libraries split it: on ',' then at the
 * first '='; no trimming, so " v1=..." is some other prefix and ignored.
 * Stricter than those libraries where they are lenient by accident: t
 * must be all digits (not parseInt's "12abc") and appear once.
 *
 * Order of the checks, as Stripe's libraries: the header's shape, then a
 * matching v1, then the time; so STALE means "signed by Stripe, but
 * replayed or delayed too long", never a forgery.
 *
 * Tolerance: Stripe's libraries reject only a t older than the tolerance.
 * We also reject a t more than the tolerance in the future (the contract
 * says t "within 300 s"): a header signed ahead of time would otherwise
 * stay replayable until then, and Stripe signs at the moment it sends.
 */
#include <sys/types.h>

#include <openssl/crypto.h>

#include <string.h>

#include "signature.h"
#include "stripe_signature.h"

#define STRIPE_SIGNATURE_HEX_LEN	(SIGNATURE_DIGEST_LEN * 2)
/* Far beyond any clock, far below overflow (t < 10^18). */
#define STRIPE_SIGNATURE_NOW_MAX	((int64_t)1 << 60)

static int	stripe_signature_t(const char *, size_t, char *, int64_t *);
static int	stripe_signature_next(const char **, const char *,
		    const char **, size_t *, const char **, size_t *);

/*
 * The next element of [*p, end): its prefix and value (the value empty
 * when there is no '='). Returns 0 when there are no more.
 */
static int
stripe_signature_next(const char **p, const char *end, const char **key,
    size_t *klen, const char **val, size_t *vlen)
{
	const char	*comma, *eq;

	if (*p == NULL)
		return (0);
	if ((comma = memchr(*p, ',', end - *p)) == NULL)
		comma = end;

	*key = *p;
	if ((eq = memchr(*p, '=', comma - *p)) == NULL) {
		*klen = comma - *p;
		*val = comma;
		*vlen = 0;
	} else {
		*klen = eq - *p;
		*val = eq + 1;
		*vlen = comma - (eq + 1);
	}

	*p = comma == end ? NULL : comma + 1;
	return (1);
}

/* t: 1 to SIGNATURE_T_DIGITS digits, kept as text for the signed text. */
static int
stripe_signature_t(const char *v, size_t len, char *text, int64_t *t)
{
	size_t		i;

	if (len == 0 || len > SIGNATURE_T_DIGITS)
		return (0);

	*t = 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (0);
		*t = *t * 10 + (v[i] - '0');
	}
	memcpy(text, v, len);
	text[len] = '\0';

	return (1);
}

/*
 * secret: the endpoint's whole "whsec_..."; header: the Stripe-Signature
 * value (NULL when absent); body: the raw request body; now and
 * tolerance in seconds.
 */
int
stripe_signature_verify(const void *secret, size_t secret_len,
    const char *header, size_t header_len, const void *body, size_t body_len,
    int64_t now, int64_t tolerance)
{
	const char	*p, *end, *key, *val;
	char		t_text[SIGNATURE_T_DIGITS + 1];
	char		want[STRIPE_SIGNATURE_HEX_LEN];
	uint8_t		mac[SIGNATURE_DIGEST_LEN];
	size_t		klen, vlen, nv1, i;
	int64_t		t;
	int		seen_t, ret;

	static const char	digits[] = "0123456789abcdef";

	if (header == NULL || header_len == 0 ||
	    header_len > STRIPE_SIGNATURE_HEADER_MAX)
		return (STRIPE_SIGNATURE_BAD_HEADER);

	t = 0;
	seen_t = 0;
	nv1 = 0;
	end = header + header_len;
	p = header;
	while (stripe_signature_next(&p, end, &key, &klen, &val, &vlen)) {
		if (klen == 1 && key[0] == 't') {
			if (seen_t++ > 0 ||
			    !stripe_signature_t(val, vlen, t_text, &t))
				return (STRIPE_SIGNATURE_BAD_HEADER);
		} else if (klen == 2 && key[0] == 'v' && key[1] == '1') {
			nv1++;
		}
	}
	if (seen_t == 0 || nv1 == 0)
		return (STRIPE_SIGNATURE_BAD_HEADER);

	if (secret == NULL || secret_len == 0 ||
	    signature_compute(secret, secret_len, t_text, body, body_len,
	    mac) != SIGNATURE_OK)
		return (STRIPE_SIGNATURE_ERROR);
	for (i = 0; i < sizeof(mac); i++) {
		want[2 * i] = digits[mac[i] >> 4];
		want[2 * i + 1] = digits[mac[i] & 0x0f];
	}

	/* Every v1 is compared, in constant time, whatever matched before. */
	ret = STRIPE_SIGNATURE_NO_MATCH;
	p = header;
	while (stripe_signature_next(&p, end, &key, &klen, &val, &vlen)) {
		if (klen != 2 || key[0] != 'v' || key[1] != '1' ||
		    vlen != sizeof(want))
			continue;
		if (CRYPTO_memcmp(want, val, sizeof(want)) == 0)
			ret = STRIPE_SIGNATURE_OK;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(want, sizeof(want));
	if (ret != STRIPE_SIGNATURE_OK)
		return (ret);

	if (now < 0 || now > STRIPE_SIGNATURE_NOW_MAX || tolerance < 0 ||
	    tolerance > STRIPE_SIGNATURE_NOW_MAX)
		return (STRIPE_SIGNATURE_STALE);
	if (t < now - tolerance || t > now + tolerance)
		return (STRIPE_SIGNATURE_STALE);

	return (STRIPE_SIGNATURE_OK);
}

/* A short name of a result, for logs. */
const char *
stripe_signature_result(int result)
{
	switch (result) {
	case STRIPE_SIGNATURE_OK:
		return ("ok");
	case STRIPE_SIGNATURE_BAD_HEADER:
		return ("bad header");
	case STRIPE_SIGNATURE_NO_MATCH:
		return ("no matching v1");
	case STRIPE_SIGNATURE_STALE:
		return ("timestamp outside the tolerance");
	case STRIPE_SIGNATURE_ERROR:
		return ("internal error");
	}

	return ("unknown");
}
