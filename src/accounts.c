/*
 * accounts: POST /api/auth/register, /login, /refresh, /logout and
 * GET /api/users/me.
 *
 * Register and login answer a session: the user, a JWT access token
 * (token.c) and an opaque refresh token (sessions.c). Every login (and
 * registration) starts a refresh-token family; /refresh rotates the
 * presented token in one statement that marks it used and adds its
 * successor only if it was still live, so two refreshes with one token
 * can never both succeed. A token that was already used is a replay: its
 * whole family is revoked and the answer is 401. Logout revokes the
 * presented refresh token's family and deny-lists the access token's jti
 * in Redis until it would have expired (auth.c reads that list).
 *
 * Passwords are hashed and verified in a Kore task (password.c); a login
 * for an unknown email verifies against a dummy hash, so it costs the
 * same. Every login attempt is charged, before its password is verified,
 * to a counter per client address and one per email, and refunded when it
 * succeeds; registrations are charged per address (throttle.c).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "auth.h"
#include "body.h"
#include "config.h"
#include "db.h"
#include "password.h"
#include "redis.h"
#include "reply.h"
#include "route.h"
#include "sessions.h"
#include "throttle.h"
#include "token.h"

int	accounts_register(struct http_request *);
int	accounts_login(struct http_request *);
int	accounts_refresh(struct http_request *);
int	accounts_logout(struct http_request *);
int	accounts_me(struct http_request *);

/* The select list accounts_user_read() reads, in this order. */
#define ACCOUNTS_USER_COLUMNS						\
	"u.id, u.name, u.email, u.role, to_char(u.created_at AT TIME ZONE " \
	"'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define ACCOUNTS_USER_NCOLUMNS	5

/* A new user and the first refresh token of its first family. */
static const char *sql_register =
    "WITH u AS ("
    "  INSERT INTO users (name, email, password_hash)"
    "  VALUES ($1, $2, $3) RETURNING *"
    "), r AS ("
    "  INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
    "  SELECT id, $4, now() + make_interval(secs => $5::int) FROM u"
    ")"
    " SELECT " ACCOUNTS_USER_COLUMNS " FROM u";

static const char *sql_login_lookup =
    "SELECT " ACCOUNTS_USER_COLUMNS ", u.password_hash"
    " FROM users u WHERE lower(u.email) = lower($1)";

/* A login starts a new family (the column's default). */
static const char *sql_session_new =
    "INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
    " VALUES ($1, $2, now() + make_interval(secs => $3::int))";

/*
 * Rotation: the presented token is live only if unused, unrevoked and
 * unexpired; marking it used and inserting its successor happen in one
 * statement, and a concurrent rotation of the same token re-checks
 * used_at after the row lock, so at most one wins. The loser then finds
 * the token used and revokes the family (sql_refresh_reuse): two clients
 * holding one refresh token is exactly what reuse detection is for.
 */
static const char *sql_refresh_rotate =
    "WITH old AS ("
    "  UPDATE refresh_tokens SET used_at = now()"
    "  WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL"
    "  AND expires_at > now()"
    "  RETURNING user_id, family"
    "), fresh AS ("
    "  INSERT INTO refresh_tokens (user_id, family, token_hash, expires_at)"
    "  SELECT user_id, family, $2, now() + make_interval(secs => $3::int)"
    "  FROM old RETURNING user_id"
    ")"
    " SELECT " ACCOUNTS_USER_COLUMNS
    " FROM fresh JOIN users u ON u.id = fresh.user_id";

/* Reuse of a rotated token: the whole family stops working. */
static const char *sql_refresh_reuse =
    "UPDATE refresh_tokens SET revoked_at = now()"
    " WHERE revoked_at IS NULL AND family = ("
    "  SELECT family FROM refresh_tokens"
    "  WHERE token_hash = $1 AND used_at IS NOT NULL)";

/* Logout: the presented token's family, if it is the caller's. */
/*
 * The access token's jti goes on the record (revoked_tokens, read when
 * Redis cannot answer; auth.c), and the refresh token's family is
 * revoked when one was given ($1 NULL otherwise). Lapsed records go.
 */
static const char *sql_logout_revoke =
    "WITH jti AS (INSERT INTO revoked_tokens (jti, user_id, expires_at)"
    "  VALUES ($3, $2, to_timestamp($4::bigint))"
    "  ON CONFLICT (jti) DO NOTHING),"
    " lapsed AS (DELETE FROM revoked_tokens"
    "  WHERE expires_at < now() - interval '1 hour')"
    " UPDATE refresh_tokens SET revoked_at = now()"
    " WHERE $1::text IS NOT NULL AND revoked_at IS NULL AND family = ("
    "  SELECT family FROM refresh_tokens"
    "  WHERE token_hash = $1 AND user_id = $2)";

static const char *sql_me =
    "SELECT " ACCOUNTS_USER_COLUMNS " FROM users u WHERE u.id = $1";

struct accounts_user {
	int64_t		id;
	int		role;
	char		name[ACCOUNTS_NAME_MAX * 4 + 1];
	char		email[ACCOUNTS_EMAIL_MAX + 1];
	char		created_at[32];
};

struct accounts_req {
	struct auth		auth;
	struct db_call		db;
	struct password_task	pw;
	struct throttle		throttle;
	struct redis_ticket	*deny;
	struct accounts_user	user;
	struct accounts_input	in;
	int			known;
	char			hash[PASSWORD_HASH_MAX];
	char			refresh[SESSIONS_TOKEN_LEN + 1];
	char			refresh_hash[SESSIONS_HASH_LEN + 1];
	char			old_hash[SESSIONS_HASH_LEN + 1];
	char			id[24];
	char			exp[24];
	char			ttl[24];
};

static struct accounts_req	*accounts_req_get(struct http_request *);
static void	accounts_free(struct http_request *);
static int	accounts_body(struct http_request *, int,
		    const char *(*)(struct kore_json *,
		    struct accounts_input *, const char **),
		    struct accounts_input *);
static void	accounts_user_read(const struct db_call *,
		    struct accounts_user *);
static struct kore_json_item	*accounts_user_json(struct kore_json_item *,
				    const char *, const struct accounts_user *);
static void	accounts_reply_session(struct http_request *, int,
		    struct accounts_req *);
static int	accounts_new_refresh(struct http_request *,
		    struct accounts_req *);

static int	accounts_register_start(struct http_request *);
static int	accounts_register_throttle(struct http_request *);
static int	accounts_register_hash(struct http_request *);
static int	accounts_register_insert(struct http_request *);
static int	accounts_register_answer(struct http_request *);

static int	accounts_login_start(struct http_request *);
static int	accounts_login_throttle(struct http_request *);
static int	accounts_login_lookup(struct http_request *);
static int	accounts_login_verify(struct http_request *);
static int	accounts_login_session(struct http_request *);
static int	accounts_login_answer(struct http_request *);

static int	accounts_refresh_start(struct http_request *);
static int	accounts_refresh_rotate(struct http_request *);
static int	accounts_refresh_reuse(struct http_request *);
static int	accounts_refresh_answer(struct http_request *);

static int	accounts_logout_auth(struct http_request *);
static int	accounts_logout_start(struct http_request *);
static int	accounts_logout_revoke(struct http_request *);
static int	accounts_logout_deny(struct http_request *);
static int	accounts_logout_answer(struct http_request *);

static int	accounts_me_auth(struct http_request *);
static int	accounts_me_query(struct http_request *);
static int	accounts_me_answer(struct http_request *);

#define REGISTER_START		0
#define REGISTER_THROTTLE	1
#define REGISTER_HASH		2
#define REGISTER_INSERT		3
#define REGISTER_ANSWER		4

static struct http_state register_states[] = {
	KORE_HTTP_STATE(accounts_register_start),
	KORE_HTTP_STATE(accounts_register_throttle),
	KORE_HTTP_STATE(accounts_register_hash),
	KORE_HTTP_STATE(accounts_register_insert),
	KORE_HTTP_STATE(accounts_register_answer),
};

#define LOGIN_START		0
#define LOGIN_THROTTLE		1
#define LOGIN_LOOKUP		2
#define LOGIN_VERIFY		3
#define LOGIN_SESSION		4
#define LOGIN_ANSWER		5

static struct http_state login_states[] = {
	KORE_HTTP_STATE(accounts_login_start),
	KORE_HTTP_STATE(accounts_login_throttle),
	KORE_HTTP_STATE(accounts_login_lookup),
	KORE_HTTP_STATE(accounts_login_verify),
	KORE_HTTP_STATE(accounts_login_session),
	KORE_HTTP_STATE(accounts_login_answer),
};

#define REFRESH_START		0
#define REFRESH_ROTATE		1
#define REFRESH_REUSE		2
#define REFRESH_ANSWER		3

static struct http_state refresh_states[] = {
	KORE_HTTP_STATE(accounts_refresh_start),
	KORE_HTTP_STATE(accounts_refresh_rotate),
	KORE_HTTP_STATE(accounts_refresh_reuse),
	KORE_HTTP_STATE(accounts_refresh_answer),
};

#define LOGOUT_AUTH		0
#define LOGOUT_START		1
#define LOGOUT_REVOKE		2
#define LOGOUT_DENY		3
#define LOGOUT_ANSWER		4

static struct http_state logout_states[] = {
	KORE_HTTP_STATE(accounts_logout_auth),
	KORE_HTTP_STATE(accounts_logout_start),
	KORE_HTTP_STATE(accounts_logout_revoke),
	KORE_HTTP_STATE(accounts_logout_deny),
	KORE_HTTP_STATE(accounts_logout_answer),
};

#define ME_AUTH			0
#define ME_QUERY		1
#define ME_ANSWER		2

static struct http_state me_states[] = {
	KORE_HTTP_STATE(accounts_me_auth),
	KORE_HTTP_STATE(accounts_me_query),
	KORE_HTTP_STATE(accounts_me_answer),
};

static const struct route_method register_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, register_states),
};

static const struct route_method login_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, login_states),
};

static const struct route_method refresh_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, refresh_states),
};

static const struct route_method logout_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, logout_states),
};

static const struct route_method me_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, me_states),
};

int
accounts_register(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, register_methods));
}

int
accounts_login(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, login_methods));
}

int
accounts_refresh(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, refresh_methods));
}

int
accounts_logout(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, logout_methods));
}

int
accounts_me(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, me_methods));
}

static struct accounts_req *
accounts_req_get(struct http_request *req)
{
	if (!http_state_exists(req))
		return (http_state_create(req, sizeof(struct accounts_req),
		    accounts_free));

	return (http_state_get(req));
}

/*
 * Kore calls this again until no task is pending (see password.c): while
 * the password task runs nothing may be freed.
 */
static void
accounts_free(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (a == NULL)
		return;
	if (!password_release(&a->pw))
		return;

	auth_cleanup(&a->auth);
	db_call_cleanup(&a->db);
	throttle_cleanup(&a->throttle);
	redis_ticket_release(&a->deny);
	OPENSSL_cleanse(&a->in, sizeof(a->in));
	http_state_cleanup(req);
}

/*
 * Simple and strict: printable ASCII without spaces, one '@', a non-empty
 * local part, a domain with a dot that neither starts nor ends with one
 * and has no empty label.
 */
int
accounts_email_valid(const char *email)
{
	const char	*at, *p;
	size_t		len;

	len = strlen(email);
	if (len < 3 || len > ACCOUNTS_EMAIL_MAX)
		return (0);

	for (p = email; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return (0);
	}

	if ((at = strchr(email, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return (0);
	if (at == email || at[1] == '\0')
		return (0);
	if (strchr(at + 1, '.') == NULL || at[1] == '.' ||
	    email[len - 1] == '.' || strstr(at + 1, "..") != NULL)
		return (0);

	return (1);
}

/* 1..100 characters of UTF-8, no control characters. */
int
accounts_name_valid(const char *name)
{
	const unsigned char	*p;
	ssize_t			n;

	n = body_utf8_chars(name);
	if (n < 1 || n > ACCOUNTS_NAME_MAX)
		return (0);
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < ' ' || *p == 0x7f)
			return (0);
	}

	return (1);
}

/* {name, email, password}. */
const char *
accounts_input_register(struct kore_json *json, struct accounts_input *in,
    const char **why)
{
	const char	*name, *email, *password;
	ssize_t		n;

	name = body_string(json, "name");
	email = body_string(json, "email");
	password = body_string(json, "password");

	if (name == NULL || !accounts_name_valid(name)) {
		*why = "name must be a string of 1 to 100 characters.";
		return ("name");
	}
	if (email == NULL || !accounts_email_valid(email)) {
		*why = "email must be a valid email address.";
		return ("email");
	}
	n = password == NULL ? -1 : body_utf8_chars(password);
	if (n < PASSWORD_MIN_CHARS || n > PASSWORD_MAX_CHARS) {
		*why = "password must be a string of 8 to 128 characters.";
		return ("password");
	}

	kore_strlcpy(in->name, name, sizeof(in->name));
	kore_strlcpy(in->email, email, sizeof(in->email));
	kore_strlcpy(in->password, password, sizeof(in->password));
	return (NULL);
}

/* {email, password}; a short but well-formed password is a 401 later. */
const char *
accounts_input_login(struct kore_json *json, struct accounts_input *in,
    const char **why)
{
	const char	*email, *password;
	ssize_t		n;

	email = body_string(json, "email");
	password = body_string(json, "password");

	if (email == NULL || !accounts_email_valid(email)) {
		*why = "email must be a valid email address.";
		return ("email");
	}
	n = password == NULL ? -1 : body_utf8_chars(password);
	if (n < 1 || n > PASSWORD_MAX_CHARS) {
		*why = "password must be a string of 1 to 128 characters.";
		return ("password");
	}

	kore_strlcpy(in->email, email, sizeof(in->email));
	kore_strlcpy(in->password, password, sizeof(in->password));
	return (NULL);
}

/* {refresh_token}; one of the wrong shape leaves in->refresh empty. */
const char *
accounts_input_refresh(struct kore_json *json, struct accounts_input *in,
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
accounts_input_logout(struct kore_json *json, struct accounts_input *in,
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

/*
 * Reads the body (415 and 400 from body_json()) and validates it with
 * `parse`; on KORE_RESULT_ERROR the request has been answered.
 */
static int
accounts_body(struct http_request *req, int optional,
    const char *(*parse)(struct kore_json *, struct accounts_input *,
    const char **), struct accounts_input *in)
{
	struct kore_json	json;
	const char		*field, *why;
	int			ret;

	if ((ret = body_json(req, &json, optional)) == KORE_RESULT_OK &&
	    (field = parse(&json, in, &why)) != NULL) {
		reply_invalid(req, field, why);
		ret = KORE_RESULT_ERROR;
	}

	body_cleanup(&json);
	return (ret);
}

static void
accounts_user_read(const struct db_call *db, struct accounts_user *u)
{
	u->id = db_int(db, 0, 0);
	kore_strlcpy(u->name, db_value(db, 0, 1), sizeof(u->name));
	kore_strlcpy(u->email, db_value(db, 0, 2), sizeof(u->email));
	u->role = token_role_parse(db_value(db, 0, 3));
	kore_strlcpy(u->created_at, db_value(db, 0, 4), sizeof(u->created_at));
}

static struct kore_json_item *
accounts_user_json(struct kore_json_item *parent, const char *name,
    const struct accounts_user *u)
{
	struct kore_json_item	*o;

	o = kore_json_create_object(parent, name);
	kore_json_create_integer(o, "id", (int64_t)u->id);
	kore_json_create_string(o, "name", u->name);
	kore_json_create_string(o, "email", u->email);
	kore_json_create_string(o, "role", token_role_name(u->role));
	kore_json_create_string(o, "created_at", u->created_at);

	return (o);
}

/* {user, access_token, refresh_token, token_type, expires_in}. */
static void
accounts_reply_session(struct http_request *req, int status,
    struct accounts_req *a)
{
	struct token_claims	claims;
	struct kore_json_item	*root;
	char			*jwt;

	req->user_id = a->user.id;	/* for the access log */
	if (token_issue((const unsigned char *)config.jwt_secret,
	    config.jwt_secret_len, a->user.id, a->user.role,
	    config.access_ttl, time(NULL), &claims, &jwt) == -1) {
		kore_log(LOG_ERR, "accounts: cannot issue an access token");
		reply_internal(req);
		return;
	}

	root = kore_json_create_object(NULL, NULL);
	accounts_user_json(root, "user", &a->user);
	kore_json_create_string(root, "access_token", jwt);
	kore_json_create_string(root, "refresh_token", a->refresh);
	kore_json_create_string(root, "token_type", "Bearer");
	kore_json_create_integer(root, "expires_in",
	    (int64_t)config.access_ttl);
	free(jwt);

	reply_json(req, status, root);
	OPENSSL_cleanse(a->refresh, sizeof(a->refresh));
}

/* A fresh refresh token (a->refresh) and its stored form. */
static int
accounts_new_refresh(struct http_request *req, struct accounts_req *a)
{
	if (sessions_new_token(a->refresh, sizeof(a->refresh),
	    a->refresh_hash, sizeof(a->refresh_hash)) == -1) {
		kore_log(LOG_ERR, "accounts: no randomness for a refresh "
		    "token");
		reply_internal(req);
		return (KORE_RESULT_ERROR);
	}

	(void)snprintf(a->ttl, sizeof(a->ttl), "%d", config.refresh_ttl);
	return (KORE_RESULT_OK);
}

/* Validate the body, then charge the registration to the address. */
static int
accounts_register_start(struct http_request *req)
{
	struct accounts_req	*a = accounts_req_get(req);

	if (!accounts_body(req, BODY_REQUIRED, accounts_input_register,
	    &a->in))
		return (HTTP_STATE_COMPLETE);

	throttle_register(req, &a->throttle);
	req->fsm_state = REGISTER_THROTTLE;
	return (HTTP_STATE_CONTINUE);
}

/* Past the limit: 429 with Retry-After. Otherwise hash in a task. */
static int
accounts_register_throttle(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (throttle_limited(req, &a->throttle)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	password_hash(req, &a->pw, a->in.password);
	OPENSSL_cleanse(a->in.password, sizeof(a->in.password));

	req->fsm_state = REGISTER_HASH;
	return (HTTP_STATE_RETRY);
}

/* Sleep until the hash is ready; insert the user and its session. */
static int
accounts_register_hash(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (password_wait(req, &a->pw)) {
	case PASSWORD_PENDING:
		return (HTTP_STATE_RETRY);
	case PASSWORD_FAILED:
		kore_log(LOG_ERR, "accounts: password hashing failed");
		reply_internal(req);
		return (HTTP_STATE_COMPLETE);
	}

	if (!accounts_new_refresh(req, a))
		return (HTTP_STATE_COMPLETE);

	db_call_init(&a->db, sql_register);
	db_call_param(&a->db, a->in.name);
	db_call_param(&a->db, a->in.email);
	db_call_param(&a->db, a->pw.hash);
	db_call_param(&a->db, a->refresh_hash);
	db_call_param(&a->db, a->ttl);

	req->fsm_state = REGISTER_INSERT;
	return (HTTP_STATE_CONTINUE);
}

/* The unique index on lower(email) decides races between registrations. */
static int
accounts_register_insert(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (!db_sqlstate_is(&a->db, DB_UNIQUE_VIOLATION))
			return (reply_db_failed(req, &a->db));
		reply_error(req, HTTP_STATUS_CONFLICT, "email_taken",
		    "An account with this email already exists.");
		return (HTTP_STATE_COMPLETE);
	}

	if (db_rows(&a->db) != 1) {
		reply_internal(req);
		return (HTTP_STATE_COMPLETE);
	}

	accounts_user_read(&a->db, &a->user);
	req->fsm_state = REGISTER_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_register_answer(struct http_request *req)
{
	accounts_reply_session(req, HTTP_STATUS_CREATED, http_state_get(req));
	return (HTTP_STATE_COMPLETE);
}

/* Validate the body, then charge the attempt before any hashing. */
static int
accounts_login_start(struct http_request *req)
{
	struct accounts_req	*a = accounts_req_get(req);

	if (!accounts_body(req, BODY_REQUIRED, accounts_input_login, &a->in))
		return (HTTP_STATE_COMPLETE);

	throttle_login(req, &a->throttle, a->in.email);

	req->fsm_state = LOGIN_THROTTLE;
	return (HTTP_STATE_CONTINUE);
}

/* Past a limit: 429 with Retry-After. Otherwise look the user up. */
static int
accounts_login_throttle(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (throttle_limited(req, &a->throttle)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	db_call_init(&a->db, sql_login_lookup);
	db_call_param(&a->db, a->in.email);

	req->fsm_state = LOGIN_LOOKUP;
	return (HTTP_STATE_CONTINUE);
}

/* Known or not, the password is verified: the same work either way. */
static int
accounts_login_lookup(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (reply_db_failed(req, &a->db));
	}

	a->known = db_rows(&a->db) == 1;
	if (a->known) {
		accounts_user_read(&a->db, &a->user);
		kore_strlcpy(a->hash, db_value(&a->db, 0,
		    ACCOUNTS_USER_NCOLUMNS), sizeof(a->hash));
	}
	db_call_cleanup(&a->db);

	password_verify(req, &a->pw, a->in.password,
	    a->known ? a->hash : NULL);
	OPENSSL_cleanse(a->in.password, sizeof(a->in.password));

	req->fsm_state = LOGIN_VERIFY;
	return (HTTP_STATE_RETRY);
}

/* Sleep until the task has verified; then a session, or a failure. */
static int
accounts_login_verify(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (password_wait(req, &a->pw)) {
	case PASSWORD_PENDING:
		return (HTTP_STATE_RETRY);
	case PASSWORD_FAILED:
		kore_log(LOG_ERR, "accounts: password verification failed");
		reply_internal(req);
		return (HTTP_STATE_COMPLETE);
	}

	/* One answer for every kind of failure; the charge stays. */
	if (!a->known || !a->pw.match) {
		reply_error(req, HTTP_STATUS_UNAUTHORIZED,
		    "invalid_credentials", "The email or password is wrong.");
		return (HTTP_STATE_COMPLETE);
	}

	throttle_refund(req, &a->throttle);

	if (!accounts_new_refresh(req, a))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(a->id, sizeof(a->id), "%lld", (long long)a->user.id);
	db_call_init(&a->db, sql_session_new);
	db_call_param(&a->db, a->id);
	db_call_param(&a->db, a->refresh_hash);
	db_call_param(&a->db, a->ttl);

	req->fsm_state = LOGIN_SESSION;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_login_session(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (reply_db_failed(req, &a->db));
	}

	req->fsm_state = LOGIN_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_login_answer(struct http_request *req)
{
	accounts_reply_session(req, HTTP_STATUS_OK, http_state_get(req));
	return (HTTP_STATE_COMPLETE);
}

/* Validate the body; rotate the presented token into a new one. */
static int
accounts_refresh_start(struct http_request *req)
{
	struct accounts_req	*a = accounts_req_get(req);

	if (!accounts_body(req, BODY_REQUIRED, accounts_input_refresh, &a->in))
		return (HTTP_STATE_COMPLETE);
	if (a->in.refresh[0] == '\0' || sessions_hash(a->in.refresh,
	    a->old_hash, sizeof(a->old_hash)) == -1) {
		auth_unauthorized(req, "The refresh token is not valid.");
		return (HTTP_STATE_COMPLETE);
	}
	if (!accounts_new_refresh(req, a))
		return (HTTP_STATE_COMPLETE);

	db_call_init(&a->db, sql_refresh_rotate);
	db_call_param(&a->db, a->old_hash);
	db_call_param(&a->db, a->refresh_hash);
	db_call_param(&a->db, a->ttl);

	req->fsm_state = REFRESH_ROTATE;
	return (HTTP_STATE_CONTINUE);
}

/* No row: unknown, expired, revoked or reused; reuse revokes its family. */
static int
accounts_refresh_rotate(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (reply_db_failed(req, &a->db));
	}

	if (db_rows(&a->db) == 1) {
		accounts_user_read(&a->db, &a->user);
		req->fsm_state = REFRESH_ANSWER;
		return (HTTP_STATE_CONTINUE);
	}

	db_call_init(&a->db, sql_refresh_reuse);
	db_call_param(&a->db, a->old_hash);

	req->fsm_state = REFRESH_REUSE;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_refresh_reuse(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (db_run(&a->db, req) == DB_PENDING)
		return (HTTP_STATE_RETRY);

	auth_unauthorized(req, "The refresh token is not valid.");
	return (HTTP_STATE_COMPLETE);
}

static int
accounts_refresh_answer(struct http_request *req)
{
	accounts_reply_session(req, HTTP_STATUS_OK, http_state_get(req));
	return (HTTP_STATE_COMPLETE);
}

/* Bearer. */
static int
accounts_logout_auth(struct http_request *req)
{
	struct accounts_req	*a = accounts_req_get(req);

	switch (auth_check(req, &a->auth, AUTH_ROLE_USER)) {
	case AUTH_PENDING:
		return (HTTP_STATE_RETRY);
	case AUTH_DENIED:
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = LOGOUT_START;
	return (HTTP_STATE_CONTINUE);
}

/* The optional body: a refresh token to revoke with its family. */
static int
accounts_logout_start(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (!accounts_body(req, BODY_OPTIONAL, accounts_input_logout, &a->in))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(a->id, sizeof(a->id), "%lld",
	    (long long)a->auth.user_id);
	(void)snprintf(a->exp, sizeof(a->exp), "%lld",
	    (long long)a->auth.claims.exp);
	db_call_init(&a->db, sql_logout_revoke);
	if (a->in.refresh[0] == '\0' || sessions_hash(a->in.refresh,
	    a->old_hash, sizeof(a->old_hash)) == -1)
		db_call_param(&a->db, NULL);
	else
		db_call_param(&a->db, a->old_hash);
	db_call_param(&a->db, a->id);
	db_call_param(&a->db, a->auth.claims.jti);
	db_call_param(&a->db, a->exp);

	req->fsm_state = LOGOUT_REVOKE;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_logout_revoke(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (reply_db_failed(req, &a->db));
	}

	req->fsm_state = LOGOUT_DENY;
	return (HTTP_STATE_CONTINUE);
}

/* The access token's jti on the deny list until it expires anyway. */
static int
accounts_logout_deny(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);
	long long		left;

	left = (long long)(a->auth.claims.exp - time(NULL));
	if (left < 1)
		left = 1;

	if (redis_command(req, &a->deny, "SET " AUTH_DENY_PREFIX "%s 1 EX %lld",
	    a->auth.claims.jti, left) != KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "accounts: logout cannot reach redis");
		auth_deny_lost();
		reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = LOGOUT_ANSWER;
	return (HTTP_STATE_RETRY);
}

/* Without the deny list entry the token would still work: 503. */
static int
accounts_logout_answer(struct http_request *req)
{
	struct accounts_req		*a = http_state_get(req);
	const struct redis_result	*r;

	switch (redis_wait(a->deny)) {
	case REDIS_PENDING:
		return (HTTP_STATE_RETRY);
	case REDIS_READY:
		r = redis_result(a->deny);
		if (r->type == REDIS_REPLY_STATUS) {
			reply_empty(req, HTTP_STATUS_NO_CONTENT);
			return (HTTP_STATE_COMPLETE);
		}
		break;
	}

	kore_log(LOG_NOTICE, "accounts: logout could not deny-list a token");
	auth_deny_lost();
	reply_unavailable(req);
	return (HTTP_STATE_COMPLETE);
}

/* Bearer. */
static int
accounts_me_auth(struct http_request *req)
{
	struct accounts_req	*a = accounts_req_get(req);

	switch (auth_check(req, &a->auth, AUTH_ROLE_USER)) {
	case AUTH_PENDING:
		return (HTTP_STATE_RETRY);
	case AUTH_DENIED:
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(a->id, sizeof(a->id), "%lld",
	    (long long)a->auth.user_id);
	db_call_init(&a->db, sql_me);
	db_call_param(&a->db, a->id);

	req->fsm_state = ME_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
accounts_me_query(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	switch (db_run(&a->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (reply_db_failed(req, &a->db));
	}

	req->fsm_state = ME_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

/* A valid token for a deleted user is no longer a valid token. */
static int
accounts_me_answer(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (db_rows(&a->db) != 1) {
		auth_unauthorized(req, "The account no longer exists.");
		return (HTTP_STATE_COMPLETE);
	}

	accounts_user_read(&a->db, &a->user);
	reply_json(req, HTTP_STATUS_OK,
	    accounts_user_json(NULL, NULL, &a->user));
	return (HTTP_STATE_COMPLETE);
}
