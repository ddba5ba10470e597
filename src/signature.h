/*
 * signature: the gateway event signature, as a header
 * "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">". Pure
 * functions over bytes (OpenSSL and libc only, no Kore), so unit tests
 * and fuzzers can call them directly.
 *
 * Grammar: comma-separated key=value elements, no whitespace; keys are
 * [a-z0-9_]+. Exactly one t (1 to 18 digits); 1 to SIGNATURE_V1_MAX v1
 * (64 hex digits each; any one may match, for secret rotation); other
 * keys are ignored. Anything else, or more than SIGNATURE_HEADER_MAX
 * bytes, is malformed.
 */
#ifndef __H_SIGNATURE_H
#define __H_SIGNATURE_H

#include <sys/types.h>

#include <stdint.h>

#define SIGNATURE_HEADER_MAX	1024
#define SIGNATURE_V1_MAX	4
#define SIGNATURE_DIGEST_LEN	32
#define SIGNATURE_T_DIGITS	18
/* How far t may be from now, either way, in seconds. */
#define SIGNATURE_TOLERANCE	300

#define SIGNATURE_OK		0
#define SIGNATURE_MALFORMED	1
#define SIGNATURE_STALE		2
#define SIGNATURE_MISMATCH	3
#define SIGNATURE_ERROR		4	/* out of memory, OpenSSL failed */

struct signature_header {
	int64_t		t;
	/* t exactly as sent: the signed text starts with it. */
	char		t_text[SIGNATURE_T_DIGITS + 1];
	size_t		nv1;
	uint8_t		v1[SIGNATURE_V1_MAX][SIGNATURE_DIGEST_LEN];
};

int	signature_parse(const char *, size_t, struct signature_header *);
int	signature_compute(const void *, size_t, const char *, const void *,
	    size_t, uint8_t *);
int	signature_verify(const void *, size_t, const char *, size_t,
	    const void *, size_t, int64_t, int64_t);

#endif
