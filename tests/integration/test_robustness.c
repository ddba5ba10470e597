/*
 * Robustness: malformed input on every endpoint that reads a body or a
 * path id answers with a 4xx JSON error, never a 5xx, and the server keeps
 * answering afterwards. (Logout is left out: its body is optional and a
 * success would revoke the token the other cases use.)
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "tokens.h"

static const char *write_paths[][2] = {
	{ "POST", "/api/auth/register" },
	{ "POST", "/api/auth/login" },
	{ "POST", "/api/auth/refresh" },
	{ "POST", "/api/movies" },
	{ "PUT", "/api/movies/1" },
	{ "POST", "/api/theatres" },
	{ "PUT", "/api/theatres/1" },
	{ "POST", "/api/theatres/1/screens" },
	{ "POST", "/api/shows" },
	{ "PUT", "/api/shows/1" },
	{ "POST", "/api/holds" },
	{ "POST", "/api/bookings" },
};

static const char *bodies[] = {
	"",
	"{",
	"}",
	"null",
	"[]",
	"[1,2,3]",
	"\"a string\"",
	"42",
	"{\"a\":}",
	"{\"title\": 1e999999}",
	"{\"show_id\": -1, \"seat_ids\": [-1]}",
	"{\"show_id\": 18446744073709551616, \"seat_ids\": [1]}",
	"{\"show_id\": 1.5, \"seat_ids\": [true, null, \"x\"]}",
	"{\"show_id\": 1, \"seat_ids\": [[[[[[[[[[[[1]]]]]]]]]]]]}",
	"{\"name\": \"\\ud800\", \"email\": \"\\u0000@x.y\"}",
	"{\"email\": \"a@b.c\", \"password\": {\"$ne\": null}}",
	"{\"title\": \"x\", \"duration_minutes\": \"90\"}",
	"{\"movie_id\": 1, \"screen_id\": 1, \"start_time\": \"yesterday\"}",
	"{\"rows\": [{\"label\": \"A\", \"seats\": 100000, \"tier\": \"t\","
	    " \"price_cents\": -5}]}",
	"{\"refresh_token\": \"'; DROP TABLE users; --\"}",
	"\xff\xfe{\"x\": 1}",
};

Test(robustness, malformed_bodies_get_4xx_json_never_5xx)
{
	struct api_opts	o = { 0 };
	struct api_resp	*r;
	size_t		i, j;
	long long	uid;
	char		*admin, *user;

	admin = test_admin_token();
	user = test_user_token("user", &uid);

	for (i = 0; i < sizeof(write_paths) / sizeof(write_paths[0]); i++) {
		/* Admin routes with an admin, the others with a user. */
		o.token = strstr(write_paths[i][1], "/auth/") != NULL ||
		    strstr(write_paths[i][1], "/holds") != NULL ||
		    strstr(write_paths[i][1], "/bookings") != NULL ?
		    user : admin;
		for (j = 0; j < sizeof(bodies) / sizeof(bodies[0]); j++) {
			const char *hdrs[] = { "Idempotency-Key: robust-1",
			    NULL };
			char key[64];

			(void)snprintf(key, sizeof(key),
			    "Idempotency-Key: robust-%zu-%zu", i, j);
			hdrs[0] = key;
			o.headers = hdrs;
			r = api_with(write_paths[i][0], write_paths[i][1],
			    bodies[j], &o);
			cr_assert(r->status >= 400 && r->status < 500,
			    "%s %s with %s: %ld %s", write_paths[i][0],
			    write_paths[i][1], bodies[j], r->status, r->body);
			cr_assert_not_null(api_error_code(r),
			    "%s %s with %s: not an error envelope: %s",
			    write_paths[i][0], write_paths[i][1], bodies[j],
			    r->body);
			api_free(r);
		}
	}

	r = api("GET", "/api/health", NULL);
	cr_assert_eq(r->status, 200);
	api_free(r);
	free(admin);
	free(user);
}

Test(robustness, odd_paths_and_queries_get_4xx_json)
{
	static const char *paths[] = {
		"/api/movies/%00",
		"/api/movies/1%2F2",
		"/api/movies/-1",
		"/api/movies/1.0",
		"/api/movies/00000000000000000000000001",
		"/api/movies?limit=%ff",
		"/api/movies?limit=1&limit=2&limit=abc",
		"/api/movies?date=2026-02-30",
		"/api/movies?q=%00",
		"/api/shows?movie_id=abc",
		"/api/shows?date=tomorrow",
		"/api/theatres?city=%0a",
		"/api/shows/9223372036854775808",
		"/api/shows/1/seats/extra",
		"/api/bookings/abc",
		"/api/holds/0",
		"/../../etc/passwd",
	};
	struct api_resp	*r;
	long long	uid;
	char		*user;
	size_t		i;

	user = test_user_token("user", &uid);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = api_auth("GET", paths[i], user, NULL);
		cr_assert(r->status >= 400 && r->status < 500, "%s: %ld %s",
		    paths[i], r->status, r->body);
		cr_assert_not_null(api_error_code(r), "%s: %s", paths[i],
		    r->body);
		api_free(r);
	}

	r = api("GET", "/api/health", NULL);
	cr_assert_eq(r->status, 200);
	api_free(r);
	free(user);
}
