/*
 * gateway_mock: the mock payment gateway, a struct payment_provider that
 * decides by card token alone, as test modes of real gateways do:
 * tok_visa succeeds, tok_chargeDeclined is declined, anything else is not
 * a token it knows. Refunds always succeed. Gateway events are signed
 * with PAYMENT_WEBHOOK_SECRET (signature.c checks them).
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "payments.h"
#include "signature.h"

static int	gateway_mock_charge(struct payment_charge *);
static int	gateway_mock_refund(int64_t, int64_t);
static int	gateway_mock_verify_event(const char *, const void *, size_t,
		    time_t);

const struct payment_provider gateway_mock = {
	"mock",
	gateway_mock_charge,
	gateway_mock_refund,
	gateway_mock_verify_event,
};

static int
gateway_mock_charge(struct payment_charge *c)
{
	int	ret;

	if (!strcmp(c->card_token, "tok_visa"))
		ret = PAYMENT_CHARGE_SUCCEEDED;
	else if (!strcmp(c->card_token, "tok_chargeDeclined"))
		ret = PAYMENT_CHARGE_DECLINED;
	else
		return (PAYMENT_CHARGE_INVALID);

	(void)snprintf(c->reference, sizeof(c->reference), "mock_ch_%lld",
	    (long long)c->payment_id);
	return (ret);
}

static int
gateway_mock_refund(int64_t payment_id, int64_t amount_cents)
{
	kore_log(LOG_INFO, "gateway_mock: refunded %lld cents of payment %lld",
	    (long long)amount_cents, (long long)payment_id);
	return (KORE_RESULT_OK);
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
