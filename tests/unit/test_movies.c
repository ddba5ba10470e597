/* Unit tests for movies.c: the movie body validator. */
#include "json_doc.h"
#include "movies.h"

JSON_DOC_SUITE(movies);

Test(movies, movie_input_names_the_first_bad_field)
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
