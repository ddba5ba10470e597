/*
 * Tokens for tests that call admin endpoints. PLACEHOLDER until the
 * accounts branch lands: there is no way to obtain a token yet, so both
 * answer NULL and tests/integration/test_admin.c only runs its
 * HAVE_AUTH block once this file (and the stub src/auth.c) are replaced.
 */
#include <stddef.h>

#include "client.h"

const char *
test_admin_token(void)
{
	return (NULL);
}

const char *
test_user_token(void)
{
	return (NULL);
}
