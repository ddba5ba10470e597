/*
 * Unit tests for body.c's checks and the per-resource body validators
 * (movies, theatres and screens, shows), and cache.c's key.
 */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"
#include "cache.h"
#include "movies.h"
#include "shows.h"
#include "theatres.h"

static struct kore_json	doc;

static void
setup(void)
{
	kore_mem_init();
	memset(&doc, 0, sizeof(doc));
}

static void
teardown(void)
{
	body_cleanup(&doc);
}

TestSuite(body, .init = setup, .fini = teardown);

static struct kore_json_item *
parse(const char *text)
{
	body_cleanup(&doc);
	kore_json_init(&doc, text, strlen(text));
	cr_assert(kore_json_parse(&doc), "cannot parse %s", text);

	return (doc.root);
}

Test(body, rfc3339_accepts_utc_offsets_and_fractions)
{
	cr_assert(body_rfc3339_valid("2026-12-24T18:30:00Z"));
	cr_assert(body_rfc3339_valid("2026-12-24t18:30:00z"));
	cr_assert(body_rfc3339_valid("2026-12-24T18:30:00.123456Z"));
	cr_assert(body_rfc3339_valid("2026-12-24T18:30:00+01:00"));
	cr_assert(body_rfc3339_valid("2026-12-24T18:30:00-05:30"));
	cr_assert(body_rfc3339_valid("2028-02-29T00:00:00Z"));
	cr_assert(body_rfc3339_valid("2000-02-29T23:59:59Z"));
}

Test(body, rfc3339_refuses_everything_else)
{
	cr_assert_not(body_rfc3339_valid(""));
	cr_assert_not(body_rfc3339_valid("2026-12-24"));
	cr_assert_not(body_rfc3339_valid("2026-12-24 18:30:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00+0100"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T24:00:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:60:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:60Z"));
	cr_assert_not(body_rfc3339_valid("2026-13-01T00:00:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-02-29T00:00:00Z"));
	cr_assert_not(body_rfc3339_valid("1900-02-29T00:00:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-04-31T00:00:00Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00.Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00.1234567890Z"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00Zjunk"));
	cr_assert_not(body_rfc3339_valid("2026-12-24T18:30:00+01:00x"));
	cr_assert_not(body_rfc3339_valid("0000-01-01T00:00:00Z"));
	cr_assert_not(body_rfc3339_valid("+026-12-24T18:30:00Z"));
}

Test(body, date_checks_the_calendar)
{
	cr_assert(body_date_valid("2026-01-31"));
	cr_assert(body_date_valid("2024-02-29"));
	cr_assert_not(body_date_valid("2026-02-29"));
	cr_assert_not(body_date_valid("2026-00-10"));
	cr_assert_not(body_date_valid("2026-1-10"));
	cr_assert_not(body_date_valid("2026-01-10x"));
	cr_assert_not(body_date_valid("2026-01-32"));
}

Test(body, json_content_type)
{
	cr_assert(body_is_json_type("application/json"));
	cr_assert(body_is_json_type("application/json; charset=utf-8"));
	cr_assert(body_is_json_type("Application/JSON;charset=UTF-8"));
	cr_assert_not(body_is_json_type("application/jsonx"));
	cr_assert_not(body_is_json_type("text/plain"));
	cr_assert_not(body_is_json_type("application/x-www-form-urlencoded"));
}

Test(body, utf8_length_counts_characters)
{
	cr_assert_eq(body_utf8_chars("M\xc3\xbcnchen"), 7);
	cr_assert_eq(body_utf8_chars("\xf0\x9f\x8e\xac"), 1);
	cr_assert_eq(body_utf8_chars("\xc3"), -1);
	cr_assert_eq(body_utf8_chars("\xc0\xaf"), -1);
	cr_assert_eq(body_utf8_chars("\xff"), -1);
}

Test(body, getters_check_type_presence_and_range)
{
	struct kore_json_item	*root;
	const char		*s;
	int64_t			v;

	root = parse("{\"s\":\"abc\",\"n\":null,\"i\":42,\"neg\":-3,"
	    "\"f\":1.5,\"big\":9223372036854775808}");

	cr_assert(body_get_string(root, "s", BODY_REQUIRED, 1, 3, &s));
	cr_assert_str_eq(s, "abc");
	cr_assert_not(body_get_string(root, "s", BODY_REQUIRED, 4, 9, &s));
	cr_assert_not(body_get_string(root, "s", BODY_REQUIRED, 0, 2, &s));
	cr_assert(body_get_string(root, "n", BODY_OPTIONAL, 1, 3, &s));
	cr_assert_null(s);
	cr_assert_not(body_get_string(root, "n", BODY_REQUIRED, 1, 3, &s));
	cr_assert(body_get_string(root, "absent", BODY_OPTIONAL, 1, 3, &s));
	cr_assert_not(body_get_string(root, "absent", BODY_REQUIRED, 1, 3,
	    &s));
	cr_assert_not(body_get_string(root, "i", BODY_REQUIRED, 0, 9, &s));

	cr_assert(body_get_int(root, "i", BODY_REQUIRED, 1, 42, &v));
	cr_assert_eq(v, 42);
	cr_assert_not(body_get_int(root, "i", BODY_REQUIRED, 1, 41, &v));
	cr_assert(body_get_int(root, "neg", BODY_REQUIRED, -5, 0, &v));
	cr_assert_eq(v, -3);
	cr_assert_not(body_get_int(root, "f", BODY_REQUIRED, 0, 9, &v));
	cr_assert_not(body_get_int(root, "s", BODY_REQUIRED, 0, 9, &v));
	cr_assert_not(body_get_int(root, "big", BODY_REQUIRED, 0, INT64_MAX,
	    &v));
	cr_assert_not(body_get_int(root, "absent", BODY_REQUIRED, 0, 9, &v));
}

Test(body, movie_input_names_the_first_bad_field)
{
	struct movies_input	in;
	const char		*field, *message;

	cr_assert(movies_input_parse(parse("{\"title\":\"T\","
	    "\"duration_minutes\":90,\"release_date\":\"2026-01-02\","
	    "\"poster_url\":null}"), &in, &field, &message));
	cr_assert_str_eq(in.title, "T");
	cr_assert_eq(in.duration_minutes, 90);
	cr_assert_str_eq(in.release_date, "2026-01-02");
	cr_assert_null(in.poster_url);
	cr_assert_null(in.description);

	cr_assert_not(movies_input_parse(parse("{\"duration_minutes\":1001,"
	    "\"title\":\"\"}"), &in, &field, &message));
	cr_assert_str_eq(field, "title");
	cr_assert_not(movies_input_parse(parse("{\"title\":\"T\","
	    "\"duration_minutes\":1001}"), &in, &field, &message));
	cr_assert_str_eq(field, "duration_minutes");
	cr_assert_not(movies_input_parse(parse("{\"title\":\"T\","
	    "\"duration_minutes\":9,\"release_date\":\"2026-02-30\"}"), &in,
	    &field, &message));
	cr_assert_str_eq(field, "release_date");
	cr_assert_not(movies_input_parse(parse("{\"title\":\"T\","
	    "\"duration_minutes\":9,\"poster_url\":\"\"}"), &in, &field,
	    &message));
	cr_assert_str_eq(field, "poster_url");
}

Test(body, screen_input_wants_distinct_rows_in_range)
{
	struct theatres_screen_input	in;
	const char			*field, *message;

	cr_assert(theatres_screen_input_parse(parse("{\"name\":\"S\","
	    "\"rows\":[{\"label\":\"A\",\"seats\":10,\"tier\":\"std\","
	    "\"price_cents\":0},{\"label\":\"B\",\"seats\":200,"
	    "\"tier\":\"vip\",\"price_cents\":100}]}"), &in, &field, &message));
	cr_assert_eq(in.nrows, 2);
	cr_assert_str_eq(in.rows[1].label, "B");
	cr_assert_eq(in.rows[1].seats, 200);

	cr_assert_not(theatres_screen_input_parse(parse("{\"rows\":[]}"), &in,
	    &field, &message));
	cr_assert_str_eq(field, "name");
	cr_assert_not(theatres_screen_input_parse(parse("{\"name\":\"S\","
	    "\"rows\":[]}"), &in, &field, &message));
	cr_assert_str_eq(field, "rows");
	cr_assert_not(theatres_screen_input_parse(parse("{\"name\":\"S\","
	    "\"rows\":[{\"label\":\"A\",\"seats\":201,\"tier\":\"t\","
	    "\"price_cents\":1}]}"), &in, &field, &message));
	cr_assert_str_eq(field, "rows");
	cr_assert_not(theatres_screen_input_parse(parse("{\"name\":\"S\","
	    "\"rows\":[{\"label\":\"A\",\"seats\":1,\"tier\":\"t\","
	    "\"price_cents\":1},{\"label\":\"A\",\"seats\":1,\"tier\":\"t\","
	    "\"price_cents\":1}]}"), &in, &field, &message));
	cr_assert_not(theatres_screen_input_parse(parse("{\"name\":\"S\","
	    "\"rows\":{\"label\":\"A\"}}"), &in, &field, &message));
}

Test(body, show_input_checks_ids_time_and_currency)
{
	struct shows_input	in;
	const char		*field, *message;

	cr_assert(shows_input_parse(parse("{\"movie_id\":1,\"screen_id\":2,"
	    "\"start_time\":\"2026-12-24T18:30:00Z\"}"), &in, &field,
	    &message));
	cr_assert_eq(in.movie_id, 1);
	cr_assert_eq(in.screen_id, 2);
	cr_assert_null(in.currency);

	cr_assert_not(shows_input_parse(parse("{\"movie_id\":0,\"screen_id\":2,"
	    "\"start_time\":\"2026-12-24T18:30:00Z\"}"), &in, &field,
	    &message));
	cr_assert_str_eq(field, "movie_id");
	cr_assert_not(shows_input_parse(parse("{\"movie_id\":1,"
	    "\"start_time\":\"2026-12-24T18:30:00Z\"}"), &in, &field,
	    &message));
	cr_assert_str_eq(field, "screen_id");
	cr_assert_not(shows_input_parse(parse("{\"movie_id\":1,\"screen_id\":2,"
	    "\"start_time\":\"tomorrow at eight\"}"), &in, &field, &message));
	cr_assert_str_eq(field, "start_time");
	cr_assert_not(shows_input_parse(parse("{\"movie_id\":1,\"screen_id\":2,"
	    "\"start_time\":\"2026-12-24T18:30:00Z\",\"currency\":\"EU\"}"),
	    &in, &field, &message));
	cr_assert_str_eq(field, "currency");
}

Test(body, cache_key_has_generation_path_and_query)
{
	char	*k;

	k = cache_key(7, "/api/movies", "limit=5&q=x");
	cr_assert_str_eq(k, "cache:catalog:7:/api/movies?limit=5&q=x");
	kore_free(k);
	k = cache_key(0, "/api/theatres/3", NULL);
	cr_assert_str_eq(k, "cache:catalog:0:/api/theatres/3");
	kore_free(k);
}

Test(body, cache_params_are_escaped_in_declared_order)
{
	struct cache_entry	c;

	memset(&c, 0, sizeof(c));
	cache_param(&c, "q", "a&b=c d");
	cache_param(&c, "city", NULL);
	cache_param(&c, "limit", "20");
	cr_assert_str_eq(kore_buf_stringify(c.params, NULL),
	    "q=a%26b%3Dc%20d&city&limit=20");
	cache_cleanup(&c);
	cr_assert_null(c.params);
}
