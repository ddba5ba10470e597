/*
 * check-states fixture: what scripts/check-states.sh must let pass. A
 * comment may say req->fsm_state = NEXT, also over lines,
 * req->fsm_state = NEXT, and a state may compare fsm_state.
 */
enum good_flow_state {
	GOOD_FLOW_START,
	GOOD_FLOW_A_LONG_NAME_FOR_THE_SECOND_STEP,
	GOOD_FLOW_ANSWER,
};

static struct http_state good_flow_states[] = {
	/* The first, a comment with a comma, and KORE_HTTP_STATE(x). */
	[GOOD_FLOW_START] = KORE_HTTP_STATE(good_flow_start),
	[GOOD_FLOW_A_LONG_NAME_FOR_THE_SECOND_STEP] =
	    KORE_HTTP_STATE(good_flow_second),
	[GOOD_FLOW_ANSWER]=KORE_HTTP_STATE(good_flow_answer)
};

static int
good_flow_start(struct http_request *req)
{
	if (req->fsm_state == GOOD_FLOW_START)	/* not fsm_state = 1 */
		return (state_next(req, GOOD_FLOW_ANSWER));
	return (HTTP_STATE_COMPLETE);	// fsm_state = 2 in a comment
}
