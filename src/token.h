/*
 * token: access tokens, HS256 JWTs signed and checked with libjwt.
 */
#ifndef __H_TOKEN_H
#define __H_TOKEN_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#define TOKEN_ISSUER		"booking"
#define TOKEN_AUDIENCE		"booking-api"
#define TOKEN_JTI_LEN		32
#define TOKEN_SID_LEN		36	/* a uuid: the session's refresh family */

#define TOKEN_OK		0
#define TOKEN_MALFORMED		1
#define TOKEN_BAD_SIGNATURE	2
#define TOKEN_BAD_ALGORITHM	3
#define TOKEN_BAD_CLAIMS	4
#define TOKEN_EXPIRED		5

/* The role claim's values; the rest of the service knows them as roles. */
#define AUTH_ROLE_USER		1
#define AUTH_ROLE_ADMIN		2

struct token_claims {
	int64_t		sub;
	int		role;			/* AUTH_ROLE_* */
	char		jti[TOKEN_JTI_LEN + 1];
	char		sid[TOKEN_SID_LEN + 1];
	int64_t		iat;
	int64_t		exp;
};

int	token_issue(const unsigned char *, size_t, int64_t, int,
	    const char *, int64_t, time_t, struct token_claims *, char **);
int	token_sid_valid(const char *);
int	token_verify(const unsigned char *, size_t, const char *, time_t,
	    struct token_claims *);
const char	*token_role_name(int);
int	token_role_parse(const char *);

#endif
