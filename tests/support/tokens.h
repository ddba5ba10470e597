/*
 * Test support: users made directly in the database and access tokens
 * minted with the test JWT secret, so tests of protected routes do not
 * depend on the accounts endpoints.
 */
#ifndef __H_TEST_TOKENS_H
#define __H_TEST_TOKENS_H

long long	test_user(const char *);
char		*test_token(long long, const char *, long);
char		*test_user_token(const char *, long long *);
char		*test_admin_token(void);

#endif
