/*
 * auth: the one place protected routes are guarded.
 *
 * A Bearer access token is verified (token.c: HS256 pinned, issuer,
 * audience, expiry) and then looked up in the Redis deny list that logout
 * writes (AUTH_DENY_PREFIX + jti, expiring with the token). The lookup is
 * asynchronous, so auth_check() is written to be called from a request
 * state until it returns something other than AUTH_PENDING.
 *
 * When Redis is unreachable the deny list cannot be read; the token is
 * then accepted on its signature alone (logged), because access tokens
 * are short-lived and booking must keep working without Redis.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "redis.h"
#include "reply.h"
#include "token.h"

#define AUTH_STATE_NEW		0
#define AUTH_STATE_DENYLIST	1
#define AUTH_STATE_DONE		2

void
auth_unauthorized(struct http_request *req, const char *message)
{
	http_response_header(req, "www-authenticate",
	    "Bearer realm=\"booking\", error=\"invalid_token\"");
	reply_error(req, HTTP_STATUS_UNAUTHORIZED, "unauthorized", message);
}

static int
auth_finish(struct http_request *req, struct auth *a, int min_role)
{
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
			if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
				a->state = AUTH_STATE_DONE;
				auth_unauthorized(req,
				    "This token has been revoked.");
				return (AUTH_DENIED);
			}
			break;
		default:
			kore_log(LOG_NOTICE, "auth: deny list unavailable, "
			    "accepting token on its signature");
			break;
		}
		return (auth_finish(req, a, min_role));
	default:
		fatal("auth_check: called after it finished");
	}

	if (!http_request_header(req, "authorization", &header) ||
	    strncasecmp(header, "Bearer ", 7)) {
		a->state = AUTH_STATE_DONE;
		auth_unauthorized(req, "A Bearer access token is required.");
		return (AUTH_DENIED);
	}

	ret = token_verify((const unsigned char *)config.jwt_secret,
	    config.jwt_secret_len, header + 7, time(NULL), &a->claims);
	if (ret != TOKEN_OK) {
		a->state = AUTH_STATE_DONE;
		auth_unauthorized(req, ret == TOKEN_EXPIRED ?
		    "The access token has expired." :
		    "The access token is not valid.");
		return (AUTH_DENIED);
	}

	a->user_id = a->claims.sub;
	a->role = a->claims.role;

	if (redis_command(req, &a->deny, "EXISTS " AUTH_DENY_PREFIX "%s",
	    a->claims.jti) != KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "auth: deny list unavailable, accepting "
		    "token on its signature");
		return (auth_finish(req, a, min_role));
	}

	a->state = AUTH_STATE_DENYLIST;
	return (AUTH_PENDING);
}

/*
 * For public routes that personalise their answer: no Authorization
 * header is an anonymous caller (user_id 0, AUTH_OK); a header is checked
 * exactly like auth_check(), so a bad token is still a 401.
 */
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

void
auth_cleanup(struct auth *a)
{
	redis_ticket_release(&a->deny);
}
