/* Unit tests for shows.c: the show body validator. */
#include "json_doc.h"
#include "shows.h"

JSON_DOC_SUITE(shows);

Test(shows, show_input_checks_ids_time_and_currency)
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
