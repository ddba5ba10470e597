/*
 * What the Stripe integration tests share: the payment calls on a
 * pending_payment booking (paying(), booking_fixtures.h), and the
 * stand-in's control API (tests/stripe/standin.mjs at
 * $STRIPE_STANDIN_URL).
 */
#ifndef __H_STRIPE_FIXTURES_H
#define __H_STRIPE_FIXTURES_H

#include <jansson.h>

#include "booking_fixtures.h"
#include "client.h"
#include "expect.h"

struct api_resp	*sx_initiate(const struct paying *, const char *);
struct api_resp	*sx_confirm(const struct paying *, long long, const char *,
		    const char *);
long long	sx_initiated(const struct paying *, char **);
void		sx_paid(struct paying *, long long *, char **);
/* The stand-in's control API: JSON in, JSON out (asserted 200). */
json_t		*sx_control(const char *, const char *, const char *);
void		sx_reset(void);
void		sx_behaviour(const char *, const char *, int);
long long	sx_stat(const char *, const char *);
long long	sx_refunds_of(const char *);
char		*sx_text(const char *, ...);
void		sx_assert_error(const struct api_resp *, long, const char *);
/* A Stripe-Signature of a payload, with STRIPE_WEBHOOK_SECRET. */
char		*sx_sign(const char *);
void		sx_assert_unpaid(const struct paying *, long long);

#endif
