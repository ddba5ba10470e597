/*
 * sessions: refresh tokens, and the endpoints that use them:
 * POST /api/auth/refresh and /logout, and the session answer register
 * and login (accounts.c) give.
 *
 * A session answer is the user, a JWT access token (token.c) and an
 * opaque refresh token. Every login (and registration) starts a session:
 * a refresh-token family, whose uuid is the session id (`sid`) every
 * access token of that login carries, the ones refreshes give included.
 * /refresh rotates the presented token in one statement that marks it
 * used and adds its successor only if it was still live, so two
 * refreshes with one token can never both succeed.
 *
 * A session ends as a whole. A token that was already used is a replay:
 * its family is revoked and its sid deny-listed, so every access token
 * of that login stops working at once, and the answer is 401. Logout does
 * the same for the caller's session (a refresh token it is given that
 * belongs to another login of the caller's has its family revoked: that
 * login can no longer refresh, and its access tokens lapse). The
 * sid goes on the record (revoked_tokens, migration 012) and the Redis
 * deny list (auth.c reads both) until every access token it covers has
 * expired: ACCESS_TOKEN_TTL_SECONDS from now. A replay whose sid cannot
 * be written to Redis makes the instance distrust the Redis list until
 * refilled from PostgreSQL (auth_deny_lost()); a logout that cannot
 * answers 503 as well, so the client knows to retry.
 *
 * A refresh token is 32 random bytes, base64url without padding (43
 * characters), shown to the client once. Only its SHA-256 in hex is
 * stored (refresh_tokens.token_hash), so a database dump holds nothing a
 * client could present; the token has 256 bits of entropy, so an unsalted
 * fast hash is enough. Expired and long-revoked rows are deleted by the
 * sweep (sweep.c, refresh_sweep() in migration 012).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "body.h"
#include "config.h"
#include "db.h"
#include "redis.h"
#include "reply.h"
#include "route.h"
#include "sessions.h"
#include "state.h"
#include "throttle.h"
#include "token.h"
#include "users.h"

int	sessions_refresh(struct http_request *);
int	sessions_logout(struct http_request *);

/* A login starts a new family (the column's default): the sid. */
static const char sql_session_new[] =
    "INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
    " VALUES ($1, $2, now() + make_interval(secs => $3::int))"
    " RETURNING family::text";

enum sessions_new_col {
	SESSIONS_NEW_COL_SID,
};

/*
 * Rotation: the presented token is live only if unused, unrevoked and
 * unexpired; marking it used and inserting its successor happen in one
 * statement, and a concurrent rotation of the same token re-checks
 * used_at after the row lock, so at most one wins. The loser then finds
 * the token used and revokes the family (sql_refresh_reuse): two clients
 * holding one refresh token is exactly what reuse detection is for.
 */
static const char sql_refresh_rotate[] =
    "WITH old AS ("
    "  UPDATE refresh_tokens SET used_at = now()"
    "  WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL"
    "  AND expires_at > now()"
    "  RETURNING user_id, family"
    "), fresh AS ("
    "  INSERT INTO refresh_tokens (user_id, family, token_hash, expires_at)"
    "  SELECT user_id, family, $2, now() + make_interval(secs => $3::int)"
    "  FROM old RETURNING user_id, family"
    ")"
    " SELECT " USERS_COLUMNS ", fresh.family::text"
    " FROM fresh JOIN users u ON u.id = fresh.user_id";

/* The user (USERS_COLUMNS, as users_read() reads them), then the sid. */
enum sessions_rotate_col {
	SESSIONS_ROTATE_COL_USER,
	SESSIONS_ROTATE_COL_SID = USERS_NCOLUMNS,
};

/*
 * Reuse of a rotated token: the whole session stops working. The family
 * is revoked and its sid recorded for $2 seconds (the access tokens'
 * lifetime); a replay of a replay records it again. One row, the sid,
 * when the token was a used one; none when it is unknown.
 */
static const char sql_refresh_reuse[] =
    "WITH fam AS ("
    "  SELECT family, user_id FROM refresh_tokens"
    "  WHERE token_hash = $1 AND used_at IS NOT NULL"
    "), revoke AS ("
    "  UPDATE refresh_tokens SET revoked_at = now()"
    "  WHERE revoked_at IS NULL AND family = (SELECT family FROM fam)"
    "), deny AS ("
    "  INSERT INTO revoked_tokens (jti, user_id, expires_at)"
    "  SELECT family::text, user_id, now() + make_interval(secs => $2::int)"
    "  FROM fam ON CONFLICT (jti) DO UPDATE"
    "  SET expires_at = greatest(revoked_tokens.expires_at,"
    "  EXCLUDED.expires_at)"
    ")"
    " SELECT family::text FROM fam";

enum sessions_reuse_col {
	SESSIONS_REUSE_COL_SID,
};

/*
 * Logout: the caller's session ($3, its sid) goes on the record for $4
 * seconds and its family is revoked, as is the family of the refresh
 * token given ($1, NULL if none) when it is the caller's.
 */
static const char sql_logout_revoke[] =
    "WITH deny AS (INSERT INTO revoked_tokens (jti, user_id, expires_at)"
    "  VALUES ($3, $2, now() + make_interval(secs => $4::int))"
    "  ON CONFLICT (jti) DO UPDATE"
    "  SET expires_at = greatest(revoked_tokens.expires_at,"
    "  EXCLUDED.expires_at))"
    " UPDATE refresh_tokens SET revoked_at = now()"
    " WHERE revoked_at IS NULL AND user_id = $2 AND (family = $3::uuid"
    "  OR family = (SELECT family FROM refresh_tokens"
    "  WHERE $1::text IS NOT NULL AND token_hash = $1 AND user_id = $2))";

struct sessions_req {
	struct auth		auth;
	struct db_call		db;
	struct redis_ticket	*deny;
	struct throttle		throttle;
	struct users_row	user;
	struct sessions_input	in;
	struct sessions_fresh	fresh;
	char			old_hash[SESSIONS_HASH_LEN + 1];
	char			sid[TOKEN_SID_LEN + 1];	/* being revoked */
	long long		deny_ttl;
};

static void	sessions_free(struct http_request *);
static int	sessions_body(struct http_request *, int,
		    const char *(*)(struct kore_json *,
		    struct sessions_input *, const char **),
		    struct sessions_req *);

static int	sessions_refresh_start(struct http_request *);
static int	sessions_refresh_throttle(struct http_request *);
static int	sessions_refresh_rotate(struct http_request *);
static int	sessions_refresh_rotated(struct http_request *);
static int	sessions_refresh_reuse(struct http_request *);
static int	sessions_refresh_replayed(struct http_request *);
static int	sessions_refresh_deny(struct http_request *);
static int	sessions_refresh_answer(struct http_request *);
static int	sessions_deny_sid(struct http_request *, struct sessions_req *);
static int	sessions_deny_wait(struct sessions_req *);

static int	sessions_logout_auth(struct http_request *);
static int	sessions_logout_start(struct http_request *);
static int	sessions_logout_revoke(struct http_request *);
static int	sessions_logout_deny(struct http_request *);
static int	sessions_logout_answer(struct http_request *);

/*
 * A refresh: rotate the token; only when that finds no live token, look
 * for a replay (reuse) and deny-list its session. A rotation jumps to the
 * answer.
 */
enum sessions_refresh_state {
	SESSIONS_REFRESH_START,
	SESSIONS_REFRESH_THROTTLE,
	SESSIONS_REFRESH_ROTATE,
	SESSIONS_REFRESH_ROTATED,
	SESSIONS_REFRESH_REUSE,
	SESSIONS_REFRESH_REPLAYED,
	SESSIONS_REFRESH_DENY,
	SESSIONS_REFRESH_ANSWER,
};

static struct http_state sessions_refresh_states[] = {
	[SESSIONS_REFRESH_START] = KORE_HTTP_STATE(sessions_refresh_start),
	[SESSIONS_REFRESH_THROTTLE] =
	    KORE_HTTP_STATE(sessions_refresh_throttle),
	[SESSIONS_REFRESH_ROTATE] = KORE_HTTP_STATE(sessions_refresh_rotate),
	[SESSIONS_REFRESH_ROTATED] =
	    KORE_HTTP_STATE(sessions_refresh_rotated),
	[SESSIONS_REFRESH_REUSE] = KORE_HTTP_STATE(sessions_refresh_reuse),
	[SESSIONS_REFRESH_REPLAYED] =
	    KORE_HTTP_STATE(sessions_refresh_replayed),
	[SESSIONS_REFRESH_DENY] = KORE_HTTP_STATE(sessions_refresh_deny),
	[SESSIONS_REFRESH_ANSWER] = KORE_HTTP_STATE(sessions_refresh_answer),
};

enum sessions_logout_state {
	SESSIONS_LOGOUT_AUTH,
	SESSIONS_LOGOUT_START,
	SESSIONS_LOGOUT_REVOKE,
	SESSIONS_LOGOUT_DENY,
	SESSIONS_LOGOUT_ANSWER,
};

static struct http_state sessions_logout_states[] = {
	[SESSIONS_LOGOUT_AUTH] = KORE_HTTP_STATE(sessions_logout_auth),
	[SESSIONS_LOGOUT_START] = KORE_HTTP_STATE(sessions_logout_start),
	[SESSIONS_LOGOUT_REVOKE] = KORE_HTTP_STATE(sessions_logout_revoke),
	[SESSIONS_LOGOUT_DENY] = KORE_HTTP_STATE(sessions_logout_deny),
	[SESSIONS_LOGOUT_ANSWER] = KORE_HTTP_STATE(sessions_logout_answer),
};

static const struct route_method refresh_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, sessions_refresh_states),
};

static const struct route_method logout_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, sessions_logout_states),
};

static const char	sessions_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A new token and its hash, both NUL-terminated. */
int
sessions_new_token(char *token, size_t tlen, char *hash, size_t hlen)
{
	u_int8_t	raw[SESSIONS_TOKEN_BYTES + 1];
	u_int32_t	v;
	size_t		i, o;

	if (tlen <= SESSIONS_TOKEN_LEN)
		return (-1);

	memset(raw, 0, sizeof(raw));
	if (RAND_bytes(raw, SESSIONS_TOKEN_BYTES) != 1)
		return (-1);

	/* 32 bytes: ten groups of three, then two bytes (three chars). */
	o = 0;
	for (i = 0; i < SESSIONS_TOKEN_BYTES; i += 3) {
		v = (u_int32_t)raw[i] << 16 | (u_int32_t)raw[i + 1] << 8;
		if (i + 2 < SESSIONS_TOKEN_BYTES)
			v |= raw[i + 2];
		token[o++] = sessions_b64[(v >> 18) & 0x3f];
		token[o++] = sessions_b64[(v >> 12) & 0x3f];
		token[o++] = sessions_b64[(v >> 6) & 0x3f];
		if (i + 2 < SESSIONS_TOKEN_BYTES)
			token[o++] = sessions_b64[v & 0x3f];
	}
	token[o] = '\0';

	return (sessions_hash(token, hash, hlen));
}

/* Hex SHA-256 of a token as presented. */
int
sessions_hash(const char *token, char *hash, size_t hlen)
{
	u_int8_t	digest[SHA256_DIGEST_LENGTH];
	size_t		i;

	if (hlen <= SESSIONS_HASH_LEN)
		return (-1);

	if (SHA256((const u_int8_t *)token, strlen(token), digest) == NULL)
		return (-1);
	for (i = 0; i < sizeof(digest); i++)
		(void)snprintf(hash + i * 2, 3, "%02x", digest[i]);

	return (0);
}

/* Shape check before any lookup: 43 base64url characters. */
int
sessions_token_valid(const char *token)
{
	size_t		i;

	if (strlen(token) != SESSIONS_TOKEN_LEN)
		return (0);
	for (i = 0; i < SESSIONS_TOKEN_LEN; i++) {
		if (strchr(sessions_b64, token[i]) == NULL)
			return (0);
	}

	return (1);
}

int
sessions_refresh(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, refresh_methods));
}

int
sessions_logout(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, logout_methods));
}

/* A fresh refresh token and its stored form; 500 answered on failure. */
int
sessions_fresh(struct http_request *req, struct sessions_fresh *f)
{
	if (sessions_new_token(f->token, sizeof(f->token), f->hash,
	    sizeof(f->hash)) == -1) {
		kore_log(LOG_ERR, "sessions: no randomness for a refresh "
		    "token");
		reply_internal(req);
		return (KORE_RESULT_ERROR);
	}

	(void)snprintf(f->ttl, sizeof(f->ttl), "%d", config.refresh_ttl);
	return (KORE_RESULT_OK);
}

/*
 * The session id a statement returned in column `col` of its one row;
 * KORE_RESULT_ERROR (logged) when it is not there.
 */
int
sessions_read_sid(const struct db_call *db, int col,
    struct sessions_fresh *f)
{
	const char	*sid;

	sid = db_rows(db) == 1 ? db_value(db, 0, col) : NULL;
	if (!token_sid_valid(sid)) {
		kore_log(LOG_ERR, "sessions: no session id for a new session");
		return (KORE_RESULT_ERROR);
	}

	kore_strlcpy(f->sid, sid, sizeof(f->sid));
	return (KORE_RESULT_OK);
}

/* The session id sessions_bind_new()'s statement started. */
int
sessions_read_new(const struct db_call *db, struct sessions_fresh *f)
{
	return (sessions_read_sid(db, SESSIONS_NEW_COL_SID, f));
}

/* The statement that starts a new family for a user with a fresh token. */
void
sessions_bind_new(struct db_call *db, int64_t user_id,
    const struct sessions_fresh *f)
{
	db_call_init(db, sql_session_new);
	(void)db_call_param_int(db, user_id);
	db_call_param(db, f->hash);
	db_call_param(db, f->ttl);
}

/* {user, access_token, refresh_token, token_type, expires_in}. */
void
sessions_reply(struct http_request *req, int status,
    const struct users_row *user, struct sessions_fresh *fresh)
{
	struct token_claims	claims;
	struct kore_json_item	*root;
	char			*jwt;

	req->user_id = user->id;	/* for the access log */
	if (token_issue((const unsigned char *)config.jwt_secret,
	    config.jwt_secret_len, user->id, user->role, fresh->sid,
	    config.access_ttl, time(NULL), &claims, &jwt) == -1) {
		kore_log(LOG_ERR, "sessions: cannot issue an access token");
		reply_internal(req);
		return;
	}

	root = kore_json_create_object(NULL, NULL);
	users_json(root, "user", user);
	kore_json_create_string(root, "access_token", jwt);
	kore_json_create_string(root, "refresh_token", fresh->token);
	kore_json_create_string(root, "token_type", "Bearer");
	kore_json_create_integer(root, "expires_in",
	    (int64_t)config.access_ttl);
	free(jwt);

	reply_json(req, status, root);
	OPENSSL_cleanse(fresh->token, sizeof(fresh->token));
}

/* {refresh_token}; one of the wrong shape leaves in->refresh empty. */
const char *
sessions_input_refresh(struct kore_json *json, struct sessions_input *in,
    const char **why)
{
	const char	*token;

	in->refresh[0] = '\0';
	if ((token = body_string(json, "refresh_token")) == NULL) {
		*why = "refresh_token must be a string.";
		return ("refresh_token");
	}
	if (sessions_token_valid(token))
		kore_strlcpy(in->refresh, token, sizeof(in->refresh));

	return (NULL);
}

/* An optional body with an optional {refresh_token} (null allowed). */
const char *
sessions_input_logout(struct kore_json *json, struct sessions_input *in,
    const char **why)
{
	struct kore_json_item	*item;

	in->refresh[0] = '\0';
	if ((item = body_member(json->root, "refresh_token")) == NULL)
		return (NULL);

	if (item->type == KORE_JSON_TYPE_STRING) {
		if (sessions_token_valid(item->data.string))
			kore_strlcpy(in->refresh, item->data.string,
			    sizeof(in->refresh));
		return (NULL);
	}
	if (item->type == KORE_JSON_TYPE_LITERAL &&
	    item->data.literal == KORE_JSON_NULL)
		return (NULL);

	*why = "refresh_token must be a string.";
	return ("refresh_token");
}

static void
sessions_free(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	if (s == NULL)
		return;

	auth_cleanup(&s->auth);
	db_call_cleanup(&s->db);
	redis_ticket_release(&s->deny);
	throttle_cleanup(&s->throttle);
	OPENSSL_cleanse(&s->in, sizeof(s->in));
	OPENSSL_cleanse(&s->fresh, sizeof(s->fresh));
	http_state_cleanup(req);
}

/*
 * Reads the body (415 and 400 from body_json()) and validates it with
 * `parse`; on KORE_RESULT_ERROR the request has been answered.
 */
static int
sessions_body(struct http_request *req, int optional,
    const char *(*parse)(struct kore_json *, struct sessions_input *,
    const char **), struct sessions_req *s)
{
	struct kore_json	json;
	const char		*field, *why;
	int			ret;

	if ((ret = body_json(req, &json, optional)) == KORE_RESULT_OK &&
	    (field = parse(&json, &s->in, &why)) != NULL) {
		reply_invalid(req, field, why);
		ret = KORE_RESULT_ERROR;
	}

	body_cleanup(&json);
	return (ret);
}

/*
 * Validate the body; charge the refresh to the client address (each adds
 * a row, kept until it expires: RATE_LIMIT_REFRESH bounds how fast).
 */
static int
sessions_refresh_start(struct http_request *req)
{
	struct sessions_req	*s;

	s = state_req(req, sizeof(*s), sessions_free);
	if (!sessions_body(req, BODY_REQUIRED, sessions_input_refresh, s))
		return (HTTP_STATE_COMPLETE);

	throttle_refresh(req, &s->throttle);
	return (state_next(req, SESSIONS_REFRESH_THROTTLE));
}

/* Past the limit: 429. Otherwise rotate the token into a new one. */
static int
sessions_refresh_throttle(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	switch (throttle_limited(req, &s->throttle)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	if (s->in.refresh[0] == '\0' || sessions_hash(s->in.refresh,
	    s->old_hash, sizeof(s->old_hash)) == -1) {
		auth_unauthorized(req, "The refresh token is not valid.");
		return (HTTP_STATE_COMPLETE);
	}
	if (!sessions_fresh(req, &s->fresh))
		return (HTTP_STATE_COMPLETE);

	db_call_init(&s->db, sql_refresh_rotate);
	db_call_param(&s->db, s->old_hash);
	db_call_param(&s->db, s->fresh.hash);
	db_call_param(&s->db, s->fresh.ttl);

	return (state_next(req, SESSIONS_REFRESH_ROTATE));
}

/* Mark the token used and add its successor, if it was live. */
static int
sessions_refresh_rotate(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	return (db_state(req, &s->db, SESSIONS_REFRESH_ROTATED,
	    reply_db_failed));
}

/*
 * Rotated: on to the answer. No row: unknown, expired, revoked or
 * reused; reuse revokes its family.
 */
static int
sessions_refresh_rotated(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	if (db_rows(&s->db) == 1) {
		users_read(&s->db, &s->user);
		if (!sessions_read_sid(&s->db, SESSIONS_ROTATE_COL_SID,
		    &s->fresh)) {
			reply_internal(req);
			return (HTTP_STATE_COMPLETE);
		}
		return (state_next(req, SESSIONS_REFRESH_ANSWER));
	}

	s->deny_ttl = config.access_ttl;
	db_call_init(&s->db, sql_refresh_reuse);
	db_call_param(&s->db, s->old_hash);
	(void)db_call_param_int(&s->db, s->deny_ttl);

	return (state_next(req, SESSIONS_REFRESH_REUSE));
}

/* Revoke the family of a used token, if it was one. */
static int
sessions_refresh_reuse(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	return (db_state(req, &s->db, SESSIONS_REFRESH_REPLAYED,
	    reply_db_failed));
}

/* A replay: its session's sid to the deny list; unknown tokens: 401. */
static int
sessions_refresh_replayed(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);
	const char		*sid;

	sid = db_rows(&s->db) == 1 ?
	    db_value(&s->db, 0, SESSIONS_REUSE_COL_SID) : NULL;
	if (!token_sid_valid(sid)) {
		auth_unauthorized(req, "The refresh token is not valid.");
		return (HTTP_STATE_COMPLETE);
	}

	kore_strlcpy(s->sid, sid, sizeof(s->sid));
	kore_log(LOG_NOTICE, "sessions: refresh token replayed, session %s "
	    "revoked", s->sid);
	if (!sessions_deny_sid(req, s)) {
		auth_deny_lost();
		auth_unauthorized(req, "The refresh token is not valid.");
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, SESSIONS_REFRESH_DENY));
}

/* Recorded either way; a lost Redis write only changes who is asked. */
static int
sessions_refresh_deny(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	switch (sessions_deny_wait(s)) {
	case REDIS_PENDING:
		return (HTTP_STATE_RETRY);
	case REDIS_READY:
		break;
	default:
		kore_log(LOG_NOTICE, "sessions: could not deny-list a "
		    "replayed session");
		auth_deny_lost();
		break;
	}

	auth_unauthorized(req, "The refresh token is not valid.");
	return (HTTP_STATE_COMPLETE);
}

/* SET deny:jti:<sid> for s->deny_ttl seconds; 0 when it was not sent. */
static int
sessions_deny_sid(struct http_request *req, struct sessions_req *s)
{
	if (s->deny_ttl < 1)
		s->deny_ttl = 1;

	return (redis_command(req, &s->deny, "SET " AUTH_DENY_PREFIX
	    "%s 1 EX %lld", s->sid, s->deny_ttl) == KORE_RESULT_OK);
}

/* REDIS_PENDING, REDIS_READY when Redis stored it, else REDIS_FAILED. */
static int
sessions_deny_wait(struct sessions_req *s)
{
	const struct redis_result	*r;

	switch (redis_wait(s->deny)) {
	case REDIS_PENDING:
		return (REDIS_PENDING);
	case REDIS_READY:
		r = redis_result(s->deny);
		if (r->type == REDIS_REPLY_STATUS)
			return (REDIS_READY);
		break;
	}

	return (REDIS_FAILED);
}

/* The user, a new access token and the new refresh token. */
static int
sessions_refresh_answer(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	sessions_reply(req, HTTP_STATUS_OK, &s->user, &s->fresh);
	return (HTTP_STATE_COMPLETE);
}

/* Bearer. */
static int
sessions_logout_auth(struct http_request *req)
{
	struct sessions_req	*s;

	s = state_req(req, sizeof(*s), sessions_free);
	return (auth_state(req, auth_check(req, &s->auth, AUTH_ROLE_USER),
	    SESSIONS_LOGOUT_START));
}

/* The optional body: a refresh token to revoke with its family. */
static int
sessions_logout_start(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);
	long long		left;

	if (!sessions_body(req, BODY_OPTIONAL, sessions_input_logout, s))
		return (HTTP_STATE_COMPLETE);

	/* Every access token of the session lapses within access_ttl. */
	kore_strlcpy(s->sid, s->auth.claims.sid, sizeof(s->sid));
	left = (long long)(s->auth.claims.exp - time(NULL));
	s->deny_ttl = left > config.access_ttl ? left : config.access_ttl;

	db_call_init(&s->db, sql_logout_revoke);
	if (s->in.refresh[0] == '\0' || sessions_hash(s->in.refresh,
	    s->old_hash, sizeof(s->old_hash)) == -1)
		db_call_param(&s->db, NULL);
	else
		db_call_param(&s->db, s->old_hash);
	(void)db_call_param_int(&s->db, s->auth.user_id);
	db_call_param(&s->db, s->sid);
	(void)db_call_param_int(&s->db, s->deny_ttl);

	return (state_next(req, SESSIONS_LOGOUT_REVOKE));
}

/* Revoke the session's family (and the given token's) on the record. */
static int
sessions_logout_revoke(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	return (db_state(req, &s->db, SESSIONS_LOGOUT_DENY, reply_db_failed));
}

/* The session's sid on the deny list until its tokens expire anyway. */
static int
sessions_logout_deny(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	if (!sessions_deny_sid(req, s)) {
		kore_log(LOG_NOTICE, "sessions: logout cannot reach redis");
		auth_deny_lost();
		reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, SESSIONS_LOGOUT_ANSWER));
}

/* Without the deny list entry the tokens would still work: 503. */
static int
sessions_logout_answer(struct http_request *req)
{
	struct sessions_req	*s = http_state_get(req);

	switch (sessions_deny_wait(s)) {
	case REDIS_PENDING:
		return (HTTP_STATE_RETRY);
	case REDIS_READY:
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
		return (HTTP_STATE_COMPLETE);
	}

	kore_log(LOG_NOTICE, "sessions: logout could not deny-list a session");
	auth_deny_lost();
	reply_unavailable(req);
	return (HTTP_STATE_COMPLETE);
}
