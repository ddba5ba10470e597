/*
 * bookings: POST and GET /api/bookings, GET /api/bookings/{id},
 * POST /api/bookings/{id}/cancel, and GET /api/shows/{id}/bookings for
 * admins.
 *
 * Creating a booking is the state machine below: who is asking, what is
 * asked, reserve the Idempotency-Key, claim the seats and insert the
 * booking in one booking_claim() call (migrations/005_booking.up.sql
 * says why that is correct), store the answer under the key, answer.
 * Every answer after the key was reserved goes through the store state,
 * errors included, so a 4xx is replayed and a 5xx releases the key. The
 * store state also tells seatmap.c that the show's seats changed (a
 * booking made or cancelled), pipelined with the key's record, before
 * the answer goes out.
 * With payments on (config.payments) a booking starts pending_payment and
 * lapses after config.payment_window seconds (007_payments says how).
 *
 * Every statement answers one row per seat in one layout (bookings_col);
 * bookings_json() folds the rows of one booking into one object.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "claim.h"
#include "config.h"
#include "db.h"
#include "idem.h"
#include "reply.h"
#include "route.h"
#include "throttle.h"
#include "seatmap.h"
#include "state.h"

int	bookings_collection(struct http_request *);
int	bookings_item(struct http_request *);
int	bookings_cancel(struct http_request *);
int	bookings_show(struct http_request *);

/*
 * After a claim's connection died: this many lookups, BOOKINGS_RESOLVE_MS
 * apart and doubling up to 8x (about 16 s in all), before a 503. Long
 * enough to outlast a PostgreSQL failover (scripts/ha.sh: a dead primary
 * is replaced within about 10 s), so a claim that committed on the old
 * primary and reached its synchronous standby is answered 201 from the
 * new one, not 503.
 */
#define BOOKINGS_RESOLVE_ATTEMPTS	16
#define BOOKINGS_RESOLVE_MS		150

/*
 * One layout (bookings_col) for every statement here, each answering as
 * many of its columns as it has: a claim's outcome and blocked seat ids
 * (claim.c reads them; NULL in the reads), the columns of booking_rows()
 * (migrations/007_payments.up.sql; booking_claim and booking_cancel
 * answer them too), the refund (refund_status in the reads, the payment
 * booking_cancel queued a refund of as refund_payment), the total of a
 * list, and whether a listed show exists.
 */
#define BOOKINGS_ROW_SQL \
    " r.booking_id, r.show_id, r.status, r.total_cents, r.currency," \
    " r.created_at, r.payment_due_at, r.cancelled_at, r.seat_id," \
    " r.row_label, r.seat_number, r.tier, r.price_cents, r.seat_status"

enum bookings_col {
	BOOKINGS_COL_OUTCOME,
	BOOKINGS_COL_BLOCKED,
	BOOKINGS_COL_ID,
	BOOKINGS_COL_SHOW_ID,
	BOOKINGS_COL_STATUS,
	BOOKINGS_COL_TOTAL_CENTS,
	BOOKINGS_COL_CURRENCY,
	BOOKINGS_COL_CREATED_AT,
	BOOKINGS_COL_PAYMENT_DUE_AT,
	BOOKINGS_COL_CANCELLED_AT,
	BOOKINGS_COL_SEAT_ID,
	BOOKINGS_COL_SEAT_ROW,
	BOOKINGS_COL_SEAT_NUMBER,
	BOOKINGS_COL_SEAT_TIER,
	BOOKINGS_COL_SEAT_PRICE,
	BOOKINGS_COL_SEAT_STATUS,
	BOOKINGS_COL_REFUND,
	BOOKINGS_COL_TOTAL,
	BOOKINGS_COL_SHOW_EXISTS,
};

/* Through BOOKINGS_COL_SEAT_STATUS. */
static const char *sql_claim =
    "SELECT r.outcome, r.blocked," BOOKINGS_ROW_SQL
    " FROM booking_claim($1, $2, $3::bigint[], $4, $5, $6, $7,"
    " make_interval(secs => $8::int)) r";

/* Through BOOKINGS_COL_REFUND (refund_payment). */
static const char *sql_cancel =
    "SELECT r.outcome, r.blocked," BOOKINGS_ROW_SQL ", r.refund_payment"
    " FROM booking_cancel($1, $2) r";

/* Through BOOKINGS_COL_REFUND (refund_status). */
static const char *sql_get =
    "SELECT NULL, NULL," BOOKINGS_ROW_SQL ", b.refund_status"
    " FROM bookings b, booking_rows(ARRAY[b.id]) r"
    " WHERE b.id = $1 AND (b.user_id = $2 OR $3::boolean)";

/*
 * Through BOOKINGS_COL_TOTAL; one row with NULLs for an empty page, so
 * the total is always known.
 */
static const char *sql_list =
    "WITH f AS (SELECT id FROM bookings WHERE user_id = $1"
    "  AND ($2::text IS NULL"
    "  OR booking_status_now(status, payment_due_at) = $2)),"
    " page AS (SELECT id FROM f ORDER BY id DESC LIMIT $3 OFFSET $4)"
    " SELECT NULL, NULL," BOOKINGS_ROW_SQL ", (SELECT refund_status"
    "  FROM bookings WHERE id = r.booking_id) AS refund_status,"
    "  (SELECT count(*) FROM f)"
    " FROM (SELECT 1) one LEFT JOIN booking_rows(ARRAY("
    "  SELECT id FROM page ORDER BY id DESC)) r ON true";

/* As sql_list, for a show, through BOOKINGS_COL_SHOW_EXISTS. */
static const char *sql_show_list =
    "WITH f AS (SELECT id FROM bookings WHERE show_id = $1"
    "  AND ($2::text IS NULL"
    "  OR booking_status_now(status, payment_due_at) = $2)),"
    " page AS (SELECT id FROM f ORDER BY id LIMIT $3 OFFSET $4)"
    " SELECT NULL, NULL," BOOKINGS_ROW_SQL ", (SELECT refund_status"
    "  FROM bookings WHERE id = r.booking_id) AS refund_status,"
    "  (SELECT count(*) FROM f), EXISTS (SELECT 1 FROM shows WHERE id = $1)"
    " FROM (SELECT 1) one LEFT JOIN booking_rows(ARRAY("
    "  SELECT id FROM page ORDER BY id)) r ON true";

struct bookings_req {
	struct auth		auth;
	struct idem		idem;
	struct db_call		db;
	struct claim_body	body;
	struct throttle		limit_user;
	struct seatmap_entry	seatmap;
	int64_t			changed_show;	/* 0: no seat changed */
	const char		*key;
	int			charged;	/* rate limit charge sent */
	int			resolving;	/* lookups after a lost claim */
	int			status;
	struct kore_buf		*answer;
	int64_t			limit;
	int64_t			offset;
	char			user[24];
	char			id[24];
	char			seat_limit[16];
	char			window[16];
	char			slimit[24];
	char			soffset[24];
	int			which;
};

static int	bookings_list(struct http_request *);
static int	bookings_get(struct http_request *);
static int	bookings_cancel_post(struct http_request *);
static int	bookings_show_list(struct http_request *);
static int	bookings_read(struct http_request *, int);

static int	bookings_create_auth(struct http_request *);
static int	bookings_create_limit(struct http_request *);
static int	bookings_create_parse(struct http_request *);
static int	bookings_create_reserve(struct http_request *);
static int	bookings_create_claim(struct http_request *);
static int	bookings_create_store(struct http_request *);
static int	bookings_create_answer(struct http_request *);
static int	bookings_create_unknown(struct http_request *,
		    struct bookings_req *, const char *);

static int	bookings_read_auth(struct http_request *);
static int	bookings_read_prepare(struct http_request *);
static int	bookings_read_query(struct http_request *);
static int	bookings_read_changed(struct http_request *);
static int	bookings_read_answer(struct http_request *);

static void	bookings_refund_status(struct kore_json_item *,
		    const struct db_call *, int);
static struct kore_json_item	*bookings_json(struct kore_json_item *,
		    const struct db_call *, int *);
static void	bookings_keep(struct bookings_req *, int,
		    struct kore_json_item *);
static int	bookings_page(struct http_request *, struct bookings_req *,
		    const char **);
static void	bookings_free(struct http_request *);

enum bookings_create_state {
	BOOKINGS_CREATE_AUTH,
	BOOKINGS_CREATE_LIMIT,
	BOOKINGS_CREATE_PARSE,
	BOOKINGS_CREATE_RESERVE,
	BOOKINGS_CREATE_CLAIM,
	BOOKINGS_CREATE_STORE,
	BOOKINGS_CREATE_ANSWER,
};

static struct http_state bookings_create_states[] = {
	[BOOKINGS_CREATE_AUTH] = KORE_HTTP_STATE(bookings_create_auth),
	[BOOKINGS_CREATE_LIMIT] = KORE_HTTP_STATE(bookings_create_limit),
	[BOOKINGS_CREATE_PARSE] = KORE_HTTP_STATE(bookings_create_parse),
	[BOOKINGS_CREATE_RESERVE] = KORE_HTTP_STATE(bookings_create_reserve),
	[BOOKINGS_CREATE_CLAIM] = KORE_HTTP_STATE(bookings_create_claim),
	[BOOKINGS_CREATE_STORE] = KORE_HTTP_STATE(bookings_create_store),
	[BOOKINGS_CREATE_ANSWER] = KORE_HTTP_STATE(bookings_create_answer),
};

/*
 * Every read (and cancel): one statement, then an answer; a cancel tells
 * seatmap.c before it answers.
 */
enum bookings_read_state {
	BOOKINGS_READ_AUTH,
	BOOKINGS_READ_PREPARE,
	BOOKINGS_READ_QUERY,
	BOOKINGS_READ_CHANGED,
	BOOKINGS_READ_ANSWER,
};

static struct http_state bookings_read_states[] = {
	[BOOKINGS_READ_AUTH] = KORE_HTTP_STATE(bookings_read_auth),
	[BOOKINGS_READ_PREPARE] = KORE_HTTP_STATE(bookings_read_prepare),
	[BOOKINGS_READ_QUERY] = KORE_HTTP_STATE(bookings_read_query),
	[BOOKINGS_READ_CHANGED] = KORE_HTTP_STATE(bookings_read_changed),
	[BOOKINGS_READ_ANSWER] = KORE_HTTP_STATE(bookings_read_answer),
};

/* Which read a request is, by route. */
#define BOOKINGS_READ_LIST	1
#define BOOKINGS_READ_ITEM	2
#define BOOKINGS_READ_CANCEL	3
#define BOOKINGS_READ_SHOW	4

static const struct route_method bookings_collection_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, bookings_list),
	ROUTE_METHOD(HTTP_METHOD_POST, bookings_create_states),
};

static const struct route_method bookings_item_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, bookings_get),
};

static const struct route_method bookings_cancel_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_POST, bookings_cancel_post),
};

static const struct route_method bookings_show_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, bookings_show_list),
};

int
bookings_collection(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, bookings_collection_methods));
}

int
bookings_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, bookings_item_methods));
}

int
bookings_cancel(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, bookings_cancel_methods));
}

int
bookings_show(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, bookings_show_methods));
}

static int
bookings_list(struct http_request *req)
{
	return (bookings_read(req, BOOKINGS_READ_LIST));
}

static int
bookings_get(struct http_request *req)
{
	return (bookings_read(req, BOOKINGS_READ_ITEM));
}

static int
bookings_cancel_post(struct http_request *req)
{
	return (bookings_read(req, BOOKINGS_READ_CANCEL));
}

static int
bookings_show_list(struct http_request *req)
{
	return (bookings_read(req, BOOKINGS_READ_SHOW));
}

/* Every read (and cancel) runs bookings_read_states, told which. */
static int
bookings_read(struct http_request *req, int which)
{
	struct bookings_req	*b;

	b = state_req(req, sizeof(struct bookings_req), bookings_free);
	b->which = which;
	return (http_state_run(bookings_read_states,
	    ROUTE_STATES(bookings_read_states), req));
}

/*
 * One booking object from the rows starting at *rowp; *rowp moves on to
 * the next booking's first row.
 */
static struct kore_json_item *
bookings_json(struct kore_json_item *parent, const struct db_call *c,
    int *rowp)
{
	struct kore_json_item	*b, *seats, *s;
	int64_t			id;
	size_t			i;
	int			row;
	static const struct {
		const char	*name;
		int		col;
	} times[] = {
		{ "created_at", BOOKINGS_COL_CREATED_AT },
		{ "payment_due_at", BOOKINGS_COL_PAYMENT_DUE_AT },
		{ "cancelled_at", BOOKINGS_COL_CANCELLED_AT },
	};

	row = *rowp;
	id = db_int(c, row, BOOKINGS_COL_ID);
	b = kore_json_create_object(parent, NULL);
	kore_json_create_integer(b, "id", id);
	kore_json_create_integer(b, "show_id",
	    db_int(c, row, BOOKINGS_COL_SHOW_ID));

	seats = kore_json_create_array(b, "seats");
	for (; row < db_rows(c) && !db_isnull(c, row, BOOKINGS_COL_ID) &&
	    db_int(c, row, BOOKINGS_COL_ID) == id; row++) {
		s = kore_json_create_object(seats, NULL);
		kore_json_create_integer(s, "id",
		    db_int(c, row, BOOKINGS_COL_SEAT_ID));
		kore_json_create_string(s, "row",
		    db_value(c, row, BOOKINGS_COL_SEAT_ROW));
		kore_json_create_integer(s, "number",
		    db_int(c, row, BOOKINGS_COL_SEAT_NUMBER));
		kore_json_create_string(s, "tier",
		    db_value(c, row, BOOKINGS_COL_SEAT_TIER));
		kore_json_create_integer(s, "price_cents",
		    db_int(c, row, BOOKINGS_COL_SEAT_PRICE));
		kore_json_create_string(s, "status",
		    db_value(c, row, BOOKINGS_COL_SEAT_STATUS));
	}
	row--;

	kore_json_create_string(b, "status",
	    db_value(c, row, BOOKINGS_COL_STATUS));
	kore_json_create_integer(b, "total_cents",
	    db_int(c, row, BOOKINGS_COL_TOTAL_CENTS));
	kore_json_create_string(b, "currency",
	    db_value(c, row, BOOKINGS_COL_CURRENCY));
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if (db_isnull(c, row, times[i].col))
			kore_json_create_literal(b, times[i].name,
			    KORE_JSON_NULL);
		else
			kore_json_create_string(b, times[i].name,
			    db_value(c, row, times[i].col));
	}

	bookings_refund_status(b, c, row);

	*rowp = row + 1;
	return (b);
}

/*
 * refund_status (migrations/013): BOOKINGS_COL_REFUND where a read
 * selects it; a cancel's answer knows it from what the cancel did
 * (refund_payment: it queued a refund, pending; the booking is refunded:
 * succeeded); null otherwise (a claim selects neither).
 */
static void
bookings_refund_status(struct kore_json_item *b, const struct db_call *c,
    int row)
{
	const char	*v, *name;

	v = NULL;
	name = PQnfields(c->result) > BOOKINGS_COL_REFUND ?
	    PQfname(c->result, BOOKINGS_COL_REFUND) : "";
	if (!strcmp(name, "refund_status")) {
		if (!db_isnull(c, row, BOOKINGS_COL_REFUND))
			v = db_value(c, row, BOOKINGS_COL_REFUND);
	} else if (!strcmp(name, "refund_payment")) {
		if (!db_isnull(c, row, BOOKINGS_COL_REFUND))
			v = "pending";
		else if (!strcmp(db_value(c, row, BOOKINGS_COL_STATUS),
		    "refunded"))
			v = "succeeded";
	}

	if (v == NULL)
		kore_json_create_literal(b, "refund_status", KORE_JSON_NULL);
	else
		kore_json_create_string(b, "refund_status", v);
}

/* The answer to send (and to store under the Idempotency-Key). */
static void
bookings_keep(struct bookings_req *b, int status, struct kore_json_item *root)
{
	b->status = status;
	b->answer = kore_buf_alloc(1024);
	kore_json_item_tobuf(root, b->answer);
	kore_json_item_free(root);
}

/*
 * Who is asking. While the deny list is asked (AUTH_PENDING, the token
 * itself verified), the rate-limit charge is sent behind it: one round
 * trip for both, and the charge is void if the token is on the list.
 */
static int
bookings_create_auth(struct http_request *req)
{
	struct bookings_req	*b;
	int			ret;
	char			deny[sizeof(AUTH_DENY_PREFIX) +
				    TOKEN_SID_LEN];

	b = state_req(req, sizeof(struct bookings_req), bookings_free);
	ret = auth_check(req, &b->auth, AUTH_ROLE_USER);
	if (ret == AUTH_DENIED)
		return (HTTP_STATE_COMPLETE);

	if (!b->charged) {
		b->charged = 1;
		/* Logout and replays revoke the session, by its sid. */
		(void)snprintf(deny, sizeof(deny), "%s%s", AUTH_DENY_PREFIX,
		    b->auth.claims.sid);
		throttle_user_unless(req, &b->limit_user, THROTTLE_BOOKINGS,
		    b->auth.user_id, deny);
	}
	return (auth_state(req, ret, BOOKINGS_CREATE_LIMIT));
}

/* RATE_LIMIT_BOOKINGS per user, retries included: 429 past it. */
static int
bookings_create_limit(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	return (throttle_state(req, &b->limit_user, BOOKINGS_CREATE_PARSE));
}

/* The Idempotency-Key and the body; 400/415 otherwise. */
static int
bookings_create_parse(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	if (!idem_header(req, &b->key))
		return (HTTP_STATE_COMPLETE);
	if (!claim_body_parse(req, &b->body,
	    CLAIM_BODY_SEATS | CLAIM_BODY_HOLD))
		return (HTTP_STATE_COMPLETE);

	idem_init(&b->idem, req, b->auth.user_id, b->key);
	(void)snprintf(b->user, sizeof(b->user), "%lld",
	    (long long)b->auth.user_id);
	(void)snprintf(b->seat_limit, sizeof(b->seat_limit), "%d",
	    CLAIM_SEATS_MAX);

	db_call_init(&b->db, sql_claim);
	db_call_param(&b->db, b->user);
	db_call_param(&b->db, claim_param(b->body.show));
	db_call_param(&b->db, claim_param(b->body.seat_array));
	db_call_param(&b->db, claim_param(b->body.hold));
	db_call_param(&b->db, b->key);
	db_call_param(&b->db, b->idem.fingerprint);
	db_call_param(&b->db, b->seat_limit);
	if (config.payments) {
		(void)snprintf(b->window, sizeof(b->window), "%d",
		    config.payment_window);
		db_call_param(&b->db, b->window);
	} else {
		db_call_param(&b->db, NULL);
	}

	return (state_next(req, BOOKINGS_CREATE_RESERVE));
}

/* Claim the key in Redis: a retry is replayed or refused here. */
static int
bookings_create_reserve(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	switch (idem_begin(req, &b->idem)) {
	case IDEM_PENDING:
		return (HTTP_STATE_RETRY);
	case IDEM_ANSWERED:
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, BOOKINGS_CREATE_CLAIM));
}

/*
 * The claim's outcome is unknown: its connection died (maybe after
 * booking_claim committed), it came back without an outcome row, or a
 * claim asked again failed in any way. The same call on a fresh
 * connection looks the key up: it answers the booking that was made, or
 * makes it. When the database never says, the answer is 503 with
 * Retry-After (the key is then released, and a retry asks again): never
 * a 500, which would tell the client that nothing was booked.
 */
static int
bookings_create_unknown(struct http_request *req, struct bookings_req *b,
    const char *why)
{
	struct kore_json_item	*root;

	if (b->resolving < BOOKINGS_RESOLVE_ATTEMPTS) {
		kore_log(LOG_NOTICE, "bookings: %s during a claim; asking "
		    "again (%d)", why, b->resolving + 1);
		db_retry_later(&b->db, req,
		    BOOKINGS_RESOLVE_MS << MIN(b->resolving, 3));
		b->resolving++;
		return (HTTP_STATE_RETRY);
	}

	kore_log(LOG_NOTICE, "bookings: a claim's outcome is still unknown "
	    "(%s); answering 503", why);
	http_response_header(req, "retry-after", "1");
	root = reply_error_json("unavailable", REPLY_UNAVAILABLE_MSG, NULL);
	bookings_keep(b, HTTP_STATUS_SERVICE_UNAVAILABLE, root);
	return (state_next(req, BOOKINGS_CREATE_STORE));
}

/*
 * One booking_claim() call: the seats and the booking, or the original
 * booking of this key, or why not. Retried on deadlock, serialization
 * failure and unique violation; an unknown outcome is asked again
 * (bookings_create_unknown()).
 */
static int
bookings_create_claim(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);
	struct kore_json_item	*root;
	int			status, row;

	switch (db_run(&b->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (claim_retry(&b->db, req))
			return (HTTP_STATE_RETRY);
		if (db_connection_lost(&b->db))
			return (bookings_create_unknown(req, b,
			    "connection lost"));
		if (b->resolving > 0)
			return (bookings_create_unknown(req, b,
			    "a failure after a lost connection"));
		root = reply_db_error(req, &b->db, &status);
		bookings_keep(b, status, root);
		return (state_next(req, BOOKINGS_CREATE_STORE));
	}

	if (db_rows(&b->db) == 0)
		return (bookings_create_unknown(req, b, "no outcome row"));

	if (claim_ok(&b->db)) {
		b->changed_show = db_int(&b->db, 0, BOOKINGS_COL_SHOW_ID);
		/* Redis had lost the answer; the database replays it. */
		if (claim_existing(&b->db) && b->resolving == 0)
			http_response_header(req, "idempotent-replayed",
			    "true");
		row = 0;
		root = bookings_json(NULL, &b->db, &row);
		bookings_keep(b, HTTP_STATUS_CREATED, root);
	} else {
		root = claim_error(&b->db, &status);
		bookings_keep(b, status, root);
	}

	return (state_next(req, BOOKINGS_CREATE_STORE));
}

/*
 * Store the answer under the key (or release it after a 5xx) and, after
 * a booking, bump the show's seat version: two commands in flight at
 * once, both awaited.
 */
static int
bookings_create_store(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);
	int			idem, seats;

	idem = idem_finish(req, &b->idem, b->status, b->answer);
	seats = b->changed_show == 0 ? SEATMAP_DONE :
	    seatmap_changed(req, &b->seatmap, b->changed_show);
	if (idem == IDEM_PENDING || seats == SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, BOOKINGS_CREATE_ANSWER));
}

/* The answer kept by the claim (or its failure). */
static int
bookings_create_answer(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	reply_buf(req, b->status, b->answer);
	return (HTTP_STATE_COMPLETE);
}

/* limit, offset and status of a list; a 400 has been sent on error. */
static int
bookings_page(struct http_request *req, struct bookings_req *b,
    const char **status)
{
	http_populate_get(req);
	if (!route_page(req, &b->limit, &b->offset))
		return (KORE_RESULT_ERROR);
	if (route_param(req, "status", status) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "status", "status must be one of "
		    "pending_payment, confirmed, expired, cancelled, "
		    "refunded.");
		return (KORE_RESULT_ERROR);
	}

	(void)snprintf(b->slimit, sizeof(b->slimit), "%lld",
	    (long long)b->limit);
	(void)snprintf(b->soffset, sizeof(b->soffset), "%lld",
	    (long long)b->offset);

	return (KORE_RESULT_OK);
}

/* Who is asking; the admins' view of a show needs the admin role. */
static int
bookings_read_auth(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);
	int			role;

	role = b->which == BOOKINGS_READ_SHOW ? AUTH_ROLE_ADMIN :
	    AUTH_ROLE_USER;
	return (auth_state(req, auth_check(req, &b->auth, role),
	    BOOKINGS_READ_PREPARE));
}

/* The path id and query string, bound to the statement that answers. */
static int
bookings_read_prepare(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);
	const char		*status;
	int64_t			id;

	(void)snprintf(b->user, sizeof(b->user), "%lld",
	    (long long)b->auth.user_id);
	if (b->which != BOOKINGS_READ_LIST) {
		if (!route_id(req, 1, &id))
			return (HTTP_STATE_COMPLETE);
		(void)snprintf(b->id, sizeof(b->id), "%lld", (long long)id);
	}

	switch (b->which) {
	case BOOKINGS_READ_LIST:
	case BOOKINGS_READ_SHOW:
		if (!bookings_page(req, b, &status))
			return (HTTP_STATE_COMPLETE);
		db_call_init(&b->db, b->which == BOOKINGS_READ_LIST ?
		    sql_list : sql_show_list);
		db_call_param(&b->db, b->which == BOOKINGS_READ_LIST ?
		    b->user : b->id);
		db_call_param(&b->db, status);
		db_call_param(&b->db, b->slimit);
		db_call_param(&b->db, b->soffset);
		break;
	case BOOKINGS_READ_ITEM:
		db_call_init(&b->db, sql_get);
		db_call_param(&b->db, b->id);
		db_call_param(&b->db, b->user);
		db_call_param(&b->db, b->auth.role == AUTH_ROLE_ADMIN ?
		    "true" : "false");
		break;
	case BOOKINGS_READ_CANCEL:
		db_call_init(&b->db, sql_cancel);
		db_call_param(&b->db, b->id);
		db_call_param(&b->db, b->user);
		break;
	default:
		fatal("bookings_read_prepare: unknown read %d", b->which);
	}

	return (state_next(req, BOOKINGS_READ_QUERY));
}

/* Cancelling is one statement too; a deadlock is retried like a claim. */
static int
bookings_read_query(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	switch (db_run(&b->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (claim_retry(&b->db, req))
			return (HTTP_STATE_RETRY);
		return (reply_db_failed(req, &b->db));
	}

	return (state_next(req, BOOKINGS_READ_CHANGED));
}

/* A cancellation freed seats: cached seat maps of the show are stale. */
static int
bookings_read_changed(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	if (b->which == BOOKINGS_READ_CANCEL && claim_ok(&b->db) &&
	    seatmap_changed(req, &b->seatmap,
	    db_int(&b->db, 0, BOOKINGS_COL_SHOW_ID)) ==
	    SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, BOOKINGS_READ_ANSWER));
}

/* The booking, the page, or why not (404; a refused cancel's 409). */
static int
bookings_read_answer(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);
	struct kore_json_item	*root, *data, *err;
	int			row, status;

	switch (b->which) {
	case BOOKINGS_READ_ITEM:
		if (db_rows(&b->db) == 0) {
			reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
			    "No booking with this id.");
			return (HTTP_STATE_COMPLETE);
		}
		row = 0;
		reply_json(req, HTTP_STATUS_OK,
		    bookings_json(NULL, &b->db, &row));
		return (HTTP_STATE_COMPLETE);
	case BOOKINGS_READ_CANCEL:
		if (!claim_ok(&b->db)) {
			err = claim_error(&b->db, &status);
			reply_json(req, status, err);
			return (HTTP_STATE_COMPLETE);
		}
		/*
		 * A paid booking's money goes back through the outbox
		 * (outbox.c), written by the cancel's own transaction.
		 */
		row = 0;
		reply_json(req, HTTP_STATUS_OK,
		    bookings_json(NULL, &b->db, &row));
		return (HTTP_STATE_COMPLETE);
	}

	if (b->which == BOOKINGS_READ_SHOW &&
	    strcmp(db_value(&b->db, 0, BOOKINGS_COL_SHOW_EXISTS), "t")) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = reply_list_new(&data);
	row = 0;
	while (row < db_rows(&b->db) &&
	    !db_isnull(&b->db, row, BOOKINGS_COL_ID))
		(void)bookings_json(data, &b->db, &row);

	reply_list(req, root, b->limit, b->offset,
	    db_int(&b->db, 0, BOOKINGS_COL_TOTAL));
	return (HTTP_STATE_COMPLETE);
}

static void
bookings_free(struct http_request *req)
{
	struct bookings_req	*b = http_state_get(req);

	if (b == NULL)
		return;

	auth_cleanup(&b->auth);
	throttle_cleanup(&b->limit_user);
	idem_cleanup(&b->idem);
	db_call_cleanup(&b->db);
	seatmap_cleanup(&b->seatmap);
	if (b->answer != NULL) {
		kore_buf_free(b->answer);
		b->answer = NULL;
	}
	http_state_cleanup(req);
}
