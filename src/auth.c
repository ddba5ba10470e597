/*
 * auth: the one place protected routes are guarded.
 *
 * A Bearer access token is verified (token.c: HS256 pinned, issuer,
 * audience, expiry, a session id) and then looked up in the Redis deny
 * list by its jti and by its session's sid (AUTH_DENY_PREFIX + either,
 * expiring with the tokens it covers): logout and a replayed refresh
 * token (sessions.c) revoke a whole session by its sid. The lookups
 * are asynchronous, so auth_check() is written to be called from a
 * request state until it returns something other than AUTH_PENDING.
 *
 * A token that says "admin" is only as good as the account's role now:
 * its role is read from PostgreSQL (one primary-key lookup, for admins
 * only), so a demotion, or a deleted account, takes effect at the next
 * request rather than when the token expires. A promotion takes effect
 * at the next refresh, which reads the role afresh.
 *
 * Revocation never fails open. Revocations are also recorded in
 * PostgreSQL (revoked_tokens, migrations 008 and 012), the record of
 * truth. The
 * Redis list is trusted only while AUTH_DENY_COMPLETE exists: it is set
 * after the list was filled from PostgreSQL, so a Redis that restarted
 * empty says "unknown". When Redis is down, stalled, gives a reply that
 * is not an integer, or says "unknown", the token is checked in
 * PostgreSQL; after "unknown" that same query returns every live
 * revocation and the list is refilled (fire and forget). If neither can
 * answer, the request is 503.
 *
 * A revocation (logout, or a replayed refresh token: a session's sid)
 * that could not be written to Redis (stalled or down) is in PostgreSQL
 * only, and a Redis that comes back with its keys still says "complete".
 * So such a revocation tells every worker of the instance
 * (auth_deny_lost(), a Kore message), and each then asks PostgreSQL for
 * every token until it has refilled the list from PostgreSQL and Redis
 * confirmed the marker, which the refill writes last.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "redis.h"
#include "reply.h"
#include "state.h"
#include "token.h"

#define AUTH_STATE_NEW		0
#define AUTH_STATE_DENYLIST	1
#define AUTH_STATE_RECORD	2
#define AUTH_STATE_REFILL	3
#define AUTH_STATE_ROLE		4
#define AUTH_STATE_DONE		5

/* Kore message to every worker: a logout could not write Redis. */
#define AUTH_MSG_DENY_LOST	(KORE_MSG_APP_BASE + 1)

/* Set once the Redis deny list holds every live revocation. */
#define AUTH_DENY_COMPLETE	"deny:complete"

/* The deny list's answers (AUTH_LUA_CHECK). */
#define AUTH_DENY_NO		0
#define AUTH_DENY_YES		1
#define AUTH_DENY_UNKNOWN	2

/* KEYS: the token's jti key, the marker, the session's sid key. */
static const char *auth_lua_check =
    "if redis.call('EXISTS', KEYS[1]) == 1 or"
    " redis.call('EXISTS', KEYS[3]) == 1 then return 1 end"
    " if redis.call('EXISTS', KEYS[2]) == 0 then return 2 end return 0";

/*
 * Rows: jti or sid, seconds left. Only this token's rows ($1 its jti, $3
 * its sid), or ($2) every live revocation, to refill the Redis list.
 */
static const char *sql_revoked =
    "SELECT jti, greatest(1, ceil(extract(epoch FROM"
    "  expires_at - now())))::bigint"
    " FROM revoked_tokens"
    " WHERE expires_at > now() AND ($2::boolean OR jti = $1 OR jti = $3)";

enum auth_revoked_col {
	AUTH_REVOKED_COL_JTI,
	AUTH_REVOKED_COL_SECONDS,
};

/* The account's role now, for a token that claims admin. */
static const char *sql_role =
    "SELECT role FROM users WHERE id = $1";

enum auth_role_col {
	AUTH_ROLE_COL_ROLE,
};

static int	auth_record_start(struct http_request *, struct auth *, int,
		    int);
static int	auth_record_answer(struct http_request *, struct auth *);
static int	auth_record_verdict(struct http_request *, struct auth *);
static int	auth_refill(const struct db_call *, struct http_request *,
		    struct redis_ticket **);
static void	auth_msg_deny_lost(struct kore_msg *, const void *);
static int	auth_finish(struct http_request *, struct auth *, int);
static int	auth_role_answer(struct http_request *, struct auth *);

/* A refill from this worker is under way: others ask about their jti. */
static int	auth_refilling = 0;

/*
 * Logouts that could not write Redis, as this worker heard of them, and
 * how many of them a refill confirmed by Redis covers: while the two
 * differ the Redis list may lack a revocation.
 */
static u_int32_t	auth_deny_lost_n = 0;
static u_int32_t	auth_deny_settled_n = 0;

void
auth_unauthorized(struct http_request *req, const char *message)
{
	http_response_header(req, "www-authenticate",
	    "Bearer realm=\"booking\", error=\"invalid_token\"");
	reply_error(req, HTTP_STATUS_UNAUTHORIZED, "unauthorized", message);
}

/* Not revoked. An admin's role is checked against the account first. */
static int
auth_finish(struct http_request *req, struct auth *a, int min_role)
{
	if (a->claims.role == AUTH_ROLE_ADMIN && a->state != AUTH_STATE_ROLE) {
		a->state = AUTH_STATE_ROLE;
		a->min_role = min_role;
		db_call_init(&a->db, sql_role);
		(void)db_call_param_int(&a->db, a->user_id);
		return (auth_role_answer(req, a));
	}

	a->state = AUTH_STATE_DONE;
	req->user_id = a->user_id;	/* for the access log */
	if (a->role < min_role) {
		reply_error(req, HTTP_STATUS_FORBIDDEN, "forbidden",
		    "This needs a role you do not have.");
		return (AUTH_DENIED);
	}

	return (AUTH_OK);
}

int
auth_check(struct http_request *req, struct auth *a, int min_role)
{
	const struct redis_result	*r;
	const char			*header;
	int				ret;

	switch (a->state) {
	case AUTH_STATE_NEW:
		break;
	case AUTH_STATE_DENYLIST:
		switch (redis_wait(a->deny)) {
		case REDIS_PENDING:
			return (AUTH_PENDING);
		case REDIS_READY:
			r = redis_result(a->deny);
			if (r->type != REDIS_REPLY_INTEGER) {
				kore_log(LOG_NOTICE, "auth: deny list gave a "
				    "reply of type %d%s%s", r->type,
				    r->str != NULL ? ": " : "",
				    r->str != NULL ? r->str : "");
				return (auth_record_start(req, a, 0, min_role));
			}
			if (r->integer == AUTH_DENY_YES) {
				a->state = AUTH_STATE_DONE;
				auth_unauthorized(req,
				    "This token has been revoked.");
				return (AUTH_DENIED);
			}
			if (r->integer == AUTH_DENY_UNKNOWN)
				return (auth_record_start(req, a,
				    !auth_refilling, min_role));
			break;
		default:
			kore_log(LOG_NOTICE, "auth: deny list unavailable, "
			    "checking the database");
			return (auth_record_start(req, a, 0, min_role));
		}
		return (auth_finish(req, a, min_role));
	case AUTH_STATE_RECORD:
		return (auth_record_answer(req, a));
	case AUTH_STATE_ROLE:
		return (auth_role_answer(req, a));
	case AUTH_STATE_REFILL:
		/* Redis confirms the refill; PostgreSQL's answer stands. */
		if (redis_wait(a->deny) == REDIS_PENDING)
			return (AUTH_PENDING);
		r = redis_result(a->deny);
		if (r != NULL && r->type == REDIS_REPLY_STATUS &&
		    a->deny_lost == auth_deny_lost_n &&
		    auth_deny_settled_n != auth_deny_lost_n) {
			auth_deny_settled_n = a->deny_lost;
			kore_log(LOG_NOTICE, "auth: deny list refilled after a "
			    "lost logout; trusting Redis again");
		}
		return (auth_record_verdict(req, a));
	default:
		fatal("auth_check: called after it finished");
	}

	if ((header = auth_bearer(req)) == NULL) {
		a->state = AUTH_STATE_DONE;
		auth_unauthorized(req, "A Bearer access token is required.");
		return (AUTH_DENIED);
	}

	ret = token_verify((const unsigned char *)config.jwt_secret,
	    config.jwt_secret_len, header, time(NULL), &a->claims);
	if (ret != TOKEN_OK) {
		a->state = AUTH_STATE_DONE;
		auth_unauthorized(req, ret == TOKEN_EXPIRED ?
		    "The access token has expired." :
		    "The access token is not valid.");
		return (AUTH_DENIED);
	}

	a->user_id = a->claims.sub;
	a->role = a->claims.role;

	if (auth_deny_lost_n != auth_deny_settled_n)
		return (auth_record_start(req, a, !auth_refilling, min_role));

	if (redis_command(req, &a->deny, "EVAL %s 3 " AUTH_DENY_PREFIX "%s "
	    AUTH_DENY_COMPLETE " " AUTH_DENY_PREFIX "%s", auth_lua_check,
	    a->claims.jti, a->claims.sid) != KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "auth: deny list unavailable, checking "
		    "the database");
		return (auth_record_start(req, a, 0, min_role));
	}

	a->state = AUTH_STATE_DENYLIST;
	return (AUTH_PENDING);
}

/*
 * For public routes that personalise their answer: no Authorization
 * header is an anonymous caller (user_id 0, AUTH_OK); a header is checked
 * exactly like auth_check(), so a bad token is still a 401.
 */
/*
 * The access token of the request: Authorization: Bearer <token>, or, on
 * a WebSocket upgrade only (a browser cannot set Authorization there),
 * the subprotocols "bearer, <token>" (live_upgrade.c answers "bearer").
 */
const char *
auth_bearer(struct http_request *req)
{
	const char	*header;

	if (http_request_header(req, "authorization", &header)) {
		if (strncasecmp(header, "Bearer ", 7))
			return (NULL);
		return (header + 7);
	}
	if (!http_request_header(req, "upgrade", &header) ||
	    strcasecmp(header, "websocket") ||
	    !http_request_header(req, "sec-websocket-protocol", &header) ||
	    strncmp(header, AUTH_WS_PROTOCOL ", ",
	    sizeof(AUTH_WS_PROTOCOL ", ") - 1))
		return (NULL);
	return (header + sizeof(AUTH_WS_PROTOCOL ", ") - 1);
}

int
auth_optional(struct http_request *req, struct auth *a)
{
	const char	*header;

	if (a->state == AUTH_STATE_NEW &&
	    !http_request_header(req, "authorization", &header)) {
		a->state = AUTH_STATE_DONE;
		a->user_id = 0;
		a->role = 0;
		return (AUTH_OK);
	}

	return (auth_check(req, a, AUTH_ROLE_USER));
}

/* Ask PostgreSQL about the token (and, to refill, about every one). */
static int
auth_record_start(struct http_request *req, struct auth *a, int refill,
    int min_role)
{
	a->state = AUTH_STATE_RECORD;
	a->refill = refill;
	a->min_role = min_role;
	a->deny_lost = auth_deny_lost_n;
	if (refill)
		auth_refilling = 1;
	db_call_init(&a->db, sql_revoked);
	db_call_param(&a->db, a->claims.jti);
	db_call_param(&a->db, refill ? "true" : "false");
	db_call_param(&a->db, a->claims.sid);

	return (auth_record_answer(req, a));
}

static int
auth_record_answer(struct http_request *req, struct auth *a)
{
	int		confirm;

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (AUTH_PENDING);
	case DB_FAILED:
		a->state = AUTH_STATE_DONE;
		if (a->refill)
			auth_refilling = a->refill = 0;
		kore_log(LOG_NOTICE, "auth: revocation unknown (no Redis, no "
		    "database); refusing to guess");
		reply_unavailable(req);
		return (AUTH_DENIED);
	}

	if (a->refill) {
		auth_refilling = a->refill = 0;
		/* After a lost logout, wait for Redis to confirm. */
		redis_ticket_release(&a->deny);
		confirm = a->deny_lost != auth_deny_settled_n;
		if (auth_refill(&a->db, confirm ? req : NULL, &a->deny) &&
		    confirm) {
			a->state = AUTH_STATE_REFILL;
			return (AUTH_PENDING);
		}
	}

	return (auth_record_verdict(req, a));
}

/* PostgreSQL's rows (this token's, or every live one) decide. */
static int
auth_record_verdict(struct http_request *req, struct auth *a)
{
	const char	*revoked;
	int		i;

	for (i = 0; i < db_rows(&a->db); i++) {
		revoked = db_value(&a->db, i, AUTH_REVOKED_COL_JTI);
		if (!strcmp(revoked, a->claims.jti) ||
		    !strcmp(revoked, a->claims.sid)) {
			a->state = AUTH_STATE_DONE;
			auth_unauthorized(req, "This token has been revoked.");
			return (AUTH_DENIED);
		}
	}

	return (auth_finish(req, a, a->min_role));
}

/* The role of an account whose token says admin decides, or its absence. */
static int
auth_role_answer(struct http_request *req, struct auth *a)
{
	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (AUTH_PENDING);
	case DB_FAILED:
		a->state = AUTH_STATE_DONE;
		kore_log(LOG_NOTICE, "auth: cannot read an admin's role");
		reply_unavailable(req);
		return (AUTH_DENIED);
	}

	if (db_rows(&a->db) != 1) {
		a->state = AUTH_STATE_DONE;
		auth_unauthorized(req, "The account no longer exists.");
		return (AUTH_DENIED);
	}

	a->role = token_role_parse(db_value(&a->db, 0, AUTH_ROLE_COL_ROLE));
	db_call_cleanup(&a->db);
	return (auth_finish(req, a, a->min_role));
}

/*
 * Redis lost its deny list (it says "unknown"), or may lack a lost
 * logout's revocation: put back every live revocation, then mark the
 * list complete. Fire and forget, but for the marker when req is set:
 * its ticket is then *marker, bound to req. Returns 1 when every command
 * was sent.
 */
static int
auth_refill(const struct db_call *call, struct http_request *req,
    struct redis_ticket **marker)
{
	struct redis_ticket	*t;
	const char		*argv[5];
	size_t			argvlen[5];
	char			key[sizeof(AUTH_DENY_PREFIX) + 80];
	int			i, j, n;

	n = db_rows(call);
	for (i = 0; i <= n; i++) {
		argv[0] = "SET";
		if (i < n) {
			(void)snprintf(key, sizeof(key), "%s%s",
			    AUTH_DENY_PREFIX,
			    db_value(call, i, AUTH_REVOKED_COL_JTI));
			argv[1] = key;
			argv[2] = "1";
			argv[3] = "EX";
			argv[4] = db_value(call, i, AUTH_REVOKED_COL_SECONDS);
		} else {
			argv[1] = AUTH_DENY_COMPLETE;
			argv[2] = "1";
		}
		for (j = 0; j < (i < n ? 5 : 3); j++)
			argvlen[j] = strlen(argv[j]);
		if (i == n && req != NULL) {
			if (redis_commandargv(req, marker, 3, argv,
			    argvlen) != KORE_RESULT_OK)
				return (0);
			break;
		}
		if (redis_commandargv(NULL, &t, i < n ? 5 : 3, argv,
		    argvlen) != KORE_RESULT_OK)
			return (0);
		redis_ticket_release(&t);
	}

	kore_log(LOG_NOTICE, "auth: refilled the deny list (%d)", n);
	return (1);
}

/* In every worker: hear of logouts that could not write Redis. */
void
auth_worker_init(void)
{
	if (!kore_msg_register(AUTH_MSG_DENY_LOST, auth_msg_deny_lost))
		fatal("auth: cannot register a message type");
}

/*
 * A logout recorded its revocation in PostgreSQL but not in Redis: from
 * now on every worker of this instance distrusts the Redis list until it
 * has refilled it (the sender hears its own message too).
 */
void
auth_deny_lost(void)
{
	auth_deny_lost_n++;
	kore_msg_send(KORE_MSG_WORKER_ALL, AUTH_MSG_DENY_LOST, NULL, 0);
}

static void
auth_msg_deny_lost(struct kore_msg *msg, const void *data)
{
	auth_deny_lost_n++;
}

/*
 * At start-up, in the parent: fill the Redis deny list from PostgreSQL
 * and mark it complete, so workers do not all start by asking the
 * database. Best effort: without it they refill on their own.
 */
void
auth_denylist_prime(void)
{
	PGconn		*db;
	PGresult	*res;
	redisContext	*rc;
	redisReply	*reply;
	struct timeval	tv = { 2, 0 };
	char		host[256], password[256];
	int		port, dbn, i, n;

	if (redis_url_parse(config.redis_url, host, sizeof(host), &port, &dbn,
	    password, sizeof(password)) != KORE_RESULT_OK)
		return;

	db = PQconnectdb(config.database_url);
	if (PQstatus(db) != CONNECTION_OK) {
		PQfinish(db);
		return;
	}
	res = PQexecParams(db, sql_revoked, 3, NULL,
	    (const char *[]){ "", "true", "" }, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto done;

	if ((rc = redisConnectWithTimeout(host, port, tv)) == NULL)
		goto done;
	if (rc->err)
		goto out;
	(void)redisSetTimeout(rc, tv);
	if (password[0] != '\0' && (reply = redisCommand(rc, "AUTH %s",
	    password)) != NULL)
		freeReplyObject(reply);
	if (dbn != 0 && (reply = redisCommand(rc, "SELECT %d", dbn)) != NULL)
		freeReplyObject(reply);

	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		reply = redisCommand(rc, "SET " AUTH_DENY_PREFIX "%s 1 EX %s",
		    PQgetvalue(res, i, AUTH_REVOKED_COL_JTI),
		    PQgetvalue(res, i, AUTH_REVOKED_COL_SECONDS));
		if (reply == NULL)
			goto out;
		freeReplyObject(reply);
	}
	if ((reply = redisCommand(rc, "SET " AUTH_DENY_COMPLETE " 1")) != NULL)
		freeReplyObject(reply);

out:
	redisFree(rc);
done:
	PQclear(res);
	PQfinish(db);
}

void
auth_cleanup(struct auth *a)
{
	if (a->refill)
		auth_refilling = a->refill = 0;
	db_call_cleanup(&a->db);
	redis_ticket_release(&a->deny);
}

int
auth_state(struct http_request *req, int outcome, int next)
{
	switch (outcome) {
	case AUTH_PENDING:
		return (HTTP_STATE_RETRY);
	case AUTH_DENIED:
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, next));
}
