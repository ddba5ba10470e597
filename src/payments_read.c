/*
 * payments_read: GET /api/payments/{id} and GET /api/bookings/{id}/payments,
 * and payments_json(), the one JSON object of a payment, which the writes
 * in payments.c answer with too.
 *
 * Both reads share one state machine:
 *
 *   auth     Bearer token (a user; admins see every payment)
 *   prepare  the path id, and for a booking's list the page
 *   query    one read of payment_rows() (migrations/007_payments.up.sql)
 *   answer   the payment, the page, or 404 for a payment or booking the
 *            caller may not see (the same as one that does not exist);
 *            with its provider, intent, next_action, and to its owner
 *            the client_secret (payments_read_extra)
 *
 * Reads change nothing: no Idempotency-Key, no rate limit, no provider.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "payments_read.h"
#include "reply.h"
#include "route.h"
#include "state.h"

int	payments_item(struct http_request *);
int	payments_booking(struct http_request *);

/*
 * Both reads answer one layout (payments_read_col): the payment's
 * payment_rows() columns (PAYMENTS_ROW_*), then the provider's side of
 * it: provider, intent, the client_secret to the payment's owner only
 * ($2), Stripe's next_action while it requires_action
 * (migrations/015_payment_action.up.sql); a booking's list then adds its
 * total and whether the booking is visible.
 */
#define PAYMENTS_READ_SQL \
    "SELECT" PAYMENTS_ROW_SQL ", x.provider, x.provider_ref," \
    " CASE WHEN x.user_id = $2 THEN x.client_secret END," \
    " CASE WHEN x.status = 'requires_confirmation'" \
    "  THEN x.next_action::text END"

enum payments_read_col {
	PAYMENTS_READ_COL_PAYMENT,	/* PAYMENTS_COLS of them */
	PAYMENTS_READ_COL_PROVIDER = PAYMENTS_COLS,
	PAYMENTS_READ_COL_PROVIDER_REF,
	PAYMENTS_READ_COL_CLIENT_SECRET,
	PAYMENTS_READ_COL_NEXT_ACTION,
	PAYMENTS_READ_COL_TOTAL,	/* sql_list only */
	PAYMENTS_READ_COL_VISIBLE,	/* sql_list only */
};

static const char *sql_get =
    PAYMENTS_READ_SQL
    " FROM payments x, payment_rows(ARRAY[x.id]) r"
    " WHERE x.id = $1 AND (x.user_id = $2 OR $3::boolean)";

/* One row of NULL payment columns for an empty page. */
static const char *sql_list =
    "WITH b AS (SELECT id FROM bookings"
    "  WHERE id = $1 AND (user_id = $2 OR $3::boolean)),"
    " f AS (SELECT p.id FROM payments p JOIN b ON b.id = p.booking_id),"
    " page AS (SELECT id FROM f ORDER BY id LIMIT $4 OFFSET $5)"
    " " PAYMENTS_READ_SQL ", (SELECT count(*) FROM f),"
    " EXISTS (SELECT 1 FROM b)"
    " FROM (SELECT 1) one LEFT JOIN payment_rows(ARRAY("
    "  SELECT id FROM page ORDER BY id)) r ON true"
    " LEFT JOIN payments x ON x.id = r.payment_id";

/* Which request, by route. */
#define PAYMENTS_READ_GET	1
#define PAYMENTS_READ_LIST	2

struct payments_read_req {
	int			which;
	struct auth		auth;
	struct db_call		db;
	int64_t			id;		/* payment or booking */
	int64_t			limit;
	int64_t			offset;
	char			user[24];
	char			sid[24];
	char			slimit[24];
	char			soffset[24];
};

static int	payments_read_auth(struct http_request *);
static int	payments_read_prepare(struct http_request *);
static int	payments_read_query(struct http_request *);
static int	payments_read_answer(struct http_request *);

static int	payments_read_run(struct http_request *, int);
static struct kore_json_item	*payments_read_listed(struct kore_json_item *,
		    const char *, const struct db_call *, int, int);
static void	payments_read_extra(struct kore_json_item *,
		    const struct db_call *, int);
static void	payments_read_free(struct http_request *);

enum payments_read_state {
	PAYMENTS_READ_AUTH,
	PAYMENTS_READ_PREPARE,
	PAYMENTS_READ_QUERY,
	PAYMENTS_READ_ANSWER,
};

static struct http_state payments_read_states[] = {
	[PAYMENTS_READ_AUTH] = KORE_HTTP_STATE(payments_read_auth),
	[PAYMENTS_READ_PREPARE] = KORE_HTTP_STATE(payments_read_prepare),
	[PAYMENTS_READ_QUERY] = KORE_HTTP_STATE(payments_read_query),
	[PAYMENTS_READ_ANSWER] = KORE_HTTP_STATE(payments_read_answer),
};

static int	payments_item_get(struct http_request *);
static int	payments_booking_get(struct http_request *);

static const struct route_method payments_item_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, payments_item_get),
};

static const struct route_method payments_booking_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, payments_booking_get),
};

int
payments_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, payments_item_methods));
}

int
payments_booking(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, payments_booking_methods));
}

static int
payments_item_get(struct http_request *req)
{
	return (payments_read_run(req, PAYMENTS_READ_GET));
}

static int
payments_booking_get(struct http_request *req)
{
	return (payments_read_run(req, PAYMENTS_READ_LIST));
}

/* Both reads run payments_read_states, told which. */
static int
payments_read_run(struct http_request *req, int which)
{
	struct payments_read_req	*p;

	p = state_req(req, sizeof(struct payments_read_req),
	    payments_read_free);
	p->which = which;

	return (http_state_run(payments_read_states,
	    ROUTE_STATES(payments_read_states), req));
}

/*
 * One payment object from payment_rows() columns starting at col (named
 * from there: PAYMENTS_ROW_*).
 */
struct kore_json_item *
payments_json(struct kore_json_item *parent, const char *name,
    const struct db_call *c, int row, int col)
{
	struct kore_json_item	*p;

	p = kore_json_create_object(parent, name);
	kore_json_create_integer(p, "id",
	    db_int(c, row, col + PAYMENTS_ROW_ID));
	kore_json_create_integer(p, "booking_id",
	    db_int(c, row, col + PAYMENTS_ROW_BOOKING_ID));
	kore_json_create_integer(p, "amount_cents",
	    db_int(c, row, col + PAYMENTS_ROW_AMOUNT_CENTS));
	kore_json_create_string(p, "currency",
	    db_value(c, row, col + PAYMENTS_ROW_CURRENCY));
	kore_json_create_string(p, "status",
	    db_value(c, row, col + PAYMENTS_ROW_STATUS));
	kore_json_create_string(p, "created_at",
	    db_value(c, row, col + PAYMENTS_ROW_CREATED_AT));
	kore_json_create_string(p, "updated_at",
	    db_value(c, row, col + PAYMENTS_ROW_UPDATED_AT));
	if (db_isnull(c, row, col + PAYMENTS_ROW_REFUND_REASON))
		kore_json_create_literal(p, "refund_reason", KORE_JSON_NULL);
	else
		kore_json_create_string(p, "refund_reason",
		    db_value(c, row, col + PAYMENTS_ROW_REFUND_REASON));

	return (p);
}

/*
 * The provider's fields of a payment: absent when NULL (a mock payment
 * has no intent; only its owner sees the client_secret), next_action as
 * Stripe's object.
 */
static void
payments_read_extra(struct kore_json_item *p, const struct db_call *c,
    int row)
{
	struct kore_json	json;
	const char		*na;

	kore_json_create_string(p, "provider",
	    db_value(c, row, PAYMENTS_READ_COL_PROVIDER));
	if (!db_isnull(c, row, PAYMENTS_READ_COL_PROVIDER_REF))
		kore_json_create_string(p, "provider_payment_id",
		    db_value(c, row, PAYMENTS_READ_COL_PROVIDER_REF));
	if (!db_isnull(c, row, PAYMENTS_READ_COL_CLIENT_SECRET))
		kore_json_create_string(p, "client_secret",
		    db_value(c, row, PAYMENTS_READ_COL_CLIENT_SECRET));
	if (db_isnull(c, row, PAYMENTS_READ_COL_NEXT_ACTION))
		return;

	/* Stripe's object, as stored (jsonb), grafted in as it is. */
	na = db_value(c, row, PAYMENTS_READ_COL_NEXT_ACTION);
	kore_json_init(&json, na, strlen(na));
	if (kore_json_parse(&json) &&
	    json.root->type == KORE_JSON_TYPE_OBJECT) {
		json.root->name = kore_strdup("next_action");
		json.root->parent = p;
		TAILQ_INSERT_TAIL(&p->data.items, json.root, list);
		json.root = NULL;
	}
	kore_json_cleanup(&json);
}

/* One payment of a booking's list, with its provider's fields. */
static struct kore_json_item *
payments_read_listed(struct kore_json_item *parent, const char *name,
    const struct db_call *c, int row, int col)
{
	struct kore_json_item	*p;

	p = payments_json(parent, name, c, row, PAYMENTS_READ_COL_PAYMENT);
	payments_read_extra(p, c, row);
	return (p);
}

/* Who is asking. */
static int
payments_read_auth(struct http_request *req)
{
	struct payments_read_req	*p = http_state_get(req);

	return (auth_state(req, auth_check(req, &p->auth, AUTH_ROLE_USER),
	    PAYMENTS_READ_PREPARE));
}

/* The path id (and a list's page); admins see every payment. */
static int
payments_read_prepare(struct http_request *req)
{
	struct payments_read_req	*p = http_state_get(req);

	if (!route_id(req, 1, &p->id))
		return (HTTP_STATE_COMPLETE);
	(void)snprintf(p->sid, sizeof(p->sid), "%lld", (long long)p->id);
	(void)snprintf(p->user, sizeof(p->user), "%lld",
	    (long long)p->auth.user_id);

	db_call_init(&p->db,
	    p->which == PAYMENTS_READ_GET ? sql_get : sql_list);
	db_call_param(&p->db, p->sid);
	db_call_param(&p->db, p->user);
	db_call_param(&p->db, p->auth.role == AUTH_ROLE_ADMIN ?
	    "true" : "false");

	if (p->which == PAYMENTS_READ_LIST) {
		http_populate_get(req);
		if (!route_page(req, &p->limit, &p->offset))
			return (HTTP_STATE_COMPLETE);
		(void)snprintf(p->slimit, sizeof(p->slimit), "%lld",
		    (long long)p->limit);
		(void)snprintf(p->soffset, sizeof(p->soffset), "%lld",
		    (long long)p->offset);
		db_call_param(&p->db, p->slimit);
		db_call_param(&p->db, p->soffset);
	}

	return (state_next(req, PAYMENTS_READ_QUERY));
}

/* One read of payment_rows(). */
static int
payments_read_query(struct http_request *req)
{
	struct payments_read_req	*p = http_state_get(req);

	return (db_state(req, &p->db, PAYMENTS_READ_ANSWER, reply_db_failed));
}

/* The payment or the page; 404 for what the caller may not see. */
static int
payments_read_answer(struct http_request *req)
{
	struct payments_read_req	*p = http_state_get(req);
	struct kore_json_item		*root;

	if (p->which == PAYMENTS_READ_GET) {
		if (db_rows(&p->db) == 0) {
			reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
			    "No payment with this id.");
			return (HTTP_STATE_COMPLETE);
		}
		root = payments_json(NULL, NULL, &p->db, 0,
		    PAYMENTS_READ_COL_PAYMENT);
		payments_read_extra(root, &p->db, 0);
		reply_json(req, HTTP_STATUS_OK, root);
		return (HTTP_STATE_COMPLETE);
	}

	if (db_rows(&p->db) == 0 ||
	    strcmp(db_value(&p->db, 0, PAYMENTS_READ_COL_VISIBLE), "t")) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No booking with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	reply_json(req, HTTP_STATUS_OK, reply_list_rows(&p->db,
	    payments_read_listed, PAYMENTS_READ_COL_TOTAL, p->limit,
	    p->offset));
	return (HTTP_STATE_COMPLETE);
}

static void
payments_read_free(struct http_request *req)
{
	struct payments_read_req	*p = http_state_get(req);

	if (p == NULL)
		return;

	auth_cleanup(&p->auth);
	db_call_cleanup(&p->db);
	http_state_cleanup(req);
}
