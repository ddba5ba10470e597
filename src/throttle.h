/*
 * throttle: counting failed logins in Redis, per client address and per
 * email, and refusing further attempts past the limits.
 */
#ifndef __H_THROTTLE_H
#define __H_THROTTLE_H

#include <kore/kore.h>
#include <kore/http.h>

struct redis_ticket;

#define THROTTLE_EMAIL_MAX	254

/* Where a login stands: key names for its address and email. */
struct throttle {
	char			addr_key[96];
	char			email_key[32 + THROTTLE_EMAIL_MAX];
	struct redis_ticket	*ticket;
};

void	throttle_login_init(struct http_request *, struct throttle *,
	    const char *);
int	throttle_login_check(struct http_request *, struct throttle *);
int	throttle_login_failed(struct http_request *, struct throttle *);
int	throttle_wait(struct throttle *, int64_t *);
void	throttle_cleanup(struct throttle *);

#endif
