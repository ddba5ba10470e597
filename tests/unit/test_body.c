/* Unit tests for body.c: the checks every body validator uses. */
#include "json_doc.h"

JSON_DOC_SUITE(body);

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
	cr_assert_not(body_is_json_type("application/jsonp"));
	cr_assert_not(body_is_json_type(NULL));
}

Test(body, utf8_length_counts_characters)
{
	cr_assert_eq(body_utf8_chars("M\xc3\xbcnchen"), 7);
	cr_assert_eq(body_utf8_chars("\xf0\x9f\x8e\xac"), 1);
	cr_assert_eq(body_utf8_chars("\xc3"), -1);
	cr_assert_eq(body_utf8_chars("\xc0\xaf"), -1);
	cr_assert_eq(body_utf8_chars("\xff"), -1);
	cr_assert_eq(body_utf8_chars(""), 0);
	cr_assert_eq(body_utf8_chars("password"), 8);
	cr_assert_eq(body_utf8_chars("\xe2\x82\xac\xf0\x9f\x8e\xac"), 2);
	cr_assert_eq(body_utf8_chars("\xed\xa0\x80"), -1);
	cr_assert_eq(body_utf8_chars("\xf4\x90\x80\x80"), -1);
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
