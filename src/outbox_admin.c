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

int	outbox_admin_list(struct http_request *);

#define OUTBOX_ADMIN_COLS	11

/* The page's rows, then the total of the filter. */
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

#define OUTBOX_ADMIN_AUTH	0
#define OUTBOX_ADMIN_PREPARE	1
#define OUTBOX_ADMIN_QUERY	2
#define OUTBOX_ADMIN_ANSWER	3

static struct http_state outbox_admin_states[] = {
	KORE_HTTP_STATE(outbox_admin_auth),
	KORE_HTTP_STATE(outbox_admin_prepare),
	KORE_HTTP_STATE(outbox_admin_query),
	KORE_HTTP_STATE(outbox_admin_answer),
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
	if (http_state_get(req) == NULL)
		(void)http_state_create(req, sizeof(struct outbox_admin_req),
		    outbox_admin_free);

	return (http_state_run(outbox_admin_states,
	    ROUTE_STATES(outbox_admin_states), req));
}

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

	req->fsm_state = OUTBOX_ADMIN_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
outbox_admin_query(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	return (db_state(req, &o->db, OUTBOX_ADMIN_ANSWER, reply_db_failed));
}

static int
outbox_admin_answer(struct http_request *req)
{
	struct outbox_admin_req	*o = http_state_get(req);

	reply_json(req, HTTP_STATUS_OK, reply_list_rows(&o->db,
	    outbox_admin_json, OUTBOX_ADMIN_COLS, o->limit, o->offset));
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

static struct kore_json_item *
outbox_admin_json(struct kore_json_item *parent, const char *name,
    const struct db_call *c, int row, int col)
{
	struct kore_json_item	*o;

	o = kore_json_create_object(parent, name);
	kore_json_create_integer(o, "id", db_int(c, row, col));
	kore_json_create_integer(o, "payment_id", db_int(c, row, col + 1));
	kore_json_create_integer(o, "booking_id", db_int(c, row, col + 2));
	kore_json_create_string(o, "kind", db_value(c, row, col + 3));
	kore_json_create_string(o, "status", db_value(c, row, col + 4));
	kore_json_create_integer(o, "attempts", db_int(c, row, col + 5));
	kore_json_create_integer(o, "amount_cents", db_int(c, row, col + 6));
	outbox_admin_text(o, "last_error", c, row, col + 7);
	outbox_admin_text(o, "next_attempt_at", c, row, col + 8);
	outbox_admin_text(o, "created_at", c, row, col + 9);
	outbox_admin_text(o, "delivered_at", c, row, col + 10);

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
