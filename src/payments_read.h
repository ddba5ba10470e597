/*
 * payments_read: GET /api/payments/{id} and GET /api/bookings/{id}/payments
 * (payments_read.c), and the one JSON object of a payment that the writes
 * in payments.c answer with too.
 */
#ifndef __H_PAYMENTS_READ_H
#define __H_PAYMENTS_READ_H

/*
 * Between payments.c and payments_read.c: the columns of payment_rows()
 * (migrations/007_payments.up.sql), from payment_id to refund_reason,
 * and the one JSON object of a payment built from them, starting at a
 * column (a transition's answer has them after its outcome and ids).
 */
#define PAYMENTS_COLS		8

struct db_call;
struct kore_json_item;

struct kore_json_item	*payments_json(struct kore_json_item *,
			    const char *, const struct db_call *, int, int);

#endif
