/* Unit tests for password.c: hashing, verifying, the dummy hash. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "password.h"

/* Cost 1 keeps the suite fast; the server's default is 5. */
#define COST	1

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(password, .init = setup);

Test(password, hash_is_yescrypt_and_verifies)
{
	char	h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_now("correct horse", COST, h, sizeof(h)), 0);
	cr_assert(!strncmp(h, "$y$", 3), "not yescrypt: %s", h);
	cr_assert_eq(password_verify_now("correct horse", h), 1);
}

Test(password, wrong_password_does_not_verify)
{
	char	h[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_now("correct horse", COST, h, sizeof(h)), 0);
	cr_assert_eq(password_verify_now("correct horsf", h), 0);
	cr_assert_eq(password_verify_now("", h), 0);
}

Test(password, same_password_gets_a_different_salt_each_time)
{
	char	a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_now("same password", COST, a, sizeof(a)), 0);
	cr_assert_eq(password_hash_now("same password", COST, b, sizeof(b)), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(password_verify_now("same password", a), 1);
	cr_assert_eq(password_verify_now("same password", b), 1);
}

Test(password, unusable_hashes_never_verify)
{
	cr_assert_eq(password_verify_now("anything", "!"), 0);
	cr_assert_eq(password_verify_now("anything", ""), 0);
	cr_assert_eq(password_verify_now("anything", "*0"), 0);
	cr_assert_eq(password_verify_now("anything", "$y$garbage"), 0);
}

Test(password, multibyte_passwords_round_trip)
{
	char		h[PASSWORD_HASH_MAX];
	const char	*pw = "p\xc3\xa4ssw\xc3\xb6rd \xf0\x9f\x8e\xac";

	cr_assert_eq(password_hash_now(pw, COST, h, sizeof(h)), 0);
	cr_assert_eq(password_verify_now(pw, h), 1);
	cr_assert_eq(password_verify_now("passwrd ", h), 0);
}

Test(password, output_buffer_too_small_fails)
{
	char	h[16];

	cr_assert_eq(password_hash_now("correct horse", COST, h, sizeof(h)),
	    -1);
}

Test(password, init_makes_the_dummy_hash)
{
	cr_assert_eq(password_init(COST), 0);
}
