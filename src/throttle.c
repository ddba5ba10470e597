/*
 * throttle: failed-login counters in Redis.
 *
 * Two fixed windows per failed login, both starting at the first failure
 * and lasting LOGIN_WINDOW_SECONDS: one per client address
 * (LOGIN_MAX_FAILURES_PER_ADDRESS) and one per lower-cased email
 * (LOGIN_MAX_FAILURES). A login is refused with 429 while either counter
 * is at its limit; Retry-After is the longer remaining window. Each check
 * and each count is one Lua script, so it is atomic in Redis and one round
 * trip. Successful logins are not counted.
 *
 * Throttling is a defence, not a dependency: when Redis cannot answer the
 * login goes ahead unthrottled and a line is logged.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "redis.h"
#include "throttle.h"

#define THROTTLE_PREFIX		"throttle:login:"

/* KEYS: address, email; ARGV: their limits. Answers seconds to wait. */
static const char *throttle_check_lua =
    "local wait = 0\n"
    "for i = 1, 2 do\n"
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if n >= tonumber(ARGV[i]) then\n"
    "    local t = redis.call('TTL', KEYS[i])\n"
    "    if t < 1 then t = 1 end\n"
    "    if t > wait then wait = t end\n"
    "  end\n"
    "end\n"
    "return wait\n";

/* KEYS: address, email; ARGV: the window. A key never outlives it. */
static const char *throttle_count_lua =
    "for i = 1, 2 do\n"
    "  redis.call('INCR', KEYS[i])\n"
    "  if redis.call('TTL', KEYS[i]) < 0 then\n"
    "    redis.call('EXPIRE', KEYS[i], ARGV[1])\n"
    "  end\n"
    "end\n"
    "return 0\n";

static void	throttle_client_addr(struct http_request *, char *, size_t);

static void
throttle_client_addr(struct http_request *req, char *out, size_t len)
{
	struct connection	*c = req->owner;

	kore_strlcpy(out, "unknown", len);
	if (c == NULL)
		return;

	switch (c->family) {
	case AF_INET:
		(void)inet_ntop(AF_INET, &c->addr.ipv4.sin_addr, out, len);
		break;
	case AF_INET6:
		(void)inet_ntop(AF_INET6, &c->addr.ipv6.sin6_addr, out, len);
		break;
	}
}

/* email was validated (at most THROTTLE_EMAIL_MAX bytes). */
void
throttle_login_init(struct http_request *req, struct throttle *t,
    const char *email)
{
	char		addr[INET6_ADDRSTRLEN];
	size_t		i, off;

	throttle_client_addr(req, addr, sizeof(addr));
	(void)snprintf(t->addr_key, sizeof(t->addr_key), "%saddr:%s",
	    THROTTLE_PREFIX, addr);

	off = strlen(THROTTLE_PREFIX "email:");
	memcpy(t->email_key, THROTTLE_PREFIX "email:", off);
	for (i = 0; email[i] != '\0' && off < sizeof(t->email_key) - 1; i++)
		t->email_key[off++] = tolower((unsigned char)email[i]);
	t->email_key[off] = '\0';
}

static int
throttle_eval(struct http_request *req, struct throttle *t,
    const char *script, const char *a1, const char *a2)
{
	const char	*argv[7];
	int		argc;

	redis_ticket_release(&t->ticket);

	argc = 0;
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = "2";
	argv[argc++] = t->addr_key;
	argv[argc++] = t->email_key;
	argv[argc++] = a1;
	if (a2 != NULL)
		argv[argc++] = a2;

	if (redis_commandargv(req, &t->ticket, argc, argv, NULL) !=
	    KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "throttle: redis unavailable, login "
		    "not throttled");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* Asks Redis whether this login may go ahead; see throttle_wait(). */
int
throttle_login_check(struct http_request *req, struct throttle *t)
{
	char	addr_max[16], email_max[16];

	(void)snprintf(addr_max, sizeof(addr_max), "%d",
	    config.login_max_failures_address);
	(void)snprintf(email_max, sizeof(email_max), "%d",
	    config.login_max_failures);

	return (throttle_eval(req, t, throttle_check_lua, addr_max,
	    email_max));
}

/* Counts a failed login. */
int
throttle_login_failed(struct http_request *req, struct throttle *t)
{
	char	window[16];

	(void)snprintf(window, sizeof(window), "%d", config.login_window);
	return (throttle_eval(req, t, throttle_count_lua, window, NULL));
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
		kore_log(LOG_NOTICE, "throttle: redis failed, login not "
		    "throttled");
		break;
	}

	redis_ticket_release(&t->ticket);
	return (REDIS_READY);
}

void
throttle_cleanup(struct throttle *t)
{
	redis_ticket_release(&t->ticket);
}
