/* Unit tests for token.c: issuing and pinning verification. */
#include <criterion/criterion.h>

#include <jwt.h>
#include <kore/kore.h>

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "token.h"

static const unsigned char	key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN			(sizeof(key) - 1)
#define NOW			1800000000
#define SID			"5f0c2a9e-1b7d-4c3e-9a2f-0d6b8e4c1a73"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(token, .init = setup);

static char *
forge(jwt_alg_t alg, const unsigned char *k, size_t klen, const char *iss,
    long exp)
{
	jwt_t	*jwt;
	char	*t;

	cr_assert_eq(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", "7");
	jwt_add_grant(jwt, "role", "admin");
	jwt_add_grant(jwt, "jti", "0123456789abcdef0123456789abcdef");
	jwt_add_grant(jwt, "sid", SID);
	jwt_add_grant(jwt, "iss", iss);
	jwt_add_grant(jwt, "aud", TOKEN_AUDIENCE);
	jwt_add_grant_int(jwt, "iat", NOW);
	jwt_add_grant_int(jwt, "exp", exp);
	cr_assert_eq(jwt_set_alg(jwt, alg, k, (int)klen), 0);
	t = jwt_encode_str(jwt);
	jwt_free(jwt);
	return (t);
}

Test(token, issued_token_verifies_with_its_claims)
{
	struct token_claims	in, out;
	char			*t;

	cr_assert_eq(token_issue(key, KEYLEN, 42, AUTH_ROLE_ADMIN, SID, 900, NOW,
	    &in, &t), 0);
	cr_assert_eq(token_verify(key, KEYLEN, t, NOW + 10, &out), TOKEN_OK);
	cr_assert_eq(out.sub, 42);
	cr_assert_eq(out.role, AUTH_ROLE_ADMIN);
	cr_assert_eq(out.exp, NOW + 900);
	cr_assert_str_eq(out.jti, in.jti);
	cr_assert_eq(strlen(out.jti), TOKEN_JTI_LEN);
	cr_assert_str_eq(out.sid, SID);
	free(t);
}

Test(token, a_token_without_a_valid_sid_is_refused)
{
	struct token_claims	c;
	jwt_t			*jwt;
	char			*t;
	const char		*sids[] = { NULL, "", "not-a-uuid",
				    "5F0C2A9E-1B7D-4C3E-9A2F-0D6B8E4C1A73",
				    "5f0c2a9e1b7d4c3e9a2f0d6b8e4c1a73abcd" };
	size_t			i;

	for (i = 0; i < sizeof(sids) / sizeof(sids[0]); i++) {
		cr_assert_eq(jwt_new(&jwt), 0);
		jwt_add_grant(jwt, "sub", "7");
		jwt_add_grant(jwt, "role", "user");
		jwt_add_grant(jwt, "jti", "0123456789abcdef0123456789abcdef");
		if (sids[i] != NULL)
			jwt_add_grant(jwt, "sid", sids[i]);
		jwt_add_grant(jwt, "iss", TOKEN_ISSUER);
		jwt_add_grant(jwt, "aud", TOKEN_AUDIENCE);
		jwt_add_grant_int(jwt, "iat", NOW);
		jwt_add_grant_int(jwt, "exp", NOW + 60);
		cr_assert_eq(jwt_set_alg(jwt, JWT_ALG_HS256, key,
		    (int)KEYLEN), 0);
		t = jwt_encode_str(jwt);
		jwt_free(jwt);
		cr_assert_eq(token_verify(key, KEYLEN, t, NOW, &c),
		    TOKEN_BAD_CLAIMS, "sid %zu", i);
		free(t);
	}

	cr_assert_eq(token_issue(key, KEYLEN, 1, AUTH_ROLE_USER, "nope", 60,
	    NOW, &c, &t), -1);
	cr_assert_null(t);
}

Test(token, two_tokens_have_different_jti)
{
	struct token_claims	a, b;
	char			*t1, *t2;

	cr_assert_eq(token_issue(key, KEYLEN, 1, AUTH_ROLE_USER, SID, 60, NOW, &a,
	    &t1), 0);
	cr_assert_eq(token_issue(key, KEYLEN, 1, AUTH_ROLE_USER, SID, 60, NOW, &b,
	    &t2), 0);
	cr_assert_str_neq(a.jti, b.jti);
	free(t1);
	free(t2);
}

Test(token, expired_token_is_rejected)
{
	struct token_claims	c;
	char			*t;

	cr_assert_eq(token_issue(key, KEYLEN, 1, AUTH_ROLE_USER, SID, 2, NOW, &c,
	    &t), 0);
	cr_assert_eq(token_verify(key, KEYLEN, t, NOW + 2, &c), TOKEN_EXPIRED);
	free(t);
}

Test(token, tampered_payload_is_rejected)
{
	struct token_claims	c;
	char			*t, *dot;

	cr_assert_eq(token_issue(key, KEYLEN, 1, AUTH_ROLE_USER, SID, 60, NOW, &c,
	    &t), 0);
	dot = strchr(t, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	cr_assert_neq(token_verify(key, KEYLEN, t, NOW, &c), TOKEN_OK);
	free(t);
}

Test(token, other_key_is_rejected)
{
	struct token_claims	c;
	const unsigned char	other[] = "another-key-another-key-another-k";
	char			*t;

	t = forge(JWT_ALG_HS256, other, sizeof(other) - 1, TOKEN_ISSUER,
	    NOW + 60);
	cr_assert_eq(token_verify(key, KEYLEN, t, NOW, &c),
	    TOKEN_BAD_SIGNATURE);
	free(t);
}

Test(token, alg_none_is_rejected)
{
	struct token_claims	c;
	char			*t;

	t = forge(JWT_ALG_NONE, NULL, 0, TOKEN_ISSUER, NOW + 60);
	cr_assert_neq(token_verify(key, KEYLEN, t, NOW, &c), TOKEN_OK);
	free(t);
}

Test(token, other_algorithm_is_rejected)
{
	struct token_claims	c;
	char			*t;

	t = forge(JWT_ALG_HS512, key, KEYLEN, TOKEN_ISSUER, NOW + 60);
	cr_assert_neq(token_verify(key, KEYLEN, t, NOW, &c), TOKEN_OK);
	free(t);
}

Test(token, wrong_issuer_is_rejected)
{
	struct token_claims	c;
	char			*t;

	t = forge(JWT_ALG_HS256, key, KEYLEN, "someone-else", NOW + 60);
	cr_assert_eq(token_verify(key, KEYLEN, t, NOW, &c), TOKEN_BAD_CLAIMS);
	free(t);
}

Test(token, garbage_is_malformed)
{
	struct token_claims	c;

	cr_assert_eq(token_verify(key, KEYLEN, "not-a-token", NOW, &c),
	    TOKEN_MALFORMED);
	cr_assert_eq(token_verify(key, KEYLEN, "a.b.c", NOW, &c),
	    TOKEN_MALFORMED);
	cr_assert_eq(token_verify(key, KEYLEN, NULL, NOW, &c),
	    TOKEN_MALFORMED);
}

Test(token, wrong_audience_is_rejected)
{
	struct token_claims	c;
	jwt_t			*jwt;
	char			*t;

	cr_assert_eq(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", "7");
	jwt_add_grant(jwt, "role", "user");
	jwt_add_grant(jwt, "jti", "0123456789abcdef0123456789abcdef");
	jwt_add_grant(jwt, "iss", TOKEN_ISSUER);
	jwt_add_grant(jwt, "aud", "another-api");
	jwt_add_grant_int(jwt, "iat", NOW);
	jwt_add_grant_int(jwt, "exp", NOW + 60);
	cr_assert_eq(jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)KEYLEN), 0);
	t = jwt_encode_str(jwt);
	jwt_free(jwt);

	cr_assert_eq(token_verify(key, KEYLEN, t, NOW, &c), TOKEN_BAD_CLAIMS);
	free(t);
}

Test(token, roles_round_trip_and_unknown_roles_are_refused)
{
	cr_assert_eq(token_role_parse(token_role_name(AUTH_ROLE_ADMIN)),
	    AUTH_ROLE_ADMIN);
	cr_assert_eq(token_role_parse(token_role_name(AUTH_ROLE_USER)),
	    AUTH_ROLE_USER);
	cr_assert_eq(token_role_parse("root"), 0);
	cr_assert_eq(token_role_parse(NULL), 0);
}
