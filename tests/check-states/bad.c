/* check-states fixture: each line bad.expected names must be refused. */
#define BAD_FLOW_START	0

static struct http_state bad_flow_states[] = {
	[BAD_FLOW_START] = KORE_HTTP_STATE(bad_flow_start),
	KORE_HTTP_STATE(bad_flow_next),
	/* [BAD_FLOW_ANSWER] = */ KORE_HTTP_STATE(bad_flow_answer),
};

static int
bad_flow_start(struct http_request *req)
{
	req->fsm_state = 1;
	req->fsm_state++;
	req->fsm_state += 1;
	--req->fsm_state;
	req->fsm_state =
	    BAD_FLOW_START;
	return (HTTP_STATE_CONTINUE);
}
