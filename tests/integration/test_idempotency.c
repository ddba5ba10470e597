/*
 * Idempotency-Key on POST /api/bookings: replay, reuse, concurrency,
 * header checks, and exactly-once when Redis forgets or is down.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

static long long
bookings_of(long long user)
{
	char		id[24];

	(void)snprintf(id, sizeof(id), "%lld", user);
	return (db_scalar("SELECT count(*) FROM bookings WHERE user_id = $1",
	    id, NULL));
}

Test(idempotency, retry_is_replayed_with_the_same_status_and_body)
{
	struct fixture_show	s;
	struct api_resp		*r1, *r2;
	long long		ua;
	char			*a, *key, *body, h[16];

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	key = fixture_key();
	body = fixture_seats_body(&s, 0, 2);

	r1 = fixture_book(a, key, body, NULL);
	cr_assert_eq(r1->status, 201, "%s", r1->body);
	cr_assert_null(api_header(r1, "idempotent-replayed", h, sizeof(h)));

	r2 = fixture_book(a, key, body, NULL);
	cr_assert_eq(r2->status, 201, "%s", r2->body);
	cr_assert_str_eq(r2->body, r1->body);
	cr_assert_not_null(api_header(r2, "idempotent-replayed", h,
	    sizeof(h)));
	cr_assert_str_eq(h, "true");
	cr_assert_eq(bookings_of(ua), 1);

	api_free(r1);
	api_free(r2);
	free(body);
	free(key);
}

Test(idempotency, a_4xx_is_replayed_too)
{
	struct fixture_show	s;
	struct api_resp		*r1, *r2;
	long long		ua, ub;
	char			*a, *b, *key, *body, h[16];

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);
	body = fixture_seats_body(&s, 0, 1);
	key = fixture_key();

	r1 = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(r1->status, 201, "%s", r1->body);
	api_free(r1);

	r1 = fixture_book(b, key, body, NULL);
	assert_error(r1, 409, "seat_unavailable");
	r2 = fixture_book(b, key, body, NULL);
	assert_error(r2, 409, "seat_unavailable");
	cr_assert_str_eq(r2->body, r1->body);
	cr_assert_not_null(api_header(r2, "idempotent-replayed", h,
	    sizeof(h)));

	api_free(r1);
	api_free(r2);
	free(body);
	free(key);
}

Test(idempotency, same_key_with_a_different_body_is_422)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua;
	char			*a, *key, *b1, *b2;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	key = fixture_key();
	b1 = fixture_seats_body(&s, 0, 1);
	b2 = fixture_seats_body(&s, 1, 1);

	r = fixture_book(a, key, b1, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	r = fixture_book(a, key, b2, NULL);
	assert_error(r, 422, "idempotency_key_reused");
	cr_assert_not_null(strstr(r->headers, "422 Unprocessable Content"),
	    "%s", r->headers);
	api_free(r);
	cr_assert_eq(bookings_of(ua), 1);

	/* Keys are per user: another user may use the same one. */
	{
		long long	ub;
		char		*b = test_user_token("user", &ub);

		r = fixture_book(b, key, b2, NULL);
		cr_assert_eq(r->status, 201, "%s", r->body);
		api_free(r);
	}

	free(b1);
	free(b2);
	free(key);
}

Test(idempotency, concurrent_same_key_makes_one_booking, .timeout = 30)
{
	struct fixture_show	s;
	struct multi_req	reqs[8];
	long long		ua, id;
	char			*a, *key, *body, h[16];
	int			i, created, replayed, inflight;
	json_t			*j;

	fixture_show(&s, 3, "1 day");
	a = test_user_token("user", &ua);
	key = fixture_key();
	body = fixture_seats_body(&s, 0, 3);

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 8; i++) {
		reqs[i].base = getenv("BOOKING_URL");
		reqs[i].path = "/api/bookings";
		reqs[i].token = a;
		reqs[i].key = key;
		reqs[i].body = body;
	}
	fixture_multi(reqs, 8, 10000);

	created = replayed = inflight = 0;
	id = 0;
	for (i = 0; i < 8; i++) {
		struct api_resp	r = { 0 };

		cr_assert_eq(reqs[i].curl_error, 0);
		r.headers = reqs[i].headers;
		j = json_loads(reqs[i].resp, 0, NULL);
		if (reqs[i].status == 201) {
			if (api_header(&r, "idempotent-replayed", h, sizeof(h)))
				replayed++;
			else
				created++;
			if (id == 0)
				id = json_integer_value(json_object_get(j,
				    "id"));
			cr_assert_eq(json_integer_value(json_object_get(j,
			    "id")), id);
		} else {
			cr_assert_eq(reqs[i].status, 409, "%ld %s",
			    reqs[i].status, reqs[i].resp);
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(j, "error"), "code")),
			    "idempotency_in_flight");
			cr_assert_not_null(api_header(&r, "retry-after", h,
			    sizeof(h)));
			inflight++;
		}
		json_decref(j);
	}
	cr_log_info("same key x8: created %d, replayed %d, in flight %d",
	    created, replayed, inflight);
	cr_assert_eq(created, 1, "created %d replayed %d in flight %d",
	    created, replayed, inflight);
	cr_assert_eq(bookings_of(ua), 1);

	fixture_multi_free(reqs, 8);
	free(body);
	free(key);
}

Test(idempotency, missing_long_or_odd_keys_are_400)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua;
	char			*a, *body, key[300];

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);
	body = fixture_seats_body(&s, 0, 1);

	r = fixture_book(a, NULL, body, NULL);
	assert_error(r, 400, "idempotency_key_missing");
	api_free(r);

	memset(key, 'k', 256);
	key[256] = '\0';
	r = fixture_book(a, key, body, NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	key[255] = '\0';
	r = fixture_book(a, key, body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	r = fixture_book(a, "caf\xc3\xa9", body, NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	cr_assert_eq(bookings_of(ua), 1);
	free(body);
}

Test(idempotency, redis_flushed_between_attempt_and_retry_still_one_booking)
{
	struct fixture_show	s;
	struct api_resp		*r1, *r2;
	long long		ua;
	char			*a, *key, *body, *other;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	key = fixture_key();
	body = fixture_seats_body(&s, 0, 2);

	r1 = fixture_book(a, key, body, NULL);
	cr_assert_eq(r1->status, 201, "%s", r1->body);
	redis_flush();

	r2 = fixture_book(a, key, body, NULL);
	cr_assert_eq(r2->status, 201, "%s", r2->body);
	cr_assert_eq(fixture_id(r2), fixture_id(r1));
	cr_assert_eq(bookings_of(ua), 1);
	api_free(r2);

	/* The database also knows the request it was for. */
	redis_flush();
	other = fixture_seats_body(&s, 1, 1);
	r2 = fixture_book(a, key, other, NULL);
	assert_error(r2, 422, "idempotency_key_reused");
	api_free(r2);

	api_free(r1);
	free(body);
	free(other);
	free(key);
}

/* Redis must run again after the test, whatever happened in it. */
static void
redis_up_always(void)
{
	redis_up();
}

Test(idempotency, redis_down_booking_works_and_retry_is_one_booking,
    .timeout = 60, .fini = redis_up_always)
{
	struct fixture_show	s;
	struct api_resp		*r1, *r2;
	long long		ua;
	char			*a, *key, *body;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	key = fixture_key();
	body = fixture_seats_body(&s, 0, 2);

	redis_down();
	r1 = fixture_book(a, key, body, NULL);
	r2 = fixture_book(a, key, body, NULL);
	redis_restore();

	cr_assert_eq(r1->status, 201, "%s", r1->body);
	cr_assert_eq(r2->status, 201, "%s", r2->body);
	cr_assert_eq(fixture_id(r2), fixture_id(r1));
	cr_assert_eq(bookings_of(ua), 1);

	/* And once Redis is back, a retry is still the same booking. */
	api_free(r2);
	r2 = fixture_book(a, key, body, NULL);
	cr_assert_eq(r2->status, 201, "%s", r2->body);
	cr_assert_eq(fixture_id(r2), fixture_id(r1));
	cr_assert_eq(bookings_of(ua), 1);

	api_free(r1);
	api_free(r2);
	free(body);
	free(key);
}
