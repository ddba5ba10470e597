/*
 * auth: who is calling. A handler's first state calls auth_check() until
 * it stops answering AUTH_PENDING (returning HTTP_STATE_RETRY meanwhile);
 * on AUTH_DENIED the 401 or 403 has been sent. The request's onfree calls
 * auth_cleanup().
 */
#ifndef __H_AUTH_H
#define __H_AUTH_H

#include <kore/kore.h>
#include <kore/http.h>

#define AUTH_ROLE_USER		1
#define AUTH_ROLE_ADMIN		2

#define AUTH_OK			1
#define AUTH_PENDING		2
#define AUTH_DENIED		3	/* a 401/403 has been sent */

struct auth {
	int64_t		user_id;
	int		role;

	/* Private. */
	int		state;
};

int	auth_check(struct http_request *, struct auth *, int);
void	auth_cleanup(struct auth *);

#endif
