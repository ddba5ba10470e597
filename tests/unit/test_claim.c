/* Unit tests for claim.c (seat lists) and body.c (JSON ids). */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"
#include "claim.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(claim, .init = setup);

Test(claim, seat_lists_are_nonempty_unique_and_at_most_ten)
{
	int64_t		seats[11] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	int64_t		dup[3] = { 4, 5, 4 };
	const char	*why;

	cr_assert(claim_seats_check(seats, 10, &why));
	cr_assert(claim_seats_check(seats, 1, &why));
	cr_assert_not(claim_seats_check(seats, 0, &why));
	cr_assert_not(claim_seats_check(seats, 11, &why));
	cr_assert_not(claim_seats_check(dup, 3, &why));
	cr_assert_not_null(strstr(why, "duplicate"));
}

Test(claim, seat_arrays_round_trip_as_postgres_literals)
{
	int64_t		seats[3] = { 7, 9000000000LL, 12 };
	int64_t		back[CLAIM_SEATS_MAX];
	char		text[64];

	claim_seat_array(seats, 3, text, sizeof(text));
	cr_assert_str_eq(text, "{7,9000000000,12}");
	cr_assert_eq(claim_parse_ids(text, back, CLAIM_SEATS_MAX), 3);
	cr_assert_eq(back[1], 9000000000LL);

	claim_seat_array(seats, 0, text, sizeof(text));
	cr_assert_str_eq(text, "{}");
	cr_assert_eq(claim_parse_ids("{}", back, CLAIM_SEATS_MAX), 0);
}

static int
parse(struct kore_json *json, const char *doc)
{
	kore_json_init(json, doc, strlen(doc));
	return (kore_json_parse(json));
}

Test(claim, body_ids_accept_positive_integers_only)
{
	struct kore_json	json;
	int64_t			id, ids[CLAIM_SEATS_MAX];
	size_t			n;

	cr_assert(parse(&json, "{\"a\": 5, \"b\": -1, \"c\": 1.5, \"d\": 0,"
	    " \"e\": \"5\", \"l\": [3, 4], \"m\": [1, \"x\"]}"));
	cr_assert_eq(body_id(&json, "a", &id), BODY_OK);
	cr_assert_eq(id, 5);
	cr_assert_eq(body_id(&json, "b", &id), BODY_INVALID);
	cr_assert_eq(body_id(&json, "c", &id), BODY_INVALID);
	cr_assert_eq(body_id(&json, "d", &id), BODY_INVALID);
	cr_assert_eq(body_id(&json, "e", &id), BODY_INVALID);
	cr_assert_eq(body_id(&json, "z", &id), BODY_ABSENT);
	cr_assert_eq(body_ids(&json, "l", ids, CLAIM_SEATS_MAX, &n), BODY_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[1], 4);
	cr_assert_eq(body_ids(&json, "m", ids, CLAIM_SEATS_MAX, &n),
	    BODY_INVALID);
	cr_assert_eq(body_ids(&json, "a", ids, CLAIM_SEATS_MAX, &n),
	    BODY_INVALID);
	kore_json_cleanup(&json);
}

Test(claim, body_ids_longer_than_max_are_invalid)
{
	struct kore_json	json;
	int64_t			ids[2];
	size_t			n;

	cr_assert(parse(&json, "{\"l\": [1, 2, 3]}"));
	cr_assert_eq(body_ids(&json, "l", ids, 2, &n), BODY_INVALID);
	cr_assert_eq(n, 3);
	kore_json_cleanup(&json);
}
