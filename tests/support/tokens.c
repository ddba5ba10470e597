#include <criterion/criterion.h>
#include <jwt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tokens.h"

/* A user row with a unique email and an unusable password hash. */
long long
test_user(const char *role)
{
	static int	n;
	char		email[96];

	(void)snprintf(email, sizeof(email), "t%d.%d.%ld@example.test",
	    (int)getpid(), n++, (long)time(NULL));
	return (db_insert_id("INSERT INTO users (name, email, password_hash, "
	    "role) VALUES ('Test User', $1, '!', $2) RETURNING id", email,
	    role, NULL));
}

/* An HS256 access token for (user, role) valid for ttl seconds. */
char *
test_token(long long user_id, const char *role, long ttl)
{
	jwt_t		*jwt;
	char		sub[24], jti[33], hex[33], sid[37], *tok, *out;
	const char	*secret = getenv("JWT_SECRET");
	time_t		now = time(NULL);
	unsigned char	raw[32];
	FILE		*fp;
	int		i;

	cr_assert_not_null(secret);
	(void)snprintf(sub, sizeof(sub), "%lld", user_id);
	/* Unique per token: Criterion forks every test from one state. */
	fp = fopen("/dev/urandom", "r");
	cr_assert_not_null(fp);
	cr_assert_eq(fread(raw, 1, sizeof(raw), fp), sizeof(raw));
	fclose(fp);
	for (i = 0; i < 16; i++)
		(void)snprintf(jti + i * 2, 3, "%02x", raw[i]);
	/* A session of its own, as if from a login: a uuid's text form. */
	for (i = 0; i < 16; i++)
		(void)snprintf(hex + i * 2, 3, "%02x", raw[16 + i]);
	(void)snprintf(sid, sizeof(sid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);

	cr_assert_eq(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", sub);
	jwt_add_grant(jwt, "role", role);
	jwt_add_grant(jwt, "jti", jti);
	jwt_add_grant(jwt, "sid", sid);
	jwt_add_grant(jwt, "iss", "booking");
	jwt_add_grant(jwt, "aud", "booking-api");
	jwt_add_grant_int(jwt, "iat", (long)now);
	jwt_add_grant_int(jwt, "exp", (long)now + ttl);
	cr_assert_eq(jwt_set_alg(jwt, JWT_ALG_HS256,
	    (const unsigned char *)secret, (int)strlen(secret)), 0);
	tok = jwt_encode_str(jwt);
	cr_assert_not_null(tok);
	out = strdup(tok);
	free(tok);
	jwt_free(jwt);

	return (out);
}

char *
test_user_token(const char *role, long long *id)
{
	*id = test_user(role);
	return (test_token(*id, role, 600));
}

char *
test_admin_token(void)
{
	long long	id;

	return (test_user_token("admin", &id));
}
