/*
 * Capped hold renewal: POST /api/holds/{id}/extend renews a live hold to
 * now + its lifetime, never past 3 lifetimes after it was made (409
 * hold_renewal_limit), refuses a lapsed, released or booked hold (409
 * hold_expired), and is for the owner only (404 for anyone else). Asking
 * again for seats one already holds never starts a new clock: exactly
 * one's hold's seats answer that hold unchanged (200), any other overlap
 * is 409 seat_unavailable, and best available never lands on them. Hold
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
	h = hold_at(NULL, a, s.id, s.seats[0]);
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
	h = hold_at(NULL, a, s.id, s.seats[0]);
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
	h = hold_at(NULL, a, s.id, s.seats[0]);
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
	h = hold_at(NULL, a, s.id, s.seats[1]);
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
	h = hold_at(NULL, a, s.id, s.seats[2]);
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
	h = hold_at(NULL, a, s.id, s.seats[0]);
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

static struct api_resp *
hold_body(const char *token, const char *body)
{
	struct api_opts		o = { 0 };

	o.token = token;
	return (api_with("POST", "/api/holds", body, &o));
}

Test(hold_extend, holding_own_seats_again_never_starts_a_new_clock)
{
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		uid, first;
	char			*a, *id, *body, *user, *show;
	json_t			*ids;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &uid);
	user = api_format("%lld", uid);
	show = api_format("%lld", s.id);
	/* The fixture's seats as one row of its screen, for best available. */
	db_exec("INSERT INTO screen_rows (screen_id, position, label, seats,"
	    " tier, price_cents) SELECT screen_id, 0, 'A', 4, 'standard', 1000"
	    " FROM shows WHERE id = $1", show, NULL);
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[0], s.seats[1]);
	h = hold_body(a, body);
	cr_assert_eq(h->status, 201, "%s", h->body);
	free(body);
	first = fixture_id(h);
	id = api_format("%lld", first);

	/* Made 12 minutes ago, renewed up to its cap at 15. */
	db_exec("UPDATE holds SET created_at = now() - interval '12 min',"
	    " expires_at = now() + interval '3 min' WHERE id = $1", id, NULL);

	/* The same seats, in another order: the same hold, unchanged. */
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[1], s.seats[0]);
	r = hold_body(a, body);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_assert_eq(fixture_id(r), first, "%s", r->body);
	ids = json_object_get(r->json, "seat_ids");
	cr_assert_eq(json_array_size(ids), 2, "%s", r->body);
	cr_assert_eq(json_integer_value(json_array_get(ids, 0)), s.seats[0]);
	cr_assert_eq(json_integer_value(json_array_get(ids, 1)), s.seats[1]);
	api_free(r);
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE user_id = $1"
	    " AND show_id = $2", user, show, NULL), 1);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1"
	    " AND expires_at = created_at + 3 * lifetime", id, NULL), 1);

	/* Part of it, or part of it with another seat: 409, nothing made. */
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}",
	    s.id, s.seats[1]);
	r = hold_body(a, body);
	assert_error(r, 409, "seat_unavailable");
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(
	    json_object_get(json_object_get(r->json, "error"), "details"),
	    "seat_ids"), 0)), s.seats[1], "%s", r->body);
	api_free(r);
	free(body);
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    s.id, s.seats[0], s.seats[2]);
	r = hold_body(a, body);
	assert_error(r, 409, "seat_unavailable");
	api_free(r);
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE user_id = $1"
	    " AND show_id = $2", user, show, NULL), 1);

	/* The cap still stands. */
	r = extend(a, first);
	assert_error(r, 409, "hold_renewal_limit");
	api_free(r);

	/* Best available takes free seats only, never one's own again. */
	body = api_format("{\"show_id\": %lld, \"count\": 2}", s.id);
	r = hold_body(a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	ids = json_object_get(r->json, "seat_ids");
	cr_assert_eq(json_integer_value(json_array_get(ids, 0)), s.seats[2]);
	cr_assert_eq(json_integer_value(json_array_get(ids, 1)), s.seats[3]);
	api_free(r);
	r = hold_body(a, body);
	assert_error(r, 409, "no_adjacent_seats");
	api_free(r);
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) - count(DISTINCT hs.seat_id)"
	    " FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id"
	    " WHERE h.show_id = $1 AND h.released_at IS NULL"
	    " AND h.expires_at > now()", show, NULL), 0);

	api_free(h);
	free(id);
	free(user);
	free(show);
}
