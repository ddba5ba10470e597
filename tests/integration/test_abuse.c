/*
 * Abuse resistance: the login throttle under parallel guessing, per-user
 * rate limits on holds and bookings, registrations per address, and the
 * client address behind (and not behind) a trusted proxy.
 *
 * Each test runs its own server on its own Redis database, so counters
 * start at zero and no other test's requests count against it.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"

#define PASSWORD	"correct horse battery"

static char	*abuse_email(const char *);
static long	abuse_retry_after(const char *);
static struct api_resp	*abuse_post(const char *, const char *,
			    const char *, const char *, const char *);

static char *
abuse_email(const char *tag)
{
	static int	n;

	return (api_format("%s.%d.%d.%ld@example.test", tag, (int)getpid(),
	    n++, (long)time(NULL)));
}

/* Retry-After from raw response headers, or -1. */
static long
abuse_retry_after(const char *headers)
{
	const char	*p;

	if ((p = strcasestr(headers, "\nretry-after:")) == NULL)
		return (-1);
	return (strtol(p + strlen("\nretry-after:"), NULL, 10));
}

static struct api_resp *
abuse_post(const char *base, const char *path, const char *token,
    const char *body, const char *header)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[2] = { header, NULL };

	o.base = base;
	o.token = token;
	o.headers = hdrs;
	return (api_with("POST", path, body, &o));
}

/*
 * 40 wrong passwords for one account at once: the attempt is counted and
 * compared in one Redis script before any hashing, so exactly the limit
 * (5) get 401 and every other one 429 with Retry-After.
 */
Test(abuse, parallel_wrong_passwords_get_at_most_the_limit_of_401s)
{
	struct test_db_server	a;
	struct multi_req	reqs[40];
	struct api_resp		*r;
	char			*email, *reg, *login;
	int			i, n401, n429;
	long			secs;

	test_db_server_start(&a, 2, "LOGIN_MAX_FAILURES=5",
	    "LOGIN_MAX_FAILURES_PER_ADDRESS=1000", "LOGIN_WINDOW_SECONDS=120",
	    NULL);

	email = abuse_email("par");
	reg = api_format("{\"name\": \"P\", \"email\": \"%s\", "
	    "\"password\": \"%s\"}", email, PASSWORD);
	r = abuse_post(a.srv.url, "/api/auth/register", NULL, reg, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	login = api_format("{\"email\": \"%s\", \"password\": \"wrong one\"}",
	    email);
	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 40; i++) {
		reqs[i].base = a.srv.url;
		reqs[i].path = "/api/auth/login";
		reqs[i].body = login;
	}
	fixture_multi(reqs, 40, 60000);

	n401 = n429 = 0;
	for (i = 0; i < 40; i++) {
		if (reqs[i].status == 401) {
			n401++;
			cr_assert(strstr(reqs[i].resp,
			    "\"invalid_credentials\"") != NULL);
		} else if (reqs[i].status == 429) {
			n429++;
			cr_assert(strstr(reqs[i].resp, "\"rate_limited\"") !=
			    NULL, "%s", reqs[i].resp);
			secs = abuse_retry_after(reqs[i].headers);
			cr_assert(secs >= 1 && secs <= 120, "Retry-After %ld",
			    secs);
		} else {
			cr_assert_fail("request %d: status %ld curl %d %s", i,
			    reqs[i].status, reqs[i].curl_error, reqs[i].resp);
		}
	}
	cr_log_info("40 parallel wrong passwords: %d x 401, %d x 429", n401,
	    n429);
	cr_assert_eq(n401, 5, "%d got 401 (limit 5)", n401);
	cr_assert_eq(n429, 35);

	/* The right password is refused too while the window lasts. */
	free(login);
	login = api_format("{\"email\": \"%s\", \"password\": \"%s\"}", email,
	    PASSWORD);
	r = abuse_post(a.srv.url, "/api/auth/login", NULL, login, NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	api_free(r);

	fixture_multi_free(reqs, 40);
	test_db_server_stop(&a);
	free(email);
	free(reg);
	free(login);
}

/* Successful logins are refunded: they never lock their owner out. */
Test(abuse, successful_logins_do_not_use_up_the_limit)
{
	struct test_db_server	a;
	struct api_resp		*r;
	char			*email, *reg, *login;
	int			i;

	test_db_server_start(&a, 3, "LOGIN_MAX_FAILURES=2", NULL);
	email = abuse_email("ok");
	reg = api_format("{\"name\": \"O\", \"email\": \"%s\", "
	    "\"password\": \"%s\"}", email, PASSWORD);
	r = abuse_post(a.srv.url, "/api/auth/register", NULL, reg, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	login = api_format("{\"email\": \"%s\", \"password\": \"%s\"}", email,
	    PASSWORD);
	for (i = 0; i < 5; i++) {
		r = abuse_post(a.srv.url, "/api/auth/login", NULL, login,
		    NULL);
		cr_assert_eq(r->status, 200, "login %d: %s", i, r->body);
		api_free(r);
	}

	test_db_server_stop(&a);
	free(email);
	free(reg);
	free(login);
}

/*
 * RATE_LIMIT_HOLDS and RATE_LIMIT_BOOKINGS per user: the call past the
 * limit is 429 rate_limited with Retry-After and changes nothing; another
 * user is unaffected.
 */
Test(abuse, holds_and_bookings_are_rate_limited_per_user)
{
	struct test_db_server	a;
	struct fixture_show	s;
	struct api_resp		*r;
	char			*tok, *other, *body, *key, *show;
	long long		uid, oid;
	int			i;
	long			secs;
	char			retry[16];

	test_db_server_start(&a, 4, "RATE_LIMIT_HOLDS=3",
	    "RATE_LIMIT_BOOKINGS=2", "RATE_LIMIT_WINDOW_SECONDS=300", NULL);
	fixture_show(&s, 8, "1 day");
	show = api_format("%lld", s.id);
	tok = test_user_token("user", &uid);
	other = test_user_token("user", &oid);

	for (i = 0; i < 3; i++) {
		body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
		    s.id, s.seats[i]);
		r = abuse_post(a.srv.url, "/api/holds", tok, body, NULL);
		cr_assert_eq(r->status, 201, "hold %d: %s", i, r->body);
		api_free(r);
		free(body);
	}
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", s.id,
	    s.seats[3]);
	r = abuse_post(a.srv.url, "/api/holds", tok, body, NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "rate_limited");
	cr_assert_not_null(api_header(r, "retry-after", retry, sizeof(retry)));
	secs = strtol(retry, NULL, 10);
	cr_assert(secs >= 1 && secs <= 300, "Retry-After %s", retry);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE user_id = $1",
	    api_format("%lld", uid), NULL), 3);

	/* Someone else may still hold that seat. */
	r = abuse_post(a.srv.url, "/api/holds", other, body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(body);

	for (i = 0; i < 2; i++) {
		body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}",
		    s.id, s.seats[4 + i]);
		key = fixture_key();
		r = fixture_book_at(a.srv.url, tok, key, body, NULL);
		cr_assert_eq(r->status, 201, "booking %d: %s", i, r->body);
		api_free(r);
		free(body);
		free(key);
	}
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[6]);
	key = fixture_key();
	r = fixture_book_at(a.srv.url, tok, key, body, NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "rate_limited");
	cr_assert_not_null(api_header(r, "retry-after", retry, sizeof(retry)));
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " user_id = $1 AND show_id = $2", api_format("%lld", uid), show,
	    NULL), 2);

	free(body);
	free(key);
	free(tok);
	free(other);
	free(show);
	test_db_server_stop(&a);
}

/*
 * A booking's rate-limit charge travels with the token's deny-list lookup
 * (one round trip) and is void when the token is revoked: a revoked token
 * is refused every time and does not use up its user's limit.
 */
Test(abuse, revoked_tokens_do_not_use_up_the_booking_limit)
{
	struct test_db_server	a;
	struct fixture_show	s;
	struct api_resp		*r;
	char			*tok, *revoked, *body, *key, *user;
	long long		uid;
	int			i;

	test_db_server_start(&a, 10, "RATE_LIMIT_BOOKINGS=2",
	    "RATE_LIMIT_WINDOW_SECONDS=300", NULL);
	fixture_show(&s, 4, "1 day");
	tok = test_user_token("user", &uid);
	revoked = test_token(uid, "user", 600);
	user = api_format("%lld", uid);

	r = abuse_post(a.srv.url, "/api/auth/logout", revoked, "", NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
	    s.id, s.seats[0]);
	for (i = 0; i < 4; i++) {
		key = fixture_key();
		r = fixture_book_at(a.srv.url, revoked, key, body, NULL);
		cr_assert_eq(r->status, 401, "revoked %d: %s", i, r->body);
		cr_assert(strstr(r->body, "revoked") != NULL, "%s", r->body);
		api_free(r);
		free(key);
	}
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " user_id = $1", user, NULL), 0);

	for (i = 0; i < 3; i++) {
		body = api_format("{\"show_id\": %lld, \"seat_ids\": "
		    "[%lld]}", s.id, s.seats[i]);
		key = fixture_key();
		r = fixture_book_at(a.srv.url, tok, key, body, NULL);
		cr_assert_eq(r->status, i < 2 ? 201 : 429, "booking %d: %s",
		    i, r->body);
		api_free(r);
		free(body);
		free(key);
	}
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " user_id = $1", user, NULL), 2);

	free(user);
	free(tok);
	free(revoked);
	test_db_server_stop(&a);
}

static long
abuse_register(const char *base, const char *forwarded)
{
	struct api_resp		*r;
	char			*email, *body, *hdr;
	long			status;

	email = abuse_email("reg");
	body = api_format("{\"name\": \"R\", \"email\": \"%s\", "
	    "\"password\": \"%s\"}", email, PASSWORD);
	hdr = forwarded != NULL ?
	    api_format("X-Forwarded-For: %s", forwarded) : NULL;
	r = abuse_post(base, "/api/auth/register", NULL, body, hdr);
	status = r->status;
	if (status == 429)
		cr_assert_str_eq(api_error_code(r), "rate_limited");
	api_free(r);
	free(email);
	free(body);
	free(hdr);

	return (status);
}

/*
 * Registrations per client address. Without TRUSTED_PROXIES a client's
 * X-Forwarded-For is ignored: changing it does not buy new attempts.
 */
Test(abuse, registrations_are_limited_per_address_and_xff_is_ignored)
{
	struct test_db_server	a;

	test_db_server_start(&a, 5, "RATE_LIMIT_REGISTRATIONS=2", NULL);
	cr_assert_eq(abuse_register(a.srv.url, "203.0.113.1"), 201);
	cr_assert_eq(abuse_register(a.srv.url, "203.0.113.2"), 201);
	cr_assert_eq(abuse_register(a.srv.url, "203.0.113.3"), 429);
	cr_assert_eq(abuse_register(a.srv.url, NULL), 429);
	test_db_server_stop(&a);
}

/*
 * Behind a trusted proxy the client is the rightmost X-Forwarded-For
 * entry that is not itself a trusted proxy; what the client wrote to the
 * left of it proves nothing.
 */
Test(abuse, trusted_proxy_forwarded_address_is_the_client)
{
	struct test_db_server	a;

	test_db_server_start(&a, 6, "RATE_LIMIT_REGISTRATIONS=1",
	    "TRUSTED_PROXIES=127.0.0.0/8, 10.0.0.0/8", NULL);
	cr_assert_eq(abuse_register(a.srv.url, "198.51.100.7"), 201);
	cr_assert_eq(abuse_register(a.srv.url, "198.51.100.7"), 429);
	/* A spoofed entry on the left does not help... */
	cr_assert_eq(abuse_register(a.srv.url, "192.0.2.1, 198.51.100.7"),
	    429);
	/* ...and another proxy hop in between is skipped. */
	cr_assert_eq(abuse_register(a.srv.url, "198.51.100.7, 10.1.2.3"),
	    429);
	cr_assert_eq(abuse_register(a.srv.url, "198.51.100.8, 10.1.2.3"),
	    201);
	/* Garbage is not an address: the proxy itself is the client. */
	cr_assert_eq(abuse_register(a.srv.url, "not-an-address"), 201);
	cr_assert_eq(abuse_register(a.srv.url, "also garbage"), 429);
	test_db_server_stop(&a);
}

static long long
abuse_redis_int(redisContext *rc, const char *cmd)
{
	redisReply	*r;
	long long	n;

	r = redisCommand(rc, cmd);
	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s", cmd);
	n = r->integer;
	freeReplyObject(r);

	return (n);
}

static int
abuse_cache_keys(redisContext *rc)
{
	redisReply	*r;
	int		n;

	r = redisCommand(rc, "KEYS cache:catalog:*");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	n = (int)r->elements;
	freeReplyObject(r);

	return (n);
}

static void
abuse_get_cached(const char *base, const char *path, const char *want)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	char			xcache[16];

	o.base = base;
	r = api_with("GET", path, NULL, &o);
	cr_assert_eq(r->status, 200, "%s: %s", path, r->body);
	cr_assert_not_null(api_header(r, "x-cache", xcache, sizeof(xcache)));
	if (want != NULL)
		cr_assert_str_eq(xcache, want, "%s", path);
	api_free(r);
}

/*
 * Cache keys come from validated, normalized parameters: 50 requests
 * with ?junk=N are hits on one key, and spellings of one request share
 * it. The test Redis is bounded and never evicts, as make run's.
 */
Test(abuse, junk_query_parameters_do_not_grow_the_cache)
{
	struct test_db_server	a;
	redisContext		*rc;
	redisReply		*r;
	char			*path;
	int			i, before;

	test_db_server_start(&a, 7, NULL);
	rc = redisConnect("127.0.0.1", atoi(getenv("TEST_REDIS_PORT")));
	cr_assert(rc != NULL && rc->err == 0);
	freeReplyObject(redisCommand(rc, "SELECT 7"));
	freeReplyObject(redisCommand(rc, "FLUSHDB"));

	r = redisCommand(rc, "CONFIG GET maxmemory-policy");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2);
	cr_assert_str_eq(r->element[1]->str, "noeviction");
	freeReplyObject(r);
	r = redisCommand(rc, "CONFIG GET maxmemory");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2);
	cr_assert_gt(strtoll(r->element[1]->str, NULL, 10), 0);
	freeReplyObject(r);

	abuse_get_cached(a.srv.url, "/api/movies?limit=5", "miss");
	abuse_get_cached(a.srv.url, "/api/movies?limit=5", "hit");
	before = abuse_cache_keys(rc);
	cr_assert_eq(before, 1);

	for (i = 0; i < 50; i++) {
		path = api_format("/api/movies?junk=%d&limit=5", i);
		abuse_get_cached(a.srv.url, path, "hit");
		free(path);
	}
	cr_assert_eq(abuse_cache_keys(rc), before,
	    "50 junk parameters made new keys");

	/* No limit and the default limit are one request. */
	abuse_get_cached(a.srv.url, "/api/movies", "miss");
	abuse_get_cached(a.srv.url, "/api/movies?limit=20&offset=0", "hit");
	abuse_get_cached(a.srv.url, "/api/movies?offset=0&x=1", "hit");
	cr_assert_eq(abuse_cache_keys(rc), before + 1);
	/* And the address's read counter (public reads are limited). */
	cr_assert_eq(abuse_redis_int(rc, "DBSIZE"), before + 2);

	redisFree(rc);
	test_db_server_stop(&a);
}

/* RATE_LIMIT_PAYMENTS per user on initiate and confirm. */
Test(abuse, payment_calls_are_rate_limited_per_user)
{
	struct test_db_server	a;
	struct fixture_show	s;
	struct api_resp		*r;
	char			*tok, *body, *key, *pay, retry[16];
	long long		uid, booking;
	const char		*hdr;

	test_db_server_start(&a, 9, "RATE_LIMIT_PAYMENTS=1", NULL);
	fixture_show(&s, 2, "1 day");
	tok = test_user_token("user", &uid);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[0]);
	key = fixture_key();
	r = fixture_book_at(a.srv.url, tok, key, body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	booking = fixture_id(r);
	api_free(r);
	free(key);

	pay = api_format("{\"booking_id\": %lld}", booking);
	key = fixture_key();
	r = fixture_book_at(a.srv.url, tok, key, pay, "/api/payments/initiate");
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(key);

	key = fixture_key();
	r = fixture_book_at(a.srv.url, tok, key, pay, "/api/payments/initiate");
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "rate_limited");
	hdr = api_header(r, "retry-after", retry, sizeof(retry));
	cr_assert_not_null(hdr);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payments WHERE"
	    " booking_id = $1", api_format("%lld", booking), NULL), 1);

	free(key);
	free(pay);
	free(body);
	free(tok);
	test_db_server_stop(&a);
}
