/*
 * Paying through Stripe (PAYMENT_PROVIDER=stripe) against the stand-in:
 * initiate creates one PaymentIntent per payment whatever the retries,
 * confirm charges it server-side, 3-D Secure is answered as such, a
 * decline is 402, Stripe failing or hanging is 503 with Retry-After and
 * the retry finds the intent the first attempt made, and a crowd of
 * confirms charges once. Counted at the stand-in.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stripe_fixtures.h"
#include "tokens.h"

TestSuite(stripe_pay, .init = sx_reset);

Test(stripe_pay, initiate_creates_one_intent_for_the_booking)
{
	struct paying	p;
	struct api_resp	*r, *again;
	json_t		*intent, *md;
	char		*key, *path;

	paying(&p, 1);
	key = fixture_key();
	r = sx_initiate(&p, key);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(str(r->json, "provider"), "stripe");
	cr_assert(strncmp(str(r->json, "provider_payment_id"), "pi_", 3) == 0,
	    "%s", r->body);
	cr_assert_not_null(strstr(str(r->json, "client_secret"), "_secret_"));

	path = api_format("/__control/intents/%s",
	    str(r->json, "provider_payment_id"));
	intent = sx_control("GET", path, NULL);
	cr_assert_eq(json_integer_value(json_object_get(intent, "amount")),
	    p.total);
	cr_assert_str_eq(str(intent, "currency"), "eur");
	md = json_object_get(intent, "metadata");
	cr_assert_str_eq(str(md, "booking_id"), p.bid);
	cr_assert_eq(atoll(str(md, "payment_id")), fixture_id(r));
	json_decref(intent);

	/* The same key, and another key: the same payment, one intent. */
	again = sx_initiate(&p, key);
	cr_assert_eq(again->status, 201, "%s", again->body);
	cr_assert_str_eq(str(again->json, "provider_payment_id"),
	    str(r->json, "provider_payment_id"));
	api_free(again);
	again = sx_initiate(&p, NULL);
	cr_assert_eq(again->status, 200, "%s", again->body);
	cr_assert_str_eq(str(again->json, "provider_payment_id"),
	    str(r->json, "provider_payment_id"));
	api_free(again);
	cr_assert_eq(sx_stat(NULL, "intents_created"), 1);
	cr_assert_str_eq(sx_text("SELECT provider_ref FROM payments WHERE "
	    "id = %lld", fixture_id(r)), str(r->json, "provider_payment_id"));
	api_free(r);
	free(key);
	free(path);
}

Test(stripe_pay, confirm_with_a_card_charges_and_confirms_the_booking)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;

	paying(&p, 1);
	pay = sx_initiated(&p, NULL);
	r = sx_confirm(&p, pay, "pm_card_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "succeeded");
	api_free(r);
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");
	cr_assert_eq(sx_stat(NULL, "charges"), 1);
}

Test(stripe_pay, a_decline_is_402_and_the_booking_still_awaits_payment)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*intent, *path;
	json_t		*pi;

	paying(&p, 1);
	pay = sx_initiated(&p, &intent);
	r = sx_confirm(&p, pay, "pm_card_chargeDeclined", NULL);
	sx_assert_error(r, 402, "payment_declined");
	api_free(r);
	cr_assert_str_eq(sx_text("SELECT status FROM payments WHERE id = "
	    "%lld", pay), "failed");
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "pending_payment");
	path = api_format("/__control/intents/%s", intent);
	pi = sx_control("GET", path, NULL);
	cr_assert_str_eq(str(pi, "status"), "requires_payment_method");
	json_decref(pi);
	free(path);
}

Test(stripe_pay, three_d_secure_is_requires_action_with_next_action)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;

	paying(&p, 1);
	pay = sx_initiated(&p, NULL);
	r = sx_confirm(&p, pay, "pm_card_authenticationRequired", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "requires_action");
	cr_assert(json_is_object(json_object_get(r->json, "next_action")),
	    "%s", r->body);
	api_free(r);
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "pending_payment");
}

/*
 * GET shows the provider's side as initiate does: provider and intent to
 * the owner and admins, the client_secret to the owner only.
 */
Test(stripe_pay, get_shows_the_intent_and_the_secret_to_the_owner_only)
{
	struct paying	p;
	struct api_resp	*r, *g;
	json_t		*item;
	char		*get, *list;
	int		i;

	paying(&p, 1);
	r = sx_initiate(&p, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	get = api_format("/api/payments/%lld", fixture_id(r));
	list = api_format("/api/bookings/%s/payments", p.bid);
	for (i = 0; i < 2; i++) {
		g = api_auth("GET", i == 0 ? get : list, p.token, NULL);
		cr_assert_eq(g->status, 200, "%s", g->body);
		item = i == 0 ? g->json :
		    json_array_get(json_object_get(g->json, "data"), 0);
		cr_assert_str_eq(str(item, "provider"), "stripe", "%s",
		    g->body);
		cr_assert_str_eq(str(item, "provider_payment_id"),
		    str(r->json, "provider_payment_id"), "%s", g->body);
		cr_assert_str_eq(str(item, "client_secret"),
		    str(r->json, "client_secret"), "%s", g->body);
		cr_assert_null(json_object_get(item, "next_action"));
		api_free(g);

		/* An admin sees the intent, never the secret. */
		g = api_auth("GET", i == 0 ? get : list, test_admin_token(),
		    NULL);
		cr_assert_eq(g->status, 200, "%s", g->body);
		item = i == 0 ? g->json :
		    json_array_get(json_object_get(g->json, "data"), 0);
		cr_assert_str_eq(str(item, "provider_payment_id"),
		    str(r->json, "provider_payment_id"), "%s", g->body);
		cr_assert_null(json_object_get(item, "client_secret"), "%s",
		    g->body);
		api_free(g);
	}
	api_free(r);
	free(get);
	free(list);
}

/*
 * requires_action is kept: GET shows it with next_action until the
 * customer authenticates and Stripe's webhook settles the payment.
 */
Test(stripe_pay, requires_action_is_kept_until_the_webhook_settles_it)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*intent, *path, *get;

	paying(&p, 1);
	pay = sx_initiated(&p, &intent);
	r = sx_confirm(&p, pay, "pm_card_authenticationRequired", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);

	get = api_format("/api/payments/%lld", pay);
	r = api_auth("GET", get, p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "requires_action", "%s",
	    r->body);
	cr_assert_str_eq(str(json_object_get(r->json, "next_action"), "type"),
	    "use_stripe_sdk", "%s", r->body);
	api_free(r);
	path = api_format("/api/bookings/%s/payments", p.bid);
	r = api_auth("GET", path, p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(json_array_get(json_object_get(r->json, "data"),
	    0), "status"), "requires_action", "%s", r->body);
	api_free(r);
	free(path);

	/* The customer authenticates; the stand-in's webhook settles it. */
	path = api_format("/__control/intents/%s/authenticate", intent);
	json_decref(sx_control("POST", path, "{\"result\": \"succeed\"}"));
	free(path);
	wait_for(!strcmp(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed"), 10, "the webhook to confirm the booking");
	r = api_auth("GET", get, p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "succeeded", "%s", r->body);
	cr_assert_null(json_object_get(r->json, "next_action"), "%s", r->body);
	api_free(r);
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");
	free(get);
	free(intent);
}

/* A confirm with another card after requires_action settles it too. */
Test(stripe_pay, requires_action_then_another_card_settles_it)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*get;

	paying(&p, 1);
	json_decref(sx_control("POST", "/__control/webhooks",
	    "{\"auto\": false}"));
	pay = sx_initiated(&p, NULL);
	r = sx_confirm(&p, pay, "pm_card_authenticationRequired", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	get = api_format("/api/payments/%lld", pay);
	r = api_auth("GET", get, p.token, NULL);
	cr_assert_str_eq(str(r->json, "status"), "requires_action", "%s",
	    r->body);
	api_free(r);

	r = sx_confirm(&p, pay, "pm_card_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "succeeded", "%s", r->body);
	api_free(r);
	r = api_auth("GET", get, p.token, NULL);
	cr_assert_str_eq(str(r->json, "status"), "succeeded", "%s", r->body);
	cr_assert_null(json_object_get(r->json, "next_action"), "%s", r->body);
	api_free(r);
	free(get);
}

/* One Stripe failure on create, then the same key again. */
static void
initiate_after(const char *mode)
{
	struct paying	p;
	struct api_resp	*r;
	char		*key, ra[16];

	paying(&p, 1);
	if (!strcmp(mode, "drop_after_effect"))
		json_decref(sx_control("POST", "/__control/behaviour",
		    "{\"route\": \"create_intent\", \"mode\": \"drop\", "
		    "\"after_effect\": true, \"times\": 1}"));
	else
		sx_behaviour("create_intent", mode, 1);
	key = fixture_key();
	r = sx_initiate(&p, key);
	sx_assert_error(r, 503, "unavailable");
	cr_assert_not_null(api_header(r, "retry-after", ra, sizeof(ra)),
	    "no Retry-After: %s", r->headers);
	api_free(r);
	if (!strcmp(mode, "hang"))
		sx_behaviour("create_intent", "ok", 0);

	r = sx_initiate(&p, key);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert(strncmp(str(r->json, "provider_payment_id"), "pi_", 3) == 0);
	api_free(r);
	cr_assert_eq(sx_stat(NULL, "intents_created"), 1,
	    "a retried initiate made a second intent");
	cr_assert_geq(sx_stat("calls", "create_intent"), 2);
	free(key);
}

Test(stripe_pay, stripe_500_on_initiate_is_503_and_the_retry_works)
{
	initiate_after("error500");
}

Test(stripe_pay, a_hanging_stripe_is_503_after_the_timeout, .timeout = 30)
{
	initiate_after("hang");
}

Test(stripe_pay, a_lost_answer_is_503_and_the_retry_finds_that_intent)
{
	initiate_after("drop_after_effect");
}

Test(stripe_pay, a_hundred_concurrent_confirms_charge_once, .timeout = 90)
{
	struct paying		p;
	struct multi_req	reqs[100];
	char			*keys[100], *body;
	long long		pay;
	int			i, ok;

	paying(&p, 1);
	pay = sx_initiated(&p, NULL);
	body = api_format("{\"payment_id\": %lld, \"payment_method\": "
	    "\"pm_card_visa\"}", pay);
	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 100; i++) {
		keys[i] = fixture_key();
		reqs[i].base = getenv("BOOKING_URL");
		reqs[i].path = "/api/payments/confirm";
		reqs[i].token = p.token;
		reqs[i].key = keys[i];
		reqs[i].body = body;
	}
	fixture_multi(reqs, 100, 60000);

	ok = 0;
	for (i = 0; i < 100; i++) {
		cr_assert_eq(reqs[i].curl_error, 0);
		if (reqs[i].status == 200)
			ok++;
		else
			cr_assert(reqs[i].status == 409 || reqs[i].status ==
			    429, "%ld %s", reqs[i].status, reqs[i].resp);
	}
	cr_assert_geq(ok, 1);
	cr_assert_eq(sx_stat(NULL, "charges"), 1, "charged more than once");
	cr_assert_leq(sx_stat("calls", "confirm_intent"), 1);
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");
	fixture_multi_free(reqs, 100);
	for (i = 0; i < 100; i++)
		free(keys[i]);
	free(body);
}
