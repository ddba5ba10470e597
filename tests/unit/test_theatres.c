/* Unit tests for theatres.c: the screen body validator. */
#include "json_doc.h"
#include "theatres.h"

JSON_DOC_SUITE(theatres);

Test(theatres, screen_input_wants_distinct_rows_in_range)
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
