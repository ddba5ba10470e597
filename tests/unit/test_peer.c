/* Unit tests for peer.c: CIDR lists and X-Forwarded-For resolution. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "peer.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(peer, .init = setup);

static struct peer_ip
ip(const char *s)
{
	struct peer_ip	out;

	cr_assert(peer_ip_parse(s, strlen(s), &out), "%s", s);
	return (out);
}

static char *
resolve(const char *trusted, const char *tcp, const char *xff)
{
	static char		buf[PEER_ADDR_MAX];
	struct peer_cidrs	set;
	struct peer_ip		t, out;

	cr_assert(peer_cidrs_parse(trusted, &set));
	t = ip(tcp);
	peer_resolve(&set, &t, xff, &out);
	peer_ip_format(&out, buf, sizeof(buf));
	return (buf);
}

Test(peer, cidr_lists_parse_and_match)
{
	struct peer_cidrs	set;
	struct peer_ip		a;

	cr_assert(peer_cidrs_parse("127.0.0.0/8, ::1/128,10.1.2.3", &set));
	cr_assert_eq(set.count, 3);
	a = ip("127.9.9.9");
	cr_assert(peer_cidrs_match(&set, &a));
	a = ip("::1");
	cr_assert(peer_cidrs_match(&set, &a));
	a = ip("10.1.2.3");
	cr_assert(peer_cidrs_match(&set, &a));
	a = ip("10.1.2.4");
	cr_assert_not(peer_cidrs_match(&set, &a));
	a = ip("128.0.0.1");
	cr_assert_not(peer_cidrs_match(&set, &a));

	cr_assert(peer_cidrs_parse("192.168.0.0/23", &set));
	a = ip("192.168.1.200");
	cr_assert(peer_cidrs_match(&set, &a));
	a = ip("192.168.2.1");
	cr_assert_not(peer_cidrs_match(&set, &a));

	cr_assert(peer_cidrs_parse("", &set));
	cr_assert_eq(set.count, 0);
	cr_assert(peer_cidrs_parse("0.0.0.0/0", &set));
	a = ip("8.8.8.8");
	cr_assert(peer_cidrs_match(&set, &a));
}

Test(peer, bad_cidrs_are_refused)
{
	struct peer_cidrs	set;

	cr_assert_not(peer_cidrs_parse("10.0.0.0/33", &set));
	cr_assert_not(peer_cidrs_parse("::/129", &set));
	cr_assert_not(peer_cidrs_parse("example.com", &set));
	cr_assert_not(peer_cidrs_parse("10.0.0.0/", &set));
	cr_assert_not(peer_cidrs_parse("10.0.0.0/x", &set));
	cr_assert_not(peer_cidrs_parse("1.2.3.4/8/8", &set));
}

Test(peer, forwarded_for_counts_only_from_trusted_proxies)
{
	cr_assert_str_eq(resolve("", "127.0.0.1", "1.2.3.4"), "127.0.0.1");
	cr_assert_str_eq(resolve("10.0.0.0/8", "127.0.0.1", "1.2.3.4"),
	    "127.0.0.1");
	cr_assert_str_eq(resolve("127.0.0.1", "127.0.0.1", "1.2.3.4"),
	    "1.2.3.4");
	cr_assert_str_eq(resolve("127.0.0.1", "127.0.0.1", NULL),
	    "127.0.0.1");
	/* Rightmost untrusted hop; the client's own entries do not count. */
	cr_assert_str_eq(resolve("127.0.0.1,10.0.0.0/8", "127.0.0.1",
	    "6.6.6.6, 1.2.3.4, 10.0.0.5"), "1.2.3.4");
	cr_assert_str_eq(resolve("127.0.0.1", "127.0.0.1",
	    " 2001:db8::1 "), "2001:db8::1");
	/* A malformed entry stops the walk at the last trusted hop. */
	cr_assert_str_eq(resolve("127.0.0.1,10.0.0.0/8", "127.0.0.1",
	    "1.2.3.4, junk, 10.0.0.5"), "10.0.0.5");
	cr_assert_str_eq(resolve("127.0.0.1", "127.0.0.1", ""), "127.0.0.1");
	cr_assert_str_eq(resolve("127.0.0.1", "127.0.0.1", ",,,"),
	    "127.0.0.1");
}

static char *
aggregate(const char *s)
{
	static char	buf[PEER_ADDR_MAX];
	struct peer_ip	a;

	a = ip(s);
	peer_ip_aggregate(&a);
	peer_ip_format(&a, buf, sizeof(buf));
	return (buf);
}

Test(peer, per_address_limits_count_ipv6_by_64_and_mapped_v4_as_v4)
{
	cr_assert_str_eq(aggregate("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
	cr_assert_str_eq(aggregate("2001:db8:1:2::"), "2001:db8:1:2::");
	cr_assert_str_eq(aggregate("2001:db8:1:3:ffff::1"), "2001:db8:1:3::");
	cr_assert_str_eq(aggregate("::ffff:198.51.100.7"), "198.51.100.7");
	cr_assert_str_eq(aggregate("198.51.100.7"), "198.51.100.7");
	cr_assert_str_eq(aggregate("::1"), "::");
}
