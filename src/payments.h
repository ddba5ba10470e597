/*
 * payments: paying for bookings. payments.c owns the writes of
 * /api/payments (initiate, confirm, the gateway's callback and Stripe's
 * webhook) and payments_read.c the reads (GET /api/payments/{id} and
 * GET /api/bookings/{id}/payments), payments_body.c the checks of the
 * writes' request bodies (payments_read.h and payments_body.h are what
 * those two share with payments.c); the money moves through a payment
 * provider (provider.h: the interface, provider.c, gateway_mock.c and
 * gateway_stripe.c), which needs nothing of these files.
 */
#ifndef __H_PAYMENTS_H
#define __H_PAYMENTS_H

/* The provider interface, for the files that include this one. */
#include "provider.h"

#endif
