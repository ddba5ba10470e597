/* Unit tests for cache.c: the Redis key of a cached body. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "cache.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(cache, .init = setup);

Test(cache, cache_key_has_generation_path_and_query)
{
	char	*k;

	k = cache_key(7, "/api/movies", "limit=5&q=x");
	cr_assert_str_eq(k, "cache:catalog:7:/api/movies?limit=5&q=x");
	kore_free(k);
	k = cache_key(0, "/api/theatres/3", NULL);
	cr_assert_str_eq(k, "cache:catalog:0:/api/theatres/3");
	kore_free(k);
}

Test(cache, cache_params_are_escaped_in_declared_order)
{
	struct cache_entry	c;

	memset(&c, 0, sizeof(c));
	cache_param(&c, "q", "a&b=c d");
	cache_param(&c, "city", NULL);
	cache_param(&c, "limit", "20");
	cr_assert_str_eq(kore_buf_stringify(c.params, NULL),
	    "q=a%26b%3Dc%20d&city&limit=20");
	cache_cleanup(&c);
	cr_assert_null(c.params);
}
