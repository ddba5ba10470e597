/* Unit tests for redis.c: the REDIS_URL parser. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include "redis.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(redis, .init = setup);

Test(redis, redis_url_with_host_port_and_db)
{
	char	host[64], pw[64];
	int	port, db;

	cr_assert(redis_url_parse("redis://127.0.0.1:6380/2", host,
	    sizeof(host), &port, &db, pw, sizeof(pw)));
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 6380);
	cr_assert_eq(db, 2);
	cr_assert_str_eq(pw, "");
}

Test(redis, redis_url_defaults_and_password)
{
	char	host[64], pw[64];
	int	port, db;

	cr_assert(redis_url_parse("redis://:s3cret@cache", host,
	    sizeof(host), &port, &db, pw, sizeof(pw)));
	cr_assert_str_eq(host, "cache");
	cr_assert_eq(port, 6379);
	cr_assert_eq(db, 0);
	cr_assert_str_eq(pw, "s3cret");
}

Test(redis, redis_url_rejects_garbage)
{
	char	host[64], pw[64];
	int	port, db;

	cr_assert_not(redis_url_parse("http://x", host, sizeof(host), &port,
	    &db, pw, sizeof(pw)));
	cr_assert_not(redis_url_parse("redis://", host, sizeof(host), &port,
	    &db, pw, sizeof(pw)));
	cr_assert_not(redis_url_parse("redis://h:99999", host, sizeof(host),
	    &port, &db, pw, sizeof(pw)));
	cr_assert_not(redis_url_parse("redis://h:1/x", host, sizeof(host),
	    &port, &db, pw, sizeof(pw)));
}
