/*
 * throttle: fixed-window counters in Redis that refuse a request past a
 * limit: failed logins per (email, address), per address and per email,
 * successful logins per account, registrations, refreshes and Stripe's
 * webhook events per address, holds, bookings and payment calls per
 * user.
 */
#ifndef __H_THROTTLE_H
#define __H_THROTTLE_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

struct redis_ticket;

#define THROTTLE_EMAIL_MAX	254
#define THROTTLE_KEYS_MAX	4
/* A prefix, a client address (peer.c, at most 50) and an email. */
#define THROTTLE_KEY_MAX	(100 + THROTTLE_EMAIL_MAX)

/* What settles a login's charge to a counter (throttle_settle()). */
#define THROTTLE_FAILURES	0	/* counts failures: refunded on success */
#define THROTTLE_SUCCESSES	1	/* counts successes: refunded on failure */

/* throttle_limited(): go ahead, ask again later, or the 429 was sent. */
#define THROTTLE_OK		0
#define THROTTLE_PENDING	1
#define THROTTLE_LIMITED	2

/* What a per-user limit counts (RATE_LIMIT_* settings). */
#define THROTTLE_HOLDS		0
#define THROTTLE_BOOKINGS	1
#define THROTTLE_PAYMENTS	2

/* The counters one request is charged to, and the Redis call about them. */
struct throttle {
	char			keys[THROTTLE_KEYS_MAX][THROTTLE_KEY_MAX];
	char			limits[THROTTLE_KEYS_MAX][16];
	char			windows[THROTTLE_KEYS_MAX][16];
	int			counts[THROTTLE_KEYS_MAX];	/* THROTTLE_FAILURES... */
	int			count;
	/* Charge nothing if this key exists ("": no guard). */
	char			guard[THROTTLE_KEY_MAX];
	struct redis_ticket	*ticket;
};

void	throttle_login(struct http_request *, struct throttle *,
	    const char *);
void	throttle_register(struct http_request *, struct throttle *);
void	throttle_refresh(struct http_request *, struct throttle *);
void	throttle_webhooks(struct http_request *, struct throttle *);
void	throttle_reads(struct http_request *, struct throttle *);
void	throttle_user(struct http_request *, struct throttle *, int,
	    int64_t);
void	throttle_user_unless(struct http_request *, struct throttle *, int,
	    int64_t, const char *);
int	throttle_wait(struct throttle *, int64_t *);
int	throttle_limited(struct http_request *, struct throttle *);
int	throttle_state(struct http_request *, struct throttle *, int);
void	throttle_settle(struct http_request *, struct throttle *, int);
void	throttle_reply(struct http_request *, int64_t);
void	throttle_cleanup(struct throttle *);

#endif
