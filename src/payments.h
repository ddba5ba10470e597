/*
 * payments: paying for bookings. payments.c owns the writes of
 * /api/payments (initiate, confirm, the gateway's callback) and
 * payments_read.c the reads (GET /api/payments/{id} and
 * GET /api/bookings/{id}/payments), payments_body.c the checks of the
 * writes' request bodies (payments_read.h and payments_body.h are
 * what those two share with payments.c); the money moves through a payment
 * provider, a table of functions any gateway can fill in (gateway_mock.c
 * is the first). Only payments.c calls a provider, so adding one touches
 * neither booking code nor the flows.
 */
#ifndef __H_PAYMENTS_H
#define __H_PAYMENTS_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

/* What a charge came to. */
#define PAYMENT_CHARGE_SUCCEEDED	1
#define PAYMENT_CHARGE_DECLINED		2
/* The provider does not accept this card token: nothing was charged. */
#define PAYMENT_CHARGE_INVALID		3

/* What verify_event() found. */
#define PAYMENT_EVENT_VALID		1
#define PAYMENT_EVENT_INVALID		2	/* missing, wrong or stale */

#define PAYMENT_REFERENCE_MAX		64

struct payment_charge {
	int64_t		payment_id;	/* dedupes retried charges */
	int64_t		amount_cents;
	const char	*currency;
	const char	*card_token;
	/* Out: the provider's id for the charge. */
	char		reference[PAYMENT_REFERENCE_MAX];
};

/*
 * A payment provider. The calls are synchronous and must not block the
 * event loop for long (the mock answers at once; a networked provider
 * would run them as Kore tasks or with Kore's curl).
 */
struct payment_provider {
	const char	*name;
	/* Charges the card; one of PAYMENT_CHARGE_*. */
	int		(*charge)(struct payment_charge *);
	/* Returns money taken for payment_id; KORE_RESULT_OK or _ERROR. */
	int		(*refund)(int64_t, int64_t);
	/*
	 * Checks a gateway event's signature header (NULL when missing)
	 * over the raw body at unix time `now`; PAYMENT_EVENT_*.
	 */
	int		(*verify_event)(const char *, const void *, size_t,
			    time_t);
};

extern const struct payment_provider	gateway_mock;

/* Refunds a payment the database has just marked refunded. */
void	payments_refund(int64_t, int64_t);

#endif
