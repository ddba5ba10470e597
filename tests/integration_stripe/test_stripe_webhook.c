/*
 * POST /api/payments/webhooks/stripe against events the stand-in signs
 * with the official stripe package: forged, replayed, signed with another
 * secret or altered after signing is 400 and changes nothing; an event
 * about another booking's intent, or another amount or currency, is
 * refused and changes nothing; duplicates apply once, late ones change
 * nothing, unknown types are acknowledged.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stripe_fixtures.h"

TestSuite(stripe_webhook, .init = sx_reset);

/* Sends an event (extra: more members of the control request). */
static long
send_event(const char *type, const char *intent, const char *extra,
    char **body)
{
	json_t		*r, *d;
	char		*req;
	long		status;

	req = api_format("{\"type\": \"%s\", \"intent\": \"%s\"%s%s}", type,
	    intent, extra != NULL ? ", " : "", extra != NULL ? extra : "");
	r = sx_control("POST", "/__control/send_event", req);
	d = json_array_get(json_object_get(r, "deliveries"), 0);
	status = json_integer_value(json_object_get(d, "status"));
	if (body != NULL)
		*body = strdup(json_string_value(json_object_get(d, "body")));
	json_decref(r);
	free(req);
	return (status);
}

static void
no_auto_webhooks(void)
{
	json_decref(sx_control("POST", "/__control/webhooks",
	    "{\"auto\": false}"));
}

Test(stripe_webhook, bad_signatures_are_400_and_change_nothing)
{
	struct paying	p;
	long long	pay;
	char		*intent, *body, *extra;
	json_t		*r;

	no_auto_webhooks();
	paying(&p, 1);
	pay = sx_initiated(&p, &intent);

	/* Replayed: signed 400 s ago (the tolerance is 300 s). */
	extra = api_format("\"timestamp\": %lld", (long long)time(NULL) - 400);
	cr_assert_eq(send_event("payment_intent.succeeded", intent, extra,
	    &body), 400, "%s", body);
	cr_assert_not_null(strstr(body, "invalid_signature"), "%s", body);
	free(extra);
	/* Signed with another secret. */
	cr_assert_eq(send_event("payment_intent.succeeded", intent,
	    "\"secret\": \"whsec_someone_else_0123456789abcdef\"", NULL), 400);
	/* The body changed after it was signed. */
	cr_assert_eq(send_event("payment_intent.succeeded", intent,
	    "\"tamper_body\": true", NULL), 400);
	/* Forged: no signature, or a made-up one. */
	r = sx_control("POST", "/__control/send_raw", api_format("{\"payload\""
	    ": \"{\\\"id\\\": \\\"evt_x\\\", \\\"type\\\": \\\"payment_intent."
	    "succeeded\\\"}\", \"header\": \"t=%lld,v1=%064d\"}",
	    (long long)time(NULL), 0));
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(r, "deliveries"), 0), "status")), 400);
	json_decref(r);
	sx_assert_unpaid(&p, pay);

	/* The same event, signed as Stripe does: applied. */
	cr_assert_eq(send_event("payment_intent.succeeded", intent, NULL,
	    NULL), 200);
	cr_assert_str_eq(sx_text("SELECT status FROM payments WHERE id = "
	    "%lld", pay), "succeeded");
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");
}

Test(stripe_webhook, an_event_that_is_not_our_payment_is_refused)
{
	struct paying	p, other;
	long long	pay, other_pay;
	char		*intent, *other_intent, *extra;

	no_auto_webhooks();
	paying(&p, 1);
	pay = sx_initiated(&p, &intent);
	paying(&other, 1);
	other_pay = sx_initiated(&other, &other_intent);

	/* Our intent, claiming to pay the other booking. */
	extra = api_format("\"override\": {\"metadata\": {\"booking_id\": "
	    "\"%lld\", \"payment_id\": \"%lld\"}}", other.booking, other_pay);
	cr_assert_eq(send_event("payment_intent.succeeded", intent, extra,
	    NULL), 400);
	free(extra);
	cr_assert_eq(send_event("payment_intent.succeeded", intent,
	    "\"override\": {\"amount\": 1}", NULL), 400);
	cr_assert_eq(send_event("payment_intent.succeeded", intent,
	    "\"override\": {\"currency\": \"usd\"}", NULL), 400);
	sx_assert_unpaid(&p, pay);
	sx_assert_unpaid(&other, other_pay);
}

Test(stripe_webhook, duplicates_late_and_unknown_events_change_nothing_more)
{
	struct paying	p;
	long long	pay;
	char		*intent, *body;

	no_auto_webhooks();
	paying(&p, 1);
	pay = sx_initiated(&p, &intent);

	cr_assert_eq(send_event("payment_intent.succeeded", intent,
	    "\"times\": 3", NULL), 200);
	cr_assert_str_eq(sx_text("SELECT count(*) FROM payment_events WHERE "
	    "payment_id = %lld AND type = 'succeeded'", pay), "1");
	/* A failure that arrives after the success changes nothing. */
	cr_assert_eq(send_event("payment_intent.payment_failed", intent, NULL,
	    NULL), 200);
	cr_assert_str_eq(sx_text("SELECT status FROM payments WHERE id = "
	    "%lld", pay), "succeeded");
	cr_assert_eq(send_event("payment_intent.created", intent, NULL,
	    &body), 200);
	cr_assert_not_null(strstr(body, "\"received\":true"), "%s", body);
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");
}
