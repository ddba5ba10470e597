/* Unit tests for sessions.c: tokens and the /refresh, /logout bodies. */
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

static const char *
check(const char *(*fn)(struct kore_json *, struct sessions_input *,
    const char **), const char *doc, struct sessions_input *in)
{
	struct kore_json	json;
	const char		*field, *why;

	memset(in, 0, sizeof(*in));
	kore_json_init(&json, doc, strlen(doc));
	cr_assert(kore_json_parse(&json), "test document %s", doc);
	why = NULL;
	field = fn(&json, in, &why);
	if (field != NULL)
		cr_assert_not_null(why);
	kore_json_cleanup(&json);

	return (field);
}

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

Test(sessions, refresh_and_logout_bodies)
{
	struct sessions_input	in;
	const char		*good = "{\"refresh_token\": "
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";

	cr_assert_str_eq(check(sessions_input_refresh, "{}", &in),
	    "refresh_token");
	cr_assert_null(check(sessions_input_refresh,
	    "{\"refresh_token\": \"short\"}", &in));
	cr_assert_str_eq(in.refresh, "");
	cr_assert_null(check(sessions_input_refresh, good, &in));
	cr_assert_eq(strlen(in.refresh), 43);

	cr_assert_null(check(sessions_input_logout, "{}", &in));
	cr_assert_null(check(sessions_input_logout,
	    "{\"refresh_token\": null}", &in));
	cr_assert_str_eq(check(sessions_input_logout,
	    "{\"refresh_token\": 5}", &in), "refresh_token");
	cr_assert_null(check(sessions_input_logout, good, &in));
	cr_assert_eq(strlen(in.refresh), 43);
}
