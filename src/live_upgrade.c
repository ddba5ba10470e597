/*
 * live_upgrade: the request that opens a live seat map, GET
 * /api/shows/{id}/seats/live: who is asking (any signed-in user), that it
 * is a WebSocket upgrade (version 13) for a show that exists, and that
 * this worker and this client address are within their caps (503 and 429
 * with Retry-After); then the handshake, after which the socket belongs
 * to live.c (live_attach()) with its token's claims (expiry, session).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "live.h"
#include "peer.h"
#include "reply.h"
#include "route.h"

#define LIVE_RETRY_AFTER	"5"

static const char *sql_show =
    "SELECT 1 FROM shows WHERE id = $1";

/* The upgrade request's state. */
struct live_req {
	struct auth		auth;
	struct db_call		db;
	int64_t			show_id;
	char			id[24];
};

int	live_seats(struct http_request *);

static int	live_req_auth(struct http_request *);
static int	live_req_parse(struct http_request *);
static int	live_req_query(struct http_request *);
static int	live_req_upgrade(struct http_request *);
static void	live_req_free(struct http_request *);

#define LIVE_REQ_AUTH		0
#define LIVE_REQ_PARSE		1
#define LIVE_REQ_QUERY		2
#define LIVE_REQ_UPGRADE	3

static struct http_state live_req_states[] = {
	KORE_HTTP_STATE(live_req_auth),
	KORE_HTTP_STATE(live_req_parse),
	KORE_HTTP_STATE(live_req_query),
	KORE_HTTP_STATE(live_req_upgrade),
};

static const struct route_method live_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, live_req_states),
};

int
live_seats(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, live_methods));
}

/* Who is asking: any signed-in user (the contract's Bearer). */
static int
live_req_auth(struct http_request *req)
{
	struct live_req		*l;

	if ((l = http_state_get(req)) == NULL)
		l = http_state_create(req, sizeof(*l), live_req_free);

	return (auth_state(req, auth_check(req, &l->auth, AUTH_ROLE_USER),
	    LIVE_REQ_PARSE));
}

/* A WebSocket upgrade for a show id; 400 for anything else. */
static int
live_req_parse(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);
	const char		*upgrade, *key, *version;

	if (!route_id(req, 1, &l->show_id))
		return (HTTP_STATE_COMPLETE);

	if (!http_request_header(req, "upgrade", &upgrade) ||
	    strcasecmp(upgrade, "websocket") ||
	    !http_request_header(req, "sec-websocket-key", &key) ||
	    !http_request_header(req, "sec-websocket-version", &version) ||
	    strcmp(version, "13")) {
		http_response_header(req, "sec-websocket-version", "13");
		reply_error(req, HTTP_STATUS_BAD_REQUEST, "invalid_request",
		    "This endpoint speaks WebSocket (version 13): send a GET "
		    "with Upgrade: websocket.");
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(l->id, sizeof(l->id), "%lld", (long long)l->show_id);
	db_call_init(&l->db, sql_show);
	db_call_param(&l->db, l->id);

	req->fsm_state = LIVE_REQ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

/* Does the show exist. */
static int
live_req_query(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);
	int			r;

	r = db_state(req, &l->db, LIVE_REQ_UPGRADE, reply_db_failed);
	if (r != HTTP_STATE_CONTINUE)
		return (r);

	if (db_rows(&l->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	return (HTTP_STATE_CONTINUE);
}

/* Within the caps: upgrade, then the socket joins the show's watchers. */
static int
live_req_upgrade(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);
	struct peer_ip		client;
	const char		*protocol;

	peer_ip(req, &client);
	peer_ip_aggregate(&client);	/* an IPv6 client is its /64 */
	if (live_sockets() >= (u_int32_t)config.live_max_sockets) {
		http_response_header(req, "retry-after", LIVE_RETRY_AFTER);
		reply_error(req, HTTP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
		    "Too many live seat maps on this server; try again later.");
		return (HTTP_STATE_COMPLETE);
	}
	if (live_address_count(&client) >= config.live_max_per_address) {
		http_response_header(req, "retry-after", LIVE_RETRY_AFTER);
		reply_error(req, 429, "rate_limited",
		    "Too many live seat maps from this address.");
		return (HTTP_STATE_COMPLETE);
	}

	if (http_request_header(req, "sec-websocket-protocol", &protocol) &&
	    !strncmp(protocol, AUTH_WS_PROTOCOL ",",
	    sizeof(AUTH_WS_PROTOCOL ",") - 1))
		http_response_header(req, "sec-websocket-protocol",
		    AUTH_WS_PROTOCOL);
	kore_websocket_handshake(req, NULL, NULL, "live_ws_disconnect");
	if (req->owner->proto == CONN_PROTO_WEBSOCKET)
		live_attach(req->owner, l->show_id, &client,
		    &l->auth.claims);

	return (HTTP_STATE_COMPLETE);
}

static void
live_req_free(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);

	if (l == NULL)
		return;

	auth_cleanup(&l->auth);
	db_call_cleanup(&l->db);
	http_state_cleanup(req);
}
