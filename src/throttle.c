/*
 * throttle: fixed-window limits in Redis.
 *
 * A request is charged to one or two counters (THROTTLE_KEYS_MAX), each
 * with its own limit and window; the window starts at the counter's first
 * charge. throttle_take_lua checks every counter and, only when all are
 * below their limits, charges them all: one script, so it is atomic in
 * Redis and one round trip. Many requests racing for the last slot get at
 * most the limit between them; the others are told how long to wait (the
 * longest remaining window), which the caller answers as 429 rate_limited
 * with Retry-After.
 *
 * Logins are charged before the password is verified, to four counters
 * (throttle_login()): failures per (email, address) pair
 * (LOGIN_MAX_FAILURES), per address (LOGIN_MAX_FAILURES_PER_ADDRESS) and
 * per email (LOGIN_MAX_FAILURES_PER_EMAIL, a much higher ceiling), and
 * successes per account (LOGIN_MAX_PER_ACCOUNT, by email, which is
 * unique). When the password is checked the charge is settled
 * (throttle_settle()): a success gives back the three failure charges, a
 * failure the success charge, so each counter holds its kind of attempt
 * plus those in flight. Someone guessing a victim's password from a few
 * addresses locks out those pairs, not the victim, who signs in from
 * anywhere else until the email's ceiling; the ceiling bounds what a
 * guesser with many addresses gets, and with the per-account limit bounds
 * the password hashing one account can cost in a window. Registrations,
 * refreshes, public catalog reads and Stripe's webhook events (before
 * their signature is checked) are charged per address; holds, bookings
 * and payment calls per user.
 * Addresses are counted as peer_limit_address() gives them: an IPv6
 * client by its /64.
 *
 * Limits are a defence, not a dependency: when Redis cannot answer, the
 * request goes ahead and a line is logged.
 *
 * A per-user charge may carry a guard key (throttle_user_unless()): the
 * script charges nothing when that key exists. Bookings pass the token's
 * deny-list key and send the charge right behind auth.c's deny-list
 * lookup, so both travel in one round trip and a revoked token (refused
 * by auth_check() a moment later) is not charged to its user.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "peer.h"
#include "redis.h"
#include "reply.h"
#include "state.h"
#include "throttle.h"

#define THROTTLE_PREFIX		"throttle:"
#define THROTTLE_STATUS		429

/*
 * KEYS: the counters, then the guard key if ARGV[1] is 1; ARGV[2..]:
 * limit and window of each counter, in pairs. Answers 0 when charged (or
 * when the guard key exists: nothing charged), else the seconds until the
 * fullest counter's window ends.
 */
static const char *throttle_take_lua =
    "local n = #KEYS - tonumber(ARGV[1])\n"
    "if n < #KEYS and redis.call('EXISTS', KEYS[#KEYS]) == 1 then\n"
    "  return 0\n"
    "end\n"
    "local wait = 0\n"
    "for i = 1, n do\n"
    "  local c = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if c >= tonumber(ARGV[2 * i]) then\n"
    "    local t = redis.call('TTL', KEYS[i])\n"
    "    if t < 0 then\n"
    "      redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 1])\n"
    "      t = tonumber(ARGV[2 * i + 1])\n"
    "    end\n"
    "    if t < 1 then t = 1 end\n"
    "    if t > wait then wait = t end\n"
    "  end\n"
    "end\n"
    "if wait > 0 then return wait end\n"
    "for i = 1, n do\n"
    "  if redis.call('INCR', KEYS[i]) == 1 or"
    " redis.call('TTL', KEYS[i]) < 0 then\n"
    "    redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 1])\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* KEYS: counters charged by throttle_take_lua; gives one charge back. */
static const char *throttle_refund_lua =
    "for i = 1, #KEYS do\n"
    "  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then\n"
    "    redis.call('DECR', KEYS[i])\n"
    "  end\n"
    "end\n"
    "return 0\n";

static void	throttle_key(struct throttle *, int, int, const char *, ...)
		    __attribute__((format (printf, 4, 5)));
static int	throttle_eval(struct http_request *, struct throttle *,
		    const char *, int, int);
static void	throttle_take(struct http_request *, struct throttle *);
static void	throttle_address(struct http_request *, struct throttle *,
		    int, int, const char *);

static void
throttle_key(struct throttle *t, int limit, int window, const char *fmt, ...)
{
	va_list		args;
	int		n;

	if (t->count == THROTTLE_KEYS_MAX)
		fatal("throttle: too many counters");

	va_start(args, fmt);
	n = vsnprintf(t->keys[t->count], sizeof(t->keys[0]), fmt, args);
	va_end(args);
	if (n < 0 || (size_t)n >= sizeof(t->keys[0]))
		fatal("throttle: key too long");

	(void)snprintf(t->limits[t->count], sizeof(t->limits[0]), "%d", limit);
	(void)snprintf(t->windows[t->count], sizeof(t->windows[0]), "%d",
	    window);
	t->count++;
}

/*
 * Runs script over the counters: with_args, all of them with their limits
 * (a charge); otherwise only those counting `kind` (a refund).
 */
static int
throttle_eval(struct http_request *req, struct throttle *t,
    const char *script, int with_args, int kind)
{
	const char	*argv[5 + THROTTLE_KEYS_MAX * 3];
	char		nkeys[16];
	int		argc, guard, i;

	redis_ticket_release(&t->ticket);
	guard = with_args && t->guard[0] != '\0';

	argc = 0;
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = nkeys;
	for (i = 0; i < t->count; i++) {
		if (with_args || t->counts[i] == kind)
			argv[argc++] = t->keys[i];
	}
	if (argc == 3)
		return (KORE_RESULT_ERROR);
	(void)snprintf(nkeys, sizeof(nkeys), "%d", argc - 3 + guard);
	if (guard)
		argv[argc++] = t->guard;
	if (with_args)
		argv[argc++] = guard ? "1" : "0";
	for (i = 0; with_args && i < t->count; i++) {
		argv[argc++] = t->limits[i];
		argv[argc++] = t->windows[i];
	}

	if (redis_commandargv(req, &t->ticket, argc, argv, NULL) !=
	    KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "throttle: redis unavailable, %s not "
		    "limited", t->keys[0]);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

static void
throttle_take(struct http_request *req, struct throttle *t)
{
	(void)throttle_eval(req, t, throttle_take_lua, 1, 0);
}

/* Charges one request to the client address's counter `what`. */
static void
throttle_address(struct http_request *req, struct throttle *t, int limit,
    int window, const char *what)
{
	char		addr[PEER_LIMIT_ADDR_MAX];

	memset(t, 0, sizeof(*t));
	peer_limit_address(req, addr, sizeof(addr));
	throttle_key(t, limit, window, THROTTLE_PREFIX "%s:addr:%s", what,
	    addr);
	throttle_take(req, t);
}

/* Charges a public read to the client address. */
void
throttle_reads(struct http_request *req, struct throttle *t)
{
	throttle_address(req, t, config.rate_limit_reads,
	    config.rate_limit_window, "reads");
}

/* Charges a login attempt; email was validated (THROTTLE_EMAIL_MAX). */
void
throttle_login(struct http_request *req, struct throttle *t,
    const char *email)
{
	char		addr[PEER_LIMIT_ADDR_MAX], lower[THROTTLE_EMAIL_MAX + 1];
	size_t		i;

	memset(t, 0, sizeof(*t));
	peer_limit_address(req, addr, sizeof(addr));
	for (i = 0; email[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = tolower((unsigned char)email[i]);
	lower[i] = '\0';

	throttle_key(t, config.login_max_failures, config.login_window,
	    THROTTLE_PREFIX "login:pair:%s:%s", addr, lower);
	throttle_key(t, config.login_max_failures_address, config.login_window,
	    THROTTLE_PREFIX "login:addr:%s", addr);
	throttle_key(t, config.login_max_failures_email, config.login_window,
	    THROTTLE_PREFIX "login:email:%s", lower);
	throttle_key(t, config.login_max_per_account, config.login_window,
	    THROTTLE_PREFIX "login:ok:%s", lower);
	t->counts[t->count - 1] = THROTTLE_SUCCESSES;
	throttle_take(req, t);
}

/* Charges a registration to the client address. */
void
throttle_register(struct http_request *req, struct throttle *t)
{
	throttle_address(req, t, config.rate_limit_registrations,
	    config.rate_limit_registrations_window, "register");
}

/* Charges a refresh to the client address: each one writes a row. */
void
throttle_refresh(struct http_request *req, struct throttle *t)
{
	throttle_address(req, t, config.rate_limit_refresh,
	    config.rate_limit_window, "refresh");
}

/*
 * Charges a webhook event to the client address, before its signature
 * costs an HMAC and its transition a statement.
 */
void
throttle_webhooks(struct http_request *req, struct throttle *t)
{
	throttle_address(req, t, config.rate_limit_webhooks,
	    config.rate_limit_window, "webhooks");
}

/* Charges one call of `what` (THROTTLE_HOLDS, ...) to a user. */
void
throttle_user(struct http_request *req, struct throttle *t, int what,
    int64_t user)
{
	throttle_user_unless(req, t, what, user, NULL);
}

/* The same, charging nothing if the key `guard` (if not NULL) exists. */
void
throttle_user_unless(struct http_request *req, struct throttle *t, int what,
    int64_t user, const char *guard)
{
	static const char	*names[] = { "holds", "bookings", "payments" };
	int			limit;

	switch (what) {
	case THROTTLE_HOLDS:
		limit = config.rate_limit_holds;
		break;
	case THROTTLE_BOOKINGS:
		limit = config.rate_limit_bookings;
		break;
	case THROTTLE_PAYMENTS:
		limit = config.rate_limit_payments;
		break;
	default:
		fatal("throttle_user: unknown limit %d", what);
	}

	memset(t, 0, sizeof(*t));
	throttle_key(t, limit, config.rate_limit_window,
	    THROTTLE_PREFIX "%s:user:%lld", names[what], (long long)user);
	if (guard != NULL &&
	    kore_strlcpy(t->guard, guard, sizeof(t->guard)) >=
	    sizeof(t->guard))
		fatal("throttle: guard key too long");
	throttle_take(req, t);
}

/*
 * REDIS_PENDING while the answer is on its way; otherwise REDIS_READY
 * with *retry_after the seconds to wait (0: go ahead). A failed Redis
 * counts as "go ahead".
 */
int
throttle_wait(struct throttle *t, int64_t *retry_after)
{
	const struct redis_result	*r;

	*retry_after = 0;
	if (t->ticket == NULL)
		return (REDIS_READY);

	switch (redis_wait(t->ticket)) {
	case REDIS_PENDING:
		return (REDIS_PENDING);
	case REDIS_READY:
		r = redis_result(t->ticket);
		if (r->type == REDIS_REPLY_INTEGER)
			*retry_after = r->integer;
		else if (r->type == REDIS_REPLY_ERROR)
			kore_log(LOG_NOTICE, "throttle: %s", r->str);
		break;
	default:
		kore_log(LOG_NOTICE, "throttle: redis failed, %s not limited",
		    t->keys[0]);
		break;
	}

	redis_ticket_release(&t->ticket);
	return (REDIS_READY);
}

/* For a state waiting on a charge: THROTTLE_OK, _PENDING or _LIMITED. */
int
throttle_limited(struct http_request *req, struct throttle *t)
{
	int64_t		wait;

	if (throttle_wait(t, &wait) == REDIS_PENDING)
		return (THROTTLE_PENDING);
	if (wait <= 0)
		return (THROTTLE_OK);

	throttle_reply(req, wait);
	return (THROTTLE_LIMITED);
}

/*
 * A login's outcome settles its charge: success (1) gives back what the
 * failure counters took, failure (0) what the success counter took. Not
 * waited for.
 */
/*
 * A state machine's limit step, as db_state() is a query's: asleep while
 * Redis answers, done when the 429 was sent, else state `next`.
 */
int
throttle_state(struct http_request *req, struct throttle *t, int next)
{
	switch (throttle_limited(req, t)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, next));
}

void
throttle_settle(struct http_request *req, struct throttle *t, int success)
{
	if (t->count == 0 || throttle_eval(req, t, throttle_refund_lua, 0,
	    success ? THROTTLE_FAILURES : THROTTLE_SUCCESSES) != KORE_RESULT_OK)
		return;

	/* The reply frees the orphaned ticket. */
	http_request_wakeup(req);
	redis_ticket_release(&t->ticket);
}

void
throttle_reply(struct http_request *req, int64_t wait)
{
	char	secs[24];

	(void)snprintf(secs, sizeof(secs), "%lld", (long long)wait);
	http_response_header(req, "retry-after", secs);
	reply_error(req, THROTTLE_STATUS, "rate_limited",
	    "Too many requests; try again later.");
}

void
throttle_cleanup(struct throttle *t)
{
	redis_ticket_release(&t->ticket);
}
