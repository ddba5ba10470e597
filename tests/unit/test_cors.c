/* Unit tests for cors.c's CORS_ORIGINS list. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include "cors.h"

Test(cors, origins_list_is_exact)
{
	cr_assert(cors_config(" https://a.example , http://localhost:3000,"));
	cr_assert(cors_origin_allowed("https://a.example"));
	cr_assert(cors_origin_allowed("http://localhost:3000"));
	cr_assert_not(cors_origin_allowed("https://a.example/"));
	cr_assert_not(cors_origin_allowed("http://a.example"));
	cr_assert_not(cors_origin_allowed("https://b.a.example"));
	cr_assert_not(cors_origin_allowed("null"));
	cr_assert(cors_config(""));
	cr_assert_not(cors_origin_allowed("https://a.example"));
}

Test(cors, bad_origins_are_refused)
{
	cr_assert_not(cors_config("*"));
	cr_assert_not(cors_config("https://a.example/path"));
	cr_assert_not(cors_config("a.example"));
	cr_assert_not(cors_config("https://"));
	cr_assert_not(cors_config("https://a b"));
}
