/* Unit tests for cache.c: the Redis key of a cached body. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "config.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(cache, .init = setup);

static const char *
api_q(int i)
{
	static char	q[32];

	(void)snprintf(q, sizeof(q), "q=flood%d", i);
	return (q);
}

/* A request's key is one of config.cache_slots, the same every time. */
Test(cache, cache_key_is_a_bounded_slot_of_the_canonical_form)
{
	char	*k, *again;
	int	i, distinct;
	char	seen[8];

	config.cache_slots = 8;
	k = cache_key("/api/movies", "limit=5&q=x");
	again = cache_key("/api/movies", "limit=5&q=x");
	cr_assert_str_eq(k, again);
	cr_assert_eq(strncmp(k, "cache:catalog:slot:", 19), 0, "%s", k);
	kore_free(k);
	kore_free(again);

	memset(seen, 0, sizeof(seen));
	distinct = 0;
	for (i = 0; i < 1000; i++) {
		k = cache_key("/api/movies", api_q(i));
		cr_assert(atoi(k + 19) >= 0 && atoi(k + 19) < 8, "%s", k);
		if (!seen[atoi(k + 19)]++)
			distinct++;
		kore_free(k);
	}
	/* A thousand queries, eight keys, all used. */
	cr_assert_eq(distinct, 8);
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
