/*
 * token: JWT access tokens.
 *
 * Claims: sub (user id, as a string per RFC 7519), role ("user" or
 * "admin"), jti (random, 128 bits in hex), sid (the session: the uuid of
 * the login's refresh-token family, sessions.c), iat, exp, iss and aud.
 * A token without a sid (issued before sessions existed) is refused: it
 * could not be revoked with its session.
 * Verification pins HS256: libjwt parses "alg": "none" tokens without
 * complaint, so the decoded algorithm is checked here, as are issuer,
 * audience and expiry. Pure functions of their arguments (the clock is
 * passed in), so the unit tests can drive them.
 */
#include <sys/types.h>

#include <jwt.h>
#include <openssl/rand.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

#define TOKEN_MAX_LEN		4096

const char *
token_role_name(int role)
{
	return (role == AUTH_ROLE_ADMIN ? "admin" : "user");
}

int
token_role_parse(const char *name)
{
	if (name == NULL)
		return (0);
	if (!strcmp(name, "admin"))
		return (AUTH_ROLE_ADMIN);
	if (!strcmp(name, "user"))
		return (AUTH_ROLE_USER);
	return (0);
}

/* A session id as PostgreSQL writes a uuid: 8-4-4-4-12 lower hex. */
int
token_sid_valid(const char *sid)
{
	size_t		i;

	if (sid == NULL || strlen(sid) != TOKEN_SID_LEN)
		return (0);
	for (i = 0; i < TOKEN_SID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (sid[i] != '-')
				return (0);
		} else if (!((sid[i] >= '0' && sid[i] <= '9') ||
		    (sid[i] >= 'a' && sid[i] <= 'f'))) {
			return (0);
		}
	}

	return (1);
}

/* Signs a new token for (sub, role, sid) valid for ttl seconds from now. */
int
token_issue(const unsigned char *key, size_t keylen, int64_t sub, int role,
    const char *sid, int64_t ttl, time_t now, struct token_claims *out,
    char **token)
{
	jwt_t		*jwt;
	u_int8_t	raw[TOKEN_JTI_LEN / 2];
	char		subs[24];
	size_t		i;
	int		ret;

	*token = NULL;
	memset(out, 0, sizeof(*out));
	if (!token_sid_valid(sid))
		return (-1);
	memcpy(out->sid, sid, TOKEN_SID_LEN + 1);

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	for (i = 0; i < sizeof(raw); i++)
		(void)snprintf(out->jti + i * 2, 3, "%02x", raw[i]);

	out->sub = sub;
	out->role = role;
	out->iat = now;
	out->exp = now + ttl;
	(void)snprintf(subs, sizeof(subs), "%lld", (long long)sub);

	if (jwt_new(&jwt) != 0)
		return (-1);

	ret = -1;
	if (jwt_add_grant(jwt, "sub", subs) != 0 ||
	    jwt_add_grant(jwt, "role", token_role_name(role)) != 0 ||
	    jwt_add_grant(jwt, "jti", out->jti) != 0 ||
	    jwt_add_grant(jwt, "sid", out->sid) != 0 ||
	    jwt_add_grant(jwt, "iss", TOKEN_ISSUER) != 0 ||
	    jwt_add_grant(jwt, "aud", TOKEN_AUDIENCE) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)out->iat) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)out->exp) != 0)
		goto done;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen) != 0)
		goto done;
	if ((*token = jwt_encode_str(jwt)) == NULL)
		goto done;
	ret = 0;

done:
	jwt_free(jwt);
	return (ret);
}

static int
token_string_claim(jwt_t *jwt, const char *name, const char *want)
{
	const char	*v;

	if ((v = jwt_get_grant(jwt, name)) == NULL)
		return (0);
	return (want == NULL || !strcmp(v, want));
}

int
token_verify(const unsigned char *key, size_t keylen, const char *token,
    time_t now, struct token_claims *out)
{
	jwt_t		*jwt;
	const char	*sub, *jti, *sid;
	char		*end;
	long long	id;
	int		ret;

	memset(out, 0, sizeof(out[0]));
	if (token == NULL || strlen(token) > TOKEN_MAX_LEN ||
	    strchr(token, '.') == NULL)
		return (TOKEN_MALFORMED);

	if (jwt_decode(&jwt, token, key, (int)keylen) != 0) {
		/* Tell a bad signature from garbage, for the logs only. */
		if (jwt_decode(&jwt, token, NULL, 0) == 0) {
			jwt_free(jwt);
			return (TOKEN_BAD_SIGNATURE);
		}
		return (TOKEN_MALFORMED);
	}

	ret = TOKEN_BAD_ALGORITHM;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;

	ret = TOKEN_BAD_CLAIMS;
	if (!token_string_claim(jwt, "iss", TOKEN_ISSUER) ||
	    !token_string_claim(jwt, "aud", TOKEN_AUDIENCE))
		goto done;

	if ((sub = jwt_get_grant(jwt, "sub")) == NULL)
		goto done;
	errno = 0;
	id = strtoll(sub, &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		goto done;
	out->sub = id;

	if ((out->role = token_role_parse(jwt_get_grant(jwt, "role"))) == 0)
		goto done;

	if ((jti = jwt_get_grant(jwt, "jti")) == NULL ||
	    strlen(jti) != TOKEN_JTI_LEN)
		goto done;
	memcpy(out->jti, jti, TOKEN_JTI_LEN + 1);

	if (!token_sid_valid(sid = jwt_get_grant(jwt, "sid")))
		goto done;
	memcpy(out->sid, sid, TOKEN_SID_LEN + 1);

	errno = 0;
	out->iat = jwt_get_grant_int(jwt, "iat");
	if (errno != 0)
		goto done;
	out->exp = jwt_get_grant_int(jwt, "exp");
	if (errno != 0)
		goto done;

	ret = out->exp <= now ? TOKEN_EXPIRED : TOKEN_OK;

done:
	jwt_free(jwt);
	return (ret);
}
