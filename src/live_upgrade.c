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
#include "state.h"

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

static int	live_upgrade_auth(struct http_request *);
static int	live_upgrade_parse(struct http_request *);
static int	live_upgrade_query(struct http_request *);
static int	live_upgrade_found(struct http_request *);
static int	live_upgrade_answer(struct http_request *);
static void	live_upgrade_free(struct http_request *);

enum live_upgrade_state {
	LIVE_UPGRADE_AUTH,
	LIVE_UPGRADE_PARSE,
	LIVE_UPGRADE_QUERY,
	LIVE_UPGRADE_FOUND,
	LIVE_UPGRADE_ANSWER,
};

static struct http_state live_upgrade_states[] = {
	[LIVE_UPGRADE_AUTH] = KORE_HTTP_STATE(live_upgrade_auth),
	[LIVE_UPGRADE_PARSE] = KORE_HTTP_STATE(live_upgrade_parse),
	[LIVE_UPGRADE_QUERY] = KORE_HTTP_STATE(live_upgrade_query),
	[LIVE_UPGRADE_FOUND] = KORE_HTTP_STATE(live_upgrade_found),
	[LIVE_UPGRADE_ANSWER] = KORE_HTTP_STATE(live_upgrade_answer),
};

static const struct route_method live_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, live_upgrade_states),
};

int
live_seats(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, live_methods));
}

/* Who is asking: any signed-in user (the contract's Bearer). */
static int
live_upgrade_auth(struct http_request *req)
{
	struct live_req		*l;

	l = state_req(req, sizeof(*l), live_upgrade_free);

	return (auth_state(req, auth_check(req, &l->auth, AUTH_ROLE_USER),
	    LIVE_UPGRADE_PARSE));
}

/* A WebSocket upgrade for a show id; 400 for anything else. */
static int
live_upgrade_parse(struct http_request *req)
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

	return (state_next(req, LIVE_UPGRADE_QUERY));
}

/* Look the show up. */
static int
live_upgrade_query(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);

	return (db_state(req, &l->db, LIVE_UPGRADE_FOUND, reply_db_failed));
}

/* An unknown show is a 404, before any cap is counted. */
static int
live_upgrade_found(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);

	if (db_rows(&l->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, LIVE_UPGRADE_ANSWER));
}

/* Within the caps: upgrade, then the socket joins the show's watchers. */
static int
live_upgrade_answer(struct http_request *req)
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
live_upgrade_free(struct http_request *req)
{
	struct live_req		*l = http_state_get(req);

	if (l == NULL)
		return;

	auth_cleanup(&l->auth);
	db_call_cleanup(&l->db);
	http_state_cleanup(req);
}
