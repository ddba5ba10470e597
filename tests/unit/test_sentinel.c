/*
 * Unit tests for sentinel.c: the REDIS_SENTINELS list and the reply to
 * SENTINEL get-master-addr-by-name.
 */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <hiredis/hiredis.h>

#include <string.h>

#include "sentinel.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(sentinel, .init = setup);

/* A reply as hiredis builds it: an array of bulk strings. */
static redisReply *
reply_strings(size_t n, const char **v)
{
	static redisReply	elems[4], *ptrs[4], array;
	size_t			i;

	memset(&array, 0, sizeof(array));
	array.type = REDIS_REPLY_ARRAY;
	array.elements = n;
	array.element = ptrs;
	for (i = 0; i < n; i++) {
		memset(&elems[i], 0, sizeof(elems[i]));
		elems[i].type = REDIS_REPLY_STRING;
		elems[i].str = (char *)(uintptr_t)v[i];
		elems[i].len = strlen(v[i]);
		ptrs[i] = &elems[i];
	}
	return (&array);
}

Test(sentinel, list_of_three_sentinels)
{
	struct sentinel_addr	a[SENTINEL_MAX];

	cr_assert_eq(sentinel_list_parse("127.0.0.1:26379, 10.0.0.2:26380,"
	    "sentinel3:5000", a, SENTINEL_MAX), 3);
	cr_assert_str_eq(a[0].host, "127.0.0.1");
	cr_assert_eq(a[0].port, 26379);
	cr_assert_str_eq(a[1].host, "10.0.0.2");
	cr_assert_eq(a[1].port, 26380);
	cr_assert_str_eq(a[2].host, "sentinel3");
	cr_assert_eq(a[2].port, 5000);
}

Test(sentinel, list_port_defaults_to_26379)
{
	struct sentinel_addr	a[SENTINEL_MAX];

	cr_assert_eq(sentinel_list_parse("127.0.0.1", a, SENTINEL_MAX), 1);
	cr_assert_eq(a[0].port, 26379);
}

Test(sentinel, bad_lists_are_refused)
{
	struct sentinel_addr	a[2];

	cr_assert_eq(sentinel_list_parse("", a, 2), -1);
	cr_assert_eq(sentinel_list_parse("127.0.0.1:0", a, 2), -1);
	cr_assert_eq(sentinel_list_parse("127.0.0.1:65536", a, 2), -1);
	cr_assert_eq(sentinel_list_parse("127.0.0.1:26379x", a, 2), -1);
	cr_assert_eq(sentinel_list_parse("127.0.0.1:", a, 2), -1);
	cr_assert_eq(sentinel_list_parse(":26379", a, 2), -1);
	cr_assert_eq(sentinel_list_parse("a:1,,b:2", a, 2), -1);
	/* More than fit. */
	cr_assert_eq(sentinel_list_parse("a:1,b:2,c:3", a, 2), -1);
	/* A host name longer than the buffer. */
	cr_assert_eq(sentinel_list_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", a, 2), -1);
}

Test(sentinel, master_reply_gives_host_and_port)
{
	const char	*v[] = { "127.0.0.1", "6380" };
	char		host[64];
	int		port;

	cr_assert(sentinel_master_reply(reply_strings(2, v), host,
	    sizeof(host), &port));
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 6380);
}

Test(sentinel, unknown_master_is_an_error)
{
	redisReply	nil;
	char		host[64];
	int		port;

	memset(&nil, 0, sizeof(nil));
	nil.type = REDIS_REPLY_NIL;
	cr_assert_not(sentinel_master_reply(&nil, host, sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(NULL, host, sizeof(host), &port));
}

Test(sentinel, error_reply_is_an_error)
{
	redisReply	err;
	char		host[64];
	int		port;

	memset(&err, 0, sizeof(err));
	err.type = REDIS_REPLY_ERROR;
	err.str = (char *)(uintptr_t)"ERR No such master with that name";
	err.len = strlen(err.str);
	cr_assert_not(sentinel_master_reply(&err, host, sizeof(host), &port));
}

Test(sentinel, malformed_master_replies_are_errors)
{
	const char	*one[] = { "127.0.0.1" };
	const char	*three[] = { "127.0.0.1", "6380", "x" };
	const char	*badport[] = { "127.0.0.1", "63a0" };
	const char	*zero[] = { "127.0.0.1", "0" };
	const char	*big[] = { "127.0.0.1", "70000" };
	const char	*empty[] = { "", "6380" };
	const char	*longhost[] = { "a-very-long-host-name", "6380" };
	char		host[16];
	int		port;

	cr_assert_not(sentinel_master_reply(reply_strings(1, one), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(3, three), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(2, badport), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(2, zero), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(2, big), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(2, empty), host,
	    sizeof(host), &port));
	cr_assert_not(sentinel_master_reply(reply_strings(2, longhost), host,
	    sizeof(host), &port));
}

Test(sentinel, master_reply_elements_must_be_strings)
{
	const char	*v[] = { "127.0.0.1", "6380" };
	redisReply	*r;
	char		host[64];
	int		port;

	r = reply_strings(2, v);
	r->element[1]->type = REDIS_REPLY_INTEGER;
	cr_assert_not(sentinel_master_reply(r, host, sizeof(host), &port));
}
