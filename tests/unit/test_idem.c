/* Unit tests for idem.c: Idempotency-Key checks and stored records. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "idem.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(idem, .init = setup);

Test(idem, idempotency_key_is_1_to_255_visible_ascii)
{
	char	key[300];

	cr_assert(idem_key_valid("a"));
	cr_assert(idem_key_valid("8e0b-4f1c:retry/1~"));
	cr_assert_not(idem_key_valid(""));
	cr_assert_not(idem_key_valid("has space"));
	cr_assert_not(idem_key_valid("tab\there"));
	cr_assert_not(idem_key_valid("caf\xc3\xa9"));

	memset(key, 'k', 255);
	key[255] = '\0';
	cr_assert(idem_key_valid(key));
	key[255] = 'k';
	key[256] = '\0';
	cr_assert_not(idem_key_valid(key));
}

Test(idem, idempotency_record_in_flight)
{
	struct idem_record	rec;
	const char		*v = "I POST /api/bookings abc";

	cr_assert(idem_record_parse(v, strlen(v), &rec));
	cr_assert_eq(rec.type, IDEM_RECORD_INFLIGHT);
	cr_assert_eq(rec.fingerprint_len, strlen("POST /api/bookings abc"));
	cr_assert(!memcmp(rec.fingerprint, "POST /api/bookings abc",
	    rec.fingerprint_len));
}

Test(idem, idempotency_record_in_flight_names_its_owner)
{
	struct idem_record	rec;
	const char		*v = "I POST /api/bookings abc\n0123abcd";

	cr_assert(idem_record_parse(v, strlen(v), &rec));
	cr_assert_eq(rec.type, IDEM_RECORD_INFLIGHT);
	cr_assert_eq(rec.fingerprint_len, strlen("POST /api/bookings abc"));
}

Test(idem, idempotency_record_done_keeps_binary_body)
{
	struct idem_record	rec;
	const char		v[] = "D POST /x d1\n201\n{\"a\":\n\0}";

	cr_assert(idem_record_parse(v, sizeof(v) - 1, &rec));
	cr_assert_eq(rec.type, IDEM_RECORD_DONE);
	cr_assert_eq(rec.status, 201);
	cr_assert_eq(rec.fingerprint_len, strlen("POST /x d1"));
	cr_assert_eq(rec.body_len, 8);
	cr_assert(!memcmp(rec.body, "{\"a\":\n\0}", 8));
}

Test(idem, idempotency_record_rejects_garbage)
{
	struct idem_record	rec;

	cr_assert_not(idem_record_parse("", 0, &rec));
	cr_assert_not(idem_record_parse("X fp", 4, &rec));
	cr_assert_not(idem_record_parse("D fp", 4, &rec));
	cr_assert_not(idem_record_parse("D fp\n2x1\n{}", 11, &rec));
	cr_assert_not(idem_record_parse("D fp\n99\n{}", 10, &rec));
	cr_assert_not(idem_record_parse("D fp\n201", 8, &rec));
}
