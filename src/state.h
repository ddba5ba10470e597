/*
 * state: how every request state machine is written, one way.
 *
 *   enum holds_create_state {
 *           HOLDS_CREATE_AUTH,
 *           HOLDS_CREATE_PARSE,
 *           HOLDS_CREATE_ANSWER,
 *   };
 *
 *   static struct http_state holds_create_states[] = {
 *           [HOLDS_CREATE_AUTH] = KORE_HTTP_STATE(holds_create_auth),
 *           [HOLDS_CREATE_PARSE] = KORE_HTTP_STATE(holds_create_parse),
 *           [HOLDS_CREATE_ANSWER] = KORE_HTTP_STATE(holds_create_answer),
 *   };
 *
 * State names carry the module's prefix, and a table reads top to bottom
 * in the order things happen; a jump goes forward only (to the store or
 * answer state, when there is nothing left to do). A state ends in one of
 * three ways: HTTP_STATE_RETRY (asleep on pgsql, Redis or curl),
 * HTTP_STATE_COMPLETE (answered), or state_next(req, NEXT), the one way
 * to move on (db_state(), auth_state() and throttle_state() take NEXT
 * and call it). Nothing else writes req->fsm_state.
 *
 * The request's struct comes from state_req() in any state that can run
 * first (created zeroed once, freed by onfree); later states read it with
 * Kore's http_state_get().
 */
#ifndef __H_STATE_H
#define __H_STATE_H

#include <kore/kore.h>
#include <kore/http.h>

int	state_next(struct http_request *, int);
void	*state_req(struct http_request *, size_t,
	    void (*)(struct http_request *));

#endif
