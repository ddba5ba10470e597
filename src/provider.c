/*
 * provider: which payment provider this server talks to (PAYMENT_PROVIDER,
 * config.c), and running one call to it as a step of a state machine.
 *
 * A call (struct payment_call, provider.h) is started once and then
 * polled each time its request wakes, as db_run() does for a statement:
 * provider_call_run() answers PAYMENT_CALL_PENDING until the provider
 * answered, timed out or the connection failed, and PAYMENT_CALL_DONE
 * with call->result set after. Without a request (the outbox) the
 * provider calls call->done instead of waking anyone.
 *
 * Invariant: provider_call_cleanup() is called on every call that was
 * started, before the memory holding it goes (a request's onfree does
 * it), so the provider's in-flight transfer never outlives its call.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "config.h"
#include "provider.h"

const struct payment_provider *
provider_get(void)
{
	if (config.provider == CONFIG_PROVIDER_STRIPE)
		return (&gateway_stripe);

	return (&gateway_mock);
}

void
provider_call_init(struct payment_call *call, int kind, int64_t payment_id)
{
	provider_call_cleanup(call);
	memset(call, 0, sizeof(*call));
	call->kind = kind;
	call->payment_id = payment_id;
}

int
provider_call_run(struct payment_call *call, struct http_request *req)
{
	const struct payment_provider	*prov = provider_get();

	if (!call->started) {
		call->started = 1;
		return (prov->start(call, req));
	}

	return (prov->finish(call, req));
}

void
provider_call_cleanup(struct payment_call *call)
{
	if (call->started)
		provider_get()->cleanup(call);
	if (call->next_action != NULL) {
		kore_buf_free(call->next_action);
		call->next_action = NULL;
	}
	call->started = 0;
}

/* A result as payment_confirm_finish() and the logs name it. */
const char *
provider_result_name(int result)
{
	switch (result) {
	case PAYMENT_RESULT_SUCCEEDED:
		return ("succeeded");
	case PAYMENT_RESULT_DECLINED:
		return ("declined");
	case PAYMENT_RESULT_ACTION:
		return ("requires_action");
	case PAYMENT_RESULT_UNAVAILABLE:
		return ("unavailable");
	default:
		return ("invalid");
	}
}
