/*
 * Sessions as a whole: a login (its session id, `sid`) ends at once for
 * every token it issued, when a rotated refresh token is replayed and on
 * logout; an admin's role is checked where it counts; successful logins
 * are limited per account and old refresh tokens are swept; failed logins
 * lock out (email, address) pairs under a higher per-email ceiling, with
 * IPv6 clients counted per /64.
 *
 * Tests with limits run their own server on their own Redis database.
 */
#include <criterion/criterion.h>

#include <jwt.h>

#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tokens.h"
#include "expect.h"

#define PASSWORD	"correct horse battery"
#define WRONG		"wrong horse battery"

static char	*sess_email(const char *);
static struct api_resp	*sess_post(const char *, const char *,
			    const char *, const char *, const char *);
static struct api_resp	*sess_login(const char *, const char *,
			    const char *, const char *);
static struct api_resp	*sess_register(const char *);
static struct api_resp	*sess_refresh(const char *);
static long	sess_me(const char *);
static char	*sess_field(const struct api_resp *, const char *);
static long	sess_status(struct api_resp *);

static char *
sess_email(const char *tag)
{
	static int	n;

	return (api_format("%s.%d.%d.%ld@example.test", tag, (int)getpid(),
	    n++, (long)time(NULL)));
}

/* POST with an optional Bearer token and X-Forwarded-For. */
static struct api_resp *
sess_post(const char *base, const char *path, const char *token,
    const char *body, const char *xff)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[2] = { NULL, NULL };
	struct api_resp		*r;
	char			*h = NULL;

	o.base = base;
	o.token = token;
	if (xff != NULL) {
		h = api_format("X-Forwarded-For: %s", xff);
		hdrs[0] = h;
		o.headers = hdrs;
	}
	r = api_with("POST", path, body, &o);
	free(h);

	return (r);
}

static struct api_resp *
sess_login(const char *base, const char *email, const char *password,
    const char *xff)
{
	struct api_resp	*r;
	char		*b;

	b = api_format("{\"email\": \"%s\", \"password\": \"%s\"}", email,
	    password);
	r = sess_post(base, "/api/auth/login", NULL, b, xff);
	free(b);

	return (r);
}

static struct api_resp *
sess_register(const char *email)
{
	struct api_resp	*r;
	char		*b;

	b = api_format("{\"name\": \"Session\", \"email\": \"%s\", "
	    "\"password\": \"%s\"}", email, PASSWORD);
	r = sess_post(NULL, "/api/auth/register", NULL, b, NULL);
	free(b);
	cr_assert_eq(r->status, 201, "%s", r->body);

	return (r);
}

static struct api_resp *
sess_refresh(const char *refresh)
{
	struct api_resp	*r;
	char		*b;

	b = api_format("{\"refresh_token\": \"%s\"}", refresh);
	r = sess_post(NULL, "/api/auth/refresh", NULL, b, NULL);
	free(b);

	return (r);
}

static long
sess_me(const char *access)
{
	return (sess_status(api_auth("GET", "/api/users/me", access, NULL)));
}

static char *
sess_field(const struct api_resp *r, const char *name)
{
	json_t	*v;

	cr_assert_not_null(r->json, "%s", r->body);
	v = json_object_get(r->json, name);
	cr_assert(json_is_string(v), "%s: %s", name, r->body);

	return (strdup(json_string_value(v)));
}

/* The status, the response freed. */
static long
sess_status(struct api_resp *r)
{
	long	status = r->status;

	api_free(r);
	return (status);
}

/*
 * R0 -> A1/R1 -> A2/R2, then R0 again: every token of that login stops
 * working at once (A0 from registration, A1 and A2), not only the refresh
 * family. Another login of the same user goes on.
 */
Test(sessions, reuse_of_a_rotated_refresh_token_revokes_its_access_tokens)
{
	struct api_resp	*r, *t;
	char		*email, *a0, *r0, *a1, *r1, *a2, *r2, *ao, *ro;

	email = sess_email("reuse");
	r = sess_register(email);
	a0 = sess_field(r, "access_token");
	r0 = sess_field(r, "refresh_token");
	api_free(r);

	t = sess_login(NULL, email, PASSWORD, NULL);
	cr_assert_eq(t->status, 200, "%s", t->body);
	ao = sess_field(t, "access_token");
	ro = sess_field(t, "refresh_token");
	api_free(t);

	t = sess_refresh(r0);
	cr_assert_eq(t->status, 200, "%s", t->body);
	a1 = sess_field(t, "access_token");
	r1 = sess_field(t, "refresh_token");
	api_free(t);
	t = sess_refresh(r1);
	cr_assert_eq(t->status, 200, "%s", t->body);
	a2 = sess_field(t, "access_token");
	r2 = sess_field(t, "refresh_token");
	api_free(t);
	cr_assert_eq(sess_me(a1), 200);
	cr_assert_eq(sess_me(a2), 200);

	cr_assert_eq(sess_status(sess_refresh(r0)), 401);
	cr_assert_eq(sess_me(a0), 401, "the first access token still works");
	cr_assert_eq(sess_me(a1), 401, "a rotated access token still works");
	cr_assert_eq(sess_me(a2), 401, "the newest access token still works");
	cr_assert_eq(sess_status(sess_refresh(r2)), 401);

	cr_assert_eq(sess_me(ao), 200);
	cr_assert_eq(sess_status(sess_refresh(ro)), 200);

	free(email);
	free(a0);
	free(r0);
	free(a1);
	free(r1);
	free(a2);
	free(r2);
	free(ao);
	free(ro);
}

/*
 * Two clients refresh with one token at once: one rotates, the other is
 * a replay, which ends the session, so the winner's new access token is
 * refused too (someone else holds a copy of the session).
 */
Test(sessions, parallel_refreshes_with_one_token_end_the_session)
{
	struct api_resp	*r, *t;
	char		*email, *r0, buf[2][1024];
	int		fds[2][2], i, n, status, ok;
	pid_t		pids[2];
	ssize_t		len;

	email = sess_email("race");
	r = sess_register(email);
	r0 = sess_field(r, "refresh_token");
	api_free(r);

	for (i = 0; i < 2; i++) {
		cr_assert_eq(pipe(fds[i]), 0);
		if ((pids[i] = fork()) == 0) {
			close(fds[i][0]);
			t = sess_refresh(r0);
			if (t->status == 200 && t->json != NULL) {
				const char *a = json_string_value(
				    json_object_get(t->json, "access_token"));
				if (a != NULL)
					(void)write(fds[i][1], a, strlen(a));
			}
			_exit(t->status == 200 ? 0 : t->status == 401 ? 1 : 2);
		}
		cr_assert_gt(pids[i], 0);
		close(fds[i][1]);
	}

	ok = 0;
	n = -1;
	for (i = 0; i < 2; i++) {
		len = read(fds[i][0], buf[i], sizeof(buf[i]) - 1);
		buf[i][len > 0 ? len : 0] = '\0';
		close(fds[i][0]);
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) < 2);
		if (WEXITSTATUS(status) == 0) {
			ok++;
			n = i;
		}
	}
	cr_assert_eq(ok, 1, "%d refreshes succeeded", ok);
	cr_assert_gt(strlen(buf[n]), 0);
	cr_assert_eq(sess_me(buf[n]), 401,
	    "the winner's access token outlives the replay");

	free(email);
	free(r0);
}

/* Logout with the newest access token ends the older ones and the refresh. */
Test(sessions, logout_ends_every_token_of_the_login)
{
	struct api_resp	*r, *t;
	char		*email, *a0, *r0, *a1, *r1;

	email = sess_email("logout");
	r = sess_register(email);
	a0 = sess_field(r, "access_token");
	r0 = sess_field(r, "refresh_token");
	api_free(r);

	t = sess_refresh(r0);
	cr_assert_eq(t->status, 200, "%s", t->body);
	a1 = sess_field(t, "access_token");
	r1 = sess_field(t, "refresh_token");
	api_free(t);

	t = sess_post(NULL, "/api/auth/logout", a1, "", NULL);
	cr_assert_eq(t->status, 204, "%s", t->body);
	api_free(t);

	cr_assert_eq(sess_me(a1), 401);
	cr_assert_eq(sess_me(a0), 401, "an older access token still works");
	cr_assert_eq(sess_status(sess_refresh(r1)), 401,
	    "the login's refresh token still works");

	free(email);
	free(a0);
	free(r0);
	free(a1);
	free(r1);
}

/*
 * Redis down while R0 is replayed: the session's revocation is recorded
 * in PostgreSQL and the workers stop trusting Redis's list until it is
 * refilled, so A1 is refused after Redis is back (empty).
 */
Test(sessions, reuse_while_redis_is_down_still_revokes_the_session)
{
	struct api_resp	*r, *t;
	char		*email, *r0, *a1, *r1;
	long		status;

	email = sess_email("reuse-noredis");
	r = sess_register(email);
	r0 = sess_field(r, "refresh_token");
	api_free(r);
	t = sess_refresh(r0);
	cr_assert_eq(t->status, 200, "%s", t->body);
	a1 = sess_field(t, "access_token");
	r1 = sess_field(t, "refresh_token");
	api_free(t);

	redis_down();
	cr_assert_eq(sess_status(sess_refresh(r0)), 401);
	status = sess_me(a1);
	redis_up();
	cr_assert(status == 401 || status == 503, "%ld", status);

	wait_for(sess_status(api("GET", "/api/health", NULL)) == 200, 10,
	    "health to recover after Redis restarted");
	cr_assert_eq(sess_me(a1), 401);

	free(email);
	free(r0);
	free(a1);
	free(r1);
}

/* A token minted before sessions existed (no sid claim) is refused. */
Test(sessions, access_tokens_without_a_sid_are_refused)
{
	jwt_t		*jwt;
	char		*tok;
	const char	*secret = getenv("JWT_SECRET");
	long long	id;
	time_t		now = time(NULL);

	id = test_user("user");
	cr_assert_eq(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "sub", api_format("%lld", id));
	jwt_add_grant(jwt, "role", "user");
	jwt_add_grant(jwt, "jti", "0123456789abcdef0123456789abcdef");
	jwt_add_grant(jwt, "iss", "booking");
	jwt_add_grant(jwt, "aud", "booking-api");
	jwt_add_grant_int(jwt, "iat", (long)now);
	jwt_add_grant_int(jwt, "exp", (long)now + 600);
	cr_assert_eq(jwt_set_alg(jwt, JWT_ALG_HS256,
	    (const unsigned char *)secret, (int)strlen(secret)), 0);
	tok = jwt_encode_str(jwt);
	cr_assert_not_null(tok);

	cr_assert_eq(sess_me(tok), 401);

	free(tok);
	jwt_free(jwt);
}

/* An admin demoted in the database loses admin routes at once. */
Test(sessions, a_demoted_admin_is_refused_at_once)
{
	struct api_resp	*r;
	char		*email, *access, *uid;
	long		status;

	email = sess_email("demoted");
	r = sess_register(email);
	uid = api_format("%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(r->json, "user"), "id")));
	api_free(r);
	db_exec("UPDATE users SET role = 'admin' WHERE id = $1", uid, NULL);

	r = sess_login(NULL, email, PASSWORD, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	access = sess_field(r, "access_token");
	api_free(r);

	status = sess_status(api_auth("GET", "/api/shows/2000000000/bookings",
	    access, NULL));
	cr_assert_neq(status, 403);
	cr_assert_neq(status, 401);

	db_exec("UPDATE users SET role = 'user' WHERE id = $1", uid, NULL);
	cr_assert_eq(sess_status(api_auth("GET",
	    "/api/shows/2000000000/bookings", access, NULL)), 403);

	free(email);
	free(access);
	free(uid);
}

/*
 * Three successful logins per account and window: the fourth is 429 with
 * Retry-After before any password is verified; another account is not
 * affected. Each login adds a refresh token row, so this bounds them too.
 */
Test(sessions, successful_logins_are_limited_per_account)
{
	struct test_db_server	s;
	struct api_resp		*r;
	char			*email, *other, retry[16];
	int			i;

	test_db_server_start(&s, 13, "LOGIN_MAX_PER_ACCOUNT=3", NULL);
	email = sess_email("many-logins");
	other = sess_email("other-logins");
	api_free(sess_register(email));
	api_free(sess_register(other));

	for (i = 0; i < 3; i++) {
		r = sess_login(s.srv.url, email, PASSWORD, NULL);
		cr_assert_eq(r->status, 200, "login %d: %s", i, r->body);
		api_free(r);
	}
	r = sess_login(s.srv.url, email, PASSWORD, NULL);
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_assert_not_null(api_header(r, "retry-after", retry,
	    sizeof(retry)));
	cr_assert_gt(atol(retry), 0);
	api_free(r);

	cr_assert_eq(sess_status(sess_login(s.srv.url, other, PASSWORD,
	    NULL)), 200);

	test_db_server_stop(&s);
	free(email);
	free(other);
}

/*
 * Eight correct logins for one account at once, three allowed: the count
 * is taken before any hashing in one Redis script, so exactly three get
 * in and the rest are 429.
 */
Test(sessions, parallel_logins_get_at_most_the_per_account_limit)
{
	struct test_db_server	s;
	struct api_resp		*r;
	char			*email;
	pid_t			pids[8];
	int			i, status, in, limited;

	test_db_server_start(&s, 13, "LOGIN_MAX_PER_ACCOUNT=3", NULL);
	email = sess_email("parallel-logins");
	api_free(sess_register(email));

	for (i = 0; i < 8; i++) {
		if ((pids[i] = fork()) == 0) {
			r = sess_login(s.srv.url, email, PASSWORD, NULL);
			_exit(r->status == 200 ? 0 : r->status == 429 ? 1 : 2);
		}
		cr_assert_gt(pids[i], 0);
	}
	in = limited = 0;
	for (i = 0; i < 8; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status));
		in += WEXITSTATUS(status) == 0;
		limited += WEXITSTATUS(status) == 1;
	}
	cr_assert_eq(in, 3, "%d logins got in", in);
	cr_assert_eq(limited, 5);

	test_db_server_stop(&s);
	free(email);
}

/*
 * Each refresh writes a row: two per address and window here, the third
 * is 429 with Retry-After and writes nothing; another /64 goes on.
 */
Test(sessions, refreshes_are_limited_per_address)
{
	struct test_db_server	s;
	struct api_resp		*r;
	char			*email, *tok, *b, *uid, retry[16];
	int			i;

	test_db_server_start(&s, 10, "TRUSTED_PROXIES=127.0.0.0/8",
	    "RATE_LIMIT_REFRESH=2", NULL);
	email = sess_email("refresh-limit");
	r = sess_register(email);
	tok = sess_field(r, "refresh_token");
	uid = api_format("%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(r->json, "user"), "id")));
	api_free(r);

	for (i = 0; i < 3; i++) {
		b = api_format("{\"refresh_token\": \"%s\"}", tok);
		r = sess_post(s.srv.url, "/api/auth/refresh", NULL, b,
		    "2001:db8:5:6::1");
		free(b);
		if (i < 2) {
			cr_assert_eq(r->status, 200, "refresh %d: %s", i,
			    r->body);
			free(tok);
			tok = sess_field(r, "refresh_token");
		} else {
			cr_assert_eq(r->status, 429, "%s", r->body);
			cr_assert_not_null(api_header(r, "retry-after", retry,
			    sizeof(retry)));
		}
		api_free(r);
	}
	cr_assert_eq(db_scalar("SELECT count(*) FROM refresh_tokens"
	    " WHERE user_id = $1", uid, NULL), 3);

	b = api_format("{\"refresh_token\": \"%s\"}", tok);
	r = sess_post(s.srv.url, "/api/auth/refresh", NULL, b,
	    "2001:db8:5:7::1");
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	free(b);

	test_db_server_stop(&s);
	free(email);
	free(tok);
	free(uid);
}

/*
 * Refresh tokens that expired or were revoked more than an hour ago are
 * deleted by the periodic sweep; a live one stays.
 */
Test(sessions, old_refresh_tokens_are_swept)
{
	struct test_db_server	s;
	long long		uid;
	char			*id;

	uid = test_user("user");
	id = api_format("%lld", uid);
	db_exec("INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
	    " SELECT $1, md5(random()::text) || md5(random()::text),"
	    " now() - interval '2 hours' FROM generate_series(1, 3)",
	    id, NULL);
	db_exec("INSERT INTO refresh_tokens (user_id, token_hash, expires_at,"
	    " revoked_at) SELECT $1, md5(random()::text) ||"
	    " md5(random()::text), now() + interval '1 day',"
	    " now() - interval '2 hours' FROM generate_series(1, 2)",
	    id, NULL);
	db_exec("INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
	    " VALUES ($1, md5(random()::text) || md5(random()::text),"
	    " now() + interval '1 day')", id, NULL);
	cr_assert_eq(db_scalar("SELECT count(*) FROM refresh_tokens"
	    " WHERE user_id = $1", id, NULL), 6);

	test_db_server_start(&s, 14, "HOLD_SWEEP_SECONDS=1", NULL);
	wait_for(db_scalar("SELECT count(*) FROM refresh_tokens"
	    " WHERE user_id = $1", id, NULL) == 1, 10,
	    "the old tokens to be swept");
	cr_assert_eq(db_scalar("SELECT count(*) FROM refresh_tokens"
	    " WHERE user_id = $1", id, NULL), 1, "old tokens not swept");
	cr_assert_eq(db_scalar("SELECT count(*) FROM refresh_tokens"
	    " WHERE user_id = $1 AND revoked_at IS NULL AND"
	    " expires_at > now()", id, NULL), 1);

	test_db_server_stop(&s);
	free(id);
}

/*
 * Five wrong passwords from one address lock that (email, address) pair,
 * not the account: the owner, from another address, signs in.
 */
Test(sessions, wrong_passwords_from_one_address_do_not_lock_out_the_owner)
{
	struct test_db_server	s;
	char			*email;
	long			st;
	int			i;

	test_db_server_start(&s, 15, "TRUSTED_PROXIES=127.0.0.0/8", NULL);
	email = sess_email("victim");
	api_free(sess_register(email));

	for (i = 0; i < 5; i++) {
		st = sess_status(sess_login(s.srv.url, email, WRONG,
		    "203.0.113.66"));
		cr_assert_eq(st, 401, "attempt %d: %ld", i, st);
	}
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, WRONG,
	    "203.0.113.66")), 429);
	/* The guesser's pair is locked, right password or not. */
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, PASSWORD,
	    "203.0.113.66")), 429);
	/* X-Forwarded-For spoofed on the left does not reset it. */
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, WRONG,
	    "198.51.100.1, 203.0.113.66")), 429);

	cr_assert_eq(sess_status(sess_login(s.srv.url, email, PASSWORD,
	    "198.51.100.23")), 200, "the owner is locked out");

	test_db_server_stop(&s);
	free(email);
}

/*
 * Past the per-email ceiling, spread over many addresses, even the right
 * password from a fresh address waits: the ceiling bounds guessing.
 */
Test(sessions, the_per_email_ceiling_stops_a_distributed_guesser)
{
	struct test_db_server	s;
	char			*email, *addr;
	long			st;
	int			i;

	test_db_server_start(&s, 12, "TRUSTED_PROXIES=127.0.0.0/8",
	    "LOGIN_MAX_FAILURES=2", "LOGIN_MAX_FAILURES_PER_EMAIL=6", NULL);
	email = sess_email("ceiling");
	api_free(sess_register(email));

	for (i = 0; i < 6; i++) {
		addr = api_format("192.0.2.%d", 10 + i / 2);
		st = sess_status(sess_login(s.srv.url, email, WRONG, addr));
		cr_assert_eq(st, 401, "attempt %d: %ld", i, st);
		free(addr);
	}
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, PASSWORD,
	    "192.0.2.99")), 429);

	test_db_server_stop(&s);
	free(email);
}

/*
 * Per-address limits count an IPv6 client by its /64: addresses that
 * differ only in their last 64 bits share one counter (login failures
 * and registrations); the next /64 is another client.
 */
Test(sessions, ipv6_clients_are_limited_per_64)
{
	struct test_db_server	s;
	char			*email, *addr, *b;
	long			st;
	int			i;

	test_db_server_start(&s, 11, "TRUSTED_PROXIES=127.0.0.0/8",
	    "LOGIN_MAX_FAILURES_PER_ADDRESS=4", "RATE_LIMIT_REGISTRATIONS=2",
	    NULL);

	for (i = 0; i < 4; i++) {
		email = sess_email("v6");
		addr = api_format("2001:db8:7:8:%x::%x", i * 4099, i + 1);
		st = sess_status(sess_login(s.srv.url, email, WRONG, addr));
		cr_assert_eq(st, 401, "attempt %d: %ld", i, st);
		free(addr);
		free(email);
	}
	email = sess_email("v6");
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, WRONG,
	    "2001:db8:7:8:ffff:ffff:ffff:fffe")), 429);
	cr_assert_eq(sess_status(sess_login(s.srv.url, email, WRONG,
	    "2001:db8:7:9::1")), 401);
	free(email);

	for (i = 0; i < 3; i++) {
		email = sess_email("v6reg");
		b = api_format("{\"name\": \"V6\", \"email\": \"%s\", "
		    "\"password\": \"%s\"}", email, PASSWORD);
		addr = api_format("2001:db8:7:a::%x", 100 + i);
		st = sess_status(sess_post(s.srv.url, "/api/auth/register",
		    NULL, b, addr));
		cr_assert_eq(st, i < 2 ? 201 : 429, "registration %d: %ld",
		    i, st);
		free(addr);
		free(b);
		free(email);
	}

	test_db_server_stop(&s);
}
