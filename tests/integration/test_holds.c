/*
 * Holds: created all-or-nothing, owner-only, lapsing by themselves after
 * their TTL with no clean-up running, blocking other users, turned into a
 * booking with {hold_id}, released by DELETE, and the 10-seat limit.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

Test(holds, hold_is_created_and_only_its_owner_sees_it)
{
	struct fixture_show	s;
	struct api_resp		*r, *g;
	long long		uid, ids[4];
	char			*a, *b, *body, *path;
	const char		*exp;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &uid);
	b = test_user_token("user", &uid);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[1], s.seats[0]);
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "show_id")),
	    s.id);
	cr_assert_eq(fixture_seat_ids(r, "seat_ids", ids, 4), 2);
	cr_assert(ids[0] == s.seats[0] && ids[1] == s.seats[1]);
	exp = json_string_value(json_object_get(r->json, "expires_at"));
	cr_assert_not_null(exp);
	cr_assert_eq(strlen(exp), 20, "%s", exp);
	cr_assert_eq(exp[19], 'Z');

	path = api_format("/api/holds/%lld", fixture_id(r));
	g = api_auth("GET", path, a, NULL);
	cr_assert_eq(g->status, 200, "%s", g->body);
	cr_assert_str_eq(json_string_value(json_object_get(g->json,
	    "expires_at")), exp);
	api_free(g);

	g = api_auth("GET", path, b, NULL);
	assert_error(g, 404, "not_found");
	api_free(g);
	g = api_auth("DELETE", path, b, NULL);
	assert_error(g, 404, "not_found");
	api_free(g);

	/* Seat map's view: held, by a. */
	cr_assert_eq(db_scalar("SELECT count(*) FROM seat_states ss"
	    " JOIN seats s ON s.id = ss.seat_id WHERE s.show_id = $1"
	    " AND ss.status = 'held'", api_format("%lld", s.id), NULL), 2);

	api_free(r);
	free(path);
	free(body);
}

Test(holds, another_users_hold_blocks_booking_with_the_blocked_seats)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua, ub, ids[4];
	char			*a, *b, *body;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[0], s.seats[1]);
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[2], s.seats[1]);
	r = fixture_book(b, fixture_key(), body, NULL);
	assert_error(r, 409, "seat_unavailable");
	cr_assert_eq(fixture_seat_ids(r, "details", ids, 4), 1);
	cr_assert_eq(ids[0], s.seats[1]);
	api_free(r);

	/* All or nothing: the free seat was not taken either. */
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " user_id = $1", api_format("%lld", ub), NULL), 0);

	/* And another hold on it is refused the same way. */
	r = hold(NULL, b, body);
	assert_error(r, 409, "seat_unavailable");
	api_free(r);
	free(body);
}

Test(holds, owner_books_held_seats_with_hold_id)
{
	struct fixture_show	s;
	struct api_resp		*r, *bk;
	long long		ua, ids[4];
	char			*a, *body, *path;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &ua);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[2], s.seats[3]);
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	free(body);

	body = api_format("{\"hold_id\": %lld}", fixture_id(r));
	bk = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(bk->status, 201, "%s", bk->body);
	cr_assert_eq(fixture_seat_ids(bk, "seats", ids, 4), 2);
	cr_assert(ids[0] == s.seats[2] && ids[1] == s.seats[3]);
	cr_assert_eq(json_integer_value(json_object_get(bk->json,
	    "show_id")), s.id);
	cr_assert_str_eq(json_string_value(json_object_get(bk->json,
	    "status")), "pending_payment");

	/* The hold is used up. */
	path = api_format("/api/holds/%lld", fixture_id(r));
	api_free(bk);
	bk = api_auth("GET", path, a, NULL);
	assert_error(bk, 404, "not_found");
	api_free(bk);
	bk = fixture_book(a, fixture_key(), body, NULL);
	assert_error(bk, 409, "hold_expired");
	api_free(bk);

	/* Someone else's hold id is unknown to them. */
	{
		long long	ub;
		char		*b = test_user_token("user", &ub);

		bk = fixture_book(b, fixture_key(), body, NULL);
		assert_error(bk, 404, "not_found");
		api_free(bk);
	}

	api_free(r);
	free(path);
	free(body);
}

/*
 * A condition for wait_until(): the database's clock is past the hold's
 * expires_at.
 */
static int
hold_lapsed(void *id)
{
	return (db_scalar("SELECT count(*) FROM holds WHERE id = $1 AND "
	    "expires_at < now()", api_format("%lld", *(long long *)id),
	    NULL) == 1);
}

Test(holds, hold_lapses_after_its_ttl_and_seats_are_bookable, .timeout = 60)
{
	struct test_server	srv;
	const char		*env[] = { "HOLD_TTL_SECONDS=1", NULL };
	struct fixture_show	s;
	struct api_resp		*r, *bk;
	long long		ua, ub;
	char			*a, *b, *body, *hbody;

	cr_assert(test_server_start(&srv, env), "second server did not start");
	fixture_show(&s, 3, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
	    s.id, s.seats[0]);
	r = hold(srv.url, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);

	bk = fixture_book(b, fixture_key(), body, srv.url);
	assert_error(bk, 409, "seat_unavailable");
	api_free(bk);

	/* No sweeper runs anywhere; the rule itself lets the hold go. */
	wait_until(hold_lapsed, &(long long){ fixture_id(r) }, 10,
	    "the hold's expires_at to pass");
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND released_at IS NULL", api_format("%lld", fixture_id(r)),
	    NULL), 1);

	hbody = api_format("{\"hold_id\": %lld}", fixture_id(r));
	bk = fixture_book(a, fixture_key(), hbody, srv.url);
	assert_error(bk, 409, "hold_expired");
	api_free(bk);

	bk = fixture_book(b, fixture_key(), body, NULL);
	cr_assert_eq(bk->status, 201, "%s", bk->body);
	api_free(bk);

	test_server_stop(&srv);
	api_free(r);
	free(body);
	free(hbody);
}

Test(holds, delete_releases_seats_and_is_repeatable)
{
	struct fixture_show	s;
	struct api_resp		*r, *d;
	long long		ua, ub;
	char			*a, *b, *body, *path;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
	    s.id, s.seats[0]);
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	path = api_format("/api/holds/%lld", fixture_id(r));

	d = api_auth("DELETE", path, a, NULL);
	cr_assert_eq(d->status, 204, "%s", d->body);
	api_free(d);
	d = api_auth("DELETE", path, a, NULL);
	cr_assert_eq(d->status, 204, "%s", d->body);
	api_free(d);

	d = fixture_book(b, fixture_key(), body, NULL);
	cr_assert_eq(d->status, 201, "%s", d->body);
	api_free(d);

	api_free(r);
	free(path);
	free(body);
}

Test(holds, at_most_ten_seats_held_or_booked_per_user_per_show)
{
	struct fixture_show	s;
	struct api_resp		*r;
	long long		ua;
	char			*a, *body;
	int			i;

	fixture_show(&s, 12, "1 day");
	a = test_user_token("user", &ua);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld, "
	    "%lld, %lld, %lld, %lld]}", s.id, s.seats[0], s.seats[1],
	    s.seats[2], s.seats[3], s.seats[4], s.seats[5]);
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld, "
	    "%lld, %lld, %lld]}", s.id, s.seats[6], s.seats[7], s.seats[8],
	    s.seats[9], s.seats[10]);
	r = hold(NULL, a, body);
	assert_error(r, 409, "seat_limit");
	api_free(r);
	r = fixture_book(a, fixture_key(), body, NULL);
	assert_error(r, 409, "seat_limit");
	api_free(r);
	free(body);

	/* Booking held seats does not count them twice. */
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld, "
	    "%lld, %lld, %lld, %lld]}", s.id, s.seats[0], s.seats[1],
	    s.seats[6], s.seats[7], s.seats[8], s.seats[9]);
	r = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[10]);
	r = fixture_book(a, fixture_key(), body, NULL);
	assert_error(r, 409, "seat_limit");
	api_free(r);
	free(body);

	/* More than 10 in one request is a 400. */
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [", s.id);
	for (i = 0; i < 11; i++) {
		char *next = api_format("%s%s%lld", body, i ? "," : "",
		    s.seats[i]);
		free(body);
		body = next;
	}
	{
		char *next = api_format("%s]}", body);
		free(body);
		body = next;
	}
	r = hold(NULL, a, body);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);
}

Test(holds, bad_requests_are_refused)
{
	struct fixture_show	s, other, past;
	struct api_resp		*r;
	struct api_opts		o = { 0 };
	long long		ua;
	char			*a, *body;

	fixture_show(&s, 2, "1 day");
	fixture_show(&other, 1, "1 day");
	fixture_show(&past, 1, "-1 hour");
	a = test_user_token("user", &ua);

	r = hold(NULL, NULL, "{}");
	assert_error(r, 401, "unauthorized");
	api_free(r);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": []}", s.id);
	r = hold(NULL, a, body);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[0], s.seats[0]);
	r = hold(NULL, a, body);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[0], other.seats[0]);
	r = hold(NULL, a, body);
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": 987654321, \"seat_ids\": [%lld]}",
	    s.seats[0]);
	r = hold(NULL, a, body);
	assert_error(r, 404, "not_found");
	api_free(r);
	free(body);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
	    past.id, past.seats[0]);
	r = hold(NULL, a, body);
	assert_error(r, 409, "show_started");
	api_free(r);
	free(body);

	r = hold(NULL, a, "{\"show_id\": \"1\", \"seat_ids\": [1]}");
	assert_error(r, 400, "invalid_request");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r->json, "error"), "details"), "field")),
	    "show_id");
	api_free(r);

	r = hold(NULL, a, "{not json");
	assert_error(r, 400, "invalid_request");
	api_free(r);

	o.token = a;
	o.content_type = "text/plain";
	r = api_with("POST", "/api/holds", "{}", &o);
	assert_error(r, 415, "unsupported_media_type");
	api_free(r);
}

/*
 * The clean-up (src/sweep.c, every HOLD_SWEEP_SECONDS) deletes holds that
 * expired more than an hour ago with their seats, and keeps a hold a
 * booking refers to and holds that lapsed recently.
 */
Test(holds, sweep_deletes_old_unreferenced_holds_only, .timeout = 60)
{
	struct test_server	srv;
	const char		*env[] = { "HOLD_SWEEP_SECONDS=1", NULL };
	struct fixture_show	s;
	long long		u, old, kept, recent, booking;
	char			*uid, *sid, *id;

	fixture_show(&s, 3, "1 day");
	(void)test_user_token("user", &u);
	uid = api_format("%lld", u);
	sid = api_format("%lld", s.id);

	old = db_insert_id("INSERT INTO holds (user_id, show_id, expires_at,"
	    " created_at) VALUES ($1, $2, now() - interval '2 hours',"
	    " now() - interval '3 hours') RETURNING id", uid, sid, NULL);
	id = api_format("%lld", old);
	db_exec("INSERT INTO hold_seats (hold_id, seat_id) VALUES ($1, $2)",
	    id, api_format("%lld", s.seats[0]), NULL);
	kept = db_insert_id("INSERT INTO holds (user_id, show_id, expires_at,"
	    " created_at, released_at) VALUES ($1, $2,"
	    " now() - interval '2 hours', now() - interval '3 hours',"
	    " now() - interval '150 minutes') RETURNING id", uid, sid, NULL);
	booking = db_insert_id("INSERT INTO bookings (user_id, show_id,"
	    " hold_id, status, total_cents, currency) VALUES ($1, $2, $3,"
	    " 'confirmed', 0, 'EUR') RETURNING id", uid, sid,
	    api_format("%lld", kept), NULL);
	cr_assert_gt(booking, 0);
	recent = db_insert_id("INSERT INTO holds (user_id, show_id,"
	    " expires_at, created_at) VALUES ($1, $2,"
	    " now() - interval '10 minutes', now() - interval '15 minutes')"
	    " RETURNING id", uid, sid, NULL);

	cr_assert(test_server_start(&srv, env), "second server did not start");
	wait_for(db_scalar("SELECT count(*) FROM holds WHERE id = $1", id,
	    NULL) == 0, 10, "the old hold to be swept");
	test_server_stop(&srv);

	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1", id,
	    NULL), 0, "the old hold was not swept");
	cr_assert_eq(db_scalar("SELECT count(*) FROM hold_seats"
	    " WHERE hold_id = $1", id, NULL), 0);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1",
	    api_format("%lld", kept), NULL), 1, "a booked hold was swept");
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1",
	    api_format("%lld", recent), NULL), 1, "a recent hold was swept");
	free(uid);
	free(sid);
	free(id);
}
