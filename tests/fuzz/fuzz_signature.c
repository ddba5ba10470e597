/*
 * Fuzz target: the payment gateway's X-Signature header parser and
 * checker (src/signature.c), and an event body through the JSON parser
 * and the body helpers the event reader uses (id, type, data.payment_id).
 *
 * Input: header, NUL, body. The body is also checked with a header made
 * from a correct HMAC, so verification runs to its end.
 */
#include <kore/kore.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "signature.h"

#define SECRET	"fuzzing-webhook-secret-0123456789abcdef"
#define NOW	1795000000

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
	struct signature_header	h;
	struct kore_json	json;
	struct kore_json_item	*d;
	const uint8_t		*nul, *body;
	const char		*s;
	uint8_t			mac[SIGNATURE_DIGEST_LEN];
	char			hdr[160];
	size_t			hlen, blen, i;
	int			n;

	if (len > 65536)
		return (0);

	nul = memchr(data, '\0', len);
	hlen = nul != NULL ? (size_t)(nul - data) : len;
	body = nul != NULL ? nul + 1 : data + len;
	blen = len - hlen - (nul != NULL);

	(void)signature_parse((const char *)data, hlen, &h);
	(void)signature_verify(SECRET, strlen(SECRET), (const char *)data,
	    hlen, body, blen, NOW, SIGNATURE_TOLERANCE);

	if (signature_compute(SECRET, strlen(SECRET), "1795000000", body,
	    blen, mac) == SIGNATURE_OK) {
		n = snprintf(hdr, sizeof(hdr), "t=1795000000,v1=");
		for (i = 0; i < sizeof(mac); i++)
			n += snprintf(hdr + n, sizeof(hdr) - n, "%02x", mac[i]);
		if (signature_verify(SECRET, strlen(SECRET), hdr, n, body,
		    blen, NOW, SIGNATURE_TOLERANCE) != SIGNATURE_OK)
			abort();
	}

	memset(&json, 0, sizeof(json));
	kore_json_init(&json, body, blen);
	if (kore_json_parse(&json) &&
	    json.root->type == KORE_JSON_TYPE_OBJECT) {
		(void)body_get_string(json.root, "id", 1, 1, 255, &s);
		(void)body_get_string(json.root, "type", 1, 1, 64, &s);
		if ((d = body_member(json.root, "data")) != NULL &&
		    d->type == KORE_JSON_TYPE_OBJECT)
			(void)body_member(d, "payment_id");
	}
	body_cleanup(&json);

	return (0);
}
