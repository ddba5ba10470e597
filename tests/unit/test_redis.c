/* Unit tests for redis.c: the REDIS_URL parser, error replies. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

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

/*
 * A replica's answer to a write (the old master after a failover) is a
 * connection error, not an answer: redis.c drops the connection and asks
 * a Sentinel again. Script errors keep the code (Redis 7).
 */
Test(redis, readonly_error_replies_are_connection_errors)
{
	static const char	*ro[] = {
		"READONLY You can't write against a read only replica.",
		"READONLY You can't write against a read only replica. script:"
		    " 67ed14c1cb086d8c2fcf91ebe13410ba087fd0f8, on"
		    " @user_script:1.",
		"READONLY",
	};
	static const char	*other[] = {
		"ERR wrong number of arguments for 'set' command",
		"WRONGTYPE Operation against a key holding the wrong kind",
		"READONLYX something else",
		"NOSCRIPT No matching script. Please use EVAL.",
		"ERR READONLY inside the text",
		"",
	};
	size_t			i;

	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		cr_assert(redis_error_is_readonly(ro[i], strlen(ro[i])), "%s",
		    ro[i]);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		cr_assert_not(redis_error_is_readonly(other[i],
		    strlen(other[i])), "%s", other[i]);
	cr_assert_not(redis_error_is_readonly(NULL, 0));
	/* The length is the reply's, not the string's. */
	cr_assert_not(redis_error_is_readonly("READONLY You", 7));
}
