/*
 * Fuzz target: the Authorization header's token through JWT decoding and
 * claim checks (src/token.c, libjwt). An input that starts with '{' is a
 * claims object instead: it is signed with the secret first, so the claim
 * checks behind the signature see arbitrary claims too.
 */
#include <kore/kore.h>

#include <jwt.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "token.h"

#define SECRET	"fuzzing-secret-0123456789abcdef-0123456789"

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
	struct token_claims	claims;
	char			*header, *signed_tok;
	const char		*tok;
	jwt_t			*jwt;

	if (len > 8192)
		return (0);

	header = malloc(len + 1);
	memcpy(header, data, len);
	header[len] = '\0';

	/* As auth_check() reads the header. */
	if (header[0] == '{') {
		if (jwt_new(&jwt) == 0) {
			if (jwt_add_grants_json(jwt, header) == 0 &&
			    jwt_set_alg(jwt, JWT_ALG_HS256,
			    (const unsigned char *)SECRET,
			    (int)strlen(SECRET)) == 0 &&
			    (signed_tok = jwt_encode_str(jwt)) != NULL) {
				(void)token_verify(
				    (const unsigned char *)SECRET,
				    strlen(SECRET), signed_tok, 1795000000,
				    &claims);
				free(signed_tok);
			}
			jwt_free(jwt);
		}
		free(header);
		return (0);
	}

	tok = strncasecmp(header, "Bearer ", 7) ? header : header + 7;
	(void)token_verify((const unsigned char *)SECRET, strlen(SECRET), tok,
	    1795000000, &claims);
	(void)token_role_parse(tok);

	free(header);
	return (0);
}
