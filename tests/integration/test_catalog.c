/*
 * Catalog reads: theatres, shows, a movie's shows, the seat map; their
 * filters, paging and errors; local-date filtering; the Redis cache and
 * reads with Redis down.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fixtures.h"
#include "tokens.h"
#include "expect.h"

/* Cached bodies of earlier tests must not answer for this one. */
TestSuite(catalog, .init = redis_flush);

static json_t *
get_ok(struct api_resp **rp, const char *fmt, long long a, long long b)
{
	char	*path;

	path = api_format(fmt, a, b);
	*rp = api("GET", path, NULL);
	cr_assert_eq((*rp)->status, 200, "GET %s: %ld %s", path,
	    (*rp)->status, (*rp)->body);
	cr_assert_not_null((*rp)->json, "GET %s: not JSON", path);
	free(path);

	return ((*rp)->json);
}

static void
expect_error(const char *path, long status, const char *code,
    const char *field)
{
	struct api_resp	*r;

	r = api("GET", path, NULL);
	assert_error(r, status, code, field);
	api_free(r);
}

Test(catalog, theatre_list_filters_by_city_case_insensitively_and_pages)
{
	struct api_resp	*r;
	json_t		*j, *data;
	char		*city, *path, *name;
	long long	a, b;

	city = fx_unique("Porto");
	name = fx_unique("Cinema");
	a = fx_theatre(name, city, "Europe/Lisbon");
	b = fx_theatre("Second", city, "Europe/Lisbon");
	fx_theatre("Elsewhere", "Nowhere-City", "Europe/Lisbon");

	path = api_format("/api/theatres?city=%s", city);
	/* Upper-casing the ASCII letters must not change the answer. */
	for (size_t i = 0; path[i] != '\0'; i++) {
		if (path[i] >= 'a' && path[i] <= 'z' && i > 20)
			path[i] -= 32;
	}
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	j = r->json;
	cr_assert_eq(jint(j, "total"), 2);
	cr_assert_eq(jint(j, "limit"), 20);
	cr_assert_eq(jint(j, "offset"), 0);
	data = json_object_get(j, "data");
	cr_assert_eq(json_array_size(data), 2);
	cr_assert_eq(jint(json_array_get(data, 0), "id"), a);
	cr_assert_str_eq(jstr(json_array_get(data, 0), "name"), name);
	cr_assert_str_eq(jstr(json_array_get(data, 0), "city"), city);
	cr_assert_str_eq(jstr(json_array_get(data, 0), "address"),
	    "Somewhere 1");
	cr_assert_str_eq(jstr(json_array_get(data, 0), "timezone"),
	    "Europe/Lisbon");
	cr_assert_eq(jint(json_array_get(data, 1), "id"), b);
	api_free(r);
	free(path);

	path = api_format("/api/theatres?city=%s&limit=1&offset=1", city);
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(jint(r->json, "total"), 2);
	cr_assert_eq(json_array_size(json_object_get(r->json, "data")), 1);
	cr_assert_eq(jint(json_array_get(json_object_get(r->json, "data"), 0),
	    "id"), b);
	api_free(r);
	free(path);

	/* Past the end: an empty page that still knows the total. */
	path = api_format("/api/theatres?city=%s&offset=100", city);
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(jint(r->json, "total"), 2);
	cr_assert_eq(json_array_size(json_object_get(r->json, "data")), 0);
	api_free(r);
	free(path);
	free(city);
	free(name);
}

Test(catalog, theatre_list_rejects_bad_paging_and_city)
{
	expect_error("/api/theatres?limit=0", 400, "invalid_request", "limit");
	expect_error("/api/theatres?limit=101", 400, "invalid_request",
	    "limit");
	expect_error("/api/theatres?limit=abc", 400, "invalid_request",
	    "limit");
	expect_error("/api/theatres?offset=-1", 400, "invalid_request",
	    "offset");
	expect_error("/api/theatres?city=", 400, "invalid_request", "city");
}

Test(catalog, theatre_list_accepts_limit_bounds)
{
	struct api_resp	*r;

	r = api("GET", "/api/theatres?limit=1", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_leq(json_array_size(json_object_get(r->json, "data")), 1);
	api_free(r);

	r = api("GET", "/api/theatres?limit=100&offset=0", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(jint(r->json, "limit"), 100);
	api_free(r);
}

Test(catalog, theatre_detail_has_screens_with_rows_in_order)
{
	struct api_resp	*r;
	json_t		*j, *screens, *s, *rows;
	long long	t, s1, s2;

	t = fx_theatre("Detail Theatre", "Detail City", "Europe/Berlin");
	s1 = fx_screen(t, "Saal 1");
	s2 = fx_screen(t, "Saal 2");

	j = get_ok(&r, "/api/theatres/%lld", t, 0);
	cr_assert_eq(jint(j, "id"), t);
	cr_assert_str_eq(jstr(j, "name"), "Detail Theatre");
	cr_assert_str_eq(jstr(j, "timezone"), "Europe/Berlin");
	screens = json_object_get(j, "screens");
	cr_assert_eq(json_array_size(screens), 2, "%s", r->body);

	s = json_array_get(screens, 0);
	cr_assert_eq(jint(s, "id"), s1);
	cr_assert_eq(jint(s, "theatre_id"), t);
	cr_assert_str_eq(jstr(s, "name"), "Saal 1");
	rows = json_object_get(s, "rows");
	cr_assert_eq(json_array_size(rows), 2);
	cr_assert_str_eq(jstr(json_array_get(rows, 0), "label"), "A");
	cr_assert_eq(jint(json_array_get(rows, 0), "seats"), 3);
	cr_assert_str_eq(jstr(json_array_get(rows, 0), "tier"), "standard");
	cr_assert_eq(jint(json_array_get(rows, 0), "price_cents"), 1000);
	cr_assert_str_eq(jstr(json_array_get(rows, 1), "label"), "B");
	cr_assert_eq(jint(json_array_get(rows, 1), "price_cents"), 1500);
	cr_assert_eq(jint(json_array_get(screens, 1), "id"), s2);
	api_free(r);
}

Test(catalog, theatre_without_screens_has_empty_screens)
{
	struct api_resp	*r;
	json_t		*j;
	long long	t;

	t = fx_theatre("Empty Theatre", "Empty City", "Europe/Paris");
	j = get_ok(&r, "/api/theatres/%lld", t, 0);
	cr_assert(json_is_array(json_object_get(j, "screens")));
	cr_assert_eq(json_array_size(json_object_get(j, "screens")), 0);
	api_free(r);
}

Test(catalog, theatre_unknown_is_404_and_bad_id_is_400)
{
	expect_error("/api/theatres/987654321", 404, "not_found", NULL);
	expect_error("/api/theatres/abc", 400, "invalid_request", "id");
	expect_error("/api/theatres/0", 400, "invalid_request", "id");
	expect_error("/api/theatres/-5", 400, "invalid_request", "id");
}

Test(catalog, show_list_filters_by_movie_theatre_city_and_date)
{
	struct api_resp	*r;
	json_t		*j, *data, *show;
	char		*city;
	long long	m1, m2, t1, t2, sc1, sc2, a, b, c;

	city = fx_unique("Vienna");
	m1 = fx_movie("Filter Movie One", 100);
	m2 = fx_movie("Filter Movie Two", 90);
	t1 = fx_theatre("Filter T1", city, "Europe/Vienna");
	t2 = fx_theatre("Filter T2", "Graz-Filter", "Europe/Vienna");
	sc1 = fx_screen(t1, "1");
	sc2 = fx_screen(t2, "1");
	a = fx_show(m1, sc1, "2026-12-24T18:30:00Z");
	b = fx_show(m2, sc1, "2026-12-25T18:30:00Z");
	c = fx_show(m1, sc2, "2026-12-24T12:00:00Z");

	j = get_ok(&r, "/api/shows?movie_id=%lld", m1, 0);
	cr_assert_eq(jint(j, "total"), 2);
	data = json_object_get(j, "data");
	/* Ordered by start time. */
	cr_assert_eq(jint(json_array_get(data, 0), "id"), c);
	cr_assert_eq(jint(json_array_get(data, 1), "id"), a);
	api_free(r);

	j = get_ok(&r, "/api/shows?theatre_id=%lld", t1, 0);
	cr_assert_eq(jint(j, "total"), 2);
	api_free(r);

	j = get_ok(&r, "/api/shows?theatre_id=%lld&movie_id=%lld", t1, m2);
	cr_assert_eq(jint(j, "total"), 1);
	cr_assert_eq(jint(json_array_get(json_object_get(j, "data"), 0),
	    "id"), b);
	api_free(r);

	j = get_ok(&r, "/api/shows?theatre_id=%lld&date=2026-12-24", t1, 0);
	cr_assert_eq(jint(j, "total"), 1);
	show = json_array_get(json_object_get(j, "data"), 0);
	cr_assert_eq(jint(show, "id"), a);
	cr_assert_eq(jint(show, "screen_id"), sc1);
	cr_assert_str_eq(jstr(show, "start_time"), "2026-12-24T18:30:00Z");
	cr_assert_str_eq(jstr(show, "end_time"), "2026-12-24T20:10:00Z");
	cr_assert_str_eq(jstr(show, "currency"), "EUR");
	cr_assert_eq(jint(json_object_get(show, "movie"), "id"), m1);
	cr_assert_str_eq(jstr(json_object_get(show, "movie"), "title"),
	    "Filter Movie One");
	cr_assert_eq(jint(json_object_get(show, "movie"),
	    "duration_minutes"), 100);
	cr_assert_eq(jint(json_object_get(show, "theatre"), "id"), t1);
	cr_assert_str_eq(jstr(json_object_get(show, "theatre"), "city"),
	    city);
	api_free(r);
	free(city);

	city = api_format("/api/shows?city=%s", "graz-filter");
	r = api("GET", city, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(jint(r->json, "total"), 1);
	cr_assert_eq(jint(json_array_get(json_object_get(r->json, "data"), 0),
	    "id"), c);
	api_free(r);
	free(city);
}

Test(catalog, show_list_date_is_the_theatres_local_date)
{
	struct api_resp	*r;
	json_t		*j;
	long long	m, t, sc, s;

	m = fx_movie("Late Night NY", 95);
	t = fx_theatre("Late NY", "New York Late", "America/New_York");
	sc = fx_screen(t, "Late");
	/* 23:30 on 24 December in New York is 04:30 UTC on the 25th. */
	s = fx_show(m, sc, "2026-12-24 23:30:00 America/New_York");

	j = get_ok(&r, "/api/shows?theatre_id=%lld&date=2026-12-24", t, 0);
	cr_assert_eq(jint(j, "total"), 1, "%s", r->body);
	cr_assert_eq(jint(json_array_get(json_object_get(j, "data"), 0),
	    "id"), s);
	cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "data"), 0),
	    "start_time"), "2026-12-25T04:30:00Z");
	api_free(r);

	j = get_ok(&r, "/api/shows?theatre_id=%lld&date=2026-12-25", t, 0);
	cr_assert_eq(jint(j, "total"), 0, "%s", r->body);
	api_free(r);

	/* The same rule for a movie's shows. */
	j = get_ok(&r, "/api/movies/%lld/shows?date=2026-12-24", m, 0);
	cr_assert_eq(jint(j, "total"), 1, "%s", r->body);
	api_free(r);
	j = get_ok(&r, "/api/movies/%lld/shows?date=2026-12-25", m, 0);
	cr_assert_eq(jint(j, "total"), 0, "%s", r->body);
	api_free(r);

	/* And for the movie list's date filter. */
	j = get_ok(&r, "/api/movies?q=Late%%20Night%%20NY&date=2026-12-24",
	    0, 0);
	cr_assert_eq(jint(j, "total"), 1, "%s", r->body);
	api_free(r);
}

Test(catalog, show_list_pages_and_rejects_bad_parameters)
{
	struct api_resp	*r;
	json_t		*j;
	long long	m, t, sc, first;

	m = fx_movie("Paging Shows", 60);
	t = fx_theatre("Paging T", "Paging City", "UTC");
	sc = fx_screen(t, "P");
	first = fx_show(m, sc, "2026-11-01T10:00:00Z");
	fx_show(m, sc, "2026-11-01T12:00:00Z");
	fx_show(m, sc, "2026-11-01T14:00:00Z");

	j = get_ok(&r, "/api/shows?movie_id=%lld&limit=2", m, 0);
	cr_assert_eq(jint(j, "total"), 3);
	cr_assert_eq(jint(j, "limit"), 2);
	cr_assert_eq(json_array_size(json_object_get(j, "data")), 2);
	cr_assert_eq(jint(json_array_get(json_object_get(j, "data"), 0),
	    "id"), first);
	api_free(r);

	j = get_ok(&r, "/api/shows?movie_id=%lld&limit=2&offset=2", m, 0);
	cr_assert_eq(json_array_size(json_object_get(j, "data")), 1);
	api_free(r);

	j = get_ok(&r, "/api/shows?movie_id=%lld&offset=3", m, 0);
	cr_assert_eq(jint(j, "total"), 3);
	cr_assert_eq(json_array_size(json_object_get(j, "data")), 0);
	api_free(r);

	expect_error("/api/shows?limit=0", 400, "invalid_request", "limit");
	expect_error("/api/shows?limit=101", 400, "invalid_request", "limit");
	expect_error("/api/shows?offset=x", 400, "invalid_request", "offset");
	expect_error("/api/shows?movie_id=abc", 400, "invalid_request",
	    "movie_id");
	expect_error("/api/shows?theatre_id=0", 400, "invalid_request",
	    "theatre_id");
	expect_error("/api/shows?date=2026-1-1", 400, "invalid_request",
	    "date");
	expect_error("/api/shows?date=2026-02-30", 400, "invalid_request",
	    "date");
}

Test(catalog, show_detail_embeds_movie_theatre_and_seats_available)
{
	struct api_resp	*r;
	json_t		*j;
	long long	m, t, sc, s;

	m = fx_movie("Detail Show Movie", 120);
	t = fx_theatre("Detail Show T", "Detail Show City", "Europe/Madrid");
	sc = fx_screen(t, "D");
	s = fx_show(m, sc, "2026-12-31T20:00:00Z");

	j = get_ok(&r, "/api/shows/%lld", s, 0);
	cr_assert_eq(jint(j, "id"), s);
	cr_assert_eq(jint(j, "screen_id"), sc);
	cr_assert_str_eq(jstr(j, "start_time"), "2026-12-31T20:00:00Z");
	cr_assert_str_eq(jstr(j, "end_time"), "2026-12-31T22:00:00Z");
	cr_assert_str_eq(jstr(j, "currency"), "EUR");
	cr_assert_eq(jint(j, "seats_available"), 5);
	cr_assert_eq(jint(json_object_get(j, "movie"), "id"), m);
	cr_assert_str_eq(jstr(json_object_get(j, "movie"), "release_date"),
	    "2026-01-02");
	cr_assert_eq(jint(json_object_get(j, "theatre"), "id"), t);
	cr_assert_str_eq(jstr(json_object_get(j, "theatre"), "timezone"),
	    "Europe/Madrid");
	api_free(r);

	expect_error("/api/shows/987654321", 404, "not_found", NULL);
	expect_error("/api/shows/x1", 400, "invalid_request", "id");
}

Test(catalog, seat_map_lists_every_seat_with_status)
{
	struct api_resp	*r;
	json_t		*j, *seats, *seat;
	long long	m, t, sc, s;

	m = fx_movie("Seat Map Movie", 100);
	t = fx_theatre("Seat Map T", "Seat City", "Europe/Rome");
	sc = fx_screen(t, "S");
	s = fx_show(m, sc, "2026-12-20T19:00:00Z");

	j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
	cr_assert_eq(jint(j, "show_id"), s);
	seats = json_object_get(j, "seats");
	cr_assert_eq(json_array_size(seats), 5, "%s", r->body);
	seat = json_array_get(seats, 0);
	cr_assert_str_eq(jstr(seat, "row"), "A");
	cr_assert_eq(jint(seat, "number"), 1);
	cr_assert_str_eq(jstr(seat, "tier"), "standard");
	cr_assert_eq(jint(seat, "price_cents"), 1000);
	cr_assert_str_eq(jstr(seat, "status"), "available");
	cr_assert_null(json_object_get(seat, "held_by_me"));
	cr_assert_eq(jint(seat, "id"), db_scalar("SELECT min(id) FROM seats "
	    "WHERE show_id = $1", api_format("%lld", s), NULL));
	seat = json_array_get(seats, 4);
	cr_assert_str_eq(jstr(seat, "row"), "B");
	cr_assert_eq(jint(seat, "number"), 2);
	cr_assert_str_eq(jstr(seat, "tier"), "premium");
	cr_assert_eq(jint(seat, "price_cents"), 1500);
	api_free(r);

	expect_error("/api/shows/987654321/seats", 404, "not_found", NULL);
	expect_error("/api/shows/abc/seats", 400, "invalid_request", "id");
}

/*
 * The anonymous seat map is cached (src/seatmap.c): a change made behind
 * the service's back is not seen until a seat write of the show bumps
 * its version; a signed-in caller's map is cached per caller, so that
 * caller's first read is computed and sees the change.
 */
Test(catalog, seat_map_is_cached_until_a_seat_write)
{
	struct api_resp	*r;
	json_t		*j;
	long long	m, t, sc, s, user;
	char		*id, *token, *body, xc[16];
	double		start;
	int		hit;

	m = fx_movie("Cached Seats", 100);
	t = fx_theatre("Cached T", "Cached City", "UTC");
	sc = fx_screen(t, "U");
	s = fx_show(m, sc, "2036-10-10T10:00:00Z");
	id = api_format("%lld", s);
	token = test_user_token("user", &user);

	j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
	cr_assert_str_eq(api_header(r, "x-cache", xc, sizeof(xc)), "miss");
	api_free(r);

	/*
	 * The miss stores its body without making the client wait: the next
	 * read may reach the other worker's Redis connection first.
	 */
	start = now_seconds();
	for (;;) {
		j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
		hit = !strcmp(api_header(r, "x-cache", xc, sizeof(xc)), "hit");
		api_free(r);
		if (hit)
			break;
		wait_step(start, 10, "the seat map to be cached");
	}

	db_exec("UPDATE seats SET price_cents = 999 WHERE show_id = $1", id,
	    NULL);
	j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
	cr_assert_str_eq(api_header(r, "x-cache", xc, sizeof(xc)), "hit");
	cr_assert_eq(jint(json_array_get(json_object_get(j, "seats"), 0),
	    "price_cents"), 1000);
	api_free(r);

	r = api_auth("GET", api_format("/api/shows/%lld/seats", s), token,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(api_header(r, "x-cache", xc, sizeof(xc)), "miss");
	cr_assert_eq(jint(json_array_get(json_object_get(r->json, "seats"),
	    0), "price_cents"), 999);
	api_free(r);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", s,
	    db_scalar("SELECT max(id) FROM seats WHERE show_id = $1", id,
	    NULL));
	r = api_auth("POST", "/api/holds", token, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
	cr_assert_str_eq(api_header(r, "x-cache", xc, sizeof(xc)), "miss");
	cr_assert_eq(jint(json_array_get(json_object_get(j, "seats"), 0),
	    "price_cents"), 999);
	api_free(r);
	free(body);
	free(token);
	free(id);
}

Test(catalog, movie_shows_lists_one_movies_shows_with_filters)
{
	struct api_resp	*r;
	json_t		*j;
	char		*city;
	long long	m, other, t1, t2, sc1, sc2, a;

	city = fx_unique("Oslo");
	m = fx_movie("Movie Shows", 80);
	other = fx_movie("Other Movie Shows", 80);
	t1 = fx_theatre("MS T1", city, "Europe/Oslo");
	t2 = fx_theatre("MS T2", "Bergen-MS", "Europe/Oslo");
	sc1 = fx_screen(t1, "1");
	sc2 = fx_screen(t2, "1");
	a = fx_show(m, sc1, "2026-12-01T18:00:00Z");
	fx_show(m, sc2, "2026-12-02T18:00:00Z");
	fx_show(other, sc1, "2026-12-03T18:00:00Z");

	j = get_ok(&r, "/api/movies/%lld/shows", m, 0);
	cr_assert_eq(jint(j, "total"), 2, "%s", r->body);
	cr_assert_eq(jint(j, "limit"), 20);
	cr_assert_eq(jint(json_object_get(json_array_get(json_object_get(j,
	    "data"), 0), "movie"), "id"), m);
	api_free(r);

	j = get_ok(&r, "/api/movies/%lld/shows?city=bergen-ms", m, 0);
	cr_assert_eq(jint(j, "total"), 1);
	api_free(r);

	j = get_ok(&r, "/api/movies/%lld/shows?date=2026-12-01&limit=1", m, 0);
	cr_assert_eq(jint(j, "total"), 1);
	cr_assert_eq(jint(json_array_get(json_object_get(j, "data"), 0),
	    "id"), a);
	api_free(r);

	/* A movie without shows is an empty list, an unknown one a 404. */
	j = get_ok(&r, "/api/movies/%lld/shows?date=2027-01-01", m, 0);
	cr_assert_eq(jint(j, "total"), 0);
	api_free(r);
	expect_error("/api/movies/987654321/shows", 404, "not_found", NULL);
	expect_error("/api/movies/abc/shows", 400, "invalid_request", "id");
	expect_error("/api/movies/1/shows?limit=500", 400, "invalid_request",
	    "limit");
	expect_error("/api/movies/1/shows?date=tomorrow", 400,
	    "invalid_request", "date");
	free(city);
}

Test(catalog, catalog_paths_answer_405_for_unknown_methods)
{
	struct api_resp	*r;
	char		allow[64];

	r = api("PATCH", "/api/theatres", "{}");
	assert_error(r, 405, "method_not_allowed", NULL);
	cr_assert_not_null(api_header(r, "allow", allow, sizeof(allow)));
	api_free(r);

	r = api("POST", "/api/shows/1/seats", "{}");
	assert_error(r, 405, "method_not_allowed", NULL);
	api_free(r);
}

Test(catalog, cached_read_is_served_identically)
{
	struct api_resp	*r1, *r2;
	char		xc[16], *path;
	long long	t;

	t = fx_theatre("Cache T", "Cache City", "UTC");
	fx_screen(t, "C");
	path = api_format("/api/theatres/%lld", t);

	r1 = api("GET", path, NULL);
	cr_assert_eq(r1->status, 200);
	cr_assert_str_eq(api_header(r1, "x-cache", xc, sizeof(xc)), "miss");
	r2 = api("GET", path, NULL);
	cr_assert_eq(r2->status, 200);
	cr_assert_str_eq(api_header(r2, "x-cache", xc, sizeof(xc)), "hit");
	cr_assert_str_eq(r1->body, r2->body);
	cr_assert_not_null(api_header(r2, "x-request-id", xc, sizeof(xc)));
	api_free(r1);
	api_free(r2);

	/* Errors are never cached. */
	r1 = api("GET", "/api/theatres/987654320", NULL);
	r2 = api("GET", "/api/theatres/987654320", NULL);
	cr_assert_eq(r2->status, 404);
	cr_assert_null(api_header(r2, "x-cache", xc, sizeof(xc)));
	api_free(r1);
	api_free(r2);
	free(path);
}

Test(catalog, reads_answer_with_redis_down)
{
	const char	*paths[8];
	struct api_resp	*r;
	long long	m, t, sc, s;
	int		i, k;

	m = fx_movie("Redis Down Movie", 100);
	t = fx_theatre("Redis Down T", "Redis Down City", "UTC");
	sc = fx_screen(t, "R");
	s = fx_show(m, sc, "2026-12-12T12:00:00Z");

	paths[0] = "/api/movies?limit=5";
	paths[1] = api_format("/api/movies/%lld", m);
	paths[2] = api_format("/api/movies/%lld/shows", m);
	paths[3] = "/api/theatres?city=Redis%20Down%20City";
	paths[4] = api_format("/api/theatres/%lld", t);
	paths[5] = api_format("/api/shows?movie_id=%lld", m);
	paths[6] = api_format("/api/shows/%lld", s);
	paths[7] = api_format("/api/shows/%lld/seats", s);

	/* Warm the cache, so a stale connection is exercised too. */
	for (i = 0; i < 8; i++)
		api_free(api("GET", paths[i], NULL));

	redis_down();
	/* Twice each: both workers must degrade, whichever answers. */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 8; i++) {
			r = api("GET", paths[i], NULL);
			if (r->status != 200)
				redis_up();
			cr_assert_eq(r->status, 200, "GET %s with Redis down: "
			    "%ld %s", paths[i], r->status, r->body);
			api_free(r);
		}
	}
	redis_up();

	for (i = 0; i < 8; i++) {
		r = api("GET", paths[i], NULL);
		cr_assert_eq(r->status, 200);
		api_free(r);
	}
}

/*
 * The seat map and seats_available follow real holds and bookings (the
 * seat_states view): a seat held by one user, one booked by another.
 * Rows are made in SQL because the show is in the past for the API.
 */
Test(catalog, seat_map_and_availability_follow_holds_and_bookings)
{
	struct api_resp	*r;
	json_t		*j, *seats;
	long long	m, t, sc, s, holder, booker, hold, booking;
	char		*sid, *hid, *bid, *token;

	m = fx_movie("Seat States Movie", 100);
	t = fx_theatre("Seat States T", "Seat States City", "UTC");
	sc = fx_screen(t, "S");
	s = fx_show(m, sc, "2026-09-09T19:00:00Z");
	sid = api_format("%lld", s);

	token = test_user_token("user", &holder);
	booker = test_user("user");
	hid = api_format("%lld", holder);
	bid = api_format("%lld", booker);

	/* Row A's first seat held by `holder`, row B's first booked. */
	hold = db_insert_id("INSERT INTO holds (user_id, show_id, expires_at)"
	    " VALUES ($1, $2, now() + interval '5 minutes') RETURNING id",
	    hid, sid, NULL);
	db_exec("INSERT INTO hold_seats (hold_id, seat_id) SELECT $1, id"
	    " FROM seats WHERE show_id = $2 AND row_label = 'A'"
	    " AND number = 1", api_format("%lld", hold), sid, NULL);
	booking = db_insert_id("INSERT INTO bookings (user_id, show_id,"
	    " status, total_cents, currency) VALUES ($1, $2, 'confirmed', 0,"
	    " 'EUR') RETURNING id", bid, sid, NULL);
	db_exec("INSERT INTO booking_seats (booking_id, seat_id, price_cents,"
	    " live) SELECT $1, id, price_cents, true FROM seats"
	    " WHERE show_id = $2 AND row_label = 'B' AND number = 1",
	    api_format("%lld", booking), sid, NULL);

	j = get_ok(&r, "/api/shows/%lld/seats", s, 0);
	seats = json_object_get(j, "seats");
	cr_assert_str_eq(jstr(json_array_get(seats, 0), "status"), "held");
	cr_assert_str_eq(jstr(json_array_get(seats, 1), "status"),
	    "available");
	cr_assert_str_eq(jstr(json_array_get(seats, 3), "status"), "booked");
	/* Nobody is signed in, so nothing is held by "me". */
	cr_assert_null(json_object_get(json_array_get(seats, 0),
	    "held_by_me"));
	api_free(r);

	/* The holder sees its own hold; a bad token is refused. */
	r = api_auth("GET", api_format("/api/shows/%lld/seats", s), token,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	seats = json_object_get(r->json, "seats");
	cr_assert(json_is_true(json_object_get(json_array_get(seats, 0),
	    "held_by_me")), "%s", r->body);
	cr_assert_null(json_object_get(json_array_get(seats, 3),
	    "held_by_me"));
	api_free(r);

	r = api_auth("GET", api_format("/api/shows/%lld/seats", s),
	    "not.a.token", NULL);
	cr_assert_eq(r->status, 401, "%s", r->body);
	api_free(r);

	j = get_ok(&r, "/api/shows/%lld", s, 0);
	cr_assert_eq(jint(j, "seats_available"), 3);
	api_free(r);
	free(sid);
	free(hid);
	free(bid);
}
