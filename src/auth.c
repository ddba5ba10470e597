/*
 * auth: TEMPORARY STUB, replaced by the accounts branch.
 *
 * Until bearer tokens exist nobody is authenticated: every check answers
 * 401, so the admin write endpoints exist, validate nothing and change
 * nothing. The accounts branch replaces this file (and may extend the
 * private part of struct auth) behind the same interface.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "auth.h"
#include "reply.h"

int
auth_check(struct http_request *req, struct auth *a, int min_role)
{
	a->user_id = 0;
	a->role = 0;

	reply_error(req, HTTP_STATUS_UNAUTHORIZED, "unauthorized",
	    "A valid bearer token is required.");
	return (AUTH_DENIED);
}

void
auth_cleanup(struct auth *a)
{
	a->state = 0;
}
