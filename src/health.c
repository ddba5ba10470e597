/*
 * health: GET /api/health. Checks PostgreSQL (SELECT 1) and Redis (PING)
 * at the same time, for real, on every call: 200 when both answer, 503
 * with the failing part marked "down" otherwise.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "redis.h"
#include "reply.h"
#include "route.h"
#include "state.h"

int	health_get(struct http_request *);

static const char *sql_ping = "SELECT 1";

struct health {
	struct db_call		db;
	struct redis_ticket	*ping;
	int			db_state;
};

static int	health_start(struct http_request *);
static int	health_wait(struct http_request *);
static int	health_answer(struct http_request *);
static void	health_free(struct http_request *);

enum health_state {
	HEALTH_START,
	HEALTH_WAIT,
	HEALTH_ANSWER,
};

static struct http_state health_states[] = {
	[HEALTH_START] = KORE_HTTP_STATE(health_start),
	[HEALTH_WAIT] = KORE_HTTP_STATE(health_wait),
	[HEALTH_ANSWER] = KORE_HTTP_STATE(health_answer),
};

static const struct route_method health_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, health_states),
};

int
health_get(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, health_methods));
}

/* Fire both checks; Redis may be down already, which is an answer too. */
static int
health_start(struct http_request *req)
{
	struct health	*h;

	h = state_req(req, sizeof(*h), health_free);
	db_call_init(&h->db, sql_ping);
	(void)redis_command(req, &h->ping, "PING");

	return (state_next(req, HEALTH_WAIT));
}

/* Sleep until both have answered. */
static int
health_wait(struct http_request *req)
{
	struct health	*h = http_state_get(req);

	if (h->db_state != DB_DONE && h->db_state != DB_FAILED)
		h->db_state = db_run(&h->db, req);

	if (h->db_state == DB_PENDING || redis_wait(h->ping) == REDIS_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, HEALTH_ANSWER));
}

/* 200 when both answered, 503 naming the part that did not. */
static int
health_answer(struct http_request *req)
{
	struct health			*h = http_state_get(req);
	const struct redis_result	*r;
	struct kore_json_item		*root;
	int				pg_ok, redis_ok;

	r = redis_result(h->ping);
	redis_ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	pg_ok = h->db_state == DB_DONE;

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_string(root, "status",
	    pg_ok && redis_ok ? "ok" : "degraded");
	kore_json_create_string(root, "postgres", pg_ok ? "ok" : "down");
	kore_json_create_string(root, "redis", redis_ok ? "ok" : "down");

	reply_json(req, pg_ok && redis_ok ? HTTP_STATUS_OK :
	    HTTP_STATUS_SERVICE_UNAVAILABLE, root);

	return (HTTP_STATE_COMPLETE);
}

static void
health_free(struct http_request *req)
{
	struct health	*h = http_state_get(req);

	if (h == NULL)
		return;

	db_call_cleanup(&h->db);
	redis_ticket_release(&h->ping);
	http_state_cleanup(req);
}
