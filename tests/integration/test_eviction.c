/*
 * Security state survives a flood of catalog reads (issue 20, point 3).
 * The deny list and the login counters share a Redis with the catalog
 * cache; that Redis never evicts, and the cache bounds itself (a fixed
 * number of slots, canonical requests only). These tests run their own
 * small Redis, started by scripts/services.sh exactly as make run's
 * (REDIS_MAXMEMORY=4mb, so a flood is quick), and a server on it. Public
 * reads are limited per client address.
 */
#include <criterion/criterion.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "expect.h"

#define EVICT_MAXMEMORY		"4mb"

struct evict_stack {
	char			dir[256];
	int			port;
	char			*db;		/* its own database's URL */
	struct test_server	srv;
	char			*env[10];
};

/* Runs a function of scripts/services.sh with its arguments. */
static int
services(const char *cmd)
{
	const char	*argv[] = { "bash", "-c", NULL, NULL };
	char		*line;
	int		ret;

	line = api_format(". \"$TEST_ROOT/scripts/services.sh\" && %s", cmd);
	argv[2] = line;
	ret = test_run(argv, NULL);
	free(line);

	return (ret);
}

static void
evict_start(struct evict_stack *e, const char *extra)
{
	char	*cmd, *url;
	int	n;

	memset(e, 0, sizeof(*e));
	e->port = test_free_port();
	(void)snprintf(e->dir, sizeof(e->dir), "%s/redis-evict-%d",
	    getenv("TEST_TMP"), e->port);
	cmd = api_format("REDIS_MAXMEMORY=%s redis_start '%s' %d",
	    EVICT_MAXMEMORY, e->dir, e->port);
	cr_assert_eq(services(cmd), 0, "redis did not start");
	free(cmd);

	/* A database of its own, so its movies are nobody else's. */
	url = api_format("%s", getenv("DATABASE_URL"));
	*strrchr(url, '/') = '\0';
	e->db = api_format("%s/evict_%d", url, e->port);
	cmd = api_format("DROP DATABASE IF EXISTS evict_%d", e->port);
	db_exec(cmd, NULL);
	free(cmd);
	cmd = api_format("CREATE DATABASE evict_%d", e->port);
	db_exec(cmd, NULL);
	free(cmd);
	free(url);

	n = 0;
	e->env[n++] = api_format("DATABASE_URL=%s", e->db);
	e->env[n++] = api_format("AUTO_MIGRATE=1");
	e->env[n++] = api_format("REDIS_URL=redis://127.0.0.1:%d/0", e->port);
	e->env[n++] = api_format("TRUSTED_PROXIES=127.0.0.1/32");
	e->env[n++] = api_format("WORKERS=1");
	e->env[n++] = api_format("CACHE_SLOTS=16");
	e->env[n++] = api_format("LOGIN_MAX_FAILURES=3");
	if (extra != NULL)
		e->env[n++] = api_format("%s", extra);
	e->env[n] = NULL;
	cr_assert(test_server_start(&e->srv, (const char **)e->env),
	    "server did not start");
}

static void
evict_stop(struct evict_stack *e)
{
	char	*cmd;
	int	i;

	test_server_stop(&e->srv);
	cmd = api_format("redis_stop '%s'", e->dir);
	(void)services(cmd);
	free(cmd);
	for (i = 0; e->env[i] != NULL; i++)
		free(e->env[i]);
	cmd = api_format("DROP DATABASE IF EXISTS evict_%d WITH (FORCE)",
	    e->port);
	db_exec(cmd, NULL);
	free(cmd);
	free(e->db);
}

/* One statement in the stack's own database. */
static void
evict_sql(struct evict_stack *e, const char *sql, const char *param)
{
	PGconn		*db;
	PGresult	*res;

	db = PQconnectdb(e->db);
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	res = PQexecParams(db, sql, param != NULL ? 1 : 0, NULL, &param,
	    NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
	    PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
}

/* A request from client address `from` (X-Forwarded-For, trusted). */
static struct api_resp *
from(const char *base, const char *addr, const char *method,
    const char *path, const char *token, const char *body)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[2] = { NULL, NULL };
	struct api_resp		*r;
	char			*xff;

	xff = api_format("X-Forwarded-For: %s", addr);
	hdrs[0] = xff;
	o.base = base;
	o.token = token;
	o.headers = hdrs;
	r = api_with(method, path, body, &o);
	free(xff);

	return (r);
}

/* An INFO field of the test's Redis. */
static long long
redis_info(int port, const char *section, const char *field)
{
	redisContext	*rc;
	redisReply	*r;
	const char	*p;
	long long	v;

	rc = redisConnect("127.0.0.1", port);
	cr_assert(rc != NULL && rc->err == 0);
	r = redisCommand(rc, "INFO %s", section);
	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING);
	p = strstr(r->str, field);
	cr_assert_not_null(p, "no %s in INFO %s", field, section);
	v = strtoll(p + strlen(field) + 1, NULL, 10);
	freeReplyObject(r);
	redisFree(rc);

	return (v);
}

static long
login(const char *base, const char *addr, const char *email,
    const char *password)
{
	struct api_resp		*r;
	char			*body;
	long			status;

	body = api_format("{\"email\": \"%s\", \"password\": \"%s\"}", email,
	    password);
	r = from(base, addr, "POST", "/api/auth/login", NULL, body);
	status = r->status;
	api_free(r);
	free(body);

	return (status);
}

/*
 * A logged-out token stays refused and a throttled password guesser stays
 * throttled after distinct catalog queries that would fill the Redis
 * several times over; nothing is evicted, and the cache keeps to its
 * slots.
 */
Test(eviction, catalog_flood_evicts_no_security_state, .timeout = 240)
{
	struct evict_stack	e;
	struct api_resp		*r;
	char			*tag, *email, *victim, *body, *path, *addr;
	char			*token;
	long long		evicted;
	int			i;

	evict_start(&e, NULL);
	tag = api_format("evict%d%ld", (int)getpid(), (long)time(NULL));

	/* A session, then its logout. */
	email = api_format("%s@example.test", tag);
	body = api_format("{\"name\": \"E\", \"email\": \"%s\", \"password\":"
	    " \"correct horse\"}", email);
	r = from(e.srv.url, "10.7.0.1", "POST", "/api/auth/register", NULL,
	    body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	token = strdup(json_string_value(json_object_get(r->json,
	    "access_token")));
	api_free(r);
	free(body);
	r = from(e.srv.url, "10.7.0.1", "POST", "/api/auth/logout", token,
	    NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);
	r = from(e.srv.url, "10.7.0.1", "GET", "/api/users/me", token, NULL);
	cr_assert_eq(r->status, 401);
	api_free(r);

	/* A guesser, throttled. */
	victim = api_format("victim.%s@example.test", tag);
	for (i = 0; i < 3; i++)
		cr_assert_eq(login(e.srv.url, "10.7.0.2", victim, "guess1234"),
		    401);
	cr_assert_eq(login(e.srv.url, "10.7.0.2", victim, "guess1234"), 429);

	/* 120 movies of about 2 KB each: pages of up to 240 KB. */
	evict_sql(&e, "INSERT INTO movies (title, description,"
	    " duration_minutes) SELECT $1 || ' ' || n, repeat('d', 2000), 90"
	    " FROM generate_series(1, 120) n", tag);

	/* Pages at every offset, then many distinct small searches. */
	for (i = 0; i < 120; i++) {
		path = api_format("/api/movies?q=%s&limit=100&offset=%d", tag,
		    i);
		addr = api_format("10.8.%d.%d", i / 200, i % 200 + 1);
		r = from(e.srv.url, addr, "GET", path, NULL, NULL);
		cr_assert_eq(r->status, 200, "%s: %s", path, r->body);
		api_free(r);
		free(addr);
		free(path);
	}
	for (i = 0; i < 400; i++) {
		path = api_format("/api/movies?q=%sx%d", tag, i);
		addr = api_format("10.9.%d.%d", i / 200, i % 200 + 1);
		r = from(e.srv.url, addr, "GET", path, NULL, NULL);
		cr_assert_eq(r->status, 200, "%s: %s", path, r->body);
		api_free(r);
		free(addr);
		free(path);
	}

	r = from(e.srv.url, "10.7.0.1", "GET", "/api/users/me", token, NULL);
	cr_assert_eq(r->status, 401, "the logged-out token passed again: %ld",
	    r->status);
	api_free(r);
	cr_assert_eq(login(e.srv.url, "10.7.0.2", victim, "guess1234"), 429,
	    "the guesser is no longer throttled");

	evicted = redis_info(e.port, "stats", "evicted_keys");
	cr_assert_eq(evicted, 0, "%lld keys evicted", evicted);
	cr_assert_leq(redis_info(e.port, "memory", "used_memory"),
	    redis_info(e.port, "memory", "maxmemory"));

	free(token);
	free(victim);
	free(email);
	free(tag);
	evict_stop(&e);
}

/* RATE_LIMIT_READS public reads per address a window; others go on. */
Test(eviction, public_reads_are_limited_per_address, .timeout = 120)
{
	struct evict_stack	e;
	struct api_resp		*r;
	char			h[16];
	int			i;

	evict_start(&e, "RATE_LIMIT_READS=5");
	for (i = 0; i < 5; i++) {
		r = from(e.srv.url, "10.6.0.1", "GET", "/api/movies?limit=1",
		    NULL, NULL);
		cr_assert_eq(r->status, 200, "read %d: %s", i, r->body);
		api_free(r);
	}
	r = from(e.srv.url, "10.6.0.1", "GET", "/api/theatres", NULL, NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "rate_limited");
	cr_assert_not_null(api_header(r, "retry-after", h, sizeof(h)));
	cr_assert_gt(atoi(h), 0);
	api_free(r);
	r = from(e.srv.url, "10.6.0.1", "GET", "/api/shows/1/seats", NULL,
	    NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	api_free(r);

	r = from(e.srv.url, "10.6.0.2", "GET", "/api/movies?limit=1", NULL,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	evict_stop(&e);
}

/*
 * Only canonical requests are cached: a page at an offset that is not a
 * multiple of its limit, or a long search, is never stored.
 */
Test(eviction, only_canonical_catalog_requests_are_cached)
{
	static const struct {
		const char	*query;
		const char	*second;
	} cases[] = {
		{ "limit=5&offset=10", "hit" },
		{ "limit=5&offset=7", "miss" },
		{ "limit=5&offset=5000", "miss" },
		{ "q=abcdefghijklmnopqrstuvwxyz0123456789", "miss" },
		{ "q=abc", "hit" },
	};
	struct api_resp	*r;
	char		xc[16], *path;
	double		start;
	size_t		i;
	int		k;

	/* A city of its own: every first request is a miss. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = api_format("/api/movies?city=canon%d-%ld-%zu&%s",
		    (int)getpid(), (long)time(NULL), i, cases[i].query);
		for (k = 0; k < 2; k++) {
			r = api("GET", path, NULL);
			cr_assert_eq(r->status, 200, "%s", r->body);
			cr_assert_not_null(api_header(r, "x-cache", xc,
			    sizeof(xc)));
			if (k == 1 && strcmp(cases[i].second, "hit") == 0) {
				/* The store is not awaited: polled for. */
				start = now_seconds();
				while (strcmp(xc, "hit") != 0) {
					api_free(r);
					wait_step(start, 10, path);
					r = api("GET", path, NULL);
					cr_assert_not_null(api_header(r,
					    "x-cache", xc, sizeof(xc)));
				}
			}
			if (k == 1)
				cr_assert_str_eq(xc, cases[i].second, "%s",
				    path);
			else
				cr_assert_str_eq(xc, "miss", "%s",
				    path);
			api_free(r);
		}
		free(path);
	}
}
