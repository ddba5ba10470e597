/*
 * holds: POST /api/holds, GET and DELETE /api/holds/{id}, and
 * POST /api/holds/{id}/extend.
 *
 * A hold keeps seats for its owner until expires_at (config.hold_ttl
 * seconds) and then lapses by itself: the availability rule in
 * migrations/005_booking.up.sql compares expires_at with now(), so no
 * sweeper is needed. Deleting releases it at once; deleting twice is
 * fine. Someone else's hold is 404. {show_id, count, tier} holds the best
 * count adjacent seats (hold_claim_best in
 * migrations/010_seat_selection.up.sql, which says how they are chosen and
 * why two parties asking at once get disjoint blocks; since 011_sellout
 * without a show-wide lock). Extending renews a live hold to now + its
 * lifetime, never past 3 lifetimes after it was made (hold_extend, same
 * file). Asking again for exactly the seats of one's live hold answers
 * that hold unchanged (200), and any other overlap with one's live holds
 * is 409 seat_unavailable (hold_claim in migrations/011_sellout.up.sql):
 * a re-hold never starts a new clock. Making or releasing a hold calls
 * seatmap_changed() after the commit, before the answer.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>

#include "auth.h"
#include "claim.h"
#include "config.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "throttle.h"
#include "seatmap.h"
#include "state.h"

int	holds_collection(struct http_request *);
int	holds_item(struct http_request *);
int	holds_extend(struct http_request *);

/*
 * One row per seat of the hold, in one layout (holds_col) for every
 * statement but sql_release: the outcome and the blocked seat ids first
 * (claim.c reads them), then the hold.
 */
#define HOLDS_SELECT \
    "SELECT outcome, blocked, hold_id, show_id, expires_at, seat_id FROM "

enum holds_col {
	HOLDS_COL_OUTCOME,
	HOLDS_COL_BLOCKED,
	HOLDS_COL_ID,
	HOLDS_COL_SHOW_ID,
	HOLDS_COL_EXPIRES_AT,
	HOLDS_COL_SEAT_ID,
};

static const char *sql_claim =
    HOLDS_SELECT "hold_claim($1, $2, $3::bigint[], $4, $5)";

/* As sql_claim: the best count adjacent seats ($3) of tier $4. */
static const char *sql_claim_best =
    HOLDS_SELECT "hold_claim_best($1, $2, $3, $4, $5, $6)";

static const char *sql_extend =
    HOLDS_SELECT "hold_extend($1, $2)";

/* A live hold read back as a claim would answer it. */
static const char *sql_get =
    "SELECT 'created', NULL, h.id, h.show_id,"
    " booking_rfc3339(h.expires_at), hs.seat_id"
    " FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
    " WHERE h.id = $1 AND h.user_id = $2 AND h.released_at IS NULL"
    " ORDER BY hs.seat_id";

static const char *sql_release =
    "UPDATE holds SET released_at = coalesce(released_at, now())"
    " WHERE id = $1 AND user_id = $2 RETURNING id, show_id";

enum holds_release_col {
	HOLDS_RELEASE_COL_ID,
	HOLDS_RELEASE_COL_SHOW_ID,
};

struct holds_req {
	struct auth		auth;
	struct db_call		db;
	struct claim_body	body;
	struct throttle		limit_user;
	struct seatmap_entry	seatmap;
	char			user[24];
	char			id[24];
	char			ttl[16];
	char			limit[16];
};

static int	holds_create_auth(struct http_request *);
static int	holds_create_charge(struct http_request *);
static int	holds_create_limit(struct http_request *);
static int	holds_create_parse(struct http_request *);
static int	holds_create_claim(struct http_request *);
static int	holds_create_changed(struct http_request *);
static int	holds_create_answer(struct http_request *);

static int	holds_item_auth(struct http_request *);
static int	holds_item_prepare(struct http_request *);
static int	holds_item_query(struct http_request *);
static int	holds_item_changed(struct http_request *);
static int	holds_item_answer(struct http_request *);

static struct kore_json_item	*holds_json(const struct db_call *);
static void	holds_free(struct http_request *);

enum holds_create_state {
	HOLDS_CREATE_AUTH,
	HOLDS_CREATE_CHARGE,
	HOLDS_CREATE_LIMIT,
	HOLDS_CREATE_PARSE,
	HOLDS_CREATE_CLAIM,
	HOLDS_CREATE_CHANGED,
	HOLDS_CREATE_ANSWER,
};

static struct http_state holds_create_states[] = {
	[HOLDS_CREATE_AUTH] = KORE_HTTP_STATE(holds_create_auth),
	[HOLDS_CREATE_CHARGE] = KORE_HTTP_STATE(holds_create_charge),
	[HOLDS_CREATE_LIMIT] = KORE_HTTP_STATE(holds_create_limit),
	[HOLDS_CREATE_PARSE] = KORE_HTTP_STATE(holds_create_parse),
	[HOLDS_CREATE_CLAIM] = KORE_HTTP_STATE(holds_create_claim),
	[HOLDS_CREATE_CHANGED] = KORE_HTTP_STATE(holds_create_changed),
	[HOLDS_CREATE_ANSWER] = KORE_HTTP_STATE(holds_create_answer),
};

enum holds_item_state {
	HOLDS_ITEM_AUTH,
	HOLDS_ITEM_PREPARE,
	HOLDS_ITEM_QUERY,
	HOLDS_ITEM_CHANGED,
	HOLDS_ITEM_ANSWER,
};

static struct http_state holds_item_states[] = {
	[HOLDS_ITEM_AUTH] = KORE_HTTP_STATE(holds_item_auth),
	[HOLDS_ITEM_PREPARE] = KORE_HTTP_STATE(holds_item_prepare),
	[HOLDS_ITEM_QUERY] = KORE_HTTP_STATE(holds_item_query),
	[HOLDS_ITEM_CHANGED] = KORE_HTTP_STATE(holds_item_changed),
	[HOLDS_ITEM_ANSWER] = KORE_HTTP_STATE(holds_item_answer),
};

static const struct route_method holds_collection_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, holds_create_states),
};

static const struct route_method holds_item_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, holds_item_states),
	ROUTE_METHOD(HTTP_METHOD_DELETE, holds_item_states),
};

/* POST /api/holds/{id}/extend runs the item flow with sql_extend. */
static const struct route_method holds_extend_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, holds_item_states),
};

int
holds_collection(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, holds_collection_methods));
}

int
holds_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, holds_item_methods));
}

int
holds_extend(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, holds_extend_methods));
}

/* { id, show_id, seat_ids, expires_at } from the rows of one hold. */
static struct kore_json_item *
holds_json(const struct db_call *call)
{
	struct kore_json_item	*hold, *seats;
	int			i;

	hold = kore_json_create_object(NULL, NULL);
	kore_json_create_integer(hold, "id", db_int(call, 0, HOLDS_COL_ID));
	kore_json_create_integer(hold, "show_id",
	    db_int(call, 0, HOLDS_COL_SHOW_ID));
	seats = kore_json_create_array(hold, "seat_ids");
	for (i = 0; i < db_rows(call); i++) {
		kore_json_create_integer(seats, NULL,
		    db_int(call, i, HOLDS_COL_SEAT_ID));
	}
	kore_json_create_string(hold, "expires_at",
	    db_value(call, 0, HOLDS_COL_EXPIRES_AT));

	return (hold);
}

/* Who is asking. */
static int
holds_create_auth(struct http_request *req)
{
	struct holds_req	*h;

	h = state_req(req, sizeof(struct holds_req), holds_free);
	return (auth_state(req, auth_check(req, &h->auth, AUTH_ROLE_USER),
	    HOLDS_CREATE_CHARGE));
}

/* Charge the caller's RATE_LIMIT_HOLDS counter. */
static int
holds_create_charge(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	throttle_user(req, &h->limit_user, THROTTLE_HOLDS, h->auth.user_id);
	return (state_next(req, HOLDS_CREATE_LIMIT));
}

/* RATE_LIMIT_HOLDS per user: 429 with Retry-After past it. */
static int
holds_create_limit(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	return (throttle_state(req, &h->limit_user, HOLDS_CREATE_PARSE));
}

/* {show_id, seat_ids} or {show_id, count, tier?}; 400/415 otherwise. */
static int
holds_create_parse(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	if (!claim_body_parse(req, &h->body,
	    CLAIM_BODY_SEATS | CLAIM_BODY_COUNT))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(h->user, sizeof(h->user), "%lld",
	    (long long)h->auth.user_id);
	(void)snprintf(h->ttl, sizeof(h->ttl), "%d", config.hold_ttl);
	(void)snprintf(h->limit, sizeof(h->limit), "%d", CLAIM_SEATS_MAX);

	if (h->body.count > 0) {
		db_call_init(&h->db, sql_claim_best);
		db_call_param(&h->db, h->user);
		db_call_param(&h->db, h->body.show);
		db_call_param(&h->db, h->body.count_text);
		db_call_param(&h->db, claim_param(h->body.tier));
	} else {
		db_call_init(&h->db, sql_claim);
		db_call_param(&h->db, h->user);
		db_call_param(&h->db, h->body.show);
		db_call_param(&h->db, h->body.seat_array);
	}
	db_call_param(&h->db, h->ttl);
	db_call_param(&h->db, h->limit);

	return (state_next(req, HOLDS_CREATE_CLAIM));
}

/* One hold_claim() call; retried on deadlock or serialization failure. */
static int
holds_create_claim(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	switch (db_run(&h->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (claim_retry(&h->db, req))
			return (HTTP_STATE_RETRY);
		return (reply_db_failed(req, &h->db));
	}

	return (state_next(req, HOLDS_CREATE_CHANGED));
}

/* A hold was made: cached seat maps of its show are stale. */
static int
holds_create_changed(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	if (claim_ok(&h->db) && !claim_existing(&h->db) &&
	    seatmap_changed(req, &h->seatmap, h->body.show_id) ==
	    SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, HOLDS_CREATE_ANSWER));
}

/* The hold (201, or 200 for the same live hold), or why not. */
static int
holds_create_answer(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);
	struct kore_json_item	*err;
	int			status;

	if (!claim_ok(&h->db)) {
		err = claim_error(&h->db, &status);
		reply_json(req, status, err);
		return (HTTP_STATE_COMPLETE);
	}

	/* The caller's own live hold of exactly these seats, unchanged. */
	status = claim_existing(&h->db) ? HTTP_STATUS_OK : HTTP_STATUS_CREATED;
	reply_json(req, status, holds_json(&h->db));
	return (HTTP_STATE_COMPLETE);
}

/* Who is asking. */
static int
holds_item_auth(struct http_request *req)
{
	struct holds_req	*h;

	h = state_req(req, sizeof(struct holds_req), holds_free);
	return (auth_state(req, auth_check(req, &h->auth, AUTH_ROLE_USER),
	    HOLDS_ITEM_PREPARE));
}

/*
 * Which hold: read it (GET), release it (DELETE) or extend it (POST), for
 * its owner only.
 */
static int
holds_item_prepare(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);
	int64_t			id;

	if (!route_id(req, 1, &id))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(h->id, sizeof(h->id), "%lld", (long long)id);
	(void)snprintf(h->user, sizeof(h->user), "%lld",
	    (long long)h->auth.user_id);
	switch (req->method) {
	case HTTP_METHOD_DELETE:
		db_call_init(&h->db, sql_release);
		break;
	case HTTP_METHOD_POST:
		db_call_init(&h->db, sql_extend);
		break;
	default:
		db_call_init(&h->db, sql_get);
		break;
	}
	db_call_param(&h->db, h->id);
	db_call_param(&h->db, h->user);

	return (state_next(req, HOLDS_ITEM_QUERY));
}

/* One statement; an extension is retried like a claim. */
static int
holds_item_query(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	switch (db_run(&h->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (req->method == HTTP_METHOD_POST &&
		    claim_retry(&h->db, req))
			return (HTTP_STATE_RETRY);
		return (reply_db_failed(req, &h->db));
	}

	return (state_next(req, HOLDS_ITEM_CHANGED));
}

/*
 * A hold was released or extended: cached seat maps of its show are
 * stale (an extension only moves their deadline, but a body must not
 * outlive the hold it shows by its old one either way).
 */
static int
holds_item_changed(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);
	int64_t			show;

	show = 0;
	if (req->method == HTTP_METHOD_DELETE && db_rows(&h->db) > 0)
		show = db_int(&h->db, 0, HOLDS_RELEASE_COL_SHOW_ID);
	else if (req->method == HTTP_METHOD_POST && claim_ok(&h->db))
		show = db_int(&h->db, 0, HOLDS_COL_SHOW_ID);

	if (show != 0 && seatmap_changed(req, &h->seatmap, show) ==
	    SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, HOLDS_ITEM_ANSWER));
}

/* The owner's hold; anyone else's, or none, is 404. */
static int
holds_item_answer(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);
	struct kore_json_item	*err;
	int			status;

	if (req->method == HTTP_METHOD_POST && !claim_ok(&h->db)) {
		err = claim_error(&h->db, &status);
		reply_json(req, status, err);
		return (HTTP_STATE_COMPLETE);
	}

	if (db_rows(&h->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No hold with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	if (req->method == HTTP_METHOD_DELETE)
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
	else
		reply_json(req, HTTP_STATUS_OK, holds_json(&h->db));

	return (HTTP_STATE_COMPLETE);
}

static void
holds_free(struct http_request *req)
{
	struct holds_req	*h = http_state_get(req);

	if (h == NULL)
		return;

	auth_cleanup(&h->auth);
	db_call_cleanup(&h->db);
	throttle_cleanup(&h->limit_user);
	seatmap_cleanup(&h->seatmap);
	http_state_cleanup(req);
}
