/*
 * Best available: POST /api/holds {show_id, count, tier} holds count
 * adjacent seats of one row, the row nearest the screen's middle first,
 * then the block nearest the row's centre, never stranding a single free
 * seat when another block avoids it; aisles (rows[].aisles_after, also
 * through the admin API) break adjacency; parties racing for one show get
 * disjoint blocks or 409 no_adjacent_seats; bad input is a 400 that
 * changes nothing.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "booking_fixtures.h"
#include "client.h"
#include "fixtures.h"
#include "tokens.h"
#include "expect.h"

/*
 * A show starting tomorrow on a new screen whose rows are the JSON array
 * `rows` of {label, seats, tier, aisles_after}, seats made as the admin
 * API makes them.
 */
static long long
screen_show(const char *rows)
{
	return (db_insert_id(
	    "WITH m AS (INSERT INTO movies (title, duration_minutes)"
	    "  VALUES ('Best movie', 90) RETURNING id),"
	    " t AS (INSERT INTO theatres (name, city, timezone)"
	    "  VALUES ('Best theatre', 'Bestville', 'UTC') RETURNING id),"
	    " sc AS (INSERT INTO screens (theatre_id, name)"
	    "  SELECT id, 'Screen' FROM t RETURNING id),"
	    " r AS (INSERT INTO screen_rows (screen_id, position, label, seats,"
	    "  tier, price_cents, aisles_after)"
	    "  SELECT sc.id, e.ord - 1, e.v->>'label', (e.v->>'seats')::int,"
	    "   e.v->>'tier', 1000, ARRAY(SELECT jsonb_array_elements_text("
	    "   coalesce(e.v->'aisles_after', '[]'))::int)"
	    "  FROM sc, jsonb_array_elements($1::jsonb)"
	    "   WITH ORDINALITY e(v, ord)"
	    "  RETURNING *),"
	    " sh AS (INSERT INTO shows (movie_id, screen_id, start_time,"
	    "  end_time) SELECT m.id, sc.id, now() + interval '1 day',"
	    "  now() + interval '1 day 2 hours' FROM m, sc RETURNING id),"
	    " x AS (INSERT INTO seats (show_id, row_label, number, tier,"
	    "  price_cents) SELECT sh.id, r.label, n, r.tier, r.price_cents"
	    "  FROM sh, r, generate_series(1, r.seats) n)"
	    " SELECT id FROM sh", rows, NULL));
}

static long long
seat(long long show, const char *label, int number)
{
	char	*s = api_format("%lld", show), *n = api_format("%d", number);
	long long id;

	id = db_scalar("SELECT id FROM seats WHERE show_id = $1 AND"
	    " row_label = $2 AND number = $3::int", s, label, n, NULL);
	free(s);
	free(n);
	return (id);
}

/* "C4,C5" for the seat ids of a hold answer, in seat order. */
static char *
hold_labels(const struct api_resp *r)
{
	json_t		*v;
	size_t		i;
	char		*ids, *next, *out;

	ids = api_format("{");
	json_array_foreach(json_object_get(r->json, "seat_ids"), i, v) {
		next = api_format("%s%s%lld", ids, i ? "," : "",
		    (long long)json_integer_value(v));
		free(ids);
		ids = next;
	}
	next = api_format("%s}", ids);
	free(ids);
	out = db_text("SELECT string_agg(row_label || number, ','"
	    " ORDER BY row_label, number) FROM seats"
	    " WHERE id = ANY ($1::bigint[])", next, NULL);
	free(next);
	return (out);
}

static void
expect_block(const char *token, long long show, const char *extra,
    const char *want)
{
	struct api_resp		*r;
	char			*body, *got;

	body = api_format("{\"show_id\": %lld%s}", show, extra);
	r = hold(NULL, token, body);
	cr_assert_eq(r->status, 201, "%s: %s", body, r->body);
	got = hold_labels(r);
	cr_assert_str_eq(got, want, "%s: got %s, want %s", body, got, want);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "show_id")),
	    show);
	cr_assert_not_null(json_string_value(json_object_get(r->json,
	    "expires_at")));
	free(got);
	free(body);
	api_free(r);
}

static void
expect_error(const char *token, const char *body, long status,
    const char *code, const char *field)
{
	struct api_resp		*r;

	r = hold(NULL, token, body);
	assert_error(r, status, code, field);
	api_free(r);
}

static const char *five_rows =
    "[{\"label\": \"A\", \"seats\": 10, \"tier\": \"standard\"},"
    " {\"label\": \"B\", \"seats\": 10, \"tier\": \"standard\"},"
    " {\"label\": \"C\", \"seats\": 10, \"tier\": \"standard\"},"
    " {\"label\": \"D\", \"seats\": 10, \"tier\": \"standard\"},"
    " {\"label\": \"E\", \"seats\": 10, \"tier\": \"vip\"}]";

Test(best_available, middle_row_centre_block_first)
{
	long long	show, u;
	char		*a, *b;

	show = screen_show(five_rows);
	a = test_user_token("user", &u);
	b = test_user_token("user", &u);

	expect_block(a, show, ", \"count\": 4", "C4,C5,C6,C7");
	/*
	 * Any pair left in C strands a seat (C1-3, C8-10 are left); of B and
	 * D, equally near the middle, D is further back: its centre pair.
	 */
	expect_block(b, show, ", \"count\": 2", "D5,D6");
	cr_assert_eq(db_scalar("SELECT count(*) FROM hold_seats hs JOIN holds h"
	    " ON h.id = hs.hold_id WHERE h.show_id = $1", api_format("%lld",
	    show), NULL), 6);
}

Test(best_available, tier_picks_only_that_tier)
{
	long long	show, u;
	char		*a;

	show = screen_show(five_rows);
	a = test_user_token("user", &u);

	expect_block(a, show, ", \"count\": 2, \"tier\": \"vip\"", "E5,E6");
	expect_block(a, show, ", \"count\": 3, \"tier\": \"standard\"",
	    "C4,C5,C6");
}

Test(best_available, aisles_break_adjacency)
{
	long long	show, u;
	char		*a, *body;

	show = screen_show("[{\"label\": \"A\", \"seats\": 10, \"tier\": \"s\","
	    " \"aisles_after\": [3, 7]}]");
	a = test_user_token("user", &u);

	/* Ten free seats in a row, but no five of them side by side. */
	body = api_format("{\"show_id\": %lld, \"count\": 5}", show);
	expect_error(a, body, 409, "no_adjacent_seats", NULL);
	free(body);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE show_id = $1",
	    api_format("%lld", show), NULL), 0);

	expect_block(a, show, ", \"count\": 4", "A4,A5,A6,A7");
	/* 8-10 and 1-3 are equally central; the lower numbers win. */
	expect_block(a, show, ", \"count\": 3", "A1,A2,A3");
}

Test(best_available, never_strands_a_single_seat_when_avoidable)
{
	long long	show, u;
	char		*a, *b, *body;
	struct api_resp	*r;

	show = screen_show("[{\"label\": \"A\", \"seats\": 6,"
	    " \"tier\": \"s\"}]");
	a = test_user_token("user", &u);
	b = test_user_token("user", &u);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", show,
	    seat(show, "A", 1));
	r = hold(NULL, a, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	free(body);

	/* A3-4 is central but strands A2; A2-3 leaves A4-6 together. */
	expect_block(b, show, ", \"count\": 2", "A2,A3");

	/* When every choice strands one, the best of them is still given. */
	show = screen_show("[{\"label\": \"A\", \"seats\": 3,"
	    " \"tier\": \"s\"}]");
	expect_block(b, show, ", \"count\": 2", "A1,A2");
}

Test(best_available, racing_parties_get_disjoint_blocks_or_409,
    .timeout = 120)
{
	enum { PARTIES = 16, COUNT = 3 };
	struct multi_req	reqs[PARTIES];
	char			*tokens[PARTIES], *body, *ids, *next;
	long long		show, u, held, blocks;
	json_t			*j, *v;
	size_t			k;
	int			i, ok, refused;

	show = screen_show("[{\"label\": \"A\", \"seats\": 12,"
	    " \"tier\": \"s\"},"
	    " {\"label\": \"B\", \"seats\": 12, \"tier\": \"s\"}]");
	body = api_format("{\"show_id\": %lld, \"count\": %d}", show, COUNT);

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < PARTIES; i++) {
		tokens[i] = test_user_token("user", &u);
		reqs[i].base = getenv("BOOKING_URL");
		reqs[i].path = "/api/holds";
		reqs[i].token = tokens[i];
		reqs[i].body = body;
	}
	fixture_multi(reqs, PARTIES, 60000);

	ok = refused = 0;
	ids = api_format("{");
	for (i = 0; i < PARTIES; i++) {
		cr_assert_eq(reqs[i].curl_error, 0, "request %d failed", i);
		j = json_loads(reqs[i].resp, 0, NULL);
		cr_assert_not_null(j, "%s", reqs[i].resp);
		if (reqs[i].status == 409) {
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(j, "error"), "code")),
			    "no_adjacent_seats", "%s", reqs[i].resp);
			refused++;
			json_decref(j);
			continue;
		}
		cr_assert_eq(reqs[i].status, 201, "%ld %s", reqs[i].status,
		    reqs[i].resp);
		cr_assert_eq(json_array_size(json_object_get(j, "seat_ids")),
		    COUNT);
		json_array_foreach(json_object_get(j, "seat_ids"), k, v) {
			next = api_format("%s%s%lld", ids, ids[1] ? "," : "",
			    (long long)json_integer_value(v));
			free(ids);
			ids = next;
		}
		/* One row, consecutive numbers. */
		next = api_format("{%lld,%lld,%lld}",
		    (long long)json_integer_value(json_array_get(
		    json_object_get(j, "seat_ids"), 0)),
		    (long long)json_integer_value(json_array_get(
		    json_object_get(j, "seat_ids"), 1)),
		    (long long)json_integer_value(json_array_get(
		    json_object_get(j, "seat_ids"), 2)));
		cr_assert_eq(db_scalar("SELECT count(DISTINCT row_label) *"
		    " 100 + max(number) - min(number) FROM seats"
		    " WHERE id = ANY ($1::bigint[])", next, NULL),
		    100 + COUNT - 1, "not adjacent: %s", reqs[i].resp);
		free(next);
		ok++;
		json_decref(j);
	}
	next = api_format("%s}", ids);
	free(ids);
	ids = next;
	cr_log_info("best available race: %d parties, %d held, %d refused",
	    PARTIES, ok, refused);

	cr_assert_gt(ok, 0);
	cr_assert_eq(ok + refused, PARTIES);
	/* Disjoint: as many distinct seats as seats answered. */
	cr_assert_eq(db_scalar("SELECT count(DISTINCT x) FROM unnest("
	    "$1::bigint[]) x", ids, NULL), ok * COUNT);
	held = db_scalar("SELECT count(*) FROM hold_seats hs JOIN holds h ON"
	    " h.id = hs.hold_id WHERE h.show_id = $1", api_format("%lld", show),
	    NULL);
	cr_assert_eq(held, ok * COUNT);
	blocks = db_scalar("SELECT count(DISTINCT hs.seat_id) FROM hold_seats"
	    " hs JOIN holds h ON h.id = hs.hold_id WHERE h.show_id = $1",
	    api_format("%lld", show), NULL);
	cr_assert_eq(blocks, held);
	/* Every refusal was right: no block of three is left. */
	if (refused > 0)
		cr_assert_eq(db_scalar("SELECT count(*) FROM (SELECT"
		    " seat_best_block($1, 3, NULL) b) s WHERE b IS NOT NULL",
		    api_format("%lld", show), NULL), 0);

	fixture_multi_free(reqs, PARTIES);
	free(ids);
	free(body);
}

Test(best_available, bad_input_is_400_and_changes_nothing)
{
	struct fixture_show	past;
	long long		show, u;
	char			*a, *body;
	int			i;
	static const char	*bad[][2] = {
		{ ", \"count\": 0", "count" },
		{ ", \"count\": 11", "count" },
		{ ", \"count\": \"3\"", "count" },
		{ ", \"count\": 2.5", "count" },
		{ ", \"count\": null", "count" },
		{ ", \"tier\": \"vip\"", "count" },
		{ ", \"count\": 2, \"seat_ids\": [1]", "count" },
		{ ", \"count\": 2, \"seat_id\": 1", "count" },
		{ ", \"count\": 2, \"tier\": \"\"", "tier" },
		{ ", \"count\": 2, \"tier\": 7", "tier" },
		{ ", \"count\": 2, \"tier\": \"gold\"", "tier" },
	};

	show = screen_show(five_rows);
	a = test_user_token("user", &u);

	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		body = api_format("{\"show_id\": %lld%s}", show, bad[i][0]);
		expect_error(a, body, 400, "invalid_request", bad[i][1]);
		free(body);
	}
	expect_error(a, "{\"count\": 2}", 400, "invalid_request", "show_id");
	expect_error(NULL, "{\"count\": 2}", 401, "unauthorized", NULL);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE show_id = $1",
	    api_format("%lld", show), NULL), 0);

	expect_error(a, "{\"show_id\": 987654321, \"count\": 2}", 404,
	    "not_found", NULL);
	fixture_show(&past, 2, "-1 hour");
	body = api_format("{\"show_id\": %lld, \"count\": 1}", past.id);
	expect_error(a, body, 409, "show_started", NULL);
	free(body);

	/* The per-user limit counts what the user already holds. */
	body = api_format("{\"show_id\": %lld, \"count\": 8}", show);
	expect_block(a, show, ", \"count\": 8", "C1,C2,C3,C4,C5,C6,C7,C8");
	expect_error(a, body, 409, "seat_limit", NULL);
	free(body);
}

Test(best_available, admin_screens_take_and_return_aisles)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	json_t			*rows;
	long long		t;
	char			*path, *admin;
	int			i;
	static const char	*bad[] = {
		"[0]", "[4]", "[2, 2]", "[3, 1]", "[\"1\"]", "3", "[1.5]",
	};

	t = fx_theatre("Aisle T", "Aisle City", "UTC");
	admin = test_admin_token();
	o.token = admin;
	path = api_format("/api/theatres/%lld/screens", t);

	r = api_with("POST", path, "{\"name\": \"Aisles\", \"rows\": ["
	    "{\"label\": \"A\", \"seats\": 4, \"tier\": \"s\","
	    " \"price_cents\": 900, \"aisles_after\": [1, 3]},"
	    "{\"label\": \"B\", \"seats\": 4, \"tier\": \"s\","
	    " \"price_cents\": 900}]}", &o);
	cr_assert_eq(r->status, 201, "%s", r->body);
	rows = json_object_get(r->json, "rows");
	cr_assert_eq(json_array_size(json_object_get(json_array_get(rows, 0),
	    "aisles_after")), 2);
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(
	    json_array_get(rows, 0), "aisles_after"), 1)), 3);
	cr_assert(json_is_array(json_object_get(json_array_get(rows, 1),
	    "aisles_after")));
	cr_assert_eq(json_array_size(json_object_get(json_array_get(rows, 1),
	    "aisles_after")), 0);
	api_free(r);

	cr_assert_eq(db_scalar("SELECT count(*) FROM screen_rows r JOIN screens"
	    " s ON s.id = r.screen_id WHERE s.theatre_id = $1 AND"
	    " r.aisles_after = '{1,3}'", api_format("%lld", t), NULL), 1);

	free(path);
	path = api_format("/api/theatres/%lld", t);
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	rows = json_object_get(json_array_get(json_object_get(r->json,
	    "screens"), 0), "rows");
	cr_assert_eq(json_integer_value(json_array_get(json_object_get(
	    json_array_get(rows, 0), "aisles_after"), 0)), 1, "%s", r->body);
	api_free(r);
	free(path);

	path = api_format("/api/theatres/%lld/screens", t);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		char *body = api_format("{\"name\": \"Bad %d\", \"rows\": ["
		    "{\"label\": \"A\", \"seats\": 4, \"tier\": \"s\","
		    " \"price_cents\": 900, \"aisles_after\": %s}]}", i,
		    bad[i]);
		r = api_with("POST", path, body, &o);
		cr_assert_eq(r->status, 400, "%s: %s", bad[i], r->body);
		cr_assert_str_eq(api_error_code(r), "invalid_request");
		api_free(r);
		free(body);
	}
	cr_assert_eq(db_scalar("SELECT count(*) FROM screens WHERE"
	    " theatre_id = $1", api_format("%lld", t), NULL), 1);
	free(path);
}

/*
 * The show's seats as the availability rule sees them agree with the
 * snapshot best available chooses from (seat_busy), no seat is in two
 * live holds, and every live hold is one block: one row, consecutive
 * numbers, no aisle inside.
 */
static void
expect_consistent(const char *show)
{
	cr_assert_eq(db_scalar("SELECT count(*) FROM seats x"
	    " JOIN seat_states st ON st.seat_id = x.id"
	    " JOIN seat_busy sb ON sb.seat_id = x.id"
	    " WHERE x.show_id = $1"
	    " AND (st.status = 'available') <> (sb.busy_until <= now())",
	    show, NULL), 0, "seat_busy disagrees with seat_states");
	cr_assert_eq(db_scalar("SELECT count(*) - count(DISTINCT hs.seat_id)"
	    " FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id"
	    " WHERE h.show_id = $1 AND h.released_at IS NULL"
	    " AND h.expires_at > now()", show, NULL), 0,
	    "a seat is in two live holds");
	cr_assert_eq(db_scalar("SELECT count(*) FROM (SELECT h.id"
	    " FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
	    " JOIN seats x ON x.id = hs.seat_id"
	    " JOIN shows sh ON sh.id = h.show_id"
	    " JOIN screen_rows sr ON sr.screen_id = sh.screen_id"
	    "  AND sr.label = x.row_label"
	    " WHERE h.show_id = $1"
	    " GROUP BY h.id HAVING count(DISTINCT x.row_label) <> 1"
	    " OR max(x.number) - min(x.number) <> count(*) - 1"
	    " OR EXISTS (SELECT 1 FROM unnest(min(sr.aisles_after)) a"
	    "  WHERE a >= min(x.number) AND a < max(x.number))) bad",
	    show, NULL), 0, "a hold is not one block");
}

/* 32 parties at once, each its own user, asking for count(i) seats. */
static int
crowd(long long show, int (*count)(int), int *refused)
{
	enum { PARTIES = 32 };
	struct multi_req	reqs[PARTIES];
	char			*bodies[PARTIES], *tokens[PARTIES];
	long long		u;
	json_t			*j;
	int			i, ok;

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < PARTIES; i++) {
		tokens[i] = test_user_token("user", &u);
		bodies[i] = api_format("{\"show_id\": %lld, \"count\": %d}",
		    show, count(i));
		reqs[i].base = getenv("BOOKING_URL");
		reqs[i].path = "/api/holds";
		reqs[i].token = tokens[i];
		reqs[i].body = bodies[i];
	}
	fixture_multi(reqs, PARTIES, 90000);

	ok = *refused = 0;
	for (i = 0; i < PARTIES; i++) {
		cr_assert_eq(reqs[i].curl_error, 0, "request %d failed", i);
		j = json_loads(reqs[i].resp, 0, NULL);
		cr_assert_not_null(j, "%s", reqs[i].resp);
		if (reqs[i].status == 409) {
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(j, "error"), "code")),
			    "no_adjacent_seats", "%s", reqs[i].resp);
			(*refused)++;
		} else {
			cr_assert_eq(reqs[i].status, 201, "%ld %s",
			    reqs[i].status, reqs[i].resp);
			cr_assert_eq(json_array_size(json_object_get(j,
			    "seat_ids")), (size_t)count(i), "%s",
			    reqs[i].resp);
			ok++;
		}
		json_decref(j);
		free(bodies[i]);
	}
	fixture_multi_free(reqs, PARTIES);

	return (ok);
}

static int
one_to_four(int i)
{
	return (i % 4 + 1);
}

static int
four(int i)
{
	return (4);
}

Test(best_available, thirty_two_buyers_at_once_keep_every_rule,
    .timeout = 300)
{
	long long	show, u, held;
	char		*s, *ref, *body, *token;
	int		ok, refused, k, asks;

	show = screen_show(
	    "[{\"label\": \"A\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]},"
	    " {\"label\": \"B\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]},"
	    " {\"label\": \"C\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]},"
	    " {\"label\": \"D\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]},"
	    " {\"label\": \"E\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]},"
	    " {\"label\": \"F\", \"seats\": 20, \"tier\": \"s\","
	    "  \"aisles_after\": [5, 15]}]");
	s = api_format("%lld", show);

	/* 80 of 120 seats asked for at once: every party gets its block. */
	ok = crowd(show, one_to_four, &refused);
	cr_assert_eq(refused, 0, "%d refused with 40 seats left", refused);
	cr_assert_eq(ok, 32);
	held = db_scalar("SELECT count(*) FROM hold_seats hs JOIN holds h"
	    " ON h.id = hs.hold_id WHERE h.show_id = $1", s, NULL);
	cr_assert_eq(held, 80);
	expect_consistent(s);
	/* Middle rows first: C and D (20 seats each) are full or nearly. */
	cr_assert_geq(db_scalar("SELECT count(*) FROM hold_seats hs"
	    " JOIN seats x ON x.id = hs.seat_id WHERE x.show_id = $1"
	    " AND x.row_label IN ('C', 'D')", s, NULL), 32);

	/*
	 * One at a time now: each answer is the block the reference rule
	 * (010's seat_best_block, over the availability rule itself) names.
	 */
	for (asks = 0, k = 1; asks < 12; asks++, k = k % 4 + 1) {
		ref = db_text("SELECT coalesce((SELECT string_agg(row_label ||"
		    " number, ',' ORDER BY row_label, number) FROM seats"
		    " WHERE id = ANY (seat_best_block($1, $2::int, NULL))),"
		    " 'none')", s, api_format("%d", k), NULL);
		token = test_user_token("user", &u);
		if (!strcmp(ref, "none")) {
			body = api_format("{\"show_id\": %lld, \"count\": %d}",
			    show, k);
			expect_error(token, body, 409, "no_adjacent_seats",
			    NULL);
			free(body);
		} else {
			body = api_format(", \"count\": %d", k);
			expect_block(token, show, body, ref);
			free(body);
		}
		free(ref);
	}
	expect_consistent(s);

	/* The rest by another crowd: blocks or 409, and a 409 is right. */
	ok = crowd(show, four, &refused);
	cr_log_info("second crowd: %d held, %d refused", ok, refused);
	cr_assert_gt(refused, 0);
	cr_assert_eq(db_scalar("SELECT count(*) FROM (SELECT"
	    " seat_best_block($1, 4, NULL) b) x WHERE b IS NOT NULL", s, NULL),
	    0, "409 while a block of four was free");
	expect_consistent(s);

	/* Released seats are found again at once. */
	db_exec("UPDATE holds SET released_at = now() WHERE show_id = $1", s,
	    NULL);
	expect_consistent(s);
	token = test_user_token("user", &u);
	expect_block(token, show, ", \"count\": 4", "D9,D10,D11,D12");
	free(s);
}

/*
 * The snapshot best available chooses from follows every way a seat
 * changes: a hold, a booking of it, its payment lapsing, a cancellation,
 * a release, a renewal; and best available finds freed seats at once.
 */
Test(best_available, snapshot_follows_every_change_of_a_seat,
    .timeout = 120)
{
	struct api_resp	*h, *b, *r;
	long long	show, u;
	char		*s, *a, *body, *path, *id;

	show = screen_show("[{\"label\": \"A\", \"seats\": 8, \"tier\": \"s\"}]");
	s = api_format("%lld", show);
	a = test_user_token("user", &u);
	body = api_format("{\"show_id\": %lld, \"count\": 2}", show);

	h = hold(NULL, a, body);
	cr_assert_eq(h->status, 201, "%s", h->body);
	expect_consistent(s);

	/* Renewed, then booked from the hold. */
	path = api_format("/api/holds/%lld/extend", fixture_id(h));
	db_exec("UPDATE holds SET expires_at = now() + interval '1 min'"
	    " WHERE id = $1", api_format("%lld", fixture_id(h)), NULL);
	expect_consistent(s);
	r = api_auth("POST", path, a, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	free(path);
	expect_consistent(s);
	b = fixture_book(a, fixture_key(), api_format("{\"hold_id\": %lld}",
	    fixture_id(h)), NULL);
	cr_assert_eq(b->status, 201, "%s", b->body);
	expect_consistent(s);

	/* A pending payment that lapses frees its seats by itself. */
	id = api_format("%lld", fixture_id(b));
	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s'"
	    " WHERE id = $1 AND status = 'pending_payment'", id, NULL);
	expect_consistent(s);
	db_exec("UPDATE bookings SET payment_due_at = now() + interval '5 min'"
	    " WHERE id = $1 AND status = 'pending_payment'", id, NULL);
	expect_consistent(s);

	/* Cancelled: free again, and best available takes them again. */
	path = api_format("/api/bookings/%lld/cancel", fixture_id(b));
	r = api_auth("POST", path, a, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	free(path);
	expect_consistent(s);
	expect_block(a, show, ", \"count\": 2", "A4,A5");
	expect_consistent(s);

	/* Released by its owner: free at once. */
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE show_id = $1"
	    " AND released_at IS NULL AND expires_at > now()", s, NULL), 1);
	db_exec("UPDATE holds SET released_at = now() WHERE show_id = $1", s,
	    NULL);
	expect_consistent(s);
	expect_block(a, show, ", \"count\": 2", "A4,A5");

	api_free(b);
	api_free(h);
	free(id);
	free(body);
	free(s);
}
