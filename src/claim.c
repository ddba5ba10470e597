/*
 * claim: seat claims, shared by holds.c and bookings.c, and the one table
 * of SQL function outcomes to HTTP answers (payments.c uses it too).
 *
 * The claim itself happens in one SQL function call (hold_claim,
 * booking_claim in migrations/005_booking.up.sql, which say why it is
 * correct; booking_cancel answers the same way). Each answers rows whose
 * first column is an outcome and whose second the seat ids it concerns;
 * claim_error() is the one place those outcomes become HTTP statuses and
 * error bodies. Deadlocks (40P01),
 * serialization failures (40001) and unique violations (23505: a
 * concurrent claim with the same Idempotency-Key, or the live-seat index)
 * are retried by the caller, never shown as a 500.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "claim.h"
#include "db.h"
#include "reply.h"

/*
 * The first two columns of every claim statement's rows, which holds.c,
 * bookings.c and payments.c select first: the outcome and the seat ids
 * it concerns (the SQL functions' `blocked`).
 */
enum claim_col {
	CLAIM_COL_OUTCOME,
	CLAIM_COL_BLOCKED,
};

struct claim_outcome {
	const char	*outcome;
	int		status;
	const char	*code;
	const char	*message;
	const char	*field;		/* a 400's details.field */
};

static const struct claim_outcome claim_outcomes[] = {
	{ "show_not_found", HTTP_STATUS_NOT_FOUND, "not_found",
	    "No show with this id.", NULL },
	{ "hold_not_found", HTTP_STATUS_NOT_FOUND, "not_found",
	    "No hold with this id.", NULL },
	{ "seat_not_in_show", HTTP_STATUS_BAD_REQUEST, "invalid_request",
	    "Some seats do not belong to this show.", "seat_ids" },
	{ "hold_show_mismatch", HTTP_STATUS_BAD_REQUEST, "invalid_request",
	    "The hold is for another show.", "show_id" },
	{ "show_started", HTTP_STATUS_CONFLICT, "show_started",
	    "The show has already started.", NULL },
	{ "hold_expired", HTTP_STATUS_CONFLICT, "hold_expired",
	    "The hold has lapsed or was released.", NULL },
	{ "seat_unavailable", HTTP_STATUS_CONFLICT, "seat_unavailable",
	    "Some seats are not available.", NULL },
	{ "hold_renewal_limit", HTTP_STATUS_CONFLICT, "hold_renewal_limit",
	    "The hold was renewed as far as it can be: 3 lifetimes after it "
	    "was made.", NULL },
	{ "tier_not_in_show", HTTP_STATUS_BAD_REQUEST, "invalid_request",
	    "No seat of this show has this tier.", "tier" },
	{ "no_adjacent_seats", HTTP_STATUS_CONFLICT, "no_adjacent_seats",
	    "No block of that many adjacent seats is available.", NULL },
	{ "seat_limit", HTTP_STATUS_CONFLICT, "seat_limit",
	    "At most 10 seats can be held or booked per user per show.",
	    NULL },
	{ "booking_not_found", HTTP_STATUS_NOT_FOUND, "not_found",
	    "No booking with this id.", NULL },
	{ "cancellation_closed", HTTP_STATUS_CONFLICT, "cancellation_closed",
	    "The show has started; the booking can no longer be cancelled.",
	    NULL },
	{ "booking_not_cancellable", HTTP_STATUS_CONFLICT,
	    "booking_not_cancellable", "This booking has expired.", NULL },
	{ "idempotency_key_reused", 422, "idempotency_key_reused",
	    "This Idempotency-Key was used for a different request.", NULL },
	/* Payments (migrations/007_payments.up.sql). */
	{ "payment_not_found", HTTP_STATUS_NOT_FOUND, "not_found",
	    "No payment with this id.", NULL },
	{ "booking_not_payable", HTTP_STATUS_CONFLICT, "booking_not_payable",
	    "The booking is not awaiting payment (it was paid, has expired "
	    "or was cancelled); no money was taken.", NULL },
	{ "payment_declined", HTTP_STATUS_PAYMENT_REQUIRED,
	    "payment_declined", "The card was declined; the booking still "
	    "awaits payment and a new payment may be initiated.", NULL },
	{ "card_token_invalid", HTTP_STATUS_BAD_REQUEST, "invalid_request",
	    "card_token is not a card token the gateway accepts.",
	    "card_token" },
	{ "payment_not_confirmable", HTTP_STATUS_CONFLICT,
	    "payment_not_confirmable", "This payment has failed; initiate a "
	    "new one.", NULL },
	{ "payment_in_progress", HTTP_STATUS_CONFLICT, "payment_in_progress",
	    "Another confirmation of this payment is running.", NULL },
	{ "confirm_in_flight", HTTP_STATUS_CONFLICT, "idempotency_in_flight",
	    "A request with this Idempotency-Key is still running.", NULL },
	{ "event_mismatch", HTTP_STATUS_BAD_REQUEST, "event_mismatch",
	    "The event's intent, amount or currency is not our payment's; "
	    "nothing changed.", NULL },
	{ "provider_unavailable", HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "unavailable", "The payment provider did not answer in time; "
	    "retry with the same Idempotency-Key.", NULL },
};

/* Unique, and between 1 and CLAIM_SEATS_MAX of them. */
int
claim_seats_check(const int64_t *seats, size_t n, const char **why)
{
	size_t		i, j;

	if (n == 0) {
		*why = "seat_ids must not be empty.";
		return (KORE_RESULT_ERROR);
	}
	if (n > CLAIM_SEATS_MAX) {
		*why = "At most 10 seats per request.";
		return (KORE_RESULT_ERROR);
	}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (seats[i] == seats[j]) {
				*why = "seat_ids has a duplicate id.";
				return (KORE_RESULT_ERROR);
			}
		}
	}

	return (KORE_RESULT_OK);
}

/* A PostgreSQL bigint[] literal: {1,2,3}. */
void
claim_seat_array(const int64_t *seats, size_t n, char *out, size_t len)
{
	size_t		i, off;
	int		w;

	off = 0;
	out[0] = '\0';
	for (i = 0; i <= n; i++) {
		if (i == n)
			w = snprintf(out + off, len - off, "}");
		else
			w = snprintf(out + off, len - off, "%s%lld",
			    i == 0 ? "{" : ",", (long long)seats[i]);
		if (w < 0 || (size_t)w >= len - off)
			fatal("claim_seat_array: buffer too small");
		off += w;
	}
	if (n == 0)
		(void)snprintf(out, len, "{}");
}

/* Reads ids out of a bigint[] as PostgreSQL prints it: {1,2,3}. */
size_t
claim_parse_ids(const char *text, int64_t *out, size_t max)
{
	const char	*p;
	char		*end;
	size_t		n;
	long long	v;

	n = 0;
	for (p = text; *p != '\0' && n < max; p++) {
		if (*p < '0' || *p > '9')
			continue;
		v = strtoll(p, &end, 10);
		out[n++] = v;
		p = end - 1;
	}

	return (n);
}

/*
 * The body of POST /api/holds (CLAIM_BODY_SEATS, CLAIM_BODY_COUNT) or
 * POST /api/bookings (CLAIM_BODY_SEATS, CLAIM_BODY_HOLD). A body with
 * "count" asks for the best count adjacent seats (of "tier"), and then
 * names no seats. On failure the 4xx has been sent.
 */
int
claim_body_parse(struct http_request *req, struct claim_body *b, int forms)
{
	struct kore_json	json;
	const char		*field, *why, *tier;
	int			seats_ret, seat_ret, best;
	int64_t			one;
	size_t			n;

	memset(b, 0, sizeof(*b));
	if (!body_json(req, &json, BODY_REQUIRED))
		return (KORE_RESULT_ERROR);

	field = NULL;
	why = NULL;

	if (body_id(&json, "show_id", &b->show_id) == BODY_INVALID) {
		field = "show_id";
		why = "show_id must be a positive integer.";
	} else if ((forms & CLAIM_BODY_HOLD) &&
	    body_id(&json, "hold_id", &b->hold_id) == BODY_INVALID) {
		field = "hold_id";
		why = "hold_id must be a positive integer.";
	}

	seats_ret = body_ids(&json, "seat_ids", b->seats, CLAIM_SEATS_MAX, &n);
	seat_ret = body_id(&json, "seat_id", &one);
	best = (forms & CLAIM_BODY_COUNT) && (body_member(json.root,
	    "count") != NULL || body_member(json.root, "tier") != NULL);

	if (field != NULL) {
		/* Reported below. */
	} else if (best) {
		if (b->show_id == 0) {
			field = "show_id";
			why = "show_id is required.";
		} else if (seats_ret != BODY_ABSENT ||
		    seat_ret != BODY_ABSENT) {
			field = "count";
			why = "Give either count or seat_ids, not both.";
		} else if (!body_get_int(json.root, "count", BODY_REQUIRED, 1,
		    CLAIM_SEATS_MAX, &b->count)) {
			field = "count";
			why = "count must be an integer from 1 to 10.";
		} else if (!body_get_string(json.root, "tier", BODY_OPTIONAL,
		    1, CLAIM_TIER_MAX, &tier)) {
			field = "tier";
			why = "tier must be a string of 1 to 32 characters.";
		} else if (tier != NULL) {
			kore_strlcpy(b->tier, tier, sizeof(b->tier));
		}
	} else if (b->hold_id != 0) {
		if (seats_ret != BODY_ABSENT || seat_ret != BODY_ABSENT) {
			field = "hold_id";
			why = "Give either hold_id or seats, not both.";
		}
	} else if (b->show_id == 0) {
		field = "show_id";
		why = (forms & CLAIM_BODY_HOLD) ?
		    "show_id (with seat_ids or seat_id) or hold_id is "
		    "required." : "show_id is required.";
	} else if (seats_ret != BODY_ABSENT && seat_ret != BODY_ABSENT) {
		field = "seat_ids";
		why = "Give either seat_ids or seat_id, not both.";
	} else if (seat_ret == BODY_INVALID) {
		field = "seat_id";
		why = "seat_id must be a positive integer.";
	} else if (seat_ret == BODY_OK) {
		b->seats[0] = one;
		b->nseats = 1;
	} else if (seats_ret == BODY_ABSENT) {
		field = "seat_ids";
		why = "seat_ids is required.";
	} else if (seats_ret == BODY_INVALID && n <= CLAIM_SEATS_MAX) {
		field = "seat_ids";
		why = "seat_ids must be an array of positive integers.";
	} else if (!claim_seats_check(b->seats, n, &why)) {
		field = "seat_ids";
	} else {
		b->nseats = n;
	}

	body_cleanup(&json);
	if (field != NULL) {
		reply_invalid(req, field, why);
		return (KORE_RESULT_ERROR);
	}

	if (b->show_id != 0)
		(void)snprintf(b->show, sizeof(b->show), "%lld",
		    (long long)b->show_id);
	if (b->hold_id != 0)
		(void)snprintf(b->hold, sizeof(b->hold), "%lld",
		    (long long)b->hold_id);
	if (b->nseats > 0)
		claim_seat_array(b->seats, b->nseats, b->seat_array,
		    sizeof(b->seat_array));
	if (b->count > 0)
		(void)snprintf(b->count_text, sizeof(b->count_text), "%lld",
		    (long long)b->count);

	return (KORE_RESULT_OK);
}

/* A claim_body field as an SQL parameter: NULL when empty. */
const char *
claim_param(const char *value)
{
	return (value[0] == '\0' ? NULL : value);
}

/*
 * A claim that lost a race runs again, backed off (db_retry()): besides
 * deadlocks and serialization failures, a 23505 is two requests of one
 * Idempotency-Key (or two holds of one seat) inserting at once, and the
 * next run finds the winner's row. 1 when the request now sleeps.
 */
int
claim_retry(struct db_call *call, struct http_request *req)
{
	if (db_sqlstate_is(call, DB_UNIQUE_VIOLATION))
		return (db_retry_backoff(call, req));

	return (db_retry(call, req));
}

/*
 * The rows are the object asked for: 'created', 'existing' (the original
 * booking of an Idempotency-Key) or 'cancelled'.
 */
int
claim_ok(const struct db_call *call)
{
	const char	*o;

	if (db_rows(call) == 0)
		return (0);

	o = db_value(call, 0, CLAIM_COL_OUTCOME);
	return (!strcmp(o, "created") || !strcmp(o, "existing") ||
	    !strcmp(o, "cancelled"));
}

/* The rows are an earlier request's booking under the same key. */
int
claim_existing(const struct db_call *call)
{
	return (db_rows(call) > 0 &&
	    !strcmp(db_value(call, 0, CLAIM_COL_OUTCOME), "existing"));
}

/*
 * The error answer for a refused claim: its status in *status and its
 * body. Every outcome the SQL functions can give is in claim_outcomes;
 * anything else (no row, an outcome this build does not know) came from
 * the database, so it is logged and answered 500, never fatal().
 */
struct kore_json_item *
claim_error(const struct db_call *call, int *status)
{
	if (db_rows(call) == 0) {
		kore_log(LOG_ERR, "claim_error: no outcome row");
		*status = HTTP_STATUS_INTERNAL_ERROR;
		return (reply_error_json("internal_error", REPLY_INTERNAL_MSG,
		    NULL));
	}

	return (claim_error_as(call, db_value(call, 0, CLAIM_COL_OUTCOME),
	    status));
}

/*
 * claim_error() for an outcome the caller knows better than the row (a
 * transition resolved after its connection died); the row (at least one)
 * still gives the details.
 */
struct kore_json_item *
claim_error_as(const struct db_call *call, const char *outcome, int *status)
{
	const struct claim_outcome	*o;
	struct kore_json_item		*details, *ids;
	int64_t				seats[CLAIM_SEATS_MAX];
	size_t				i, n;

	for (i = 0; i < sizeof(claim_outcomes) / sizeof(claim_outcomes[0]);
	    i++) {
		if (!strcmp(claim_outcomes[i].outcome, outcome))
			break;
	}
	if (i == sizeof(claim_outcomes) / sizeof(claim_outcomes[0])) {
		kore_log(LOG_ERR, "claim_error: unknown outcome '%s'", outcome);
		*status = HTTP_STATUS_INTERNAL_ERROR;
		return (reply_error_json("internal_error", REPLY_INTERNAL_MSG,
		    NULL));
	}

	o = &claim_outcomes[i];
	*status = o->status;
	details = NULL;

	if (o->field != NULL || !db_isnull(call, 0, CLAIM_COL_BLOCKED)) {
		details = kore_json_create_object(NULL, NULL);
		if (o->field != NULL)
			kore_json_create_string(details, "field", o->field);
	}
	if (!db_isnull(call, 0, CLAIM_COL_BLOCKED)) {
		ids = kore_json_create_array(details, "seat_ids");
		n = claim_parse_ids(db_value(call, 0, CLAIM_COL_BLOCKED), seats,
		    CLAIM_SEATS_MAX);
		for (i = 0; i < n; i++)
			kore_json_create_integer(ids, NULL, (int64_t)seats[i]);
	}

	return (reply_error_json(o->code, o->message, details));
}
