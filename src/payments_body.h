/*
 * payments_body: the checks of the payment writes' request bodies
 * (payments_body.c), used by payments.c.
 */
#ifndef __H_PAYMENTS_BODY_H
#define __H_PAYMENTS_BODY_H

#include <stdint.h>

/*
 * Between payments.c and payments_body.c: a write's body, checked. The
 * buffers hold the longest string the checks accept (in UTF-8 bytes).
 */
#define PAYMENTS_TOKEN_MAX	100
#define PAYMENTS_EVENT_ID_MAX	255

struct payments_body {
	int64_t		id;	/* booking (initiate) or payment */
	char		token[PAYMENTS_TOKEN_MAX * 4 + 1];
	char		event_id[PAYMENTS_EVENT_ID_MAX * 4 + 1];
	char		event_type[32];
	/* A Stripe event's object (payments_body_stripe_event). */
	char		intent[PAYMENTS_TOKEN_MAX + 1];
	char		currency[8];
	int64_t		amount;
	int64_t		booking_id;
	int		handled;	/* a type this service acts on */
};

struct http_request;

/* Each fills the struct or answers 400 naming the field; KORE_RESULT_*. */
int	payments_body_initiate(struct http_request *, struct payments_body *);
int	payments_body_confirm(struct http_request *, struct payments_body *);
int	payments_body_event(struct http_request *, struct payments_body *);
int	payments_body_stripe_event(struct http_request *,
	    struct payments_body *);

#endif
