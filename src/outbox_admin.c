/*
 * outbox_admin: GET /api/admin/payments/outbox (role admin), the rows of
 * payment_outbox (migrations/013) for the people who must act on a dead
 * or failed one: newest first, optionally only one status
 * (?status=pending|delivered|failed|dead), paged like every list.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "auth.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "state.h"

int	outbox_admin_list(struct http_request *);

/* The page's rows, then the total of the filter (outbox_admin_col). */
static const char *sql_outbox_list =
    "WITH f AS (SELECT * FROM payment_outbox"
    "  WHERE $1::text IS NULL OR status = $1)"
    " SELECT o.id, o.payment_id, p.booking_id, o.kind, o.status,"
    "  o.attempts, o.amount_cents, o.last_error,"
    "  booking_rfc3339(o.next_attempt_at), booking_rfc3339(o.created_at),"
    "  booking_rfc3339(o.delivered_at), (SELECT count(*) FROM f)"
    " FROM (SELECT 1) one LEFT JOIN (SELECT * FROM f"
    "  ORDER BY id DESC LIMIT $2 OFFSET $3) o ON true"
    " LEFT JOIN payments p ON p.id = o.payment_id ORDER BY o.id DESC";

enum outbox_admin_col {
	OUTBOX_ADMIN_COL_ID,
	OUTBOX_ADMIN_COL_PAYMENT_ID,
	OUTBOX_ADMIN_COL_BOOKING_ID,
	OUTBOX_ADMIN_COL_KIND,
	OUTBOX_ADMIN_COL_STATUS,
	OUTBOX_ADMIN_COL_ATTEMPTS,
	OUTBOX_ADMIN_COL_AMOUNT_CENTS,
	OUTBOX_ADMIN_COL_LAST_ERROR,
	OUTBOX_ADMIN_COL_NEXT_ATTEMPT_AT,
	OUTBOX_ADMIN_COL_CREATED_AT,
	OUTBOX_ADMIN_COL_DELIVERED_AT,
	OUTBOX_ADMIN_COL_TOTAL,
};

struct outbox_admin_req {
	struct auth	auth;
	struct db_call	db;
	int64_t		limit;
	int64_t		offset;
	char		slimit[24];
	char		soffset[24];
};

static int	outbox_admin_auth(struct http_request *);
static int	outbox_admin_prepare(struct http_request *);
static int	outbox_admin_query(struct http_request *);
static int	outbox_admin_answer(struct http_request *);
static int	outbox_admin_get(struct http_request *);
static void	outbox_admin_free(struct http_request *);
static void	outbox_admin_text(struct kore_json_item *, const char *,
		    const struct db_call *, int, int);
static struct kore_json_item	*outbox_admin_json(struct kore_json_item *,
				    const char *, const struct db_call *, int,
				    int);

enum outbox_admin_state {
	OUTBOX_ADMIN_AUTH,
	OUTBOX_ADMIN_PREPARE,
	OUTBOX_ADMIN_QUERY,
	OUTBOX_ADMIN_ANSWER,
};

static struct http_state outbox_admin_states[] = {
	[OUTBOX_ADMIN_AUTH] = KORE_HTTP_STATE(outbox_admin_auth),
	[OUTBOX_ADMIN_PREPARE] = KORE_HTTP_STATE(outbox_admin_prepare),
	[OUTBOX_ADMIN_QUERY] = KORE_HTTP_STATE(outbox_admin_query),
	[OUTBOX_ADMIN_ANSWER] = KORE_HTTP_STATE(outbox_admin_answer),
};

static const struct route_method outbox_admin_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, outbox_admin_get),
};

int
outbox_admin_list(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, outbox_admin_methods));
}

static int
outbox_admin_get(struct http_request *req)
{
	(void)state_req(req, sizeof(struct outbox_admin_req),
	    outbox_admin_free);
	return (http_state_run(outbox_admin_states,
	    ROUTE_STATES(outbox_admin_states), req));
}

/* Who is asking: admins only. */
static int
outbox_admin_auth(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	return (auth_state(req, admin_authorize(req, &o->auth),
	    OUTBOX_ADMIN_PREPARE));
}

/* ?status and the page. */
static int
outbox_admin_prepare(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);
	const char		*status;

	http_populate_get(req);
	if (!route_page(req, &o->limit, &o->offset))
		return (HTTP_STATE_COMPLETE);
	switch (route_param(req, "status", &status)) {
	case ROUTE_PARAM_ABSENT:
		status = NULL;
		break;
	case ROUTE_PARAM_OK:
		if (!strcmp(status, "pending") || !strcmp(status,
		    "delivered") || !strcmp(status, "failed") ||
		    !strcmp(status, "dead"))
			break;
		/* FALLTHROUGH */
	default:
		reply_invalid(req, "status", "status must be pending, "
		    "delivered, failed or dead.");
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(o->slimit, sizeof(o->slimit), "%lld",
	    (long long)o->limit);
	(void)snprintf(o->soffset, sizeof(o->soffset), "%lld",
	    (long long)o->offset);
	db_call_init(&o->db, sql_outbox_list);
	db_call_param(&o->db, status);
	db_call_param(&o->db, o->slimit);
	db_call_param(&o->db, o->soffset);

	return (state_next(req, OUTBOX_ADMIN_QUERY));
}

/* One read of the page. */
static int
outbox_admin_query(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	return (db_state(req, &o->db, OUTBOX_ADMIN_ANSWER, reply_db_failed));
}

/* The page of outbox rows. */
static int
outbox_admin_answer(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	reply_json(req, HTTP_STATUS_OK, reply_list_rows(&o->db,
	    outbox_admin_json, OUTBOX_ADMIN_COL_TOTAL, o->limit, o->offset));
	return (HTTP_STATE_COMPLETE);
}

/* A text column, or null. */
static void
outbox_admin_text(struct kore_json_item *o, const char *name,
    const struct db_call *c, int row, int col)
{
	if (db_isnull(c, row, col))
		kore_json_create_literal(o, name, KORE_JSON_NULL);
	else
		kore_json_create_string(o, name, db_value(c, row, col));
}

/* One outbox row (the list gives col 0: outbox_admin_col names them). */
static struct kore_json_item *
outbox_admin_json(struct kore_json_item *parent, const char *name,
    const struct db_call *c, int row, int col)
{
	struct kore_json_item	*o;

	o = kore_json_create_object(parent, name);
	kore_json_create_integer(o, "id",
	    db_int(c, row, OUTBOX_ADMIN_COL_ID));
	kore_json_create_integer(o, "payment_id",
	    db_int(c, row, OUTBOX_ADMIN_COL_PAYMENT_ID));
	kore_json_create_integer(o, "booking_id",
	    db_int(c, row, OUTBOX_ADMIN_COL_BOOKING_ID));
	kore_json_create_string(o, "kind",
	    db_value(c, row, OUTBOX_ADMIN_COL_KIND));
	kore_json_create_string(o, "status",
	    db_value(c, row, OUTBOX_ADMIN_COL_STATUS));
	kore_json_create_integer(o, "attempts",
	    db_int(c, row, OUTBOX_ADMIN_COL_ATTEMPTS));
	kore_json_create_integer(o, "amount_cents",
	    db_int(c, row, OUTBOX_ADMIN_COL_AMOUNT_CENTS));
	outbox_admin_text(o, "last_error", c, row,
	    OUTBOX_ADMIN_COL_LAST_ERROR);
	outbox_admin_text(o, "next_attempt_at", c, row,
	    OUTBOX_ADMIN_COL_NEXT_ATTEMPT_AT);
	outbox_admin_text(o, "created_at", c, row,
	    OUTBOX_ADMIN_COL_CREATED_AT);
	outbox_admin_text(o, "delivered_at", c, row,
	    OUTBOX_ADMIN_COL_DELIVERED_AT);

	return (o);
}

static void
outbox_admin_free(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	if (o == NULL)
		return;

	auth_cleanup(&o->auth);
	db_call_cleanup(&o->db);
	http_state_cleanup(req);
}
