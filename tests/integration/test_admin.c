/*
 * Catalog administration: POST/PUT/DELETE on movies, theatres, screens
 * and shows.
 *
 * Every write refuses a request without a valid token (401 with
 * WWW-Authenticate) or from a non-admin (403) and changes nothing; the
 * writes themselves, their validation, conflicts and cache invalidation.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "fixtures.h"
#include "tokens.h"
#include "expect.h"

static const char *admin_writes[][2] = {
	{ "POST", "/api/movies" },
	{ "PUT", "/api/movies/%lld" },
	{ "DELETE", "/api/movies/%lld" },
	{ "POST", "/api/theatres" },
	{ "PUT", "/api/theatres/%lld" },
	{ "DELETE", "/api/theatres/%lld" },
	{ "POST", "/api/theatres/%lld/screens" },
	{ "POST", "/api/shows" },
	{ "PUT", "/api/shows/%lld" },
	{ "DELETE", "/api/shows/%lld" },
};

#define ADMIN_NWRITES	(sizeof(admin_writes) / sizeof(admin_writes[0]))

TestSuite(admin, .init = redis_flush);

static void
assert_unauthorized(struct api_resp *r, const char *what)
{
	char	hdr[128];

	cr_assert_eq(r->status, 401, "%s: %ld %s", what, r->status, r->body);
	cr_assert_str_eq(api_error_code(r), "unauthorized", "%s", what);
	cr_assert_not_null(api_header(r, "www-authenticate", hdr,
	    sizeof(hdr)), "%s: no WWW-Authenticate", what);
	cr_assert(!strncmp(hdr, "Bearer", 6), "%s: %s", what, hdr);
}

Test(admin, writes_without_token_are_401_and_change_nothing)
{
	struct api_resp	*r;
	long long	movies, m, t, sc, s;
	char		*path;
	size_t		i;
	const char	*body = "{\"title\":\"Sneaky\",\"duration_minutes\":90,"
			    "\"name\":\"Sneaky\",\"city\":\"X\",\"timezone\":"
			    "\"UTC\",\"rows\":[{\"label\":\"A\",\"seats\":1,"
			    "\"tier\":\"t\",\"price_cents\":1}]}";

	m = fx_movie("Protected Movie", 90);
	t = fx_theatre("Protected T", "Protected City", "UTC");
	sc = fx_screen(t, "P");
	s = fx_show(m, sc, "2026-12-01T10:00:00Z");
	movies = db_scalar("SELECT count(*) FROM movies", NULL);

	for (i = 0; i < ADMIN_NWRITES; i++) {
		path = api_format(admin_writes[i][1],
		    strstr(admin_writes[i][1], "movies") ? m :
		    strstr(admin_writes[i][1], "theatres") ? t : s);
		r = api(admin_writes[i][0], path, body);
		assert_unauthorized(r, path);
		api_free(r);
		free(path);
	}

	cr_assert_eq(db_scalar("SELECT count(*) FROM movies", NULL), movies);
	cr_assert_eq(db_scalar("SELECT count(*) FROM shows WHERE id = $1",
	    api_format("%lld", s), NULL), 1);
	cr_assert_str_eq(db_text("SELECT title FROM movies WHERE id = $1",
	    api_format("%lld", m), NULL), "Protected Movie");
}

Test(admin, writes_with_garbage_token_are_401)
{
	struct api_resp	*r;
	char		*path;
	size_t		i;

	for (i = 0; i < ADMIN_NWRITES; i++) {
		path = api_format(admin_writes[i][1], 1LL);
		r = api_auth(admin_writes[i][0], path, "not.a.jwt", "{}");
		assert_unauthorized(r, path);
		api_free(r);
		free(path);
	}
}


static struct api_resp *
admin(const char *method, const char *path, const char *body)
{
	const char	*token = test_admin_token();

	cr_assert_not_null(token, "test_admin_token() gave no token");
	return (api_auth(method, path, token, body));
}

static void
expect(const char *method, const char *path, const char *body, long status,
    const char *code, const char *field)
{
	struct api_resp	*r;

	r = admin(method, path, body);
	assert_error(r, status, code, field);
	api_free(r);
}

/* A 201 with a Location that answers the same object. */
static long long
created(struct api_resp *r, const char *collection)
{
	struct api_resp	*g;
	char		loc[128], *want;
	long long	id;

	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	id = jint(r->json, "id");
	want = api_format("%s/%lld", collection, id);
	cr_assert_not_null(api_header(r, "location", loc, sizeof(loc)));
	cr_assert_str_eq(loc, want);
	g = api("GET", loc, NULL);
	cr_assert_eq(g->status, 200, "GET %s: %s", loc, g->body);
	api_free(g);
	free(want);

	return (id);
}

Test(admin, user_token_is_403)
{
	struct api_resp	*r;
	long long	uid;
	const char	*token = test_user_token("user", &uid);

	cr_assert_not_null(token);
	r = api_auth("POST", "/api/movies", token,
	    "{\"title\":\"x\",\"duration_minutes\":90}");
	cr_assert_eq(r->status, 403, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "forbidden");
	api_free(r);
}

Test(admin, movie_create_update_delete)
{
	struct api_resp	*r;
	long long	id;
	char		*path;

	r = admin("POST", "/api/movies", "{\"title\":\"Admin Movie\","
	    "\"description\":\"d\",\"duration_minutes\":101,\"rating\":\"PG\","
	    "\"poster_url\":\"https://example.com/p.jpg\","
	    "\"release_date\":\"2026-05-01\"}");
	id = created(r, "/api/movies");
	cr_assert_str_eq(jstr(r->json, "title"), "Admin Movie");
	cr_assert_eq(jint(r->json, "duration_minutes"), 101);
	cr_assert_str_eq(jstr(r->json, "release_date"), "2026-05-01");
	api_free(r);

	path = api_format("/api/movies/%lld", id);
	r = admin("PUT", path, "{\"title\":\"Renamed\",\"duration_minutes\":"
	    "95}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(jstr(r->json, "title"), "Renamed");
	/* A full replacement: absent optional fields are reset. */
	cr_assert(json_is_null(json_object_get(r->json, "poster_url")));
	cr_assert_str_eq(jstr(r->json, "description"), "");
	api_free(r);

	r = admin("DELETE", path, NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	cr_assert_eq(r->len, 0);
	api_free(r);
	expect("DELETE", path, NULL, 404, "not_found", NULL);
	expect("PUT", path, "{\"title\":\"x\",\"duration_minutes\":9}", 404,
	    "not_found", NULL);
	free(path);
}

Test(admin, movie_body_validation_names_the_field)
{
	const char	*json_type[] = { "Content-Type: text/plain", NULL };
	struct api_opts	o = { 0 };
	struct api_resp	*r;

	o.token = test_admin_token();
	o.headers = json_type;
	o.content_type = "text/plain";
	r = api_with("POST", "/api/movies", "{\"title\":\"x\","
	    "\"duration_minutes\":90}", &o);
	assert_error(r, 415, "unsupported_media_type", NULL);
	api_free(r);

	expect("POST", "/api/movies", "not json", 400, "invalid_request",
	    "body");
	expect("POST", "/api/movies", "[1]", 400, "invalid_request", "body");
	expect("POST", "/api/movies", "{\"duration_minutes\":90}", 400,
	    "invalid_request", "title");
	expect("POST", "/api/movies", "{\"title\":\"\","
	    "\"duration_minutes\":90}", 400, "invalid_request", "title");
	expect("POST", "/api/movies", "{\"title\":7,\"duration_minutes\":90}",
	    400, "invalid_request", "title");
	expect("POST", "/api/movies", "{\"title\":\"x\"}", 400,
	    "invalid_request", "duration_minutes");
	expect("POST", "/api/movies", "{\"title\":\"x\","
	    "\"duration_minutes\":0}", 400, "invalid_request",
	    "duration_minutes");
	expect("POST", "/api/movies", "{\"title\":\"x\","
	    "\"duration_minutes\":\"90\"}", 400, "invalid_request",
	    "duration_minutes");
	expect("POST", "/api/movies", "{\"title\":\"x\","
	    "\"duration_minutes\":90,\"release_date\":\"2026-02-30\"}", 400,
	    "invalid_request", "release_date");
	expect("POST", "/api/movies", "{\"title\":\"x\","
	    "\"duration_minutes\":90,\"rating\":\"123456789012345678901\"}",
	    400, "invalid_request", "rating");
	expect("PUT", "/api/movies/abc", "{}", 400, "invalid_request", "id");
}

Test(admin, movie_with_shows_cannot_be_deleted)
{
	long long	m, t, sc;
	char		*path;

	m = fx_movie("In Use Movie", 90);
	t = fx_theatre("In Use T", "In Use City", "UTC");
	sc = fx_screen(t, "I");
	fx_show(m, sc, "2026-12-01T10:00:00Z");

	path = api_format("/api/movies/%lld", m);
	expect("DELETE", path, NULL, 409, "in_use", NULL);
	free(path);
}

Test(admin, theatre_create_update_delete_and_timezone)
{
	struct api_resp	*r;
	long long	id;
	char		*path;

	r = admin("POST", "/api/theatres", "{\"name\":\"Admin T\",\"city\":"
	    "\"Lyon\",\"address\":\"1 rue\",\"timezone\":\"Europe/Paris\"}");
	id = created(r, "/api/theatres");
	cr_assert_str_eq(jstr(r->json, "timezone"), "Europe/Paris");
	api_free(r);

	expect("POST", "/api/theatres", "{\"name\":\"T\",\"city\":\"C\","
	    "\"timezone\":\"Mars/Olympus\"}", 400, "invalid_request",
	    "timezone");
	expect("POST", "/api/theatres", "{\"name\":\"T\",\"timezone\":"
	    "\"UTC\"}", 400, "invalid_request", "city");

	path = api_format("/api/theatres/%lld", id);
	r = admin("PUT", path, "{\"name\":\"Admin T2\",\"city\":\"Lyon\","
	    "\"timezone\":\"Europe/Paris\"}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(jstr(r->json, "name"), "Admin T2");
	cr_assert_str_eq(jstr(r->json, "address"), "");
	api_free(r);
	expect("PUT", path, "{\"name\":\"T\",\"city\":\"C\",\"timezone\":"
	    "\"Nowhere/Zone\"}", 400, "invalid_request", "timezone");

	/* Screens without shows go with their theatre. */
	fx_screen(id, "Gone");
	r = admin("DELETE", path, NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);
	expect("DELETE", path, NULL, 404, "not_found", NULL);
	expect("PUT", "/api/theatres/987654321", "{\"name\":\"T\",\"city\":"
	    "\"C\",\"timezone\":\"UTC\"}", 404, "not_found", NULL);
	free(path);
}

Test(admin, theatre_with_shows_cannot_be_deleted)
{
	long long	m, t, sc;
	char		*path;

	m = fx_movie("Theatre In Use", 90);
	t = fx_theatre("Busy T", "Busy City", "UTC");
	sc = fx_screen(t, "B");
	fx_show(m, sc, "2026-12-01T10:00:00Z");

	path = api_format("/api/theatres/%lld", t);
	expect("DELETE", path, NULL, 409, "in_use", NULL);
	free(path);
	cr_assert_eq(db_scalar("SELECT count(*) FROM screens WHERE id = $1",
	    api_format("%lld", sc), NULL), 1);
}

Test(admin, screen_create_with_rows)
{
	struct api_resp	*r;
	json_t		*rows;
	long long	t;
	char		*path, loc[128], *want;

	t = fx_theatre("Screen T", "Screen City", "UTC");
	path = api_format("/api/theatres/%lld/screens", t);
	r = admin("POST", path, "{\"name\":\"Big\",\"rows\":["
	    "{\"label\":\"A\",\"seats\":4,\"tier\":\"standard\","
	    "\"price_cents\":900},"
	    "{\"label\":\"B\",\"seats\":2,\"tier\":\"vip\","
	    "\"price_cents\":2500}]}");
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_eq(jint(r->json, "theatre_id"), t);
	cr_assert_str_eq(jstr(r->json, "name"), "Big");
	rows = json_object_get(r->json, "rows");
	cr_assert_eq(json_array_size(rows), 2);
	cr_assert_str_eq(jstr(json_array_get(rows, 1), "label"), "B");
	cr_assert_eq(jint(json_array_get(rows, 1), "price_cents"), 2500);
	want = api_format("/api/theatres/%lld", t);
	cr_assert_str_eq(api_header(r, "location", loc, sizeof(loc)), want);
	api_free(r);

	expect("POST", path, "{\"name\":\"Big\",\"rows\":[{\"label\":\"A\","
	    "\"seats\":1,\"tier\":\"s\",\"price_cents\":1}]}", 409,
	    "name_taken", NULL);
	expect("POST", path, "{\"name\":\"Dup\",\"rows\":[{\"label\":\"A\","
	    "\"seats\":1,\"tier\":\"s\",\"price_cents\":1},{\"label\":\"A\","
	    "\"seats\":1,\"tier\":\"s\",\"price_cents\":1}]}", 400,
	    "invalid_request", "rows");
	expect("POST", path, "{\"name\":\"None\",\"rows\":[]}", 400,
	    "invalid_request", "rows");
	expect("POST", path, "{\"name\":\"Neg\",\"rows\":[{\"label\":\"A\","
	    "\"seats\":1,\"tier\":\"s\",\"price_cents\":-1}]}", 400,
	    "invalid_request", "rows");
	expect("POST", "/api/theatres/987654321/screens", "{\"name\":\"X\","
	    "\"rows\":[{\"label\":\"A\",\"seats\":1,\"tier\":\"s\","
	    "\"price_cents\":1}]}", 404, "not_found", NULL);
	free(path);
	free(want);
}

Test(admin, show_create_makes_seats_and_refuses_overlap)
{
	struct api_resp	*r;
	long long	m, t, sc, id;
	char		*body, *path;

	m = fx_movie("Admin Show Movie", 100);
	t = fx_theatre("Admin Show T", "Admin Show City", "America/New_York");
	sc = fx_screen(t, "S");

	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-24T18:30:00Z\",\"currency\":\"USD\"}",
	    m, sc);
	r = admin("POST", "/api/shows", body);
	id = created(r, "/api/shows");
	cr_assert_str_eq(jstr(r->json, "start_time"), "2026-12-24T18:30:00Z");
	cr_assert_str_eq(jstr(r->json, "end_time"), "2026-12-24T20:10:00Z");
	cr_assert_str_eq(jstr(r->json, "currency"), "USD");
	cr_assert_eq(jint(json_object_get(r->json, "movie"), "id"), m);
	cr_assert_eq(jint(json_object_get(r->json, "theatre"), "id"), t);
	cr_assert_eq(jint(r->json, "seats_available"), 5);
	api_free(r);
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) FROM seats WHERE show_id = $1",
	    api_format("%lld", id), NULL), 5);

	/* Starts while the first is still running on the same screen. */
	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-24T20:00:00Z\"}", m, sc);
	expect("POST", "/api/shows", body, 409, "show_overlap", NULL);
	free(body);

	/* Right after it is fine; an offset is converted to UTC. */
	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-24T15:10:00-05:00\"}", m, sc);
	r = admin("POST", "/api/shows", body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(jstr(r->json, "start_time"), "2026-12-24T20:10:00Z");
	cr_assert_str_eq(jstr(r->json, "currency"), "EUR");
	api_free(r);
	free(body);

	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-24 18:30\"}", m, sc);
	expect("POST", "/api/shows", body, 400, "invalid_request",
	    "start_time");
	free(body);
	body = api_format("{\"movie_id\":987654321,\"screen_id\":%lld,"
	    "\"start_time\":\"2027-01-01T00:00:00Z\"}", sc);
	expect("POST", "/api/shows", body, 400, "invalid_request", "movie_id");
	free(body);
	body = api_format("{\"movie_id\":%lld,\"screen_id\":987654321,"
	    "\"start_time\":\"2027-01-01T00:00:00Z\"}", m);
	expect("POST", "/api/shows", body, 400, "invalid_request",
	    "screen_id");
	free(body);
	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2027-01-01T00:00:00Z\",\"currency\":\"usd\"}",
	    m, sc);
	expect("POST", "/api/shows", body, 400, "invalid_request", "currency");
	free(body);

	path = api_format("/api/shows/%lld", id);
	r = admin("DELETE", path, NULL);
	cr_assert_eq(r->status, 204);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM seats WHERE show_id = $1",
	    api_format("%lld", id), NULL), 0);
	expect("DELETE", path, NULL, 404, "not_found", NULL);
	free(path);
}

Test(admin, show_update_moves_it_but_not_to_another_screen)
{
	struct api_resp	*r;
	long long	m, m2, t, sc, sc2, s, other;
	char		*body, *path;

	m = fx_movie("Update Show", 60);
	m2 = fx_movie("Update Show Longer", 120);
	t = fx_theatre("Update Show T", "Update Show City", "UTC");
	sc = fx_screen(t, "U1");
	sc2 = fx_screen(t, "U2");
	s = fx_show(m, sc, "2026-12-01T10:00:00Z");
	other = fx_show(m, sc, "2026-12-01T14:00:00Z");
	(void)other;
	path = api_format("/api/shows/%lld", s);

	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-01T11:00:00Z\"}", m2, sc);
	r = admin("PUT", path, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(jstr(r->json, "end_time"), "2026-12-01T13:00:00Z");
	cr_assert_eq(jint(json_object_get(r->json, "movie"), "id"), m2);
	cr_assert_eq(jint(r->json, "seats_available"), 5);
	api_free(r);
	free(body);

	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-01T13:30:00Z\"}", m2, sc);
	expect("PUT", path, body, 409, "show_overlap", NULL);
	free(body);
	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-01T11:00:00Z\"}", m2, sc2);
	expect("PUT", path, body, 400, "invalid_request", "screen_id");
	free(body);
	body = api_format("{\"movie_id\":%lld,\"screen_id\":%lld,"
	    "\"start_time\":\"2026-12-01T11:00:00Z\"}", m2, sc);
	expect("PUT", "/api/shows/987654321", body, 404, "not_found", NULL);
	free(body);
	free(path);
}

Test(admin, writes_invalidate_cached_reads)
{
	struct api_resp	*r;
	char		*path, xc[16];
	long long	m;

	m = fx_movie("Cached Before", 90);
	path = api_format("/api/movies/%lld", m);

	api_free(api("GET", path, NULL));
	r = api("GET", path, NULL);
	cr_assert_str_eq(api_header(r, "x-cache", xc, sizeof(xc)), "hit");
	cr_assert_str_eq(jstr(r->json, "title"), "Cached Before");
	api_free(r);

	r = admin("PUT", path, "{\"title\":\"Cached After\","
	    "\"duration_minutes\":90}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);

	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(jstr(r->json, "title"), "Cached After");
	api_free(r);

	/* A new theatre shows up in a list read before it existed. */
	api_free(api("GET", "/api/theatres?city=Fresh%20City", NULL));
	r = admin("POST", "/api/theatres", "{\"name\":\"Fresh\",\"city\":"
	    "\"Fresh City\",\"timezone\":\"UTC\"}");
	cr_assert_eq(r->status, 201);
	api_free(r);
	r = api("GET", "/api/theatres?city=Fresh%20City", NULL);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 1);
	api_free(r);
	free(path);
}


