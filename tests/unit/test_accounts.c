/* Unit tests for accounts.c's body validators and input rules. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "accounts.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(accounts, .init = setup);

/* The field the validator names for doc, or NULL when it passes. */
static const char *
check(const char *(*fn)(struct kore_json *, struct accounts_input *,
    const char **), const char *doc, struct accounts_input *in)
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

Test(accounts, register_accepts_and_copies_a_good_body)
{
	struct accounts_input	in;

	cr_assert_null(check(accounts_input_register, "{\"name\": \"Ada\", "
	    "\"email\": \"Ada@Example.com\", \"password\": \"12345678\"}",
	    &in));
	cr_assert_str_eq(in.name, "Ada");
	cr_assert_str_eq(in.email, "Ada@Example.com");
	cr_assert_str_eq(in.password, "12345678");
}

Test(accounts, register_names_the_first_bad_field_in_order)
{
	struct accounts_input	in;

	cr_assert_str_eq(check(accounts_input_register, "{}", &in), "name");
	cr_assert_str_eq(check(accounts_input_register, "{\"name\": 1, "
	    "\"email\": 2}", &in), "name");
	cr_assert_str_eq(check(accounts_input_register, "{\"name\": \"A\", "
	    "\"email\": 2}", &in), "email");
	cr_assert_str_eq(check(accounts_input_register, "{\"name\": \"A\", "
	    "\"email\": \"a@b.io\", \"password\": \"1234567\"}", &in),
	    "password");
	cr_assert_str_eq(check(accounts_input_register, "{\"name\": \"A\", "
	    "\"email\": \"a@b.io\", \"password\": null}", &in), "password");
}

Test(accounts, password_length_counts_characters)
{
	struct accounts_input	in;

	/* Seven two-byte characters: 14 bytes, still too short. */
	cr_assert_str_eq(check(accounts_input_register, "{\"name\": \"A\", "
	    "\"email\": \"a@b.io\", \"password\": "
	    "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", &in),
	    "password");
	cr_assert_null(check(accounts_input_register, "{\"name\": \"A\", "
	    "\"email\": \"a@b.io\", \"password\": "
	    "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
	    &in));
}

Test(accounts, emails)
{
	char	longmail[300];

	cr_assert(accounts_email_valid("a@b.io"));
	cr_assert(accounts_email_valid("first.last+tag@sub.example.com"));
	cr_assert_not(accounts_email_valid(""));
	cr_assert_not(accounts_email_valid("plain"));
	cr_assert_not(accounts_email_valid("@b.io"));
	cr_assert_not(accounts_email_valid("a@"));
	cr_assert_not(accounts_email_valid("a@b"));
	cr_assert_not(accounts_email_valid("a@.b.io"));
	cr_assert_not(accounts_email_valid("a@b.io."));
	cr_assert_not(accounts_email_valid("a@b..io"));
	cr_assert_not(accounts_email_valid("a@b@c.io"));
	cr_assert_not(accounts_email_valid("a b@c.io"));
	cr_assert_not(accounts_email_valid("a\t@c.io"));
	cr_assert_not(accounts_email_valid("\xc3\xa9@c.io"));

	memset(longmail, 'a', 249);
	memcpy(longmail + 249, "@b.io", 6);
	cr_assert_eq(strlen(longmail), 254);
	cr_assert(accounts_email_valid(longmail));
	longmail[0] = '\0';
	memset(longmail, 'a', 250);
	memcpy(longmail + 250, "@b.io", 6);
	cr_assert_not(accounts_email_valid(longmail));
}

Test(accounts, names)
{
	char	name[402];
	int	i;

	cr_assert(accounts_name_valid("A"));
	cr_assert(accounts_name_valid("Zo\xc3\xab M\xc3\xbcller"));
	cr_assert_not(accounts_name_valid(""));
	cr_assert_not(accounts_name_valid("tab\there"));
	cr_assert_not(accounts_name_valid("\xff"));

	/* 100 characters of two bytes each pass; 101 do not. */
	for (i = 0; i < 100; i++)
		memcpy(name + i * 2, "\xc3\xa9", 2);
	name[200] = '\0';
	cr_assert(accounts_name_valid(name));
	memcpy(name + 200, "\xc3\xa9", 3);
	cr_assert_not(accounts_name_valid(name));
}

Test(accounts, login_needs_email_and_password)
{
	struct accounts_input	in;

	cr_assert_str_eq(check(accounts_input_login, "{\"password\": \"x\"}",
	    &in), "email");
	cr_assert_str_eq(check(accounts_input_login, "{\"email\": \"a@b.io\"}",
	    &in), "password");
	cr_assert_null(check(accounts_input_login, "{\"email\": \"a@b.io\", "
	    "\"password\": \"x\"}", &in));
	cr_assert_str_eq(in.email, "a@b.io");
}
