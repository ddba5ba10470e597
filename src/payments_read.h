/*
 * payments_read: GET /api/payments/{id} and GET /api/bookings/{id}/payments
 * (payments_read.c), and the one JSON object of a payment that the writes
 * in payments.c answer with too.
 */
#ifndef __H_PAYMENTS_READ_H
#define __H_PAYMENTS_READ_H

/*
 * Between payments.c and payments_read.c: the columns of payment_rows()
 * (migrations/015_payment_action.up.sql; the transitions answer them
 * too), as a statement selects them (PAYMENTS_ROW_SQL, from a function
 * aliased r) and in that order, counted from where they start; and the
 * one JSON object of a payment built from them, given that column (a
 * transition's answer has them after its outcome and ids).
 */
#define PAYMENTS_ROW_SQL \
    " r.payment_id, r.booking_id, r.amount_cents, r.currency, r.status," \
    " r.created_at, r.updated_at, r.refund_reason"

enum payments_row_col {
	PAYMENTS_ROW_ID,
	PAYMENTS_ROW_BOOKING_ID,
	PAYMENTS_ROW_AMOUNT_CENTS,
	PAYMENTS_ROW_CURRENCY,
	PAYMENTS_ROW_STATUS,
	PAYMENTS_ROW_CREATED_AT,
	PAYMENTS_ROW_UPDATED_AT,
	PAYMENTS_ROW_REFUND_REASON,
	PAYMENTS_COLS			/* how many */
};

struct db_call;
struct kore_json_item;

struct kore_json_item	*payments_json(struct kore_json_item *,
			    const char *, const struct db_call *, int, int);

#endif
