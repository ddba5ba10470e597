/*
 * signature: parsing and checking gateway event signatures (the grammar
 * is in signature.h). signature_verify() is the only place a signature is
 * accepted: well-formed, t within the tolerance of now, and one v1 equal
 * to HMAC-SHA256(secret, "<t>.<body>") by a constant-time comparison.
 */
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>
#include <string.h>

#include "signature.h"

/* Far beyond any clock, far below overflow. */
#define SIGNATURE_NOW_MAX	((int64_t)1 << 60)

static int	signature_hex(int);
static int	signature_element(const char *, size_t,
		    struct signature_header *, int *);

static int
signature_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* One key=value element; *seen_t counts t elements. */
static int
signature_element(const char *p, size_t len, struct signature_header *h,
    int *seen_t)
{
	const char	*eq, *v;
	size_t		klen, vlen, i;
	int		hi, lo;

	if ((eq = memchr(p, '=', len)) == NULL)
		return (SIGNATURE_MALFORMED);
	klen = eq - p;
	v = eq + 1;
	vlen = len - klen - 1;
	if (klen == 0 || vlen == 0)
		return (SIGNATURE_MALFORMED);
	for (i = 0; i < klen; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return (SIGNATURE_MALFORMED);
	}

	if (klen == 1 && p[0] == 't') {
		if ((*seen_t)++ > 0 || vlen > SIGNATURE_T_DIGITS)
			return (SIGNATURE_MALFORMED);
		h->t = 0;
		for (i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return (SIGNATURE_MALFORMED);
			h->t = h->t * 10 + (v[i] - '0');
		}
		memcpy(h->t_text, v, vlen);
		h->t_text[vlen] = '\0';
		return (SIGNATURE_OK);
	}

	if (klen == 2 && p[0] == 'v' && p[1] == '1') {
		if (vlen != SIGNATURE_DIGEST_LEN * 2 ||
		    h->nv1 == SIGNATURE_V1_MAX)
			return (SIGNATURE_MALFORMED);
		for (i = 0; i < SIGNATURE_DIGEST_LEN; i++) {
			hi = signature_hex((unsigned char)v[2 * i]);
			lo = signature_hex((unsigned char)v[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return (SIGNATURE_MALFORMED);
			h->v1[h->nv1][i] = (uint8_t)(hi << 4 | lo);
		}
		h->nv1++;
		return (SIGNATURE_OK);
	}

	/* Another scheme or field: ignored, but it must be well-formed. */
	for (i = 0; i < vlen; i++) {
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == ',')
			return (SIGNATURE_MALFORMED);
	}
	return (SIGNATURE_OK);
}

/* SIGNATURE_OK with *h filled, or SIGNATURE_MALFORMED. */
int
signature_parse(const char *header, size_t len, struct signature_header *h)
{
	const char	*p, *end, *comma;
	int		seen_t;

	memset(h, 0, sizeof(*h));
	if (header == NULL || len == 0 || len > SIGNATURE_HEADER_MAX)
		return (SIGNATURE_MALFORMED);

	seen_t = 0;
	p = header;
	end = header + len;
	for (;;) {
		if ((comma = memchr(p, ',', end - p)) == NULL)
			comma = end;
		if (signature_element(p, comma - p, h, &seen_t) !=
		    SIGNATURE_OK)
			return (SIGNATURE_MALFORMED);
		if (comma == end)
			break;
		p = comma + 1;
	}

	if (seen_t != 1 || h->nv1 == 0)
		return (SIGNATURE_MALFORMED);

	return (SIGNATURE_OK);
}

/* out = HMAC-SHA256(secret, "<t_text>.<body>"). */
int
signature_compute(const void *secret, size_t secret_len, const char *t_text,
    const void *body, size_t body_len, uint8_t *out)
{
	unsigned char	*msg;
	unsigned int	outlen;
	size_t		tlen;
	int		ret;

	tlen = strlen(t_text);
	if ((msg = malloc(tlen + 1 + body_len + 1)) == NULL)
		return (SIGNATURE_ERROR);
	memcpy(msg, t_text, tlen);
	msg[tlen] = '.';
	if (body_len > 0)
		memcpy(msg + tlen + 1, body, body_len);

	outlen = 0;
	ret = SIGNATURE_OK;
	if (HMAC(EVP_sha256(), secret, (int)secret_len, msg,
	    tlen + 1 + body_len, out, &outlen) == NULL ||
	    outlen != SIGNATURE_DIGEST_LEN)
		ret = SIGNATURE_ERROR;

	free(msg);
	return (ret);
}

int
signature_verify(const void *secret, size_t secret_len, const char *header,
    size_t header_len, const void *body, size_t body_len, int64_t now,
    int64_t tolerance)
{
	struct signature_header	h;
	uint8_t			want[SIGNATURE_DIGEST_LEN];
	size_t			i;
	int			ret;

	if (signature_parse(header, header_len, &h) != SIGNATURE_OK)
		return (SIGNATURE_MALFORMED);

	/* t < 10^18; with now and tolerance bounded nothing overflows. */
	if (now < 0 || now > SIGNATURE_NOW_MAX || tolerance < 0 ||
	    tolerance > SIGNATURE_NOW_MAX)
		return (SIGNATURE_STALE);
	if (h.t > now + tolerance || h.t < now - tolerance)
		return (SIGNATURE_STALE);

	if ((ret = signature_compute(secret, secret_len, h.t_text, body,
	    body_len, want)) != SIGNATURE_OK)
		return (ret);

	ret = SIGNATURE_MISMATCH;
	for (i = 0; i < h.nv1; i++) {
		if (CRYPTO_memcmp(want, h.v1[i], sizeof(want)) == 0)
			ret = SIGNATURE_OK;
	}
	OPENSSL_cleanse(want, sizeof(want));

	return (ret);
}
