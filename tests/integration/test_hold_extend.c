/*
 * Capped hold renewal: POST /api/holds/{id}/extend renews a live hold to
 * now + its lifetime, never past 3 lifetimes after it was made (409
 * hold_renewal_limit), refuses a lapsed, released or booked hold (409
 * hold_expired), and is for the owner only (404 for anyone else). Hold
 * ages are set in the database so nothing here waits on the clock.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

static struct api_resp *
hold_seats(const char *token, long long show, long long seat)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	char			*body;

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", show,
	    seat);
	o.token = token;
	r = api_with("POST", "/api/holds", body, &o);
	free(body);
	cr_assert_eq(r->status, 201, "%s", r->body);

	return (r);
}

static struct api_resp *
extend(const char *token, long long hold)
{
	struct api_resp		*r;
	char			*path;

	path = api_format("/api/holds/%lld/extend", hold);
	r = api_auth("POST", path, token, NULL);
	free(path);

	return (r);
}

/* Seconds between the hold's expires_at and now() + (its lifetime - s). */
static long long
expiry_offset(long long hold, const char *what)
{
	char	*id = api_format("%lld", hold);
	char	*sql = api_format("SELECT round(extract(epoch FROM expires_at -"
	    " (%s)))::bigint FROM holds WHERE id = $1", what);
	long long v = db_scalar(sql, id, NULL);

	free(id);
	free(sql);
	return (v);
}

Test(hold_extend, renews_to_now_plus_lifetime)
{
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		uid;
	char			*a, *id;
	const char		*before, *after;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &uid);
	h = hold_seats(a, s.id, s.seats[0]);
	id = api_format("%lld", fixture_id(h));

	/* Made 4 minutes ago, lapsing in 1: renewal gives 5 from now. */
	db_exec("UPDATE holds SET created_at = now() - interval '4 min',"
	    " expires_at = now() + interval '1 min' WHERE id = $1", id, NULL);
	before = json_string_value(json_object_get(h->json, "expires_at"));

	r = extend(a, fixture_id(h));
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "id")),
	    fixture_id(h));
	cr_assert_eq(json_integer_value(json_object_get(r->json, "show_id")),
	    s.id);
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(
	    r->json, "seat_ids"), 0)), s.seats[0]);
	after = json_string_value(json_object_get(r->json, "expires_at"));
	cr_assert_not_null(after);
	cr_assert_eq(strlen(after), 20, "%s", after);
	cr_assert(strcmp(after, before) >= 0, "%s < %s", after, before);
	cr_assert_eq(expiry_offset(fixture_id(h), "now() + lifetime"), 0);

	/* The seat is still held, by the same hold. */
	cr_assert_eq(db_scalar("SELECT count(*) FROM seat_states WHERE"
	    " seat_id = $1 AND status = 'held'", api_format("%lld",
	    s.seats[0]), NULL), 1);

	api_free(r);
	api_free(h);
	free(id);
}

Test(hold_extend, is_capped_at_three_lifetimes_then_refused)
{
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		uid;
	char			*a, *id;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &uid);
	h = hold_seats(a, s.id, s.seats[0]);
	id = api_format("%lld", fixture_id(h));

	/* 12 minutes old: now + 5 would pass 15, so it stops at 15. */
	db_exec("UPDATE holds SET created_at = now() - interval '12 min',"
	    " expires_at = now() + interval '1 min' WHERE id = $1", id, NULL);
	r = extend(a, fixture_id(h));
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND expires_at = created_at + 3 * lifetime", id, NULL), 1);

	/* At the cap there is nothing left to renew. */
	r = extend(a, fixture_id(h));
	assert_error(r, 409, "hold_renewal_limit");
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND expires_at = created_at + 3 * lifetime", id, NULL), 1);

	api_free(h);
	free(id);
}

Test(hold_extend, lapsed_released_or_booked_hold_is_expired)
{
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		uid;
	char			*a, *id, *path, *body;

	fixture_show(&s, 3, "1 day");
	a = test_user_token("user", &uid);

	/* Lapsed. */
	h = hold_seats(a, s.id, s.seats[0]);
	id = api_format("%lld", fixture_id(h));
	db_exec("UPDATE holds SET created_at = now() - interval '6 min',"
	    " expires_at = now() - interval '1 min' WHERE id = $1", id, NULL);
	r = extend(a, fixture_id(h));
	assert_error(r, 409, "hold_expired");
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND expires_at < now()", id, NULL), 1);
	api_free(h);
	free(id);

	/* Released. */
	h = hold_seats(a, s.id, s.seats[1]);
	path = api_format("/api/holds/%lld", fixture_id(h));
	r = api_auth("DELETE", path, a, NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);
	r = extend(a, fixture_id(h));
	assert_error(r, 409, "hold_expired");
	api_free(r);
	api_free(h);
	free(path);

	/* Booked. */
	h = hold_seats(a, s.id, s.seats[2]);
	body = api_format("{\"hold_id\": %lld}", fixture_id(h));
	r = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	r = extend(a, fixture_id(h));
	assert_error(r, 409, "hold_expired");
	api_free(r);
	api_free(h);
	free(body);
}

Test(hold_extend, only_the_owner_may_extend)
{
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		ua, ub;
	char			*a, *b, *id;

	fixture_show(&s, 1, "1 day");
	a = test_user_token("user", &ua);
	b = test_user_token("user", &ub);
	h = hold_seats(a, s.id, s.seats[0]);
	id = api_format("%lld", fixture_id(h));
	db_exec("UPDATE holds SET expires_at = now() + interval '1 min'"
	    " WHERE id = $1", id, NULL);

	r = extend(b, fixture_id(h));
	assert_error(r, 404, "not_found");
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND expires_at < now() + interval '2 min'", id, NULL), 1);

	r = extend(NULL, fixture_id(h));
	assert_error(r, 401, "unauthorized");
	api_free(r);

	r = extend(a, 987654321);
	assert_error(r, 404, "not_found");
	api_free(r);

	r = api_auth("POST", "/api/holds/abc/extend", a, NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api_auth("GET", api_format("/api/holds/%lld/extend",
	    fixture_id(h)), a, NULL);
	assert_error(r, 405, "method_not_allowed");
	api_free(r);

	api_free(h);
	free(id);
}
