/* Unit tests for sessions.c (refresh tokens) and body.c helpers. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"
#include "sessions.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(sessions, .init = setup);

Test(sessions, new_token_is_43_base64url_chars_with_hex_hash)
{
	char	t[SESSIONS_TOKEN_LEN + 1], h[SESSIONS_HASH_LEN + 1];
	char	again[SESSIONS_HASH_LEN + 1];
	size_t	i;

	cr_assert_eq(sessions_new_token(t, sizeof(t), h, sizeof(h)), 0);
	cr_assert_eq(strlen(t), SESSIONS_TOKEN_LEN);
	cr_assert(sessions_token_valid(t));
	cr_assert_eq(strlen(h), SESSIONS_HASH_LEN);
	for (i = 0; i < SESSIONS_HASH_LEN; i++)
		cr_assert(strchr("0123456789abcdef", h[i]) != NULL);

	cr_assert_eq(sessions_hash(t, again, sizeof(again)), 0);
	cr_assert_str_eq(h, again);
}

Test(sessions, tokens_differ)
{
	char	a[SESSIONS_TOKEN_LEN + 1], b[SESSIONS_TOKEN_LEN + 1];
	char	ha[SESSIONS_HASH_LEN + 1], hb[SESSIONS_HASH_LEN + 1];

	cr_assert_eq(sessions_new_token(a, sizeof(a), ha, sizeof(ha)), 0);
	cr_assert_eq(sessions_new_token(b, sizeof(b), hb, sizeof(hb)), 0);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(ha, hb);
}

Test(sessions, hash_is_sha256_hex)
{
	char	h[SESSIONS_HASH_LEN + 1];

	cr_assert_eq(sessions_hash("abc", h, sizeof(h)), 0);
	cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

Test(sessions, malformed_tokens_are_rejected)
{
	cr_assert_not(sessions_token_valid(""));
	cr_assert_not(sessions_token_valid("short"));
	cr_assert_not(sessions_token_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"));
	cr_assert_not(sessions_token_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	cr_assert(sessions_token_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_"));
}

Test(sessions, too_small_buffers_fail)
{
	char	t[8], h[8];

	cr_assert_eq(sessions_new_token(t, sizeof(t), h, sizeof(h)), -1);
	cr_assert_eq(sessions_hash("abc", h, sizeof(h)), -1);
}

Test(body, utf8_characters_are_counted_not_bytes)
{
	cr_assert_eq(body_utf8_chars(""), 0);
	cr_assert_eq(body_utf8_chars("password"), 8);
	cr_assert_eq(body_utf8_chars("M\xc3\xbcller"), 6);
	cr_assert_eq(body_utf8_chars("\xe2\x82\xac\xf0\x9f\x8e\xac"), 2);
}

Test(body, invalid_utf8_is_refused)
{
	cr_assert_eq(body_utf8_chars("\xff"), -1);
	cr_assert_eq(body_utf8_chars("\xc3"), -1);
	cr_assert_eq(body_utf8_chars("\xc0\xaf"), -1);
	cr_assert_eq(body_utf8_chars("\xed\xa0\x80"), -1);
	cr_assert_eq(body_utf8_chars("\xf4\x90\x80\x80"), -1);
}

Test(body, json_content_types)
{
	cr_assert(body_is_json_type("application/json"));
	cr_assert(body_is_json_type("application/json; charset=utf-8"));
	cr_assert(body_is_json_type("Application/JSON"));
	cr_assert_not(body_is_json_type("application/jsonp"));
	cr_assert_not(body_is_json_type("text/plain"));
	cr_assert_not(body_is_json_type(NULL));
}
