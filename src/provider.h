/*
 * provider: the interface between the payment writes (payments.c), the
 * outbox (outbox.c) and a payment provider, a table of functions any
 * gateway can fill in (gateway_mock.c is the first, gateway_stripe.c the
 * real one), and running one call to the provider PAYMENT_PROVIDER names
 * (provider.c). Calls are asynchronous steps of a request's state machine
 * (or of the outbox's). A leaf: it needs nothing of the payment files.
 */
#ifndef __H_PROVIDER_H
#define __H_PROVIDER_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

struct http_request;
struct kore_buf;

/* What verify_event() found. */
#define PAYMENT_EVENT_VALID		1
#define PAYMENT_EVENT_INVALID		2	/* missing, wrong or stale */

#define PAYMENT_REFERENCE_MAX		64
#define PAYMENT_SECRET_MAX		256
#define PAYMENT_KEY_MAX			128

/* What a provider call is for (struct payment_call.kind). */
#define PAYMENT_CALL_CREATE		1	/* an intent for a payment */
#define PAYMENT_CALL_CHARGE		2	/* confirm it with a method */
#define PAYMENT_CALL_REFUND		3	/* return its money */
#define PAYMENT_CALL_CANCEL		4	/* drop an unpaid intent */

/* provider_call_run(): still waiting, or answered (result is set). */
#define PAYMENT_CALL_PENDING		1
#define PAYMENT_CALL_DONE		2

/* What a call came to (struct payment_call.result). */
#define PAYMENT_RESULT_SUCCEEDED	1	/* done (charged, refunded) */
#define PAYMENT_RESULT_DECLINED		2	/* the card was declined */
/* The provider refused the request itself: nothing happened. */
#define PAYMENT_RESULT_INVALID		3
#define PAYMENT_RESULT_ACTION		4	/* 3-D Secure: next_action */
/*
 * No answer (5xx, timeout, connection error, in flight at the provider):
 * whether it happened is unknown, so it is retried under the same
 * provider idempotency key, which makes the retry find the first one.
 */
#define PAYMENT_RESULT_UNAVAILABLE	5

/*
 * One call to a provider, a step of a request's state machine (or of the
 * outbox, outbox.c) as a pgsql query is: provider_call_run() starts it
 * and is called again when the request wakes; with a request the request
 * sleeps while the provider answers, without one `done` is called.
 * The caller fills the inputs, the provider the outputs.
 */
struct payment_call {
	/* In. */
	int		kind;
	int64_t		payment_id;	/* also the idempotency key's base */
	int64_t		booking_id;
	int64_t		amount_cents;
	char		currency[4];
	char		method[PAYMENT_SECRET_MAX];	/* token or pm_... */
	char		idem_key[PAYMENT_KEY_MAX];
	void		(*done)(struct payment_call *, void *);
	void		*arg;
	/* In (the intent for charge, refund, cancel) and out (create). */
	char		reference[PAYMENT_REFERENCE_MAX];
	/* Out. */
	int		result;
	int		http_status;	/* the provider's, 0 without one */
	char		client_secret[PAYMENT_SECRET_MAX];
	struct kore_buf	*next_action;	/* JSON, with PAYMENT_RESULT_ACTION */
	char		error[160];	/* for the log */
	/* The provider's own (provider_call_cleanup() releases it). */
	int		started;
	void		*priv;
};

/*
 * A payment provider. start() begins a call: PAYMENT_CALL_DONE when it
 * answered at once (the mock), or PAYMENT_CALL_PENDING, after which the
 * request (if any) sleeps until the answer, a timeout or a connection
 * error wakes it, or call->done runs; finish() then reads the answer
 * (PAYMENT_CALL_PENDING if woken early). No call blocks the event loop.
 */
struct payment_provider {
	const char	*name;
	/* Initiate must create an intent at the provider (CREATE). */
	int		needs_intent;
	int		(*start)(struct payment_call *, struct http_request *);
	int		(*finish)(struct payment_call *, struct http_request *);
	void		(*cleanup)(struct payment_call *);
	/*
	 * Checks a gateway event's signature header (NULL when missing)
	 * over the raw body at unix time `now`; PAYMENT_EVENT_*.
	 */
	int		(*verify_event)(const char *, const void *, size_t,
			    time_t);
};

extern const struct payment_provider	gateway_mock;
extern const struct payment_provider	gateway_stripe;

/* provider.c: the provider PAYMENT_PROVIDER names, and running its calls. */
const struct payment_provider	*provider_get(void);
void	provider_call_init(struct payment_call *, int, int64_t);
int	provider_call_run(struct payment_call *, struct http_request *);
void	provider_call_cleanup(struct payment_call *);
const char	*provider_result_name(int);

#endif
