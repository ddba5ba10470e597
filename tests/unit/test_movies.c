/* Unit tests for movies.c: the movie body validator. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"
#include "movies.h"

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

TestSuite(movies, .init = setup, .fini = teardown);

static struct kore_json_item *
parse(const char *text)
{
	body_cleanup(&doc);
	kore_json_init(&doc, text, strlen(text));
	cr_assert(kore_json_parse(&doc), "cannot parse %s", text);

	return (doc.root);
}

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
