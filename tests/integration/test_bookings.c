/*
 * Bookings: the booking shape, conflicts with the blocked seats, reading
 * (owner, admin, others), lists, cancellation and the admins' view of a
 * show.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

static struct api_resp *
book_seats(const char *token, const struct fixture_show *s, int from,
    int count)
{
	struct api_resp	*r;
	char		*body;

	body = fixture_seats_body(s, from, count);
	r = fixture_book(token, fixture_key(), body, NULL);
	free(body);

	return (r);
}

Test(bookings, booking_is_pending_payment_with_its_seats_and_total)
{
	struct fixture_show	s;
	struct api_resp		*r;
	json_t			*seat;
	long long		ua;
	char			*a;

	fixture_show(&s, 3, "1 day");
	a = test_user_token("user", &ua);

	r = book_seats(a, &s, 0, 2);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_gt(fixture_id(r), 0);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "show_id")),
	    s.id);
	cr_assert_str_eq(str(r->json, "status"), "pending_payment");
	cr_assert_eq(json_integer_value(json_object_get(r->json,
	    "total_cents")), 1500 + 1000);
	cr_assert_str_eq(str(r->json, "currency"), "EUR");
	cr_assert_eq(strlen(str(r->json, "created_at")), 20);
	cr_assert_eq(strlen(str(r->json, "payment_due_at")), 20);
	/* PAYMENT_WINDOW_SECONDS defaults to 10 minutes. */
	cr_assert_eq(db_scalar("SELECT round(extract(epoch FROM"
	    " payment_due_at - created_at)) FROM bookings WHERE id = $1",
	    api_format("%lld", fixture_id(r)), NULL), 600);
	cr_assert(json_is_null(json_object_get(r->json, "cancelled_at")));

	cr_assert_eq(json_array_size(json_object_get(r->json, "seats")), 2);
	seat = json_array_get(json_object_get(r->json, "seats"), 0);
	cr_assert_eq(json_integer_value(json_object_get(seat, "id")),
	    s.seats[0]);
	cr_assert_str_eq(str(seat, "row"), "A");
	cr_assert_eq(json_integer_value(json_object_get(seat, "number")), 1);
	cr_assert_str_eq(str(seat, "tier"), "standard");
	cr_assert_eq(json_integer_value(json_object_get(seat, "price_cents")),
	    1500);
	cr_assert_str_eq(str(seat, "status"), "booked");

	cr_assert_eq(db_scalar("SELECT count(*) FROM booking_seats WHERE"
	    " booking_id = $1 AND live", api_format("%lld", fixture_id(r)),
	    NULL), 2);
	api_free(r);
}

Test(bookings, single_seat_form_is_accepted)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua, ids[2];
	char			*a, *body;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[1]);
	r = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_eq(fixture_seat_ids(r, "seats", ids, 2), 1);
	cr_assert_eq(ids[0], s.seats[1]);
	api_free(r);
	free(body);
}

Test(bookings, booking_conflict_returns_409_with_blocked_seats)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua, ub, ids[4];
	char			*a, *b;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	r = book_seats(a, &s, 1, 2);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	r = book_seats(b, &s, 0, 4);
	assert_error(r, 409, "seat_unavailable");
	cr_assert_eq(fixture_seat_ids(r, "details", ids, 4), 2);
	cr_assert(ids[0] == s.seats[1] && ids[1] == s.seats[2]);
	api_free(r);

	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " user_id = $1", api_format("%lld", ub), NULL), 0);
}

Test(bookings, owner_and_admin_read_a_booking_others_get_404)
{
	struct fixture_show	s;
	struct api_resp		*r, *g;
	long long		ua, ub;
	char			*a, *b, *admin, *path;

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);
	admin = test_admin_token();

	r = book_seats(a, &s, 0, 1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	path = api_format("/api/bookings/%lld", fixture_id(r));

	g = api_auth("GET", path, a, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	cr_assert_str_eq(g->body, r->body);
	api_free(g);

	g = api_auth("GET", path, admin, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	api_free(g);

	g = api_auth("GET", path, b, NULL);
	assert_error(g, 404, "not_found");
	api_free(g);

	g = api_auth("GET", path, NULL, NULL);
	assert_error(g, 401, "unauthorized");
	api_free(g);

	g = api_auth("GET", "/api/bookings/abc", a, NULL);
	assert_error(g, 400, "invalid_request");
	api_free(g);

	api_free(r);
	free(path);
}

Test(bookings, list_is_the_callers_filtered_and_paged)
{
	struct fixture_show	s;
	struct api_resp		*r, *l;
	long long		ua, ub, first;
	char			*a, *b, *path;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	r = book_seats(a, &s, 0, 1);
	first = fixture_id(r);
	api_free(r);
	r = book_seats(a, &s, 1, 2);
	api_free(r);
	r = book_seats(b, &s, 3, 1);
	api_free(r);

	path = api_format("/api/bookings/%lld/cancel", first);
	r = api_auth("POST", path, a, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	free(path);

	l = api_auth("GET", "/api/bookings", a, NULL);
	cr_assert_eq(l->status, 200, "%s", l->body);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "total")), 2);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "limit")), 20);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "offset")), 0);
	cr_assert_eq(json_array_size(json_object_get(l->json, "data")), 2);
	/* Newest first, each with its seats. */
	cr_assert_eq(json_array_size(json_object_get(json_array_get(
	    json_object_get(l->json, "data"), 0), "seats")), 2);
	api_free(l);

	l = api_auth("GET", "/api/bookings?status=cancelled", a, NULL);
	cr_assert_eq(l->status, 200, "%s", l->body);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "total")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(l->json, "data"), 0), "id")), first);
	api_free(l);

	l = api_auth("GET", "/api/bookings?limit=1&offset=1", a, NULL);
	cr_assert_eq(l->status, 200, "%s", l->body);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "total")), 2);
	cr_assert_eq(json_array_size(json_object_get(l->json, "data")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(l->json, "data"), 0), "id")), first);
	api_free(l);

	l = api_auth("GET", "/api/bookings?offset=10", a, NULL);
	cr_assert_eq(l->status, 200, "%s", l->body);
	cr_assert_eq(json_array_size(json_object_get(l->json, "data")), 0);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "total")), 2);
	api_free(l);

	l = api_auth("GET", "/api/bookings?status=nope", a, NULL);
	assert_error(l, 400, "invalid_request");
	api_free(l);
	l = api_auth("GET", "/api/bookings?limit=0", a, NULL);
	assert_error(l, 400, "invalid_request");
	api_free(l);
}

Test(bookings, cancel_frees_seats_for_another_user)
{
	struct fixture_show	s;
	struct api_resp		*r, *c, *c2;
	long long		ua, ub;
	char			*a, *b, *path;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	r = book_seats(a, &s, 0, 2);
	cr_assert_eq(r->status, 201, "%s", r->body);
	path = api_format("/api/bookings/%lld/cancel", fixture_id(r));

	c = api_auth("POST", path, b, NULL);
	assert_error(c, 404, "not_found");
	api_free(c);

	c = api_auth("POST", path, a, NULL);
	cr_assert_eq(c->status, 200, "%s", c->body);
	cr_assert_str_eq(str(c->json, "status"), "cancelled");
	cr_assert_eq(strlen(str(c->json, "cancelled_at")), 20);
	cr_assert_eq(fixture_id(c), fixture_id(r));

	/* Twice: the same cancelled booking. */
	c2 = api_auth("POST", path, a, NULL);
	cr_assert_eq(c2->status, 200, "%s", c2->body);
	cr_assert_str_eq(str(c2->json, "cancelled_at"),
	    str(c->json, "cancelled_at"));
	api_free(c2);
	api_free(c);

	/* Soft: the row stays, its seats do not count any more. */
	cr_assert_eq(db_scalar("SELECT count(*) FROM booking_seats WHERE"
	    " booking_id = $1 AND NOT live", api_format("%lld", fixture_id(r)),
	    NULL), 2);

	c = book_seats(b, &s, 0, 2);
	cr_assert_eq(c->status, 201, "%s", c->body);
	api_free(c);

	api_free(r);
	free(path);
}

Test(bookings, cancel_after_the_show_started_is_409)
{
	struct fixture_show	s;
	struct api_resp		*r, *c;
	long long		ua;
	char			*a, *path, *id;

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);

	r = book_seats(a, &s, 0, 1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	id = api_format("%lld", s.id);
	db_exec("UPDATE shows SET start_time = now() - interval '10 minutes',"
	    " end_time = now() + interval '1 hour' WHERE id = $1", id, NULL);

	path = api_format("/api/bookings/%lld/cancel", fixture_id(r));
	c = api_auth("POST", path, a, NULL);
	assert_error(c, 409, "cancellation_closed");
	api_free(c);

	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE id = $1"
	    " AND status = 'pending_payment'", api_format("%lld",
	    fixture_id(r)), NULL), 1);

	/* Booking a started show is refused as well. */
	c = book_seats(a, &s, 0, 1);
	assert_error(c, 409, "show_started");
	api_free(c);

	api_free(r);
	free(path);
	free(id);
}

Test(bookings, admins_list_a_shows_bookings_others_get_403)
{
	struct fixture_show	s;
	struct api_resp		*r, *l;
	long long		ua;
	char			*a, *admin, *path;

	fixture_show(&s, 3, "1 day");
	a = test_user_token("user", &ua);
	admin = test_admin_token();

	r = book_seats(a, &s, 0, 1);
	api_free(r);
	r = book_seats(a, &s, 1, 2);
	api_free(r);

	path = api_format("/api/shows/%lld/bookings", s.id);
	l = api_auth("GET", path, admin, NULL);
	cr_assert_eq(l->status, 200, "%s", l->body);
	cr_assert_eq(json_integer_value(json_object_get(l->json, "total")), 2);
	cr_assert_eq(json_array_size(json_object_get(l->json, "data")), 2);
	api_free(l);

	l = api_auth("GET", path, a, NULL);
	assert_error(l, 403, "forbidden");
	api_free(l);

	l = api_auth("GET", "/api/shows/987654321/bookings", admin, NULL);
	assert_error(l, 404, "not_found");
	api_free(l);

	free(path);
}

Test(bookings, bad_booking_requests_are_400)
{
	struct fixture_show	s, other;
	struct api_resp		*r;
	long long		ua;
	char			*a, *body;

	fixture_show(&s, 2, "1 day");
	fixture_show(&other, 1, "1 day");
	a = test_user_token("user", &ua);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", s.id,
	    other.seats[0]);
	r = fixture_book(a, fixture_key(), body, NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	r = fixture_book(a, fixture_key(), "{\"seat_ids\": [1]}", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld],"
	    " \"seat_id\": %lld}", s.id, s.seats[0], s.seats[1]);
	r = fixture_book(a, fixture_key(), body, NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	r = fixture_book(a, fixture_key(), "{\"hold_id\": 987654321}", NULL);
	assert_error(r, 404, "not_found");
	api_free(r);
}

/*
 * Ready for payments: a pending_payment booking keeps its seats until
 * payment_due_at and then lapses by itself, like a hold.
 */
Test(bookings, lapsed_pending_payment_booking_frees_its_seats)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua, ub, old;
	char			*b, *id, *seat, *user, *body;

	fixture_show(&s, 1, "1 day");
	(void)test_user_token("user", &ua);
	b = test_user_token("user", &ub);
	id = api_format("%lld", s.id);
	seat = api_format("%lld", s.seats[0]);
	user = api_format("%lld", ua);

	old = db_insert_id("INSERT INTO bookings (user_id, show_id, status,"
	    " total_cents, currency, payment_due_at) VALUES ($1, $2,"
	    " 'pending_payment', 1500, 'EUR', now() + interval '1 hour')"
	    " RETURNING id", user, id, NULL);
	db_exec("INSERT INTO booking_seats (booking_id, seat_id, price_cents,"
	    " live) VALUES ($1, $2, 1500, true)", api_format("%lld", old),
	    seat, NULL);

	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[0]);
	r = fixture_book(b, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 409, "%s", r->body);
	api_free(r);

	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s'"
	    " WHERE id = $1", api_format("%lld", old), NULL);
	r = fixture_book(b, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE id = $1"
	    " AND status = 'expired'", api_format("%lld", old), NULL), 1);
	free(body);
	free(id);
	free(seat);
	free(user);
}

/* PAYMENTS=off: a booking is confirmed at once, with no payment due. */
Test(bookings, payments_off_confirms_at_once, .timeout = 60)
{
	struct test_server	srv;
	struct fixture_show	s;
	struct api_resp		*r, *g;
	const char		*env[] = { "PAYMENTS=off", NULL };
	long long		ua;
	char			*a, *body, *path;

	cr_assert(test_server_start(&srv, env), "server did not start");
	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[0]);
	r = fixture_book(a, fixture_key(), body, srv.url);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "confirmed");
	cr_assert(json_is_null(json_object_get(r->json, "payment_due_at")));
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE id = $1"
	    " AND status = 'confirmed' AND payment_due_at IS NULL",
	    api_format("%lld", fixture_id(r)), NULL), 1);

	/* Cancelling it (no payment to refund) makes it cancelled. */
	path = api_format("/api/bookings/%lld/cancel", fixture_id(r));
	g = api_auth("POST", path, a, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	cr_assert_str_eq(str(g->json, "status"), "cancelled");

	test_server_stop(&srv);
	api_free(r);
	api_free(g);
	free(body);
	free(path);
}

/*
 * With payments on, a pending_payment booking past payment_due_at reads
 * expired at once (no sweeper), is listed as expired, and cannot be
 * cancelled.
 */
Test(bookings, lapsed_booking_reads_expired_and_is_not_cancellable)
{
	struct fixture_show	s;
	struct api_resp		*r, *g;
	long long		ua;
	char			*a, *id, *path;

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);
	r = book_seats(a, &s, 0, 1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "pending_payment");
	id = api_format("%lld", fixture_id(r));
	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s'"
	    " WHERE id = $1", id, NULL);

	path = api_format("/api/bookings/%lld", fixture_id(r));
	g = api_auth("GET", path, a, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	cr_assert_str_eq(str(g->json, "status"), "expired");
	cr_assert_str_eq(str(json_array_get(json_object_get(g->json, "seats"),
	    0), "status"), "available");
	api_free(g);

	g = api_auth("GET", "/api/bookings?status=expired", a, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	cr_assert_eq(json_integer_value(json_object_get(g->json, "total")), 1);
	api_free(g);

	free(path);
	path = api_format("/api/bookings/%lld/cancel", fixture_id(r));
	g = api_auth("POST", path, a, NULL);
	assert_error(g, 409, "booking_not_cancellable");
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE id = $1"
	    " AND status = 'expired' AND cancelled_at IS NULL", id, NULL), 1);

	api_free(r);
	api_free(g);
	free(id);
	free(path);
}
