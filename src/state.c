/*
 * state: the transition and the request struct of every request state
 * machine (state.h says how one is written). A leaf: Kore only.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "state.h"

/* The one transition: the machine runs state `next` at once. */
int
state_next(struct http_request *req, int next)
{
	req->fsm_state = next;
	return (HTTP_STATE_CONTINUE);
}

/* This request's struct, created zeroed on the first call. */
void *
state_req(struct http_request *req, size_t len,
    void (*onfree)(struct http_request *))
{
	void	*s;

	if ((s = http_state_get(req)) == NULL)
		s = http_state_create(req, len, onfree);

	return (s);
}
