/* Unit tests for reply.c's request id check and the patched Kore JSON. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "reply.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(reply, .init = setup);

Test(reply, request_id_accepts_sane_ids)
{
	cr_assert(reply_request_id_valid("abc-123_DEF.x:y"));
	cr_assert(reply_request_id_valid("a"));
}

Test(reply, request_id_rejects_empty_long_or_odd_characters)
{
	char	longid[130];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';

	cr_assert_not(reply_request_id_valid(""));
	cr_assert_not(reply_request_id_valid(longid));
	cr_assert_not(reply_request_id_valid("a b"));
	cr_assert_not(reply_request_id_valid("a\r\nSet-Cookie: x"));
	cr_assert_not(reply_request_id_valid("<script>"));
}

Test(reply, json_output_escapes_quotes_backslashes_and_controls)
{
	struct kore_json_item	*root;
	struct kore_buf		buf;

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_string(root, "t\"k", "a\"b\\c\nd\x01");
	kore_buf_init(&buf, 64);
	kore_json_item_tobuf(root, &buf);
	kore_json_item_free(root);

	cr_assert_eq(buf.offset, strlen("{\"t\\\"k\":\"a\\\"b\\\\c\\nd\\u0001\"}"));
	cr_assert(!memcmp(buf.data, "{\"t\\\"k\":\"a\\\"b\\\\c\\nd\\u0001\"}",
	    buf.offset));
	kore_buf_cleanup(&buf);
}

Test(reply, json_parser_decodes_unicode_escapes)
{
	struct kore_json	json;
	struct kore_json_item	*item;
	const char		*doc = "{\"s\":\"M\\u00fcnchen \\ud83c\\udfac\"}";

	kore_json_init(&json, doc, strlen(doc));
	cr_assert(kore_json_parse(&json));
	item = kore_json_find_string(json.root, "s");
	cr_assert_not_null(item);
	cr_assert_str_eq(item->data.string, "M\xc3\xbc" "nchen \xf0\x9f\x8e\xac");
	kore_json_cleanup(&json);
}

Test(reply, json_parser_rejects_lone_surrogates)
{
	struct kore_json	json;
	const char		*doc = "{\"s\":\"\\udc00\"}";

	kore_json_init(&json, doc, strlen(doc));
	cr_assert_not(kore_json_parse(&json));
	kore_json_cleanup(&json);
}
