/*
 * CORS: the origins in CORS_ORIGINS get Access-Control-Allow-Origin and
 * an answered preflight; every other origin gets no CORS header; without
 * CORS_ORIGINS nothing changes.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define APP	"https://app.example.com"

static struct api_resp *
cors_req(const char *base, const char *method, const char *path,
    const char *h1, const char *h2, const char *h3)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[4] = { h1, h2, h3, NULL };

	o.base = base;
	o.headers = hdrs;
	return (api_with(method, path, NULL, &o));
}

static int
cors_has(const struct api_resp *r, const char *name)
{
	char	v[256];

	return (api_header(r, name, v, sizeof(v)) != NULL);
}

static void
cors_expect(const struct api_resp *r, const char *name, const char *want)
{
	char	v[256];

	cr_assert_not_null(api_header(r, name, v, sizeof(v)), "no %s: %s",
	    name, r->headers);
	cr_assert_str_eq(v, want, "%s", name);
}

static void
cors_contains(const struct api_resp *r, const char *name, const char *want)
{
	char	v[256];

	cr_assert_not_null(api_header(r, name, v, sizeof(v)), "no %s", name);
	cr_assert(strcasestr(v, want) != NULL, "%s: %s lacks %s", name, v,
	    want);
}

Test(cors, allowed_origin_gets_the_headers_and_a_preflight)
{
	struct test_server	srv;
	struct api_resp		*r;
	const char		*env[] = { "CORS_ORIGINS=" APP
				    ", http://localhost:3000", NULL };

	cr_assert(test_server_start(&srv, env), "CORS server did not start");

	r = cors_req(srv.url, "GET", "/api/movies", "Origin: " APP, NULL,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cors_expect(r, "access-control-allow-origin", APP);
	cors_expect(r, "vary", "Origin");
	cors_contains(r, "access-control-expose-headers", "X-Request-Id");
	cr_assert_not(cors_has(r, "access-control-allow-credentials"));
	api_free(r);

	/* Errors carry them too, so the page can read the error. */
	r = cors_req(srv.url, "GET", "/api/users/me",
	    "Origin: http://localhost:3000", NULL, NULL);
	cr_assert_eq(r->status, 401);
	cors_expect(r, "access-control-allow-origin", "http://localhost:3000");
	api_free(r);

	r = cors_req(srv.url, "OPTIONS", "/api/bookings", "Origin: " APP,
	    "Access-Control-Request-Method: POST",
	    "Access-Control-Request-Headers: authorization, idempotency-key, "
	    "content-type");
	cr_assert_eq(r->status, 204, "%s", r->body);
	cors_expect(r, "access-control-allow-origin", APP);
	cors_contains(r, "access-control-allow-methods", "POST");
	cors_contains(r, "access-control-allow-methods", "GET");
	cors_contains(r, "access-control-allow-headers", "Authorization");
	cors_contains(r, "access-control-allow-headers", "Idempotency-Key");
	cors_contains(r, "access-control-allow-headers", "Content-Type");
	cors_expect(r, "access-control-max-age", "600");
	cors_expect(r, "vary", "Origin");
	cors_contains(r, "allow", "OPTIONS");
	api_free(r);

	/* Nothing was created by the preflight. */
	r = cors_req(srv.url, "OPTIONS", "/api/holds/5", "Origin: " APP,
	    "Access-Control-Request-Method: DELETE", NULL);
	cr_assert_eq(r->status, 204);
	cors_contains(r, "access-control-allow-methods", "DELETE");
	api_free(r);

	test_server_stop(&srv);
}

Test(cors, other_origins_get_no_cors_headers)
{
	struct test_server	srv;
	struct api_resp		*r;
	const char		*env[] = { "CORS_ORIGINS=" APP, NULL };
	const char		*bad[] = { "Origin: https://evil.example",
				    "Origin: " APP ".evil.example",
				    "Origin: http://app.example.com",
				    "Origin: null", NULL };
	int			i;

	cr_assert(test_server_start(&srv, env), "CORS server did not start");

	for (i = 0; bad[i] != NULL; i++) {
		r = cors_req(srv.url, "GET", "/api/movies", bad[i], NULL,
		    NULL);
		cr_assert_eq(r->status, 200);
		cr_assert_not(cors_has(r, "access-control-allow-origin"),
		    "%s got %s", bad[i], r->headers);
		cors_expect(r, "vary", "Origin");
		api_free(r);

		r = cors_req(srv.url, "OPTIONS", "/api/bookings", bad[i],
		    "Access-Control-Request-Method: POST", NULL);
		cr_assert_eq(r->status, 204);
		cr_assert_not(cors_has(r, "access-control-allow-origin"));
		cr_assert_not(cors_has(r, "access-control-allow-methods"));
		cr_assert_not(cors_has(r, "access-control-allow-headers"));
		api_free(r);
	}

	test_server_stop(&srv);
}

/* The shared test server has no CORS_ORIGINS: no CORS headers, no Vary. */
Test(cors, without_cors_origins_nothing_is_allowed)
{
	struct api_resp		*r;

	r = cors_req(NULL, "GET", "/api/movies", "Origin: " APP, NULL, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not(cors_has(r, "access-control-allow-origin"));
	cr_assert_not(cors_has(r, "vary"));
	api_free(r);

	r = cors_req(NULL, "OPTIONS", "/api/movies", "Origin: " APP,
	    "Access-Control-Request-Method: GET", NULL);
	cr_assert_eq(r->status, 204);
	cr_assert_not(cors_has(r, "access-control-allow-origin"));
	api_free(r);
}
