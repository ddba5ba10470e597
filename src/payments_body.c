/*
 * payments_body: the request bodies of the payment writes, each checked
 * by one function into struct payments_body (payments.h), or answered
 * 400 naming the first offending field (reply_invalid()). payments.c
 * reads only the struct after that, never the JSON.
 *
 *   initiate  {booking_id}
 *   confirm   {payment_id, card_token}
 *   event     the gateway's {id, type, data: {payment_id}}; its
 *             X-Signature is checked before, by the provider, over the
 *             raw body (payments.c, the auth state)
 *
 * Members the API does not name (amount_cents) are ignored: the amount
 * is always the booking's, read by the transition.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "body.h"
#include "payments_body.h"
#include "reply.h"

/* {booking_id}; anything else in the body (amount_cents) is ignored. */
int
payments_body_initiate(struct http_request *req, struct payments_body *b)
{
	struct kore_json	json;
	int			ret;

	if (!body_json(req, &json, BODY_REQUIRED))
		return (KORE_RESULT_ERROR);
	ret = body_id(&json, "booking_id", &b->id);
	body_cleanup(&json);

	if (ret != BODY_OK) {
		reply_invalid(req, "booking_id", "booking_id must be a "
		    "positive integer.");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * {payment_id, card_token} or {payment_id, payment_method} (Stripe's
 * name); amount_cents is ignored.
 */
int
payments_body_confirm(struct http_request *req, struct payments_body *b)
{
	struct kore_json	json;
	const char		*token, *field, *why;

	if (!body_json(req, &json, BODY_REQUIRED))
		return (KORE_RESULT_ERROR);

	field = NULL;
	why = NULL;
	if (body_id(&json, "payment_id", &b->id) != BODY_OK) {
		field = "payment_id";
		why = "payment_id must be a positive integer.";
	} else if (body_member(json.root, "payment_method") != NULL &&
	    !body_get_string(json.root, "payment_method", 1, 1,
	    PAYMENTS_TOKEN_MAX, &token)) {
		field = "payment_method";
		why = "payment_method must be a string of 1 to 100 "
		    "characters.";
	} else if (body_member(json.root, "payment_method") == NULL &&
	    !body_get_string(json.root, "card_token", 1, 1,
	    PAYMENTS_TOKEN_MAX, &token)) {
		field = "card_token";
		why = "card_token (or payment_method) must be a string of 1 "
		    "to 100 characters.";
	} else if (kore_strlcpy(b->token, token, sizeof(b->token)) >=
	    sizeof(b->token)) {
		fatal("payments_body_confirm: token longer than checked");
	}
	body_cleanup(&json);

	if (field != NULL) {
		reply_invalid(req, field, why);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* A gateway event: {id, type, data: {payment_id}}. */
int
payments_body_event(struct http_request *req, struct payments_body *b)
{
	struct kore_json	json;
	struct kore_json_item	*data, *item;
	const char		*id, *type, *field, *why;
	size_t			i;
	static const char	*types[] = {
		"payment.succeeded", "payment.failed", "refund.succeeded"
	};

	if (!body_json(req, &json, BODY_REQUIRED))
		return (KORE_RESULT_ERROR);

	field = NULL;
	why = NULL;
	type = NULL;
	if (!body_get_string(json.root, "id", 1, 1, PAYMENTS_EVENT_ID_MAX,
	    &id)) {
		field = "id";
		why = "id must be a string of 1 to 255 characters.";
	} else if (!body_get_string(json.root, "type", 1, 1, 64, &type)) {
		field = "type";
		why = "type must be a string.";
	} else {
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (!strcmp(types[i], type))
				break;
		}
		if (i == sizeof(types) / sizeof(types[0])) {
			field = "type";
			why = "type must be payment.succeeded, "
			    "payment.failed or refund.succeeded.";
		}
	}

	if (field == NULL) {
		data = body_member(json.root, "data");
		item = data != NULL && data->type == KORE_JSON_TYPE_OBJECT ?
		    body_member(data, "payment_id") : NULL;
		if (item == NULL || item->type != KORE_JSON_TYPE_INTEGER_U64 ||
		    item->data.u64 < 1 || item->data.u64 > INT64_MAX) {
			field = "data.payment_id";
			why = "data.payment_id must be a positive integer.";
		} else {
			b->id = (int64_t)item->data.u64;
		}
	}

	if (field == NULL) {
		(void)kore_strlcpy(b->event_id, id, sizeof(b->event_id));
		(void)kore_strlcpy(b->event_type, type,
		    sizeof(b->event_type));
	}
	body_cleanup(&json);

	if (field != NULL) {
		reply_invalid(req, field, why);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}
