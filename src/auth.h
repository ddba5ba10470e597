/*
 * auth: who is calling. Every protected handler's first state calls
 * auth_check() until it stops answering AUTH_PENDING. From its first
 * AUTH_PENDING on, the token is verified and user_id, role and claims
 * are set; only revocation is still being checked.
 */
#ifndef __H_AUTH_H
#define __H_AUTH_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#include "db.h"
#include "token.h"

/* AUTH_ROLE_USER and AUTH_ROLE_ADMIN: token.h, the token's role claim. */

#define AUTH_OK			1
#define AUTH_PENDING		2
#define AUTH_DENIED		3	/* a 401 or 403 has been sent */

struct redis_ticket;

struct auth {
	int64_t			user_id;
	int			role;
	struct token_claims	claims;
	/* private */
	int			state;
	int			refill;
	int			min_role;
	u_int32_t		deny_lost;	/* auth.c's count then */
	struct redis_ticket	*deny;
	struct db_call		db;
};

int	auth_check(struct http_request *, struct auth *, int);
const char	*auth_bearer(struct http_request *);
int	auth_optional(struct http_request *, struct auth *);
void	auth_cleanup(struct auth *);

/*
 * The auth step of a request state, in one call the state returns, given
 * what auth_check() (or auth_optional(), admin_authorize()) answered:
 * HTTP_STATE_RETRY while pending, complete once denied (answered), else
 * req->fsm_state becomes `next`.
 */
int	auth_state(struct http_request *, int, int);
void	auth_denylist_prime(void);
void	auth_worker_init(void);
void	auth_deny_lost(void);
void	auth_unauthorized(struct http_request *, const char *);

/* The WebSocket subprotocol a browser names before its access token. */
#define AUTH_WS_PROTOCOL	"bearer"

/* The Redis key that revokes an access token by its jti. */
#define AUTH_DENY_PREFIX	"deny:jti:"

#endif
