/*
 * accounts: POST /api/auth/register, /login and GET /api/users/me, and
 * the checks of their bodies.
 *
 * Register and login answer a session (sessions.c): the user, a JWT
 * access token and a refresh token that starts a new family.
 *
 * Passwords are hashed and verified in a Kore task (password.c); a login
 * for an unknown email verifies against a dummy hash, so it costs the
 * same. Every login attempt is charged, before its password is verified,
 * to failure counters per (email, address), per address and per email,
 * and to a success counter per account; its outcome settles the charge
 * (throttle.c). Registrations are charged per address.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/crypto.h>

#include <string.h>

#include "accounts.h"
#include "auth.h"
#include "body.h"
#include "db.h"
#include "password.h"
#include "reply.h"
#include "route.h"
#include "sessions.h"
#include "state.h"
#include "throttle.h"
#include "users.h"

int	accounts_register(struct http_request *);
int	accounts_login(struct http_request *);
int	accounts_me(struct http_request *);

/* A new user and the first refresh token of its first family. */
static const char sql_register[] =
    "WITH u AS ("
    "  INSERT INTO users (name, email, password_hash)"
    "  VALUES ($1, $2, $3) RETURNING *"
    "), r AS ("
    "  INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
    "  SELECT id, $4, now() + make_interval(secs => $5::int) FROM u"
    "  RETURNING family"
    ")"
    " SELECT " USERS_COLUMNS ", r.family::text FROM u, r";

/* The user (USERS_COLUMNS, as users_read() reads them), then the sid. */
enum accounts_register_col {
	ACCOUNTS_REGISTER_COL_USER,
	ACCOUNTS_REGISTER_COL_SID = USERS_NCOLUMNS,
};

static const char sql_login_lookup[] =
    "SELECT " USERS_COLUMNS ", u.password_hash"
    " FROM users u WHERE lower(u.email) = lower($1)";

enum accounts_login_col {
	ACCOUNTS_LOGIN_COL_USER,
	ACCOUNTS_LOGIN_COL_PASSWORD_HASH = USERS_NCOLUMNS,
};

/* The user's columns only, read by users_read(). */
static const char sql_me[] =
    "SELECT " USERS_COLUMNS " FROM users u WHERE u.id = $1";

struct accounts_req {
	struct auth		auth;
	struct db_call		db;
	struct password_task	pw;
	struct throttle		throttle;
	struct users_row	user;
	struct accounts_input	in;
	struct sessions_fresh	fresh;
	int			known;
	char			hash[PASSWORD_HASH_MAX];
};

static void	accounts_free(struct http_request *);
static int	accounts_body(struct http_request *, int,
		    const char *(*)(struct kore_json *,
		    struct accounts_input *, const char **),
		    struct accounts_input *);
static int	accounts_register_start(struct http_request *);
static int	accounts_register_throttle(struct http_request *);
static int	accounts_register_hash(struct http_request *);
static int	accounts_register_insert(struct http_request *);
static int	accounts_register_failed(struct http_request *,
		    struct db_call *);
static int	accounts_register_answer(struct http_request *);

static int	accounts_login_start(struct http_request *);
static int	accounts_login_throttle(struct http_request *);
static int	accounts_login_lookup(struct http_request *);
static int	accounts_login_verify(struct http_request *);
static int	accounts_login_verified(struct http_request *);
static int	accounts_login_session(struct http_request *);
static int	accounts_login_answer(struct http_request *);

static int	accounts_me_auth(struct http_request *);
static int	accounts_me_bind(struct http_request *);
static int	accounts_me_query(struct http_request *);
static int	accounts_me_answer(struct http_request *);

enum accounts_register_state {
	ACCOUNTS_REGISTER_START,
	ACCOUNTS_REGISTER_THROTTLE,
	ACCOUNTS_REGISTER_HASH,
	ACCOUNTS_REGISTER_INSERT,
	ACCOUNTS_REGISTER_ANSWER,
};

static struct http_state accounts_register_states[] = {
	[ACCOUNTS_REGISTER_START] = KORE_HTTP_STATE(accounts_register_start),
	[ACCOUNTS_REGISTER_THROTTLE] =
	    KORE_HTTP_STATE(accounts_register_throttle),
	[ACCOUNTS_REGISTER_HASH] = KORE_HTTP_STATE(accounts_register_hash),
	[ACCOUNTS_REGISTER_INSERT] = KORE_HTTP_STATE(accounts_register_insert),
	[ACCOUNTS_REGISTER_ANSWER] = KORE_HTTP_STATE(accounts_register_answer),
};

enum accounts_login_state {
	ACCOUNTS_LOGIN_START,
	ACCOUNTS_LOGIN_THROTTLE,
	ACCOUNTS_LOGIN_LOOKUP,
	ACCOUNTS_LOGIN_VERIFY,
	ACCOUNTS_LOGIN_VERIFIED,
	ACCOUNTS_LOGIN_SESSION,
	ACCOUNTS_LOGIN_ANSWER,
};

static struct http_state accounts_login_states[] = {
	[ACCOUNTS_LOGIN_START] = KORE_HTTP_STATE(accounts_login_start),
	[ACCOUNTS_LOGIN_THROTTLE] = KORE_HTTP_STATE(accounts_login_throttle),
	[ACCOUNTS_LOGIN_LOOKUP] = KORE_HTTP_STATE(accounts_login_lookup),
	[ACCOUNTS_LOGIN_VERIFY] = KORE_HTTP_STATE(accounts_login_verify),
	[ACCOUNTS_LOGIN_VERIFIED] = KORE_HTTP_STATE(accounts_login_verified),
	[ACCOUNTS_LOGIN_SESSION] = KORE_HTTP_STATE(accounts_login_session),
	[ACCOUNTS_LOGIN_ANSWER] = KORE_HTTP_STATE(accounts_login_answer),
};

enum accounts_me_state {
	ACCOUNTS_ME_AUTH,
	ACCOUNTS_ME_BIND,
	ACCOUNTS_ME_QUERY,
	ACCOUNTS_ME_ANSWER,
};

static struct http_state accounts_me_states[] = {
	[ACCOUNTS_ME_AUTH] = KORE_HTTP_STATE(accounts_me_auth),
	[ACCOUNTS_ME_BIND] = KORE_HTTP_STATE(accounts_me_bind),
	[ACCOUNTS_ME_QUERY] = KORE_HTTP_STATE(accounts_me_query),
	[ACCOUNTS_ME_ANSWER] = KORE_HTTP_STATE(accounts_me_answer),
};

static const struct route_method register_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, accounts_register_states),
};

static const struct route_method login_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, accounts_login_states),
};

static const struct route_method me_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, accounts_me_states),
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
accounts_me(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, me_methods));
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
	OPENSSL_cleanse(&a->in, sizeof(a->in));
	OPENSSL_cleanse(&a->fresh, sizeof(a->fresh));
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

/* Validate the body, then charge the registration to the address. */
static int
accounts_register_start(struct http_request *req)
{
	struct accounts_req	*a;

	a = state_req(req, sizeof(*a), accounts_free);
	if (!accounts_body(req, BODY_REQUIRED, accounts_input_register,
	    &a->in))
		return (HTTP_STATE_COMPLETE);

	throttle_register(req, &a->throttle);
	return (state_next(req, ACCOUNTS_REGISTER_THROTTLE));
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

	return (state_next(req, ACCOUNTS_REGISTER_HASH));
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

	if (!sessions_fresh(req, &a->fresh))
		return (HTTP_STATE_COMPLETE);

	db_call_init(&a->db, sql_register);
	db_call_param(&a->db, a->in.name);
	db_call_param(&a->db, a->in.email);
	db_call_param(&a->db, a->pw.hash);
	db_call_param(&a->db, a->fresh.hash);
	db_call_param(&a->db, a->fresh.ttl);

	return (state_next(req, ACCOUNTS_REGISTER_INSERT));
}

/* The unique index on lower(email) decides races between registrations. */
static int
accounts_register_failed(struct http_request *req, struct db_call *db)
{
	if (!db_sqlstate_is(db, DB_UNIQUE_VIOLATION))
		return (reply_db_failed(req, db));

	reply_error(req, HTTP_STATUS_CONFLICT, "email_taken",
	    "An account with this email already exists.");
	return (HTTP_STATE_COMPLETE);
}

/* Insert the user and its first refresh token in one statement. */
static int
accounts_register_insert(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	return (db_state(req, &a->db, ACCOUNTS_REGISTER_ANSWER,
	    accounts_register_failed));
}

/* 201: the new user and its session. */
static int
accounts_register_answer(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (db_rows(&a->db) != 1 || !sessions_read_sid(&a->db,
	    ACCOUNTS_REGISTER_COL_SID, &a->fresh)) {
		reply_internal(req);
		return (HTTP_STATE_COMPLETE);
	}

	users_read(&a->db, &a->user);
	sessions_reply(req, HTTP_STATUS_CREATED, &a->user, &a->fresh);
	return (HTTP_STATE_COMPLETE);
}

/* Validate the body, then charge the attempt before any hashing. */
static int
accounts_login_start(struct http_request *req)
{
	struct accounts_req	*a;

	a = state_req(req, sizeof(*a), accounts_free);
	if (!accounts_body(req, BODY_REQUIRED, accounts_input_login, &a->in))
		return (HTTP_STATE_COMPLETE);

	throttle_login(req, &a->throttle, a->in.email);
	return (state_next(req, ACCOUNTS_LOGIN_THROTTLE));
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

	return (state_next(req, ACCOUNTS_LOGIN_LOOKUP));
}

/* The account with that email, if any. */
static int
accounts_login_lookup(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	return (db_state(req, &a->db, ACCOUNTS_LOGIN_VERIFY, reply_db_failed));
}

/* Known or not, the password is verified: the same work either way. */
static int
accounts_login_verify(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	a->known = db_rows(&a->db) == 1;
	if (a->known) {
		users_read(&a->db, &a->user);
		kore_strlcpy(a->hash, db_value(&a->db, 0,
		    ACCOUNTS_LOGIN_COL_PASSWORD_HASH), sizeof(a->hash));
	}
	db_call_cleanup(&a->db);

	password_verify(req, &a->pw, a->in.password,
	    a->known ? a->hash : NULL);
	OPENSSL_cleanse(a->in.password, sizeof(a->in.password));

	return (state_next(req, ACCOUNTS_LOGIN_VERIFIED));
}

/* Sleep until the task has verified; then a session, or a failure. */
static int
accounts_login_verified(struct http_request *req)
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

	/* One answer for every kind of failure; it counts as a failure. */
	if (!a->known || !a->pw.match) {
		throttle_settle(req, &a->throttle, 0);
		reply_error(req, HTTP_STATUS_UNAUTHORIZED,
		    "invalid_credentials", "The email or password is wrong.");
		return (HTTP_STATE_COMPLETE);
	}

	throttle_settle(req, &a->throttle, 1);

	if (!sessions_fresh(req, &a->fresh))
		return (HTTP_STATE_COMPLETE);

	sessions_bind_new(&a->db, a->user.id, &a->fresh);
	return (state_next(req, ACCOUNTS_LOGIN_SESSION));
}

/* A new session (refresh-token family) for the user. */
static int
accounts_login_session(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	return (db_state(req, &a->db, ACCOUNTS_LOGIN_ANSWER, reply_db_failed));
}

/* 200: the user and its new session. */
static int
accounts_login_answer(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	if (!sessions_read_new(&a->db, &a->fresh)) {
		reply_internal(req);
		return (HTTP_STATE_COMPLETE);
	}

	sessions_reply(req, HTTP_STATUS_OK, &a->user, &a->fresh);
	return (HTTP_STATE_COMPLETE);
}

/* Bearer. */
static int
accounts_me_auth(struct http_request *req)
{
	struct accounts_req	*a;

	a = state_req(req, sizeof(*a), accounts_free);
	return (auth_state(req, auth_check(req, &a->auth, AUTH_ROLE_USER),
	    ACCOUNTS_ME_BIND));
}

/* The caller's row, by the token's user id. */
static int
accounts_me_bind(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	db_call_init(&a->db, sql_me);
	(void)db_call_param_int(&a->db, a->auth.user_id);

	return (state_next(req, ACCOUNTS_ME_QUERY));
}

/* Read it. */
static int
accounts_me_query(struct http_request *req)
{
	struct accounts_req	*a = http_state_get(req);

	return (db_state(req, &a->db, ACCOUNTS_ME_ANSWER, reply_db_failed));
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

	users_read(&a->db, &a->user);
	reply_json(req, HTTP_STATUS_OK,
	    users_json(NULL, NULL, &a->user));
	return (HTTP_STATE_COMPLETE);
}
