/*
 * gateway_mock: the mock payment gateway, a struct payment_provider that
 * decides by card token alone, as test modes of real gateways do:
 * tok_visa succeeds, tok_chargeDeclined is declined, anything else is not
 * a token it knows. Refunds and cancels always succeed. Every call
 * answers at once (start() is DONE), through the same asynchronous
 * interface as gateway_stripe.c. Gateway events are signed with
 * PAYMENT_WEBHOOK_SECRET (signature.c checks them).
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "provider.h"
#include "signature.h"

static int	gateway_mock_start(struct payment_call *,
		    struct http_request *);
static int	gateway_mock_finish(struct payment_call *,
		    struct http_request *);
static void	gateway_mock_cleanup(struct payment_call *);
static int	gateway_mock_verify_event(const char *, const void *, size_t,
		    time_t);

const struct payment_provider gateway_mock = {
	"mock",
	0,
	gateway_mock_start,
	gateway_mock_finish,
	gateway_mock_cleanup,
	gateway_mock_verify_event,
};

static int
gateway_mock_start(struct payment_call *call, struct http_request *req)
{
	call->result = PAYMENT_RESULT_SUCCEEDED;

	switch (call->kind) {
	case PAYMENT_CALL_CHARGE:
		if (!strcmp(call->method, "tok_visa"))
			call->result = PAYMENT_RESULT_SUCCEEDED;
		else if (!strcmp(call->method, "tok_chargeDeclined"))
			call->result = PAYMENT_RESULT_DECLINED;
		else {
			call->result = PAYMENT_RESULT_INVALID;
			return (PAYMENT_CALL_DONE);
		}
		(void)snprintf(call->reference, sizeof(call->reference),
		    "mock_ch_%lld", (long long)call->payment_id);
		break;
	case PAYMENT_CALL_REFUND:
		kore_log(LOG_INFO, "gateway_mock: refunded %lld cents of "
		    "payment %lld", (long long)call->amount_cents,
		    (long long)call->payment_id);
		break;
	default:
		break;
	}

	return (PAYMENT_CALL_DONE);
}

static int
gateway_mock_finish(struct payment_call *call, struct http_request *req)
{
	return (PAYMENT_CALL_DONE);
}

static void
gateway_mock_cleanup(struct payment_call *call)
{
}

static int
gateway_mock_verify_event(const char *header, const void *body, size_t len,
    time_t now)
{
	if (header == NULL)
		return (PAYMENT_EVENT_INVALID);

	if (signature_verify(config.webhook_secret, config.webhook_secret_len,
	    header, strlen(header), body, len, (int64_t)now,
	    SIGNATURE_TOLERANCE) != SIGNATURE_OK)
		return (PAYMENT_EVENT_INVALID);

	return (PAYMENT_EVENT_VALID);
}
