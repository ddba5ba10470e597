/*
 * payments_body: the request bodies of the payment writes, each checked
 * by one function into struct payments_body (payments_body.h), or answered
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

static int64_t	payments_body_metadata_id(struct kore_json_item *,
		    const char *);

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

/* metadata[name] of a Stripe object as our id; 0 when absent or bad. */
static int64_t
payments_body_metadata_id(struct kore_json_item *obj, const char *name)
{
	struct kore_json_item	*md;
	const char		*v;
	int64_t			id;
	int			err;

	md = body_member(obj, "metadata");
	if (md == NULL || md->type != KORE_JSON_TYPE_OBJECT ||
	    !body_get_string(md, name, 1, 1, 19, &v) || v == NULL)
		return (0);
	id = (int64_t)kore_strtonum64(v, 0, &err);
	if (err != KORE_RESULT_OK || id < 1)
		return (0);

	return (id);
}

/*
 * A Stripe event: {id, type, data: {object}}. Handled types carry a
 * PaymentIntent (payment_intent.*) or a Charge (charge.refunded) as the
 * object, with our metadata[payment_id] and metadata[booking_id]; any
 * other type, or an object that is not ours, is acknowledged and
 * ignored (b->handled 0), as Stripe expects of an endpoint.
 */
int
payments_body_stripe_event(struct http_request *req, struct payments_body *b)
{
	struct kore_json	json;
	struct kore_json_item	*data, *obj;
	const char		*id, *type, *intent, *currency;
	int64_t			amount;
	size_t			i;
	static const char	*types[] = {
		"payment_intent.succeeded", "payment_intent.payment_failed",
		"payment_intent.canceled", "charge.refunded"
	};

	if (!body_json(req, &json, BODY_REQUIRED))
		return (KORE_RESULT_ERROR);

	if (!body_get_string(json.root, "id", 1, 1, PAYMENTS_EVENT_ID_MAX,
	    &id) || !body_get_string(json.root, "type", 1, 1, 64, &type)) {
		body_cleanup(&json);
		reply_invalid(req, "id", "An event needs an id and a type.");
		return (KORE_RESULT_ERROR);
	}
	(void)kore_strlcpy(b->event_id, id, sizeof(b->event_id));
	b->handled = 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(types[i], type))
			b->handled = 1;
	}
	if (!b->handled) {
		body_cleanup(&json);
		return (KORE_RESULT_OK);
	}
	(void)kore_strlcpy(b->event_type, type, sizeof(b->event_type));

	data = body_member(json.root, "data");
	obj = data != NULL && data->type == KORE_JSON_TYPE_OBJECT ?
	    body_member(data, "object") : NULL;
	intent = currency = NULL;
	amount = 0;
	if (obj == NULL || obj->type != KORE_JSON_TYPE_OBJECT ||
	    !body_get_string(obj, !strncmp(type, "charge.", 7) ?
	    "payment_intent" : "id", 1, 1, PAYMENTS_TOKEN_MAX, &intent) ||
	    !body_get_string(obj, "currency", 1, 3, 3, &currency) ||
	    !body_get_int(obj, "amount", 1, 0, INT64_MAX, &amount) ||
	    intent == NULL || currency == NULL) {
		body_cleanup(&json);
		reply_invalid(req, "data.object", "The event's object is not "
		    "a PaymentIntent or Charge.");
		return (KORE_RESULT_ERROR);
	}
	(void)kore_strlcpy(b->intent, intent, sizeof(b->intent));
	(void)kore_strlcpy(b->currency, currency, sizeof(b->currency));
	b->amount = amount;
	b->id = payments_body_metadata_id(obj, "payment_id");
	b->booking_id = payments_body_metadata_id(obj, "booking_id");
	if (b->id == 0 || b->booking_id == 0)
		b->handled = 0;		/* not an intent of ours */
	body_cleanup(&json);

	return (KORE_RESULT_OK);
}
