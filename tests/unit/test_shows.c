/* Unit tests for shows.c: the show body validator. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"
#include "shows.h"

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

TestSuite(shows, .init = setup, .fini = teardown);

static struct kore_json_item *
parse(const char *text)
{
	body_cleanup(&doc);
	kore_json_init(&doc, text, strlen(text));
	cr_assert(kore_json_parse(&doc), "cannot parse %s", text);

	return (doc.root);
}

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
