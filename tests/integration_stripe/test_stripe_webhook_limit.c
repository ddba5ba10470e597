/*
 * POST /api/payments/webhooks/stripe is limited per client address
 * (RATE_LIMIT_WEBHOOKS a window), before the signature is checked: past
 * the limit an event is 429 rate_limited with Retry-After, signed or not,
 * and changes nothing; another address goes on. Each test runs its own
 * server with a low limit, behind 127.0.0.1 as a trusted proxy, so that
 * X-Forwarded-For names the sender (as HAProxy does in the cluster).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe_fixtures.h"

TestSuite(stripe_webhook_limit, .init = sx_reset);

/* A server whose webhook limit is `limit`, trusting 127.0.0.1. */
static void
limited_server(struct test_server *srv, int limit)
{
	char		*env[4];

	env[0] = api_format("RATE_LIMIT_WEBHOOKS=%d", limit);
	env[1] = strdup("RATE_LIMIT_WINDOW_SECONDS=300");
	env[2] = strdup("TRUSTED_PROXIES=127.0.0.1/32");
	env[3] = NULL;
	cr_assert(test_server_start(srv, (const char **)env),
	    "test server did not start");
}

/* POSTs `payload` to srv's webhook as sent from `from`. */
static struct api_resp *
deliver(const struct test_server *srv, const char *from, const char *sig,
    const char *payload)
{
	struct api_opts	o = { 0 };
	const char	*headers[3];
	char		*h[2];
	struct api_resp	*r;

	h[0] = api_format("Stripe-Signature: %s", sig);
	h[1] = api_format("X-Forwarded-For: %s", from);
	headers[0] = h[0];
	headers[1] = h[1];
	headers[2] = NULL;
	o.base = srv != NULL ? srv->url : NULL;
	o.headers = headers;
	r = api_with("POST", "/api/payments/webhooks/stripe", payload, &o);
	free(h[0]);
	free(h[1]);
	return (r);
}

static void
assert_limited(const struct api_resp *r)
{
	char	retry[32];
	long	secs;

	sx_assert_error(r, 429, "rate_limited");
	cr_assert_not_null(api_header(r, "retry-after", retry, sizeof(retry)),
	    "429 without Retry-After: %s", r->headers);
	secs = strtol(retry, NULL, 10);
	cr_assert(secs >= 1 && secs <= 300, "Retry-After: %s", retry);
}

Test(stripe_webhook_limit, past_the_limit_an_address_is_429_others_go_on,
    .timeout = 60)
{
	struct test_server	srv;
	struct api_resp		*r;
	const char		*a = "198.51.100.7", *b = "198.51.100.8";
	char			*payload, *sig;
	int			i;

	limited_server(&srv, 3);
	payload = strdup("{\"id\": \"evt_limit_unhandled\", \"object\": "
	    "\"event\", \"type\": \"customer.created\", \"data\": "
	    "{\"object\": {\"id\": \"cus_limit\", \"object\": "
	    "\"customer\"}}}");
	sig = sx_sign(payload);

	for (i = 0; i < 3; i++) {
		r = deliver(&srv, a, sig, payload);
		cr_assert_eq(r->status, 200, "event %d: %ld %s", i + 1,
		    r->status, r->body);
		cr_assert_not_null(strstr(r->body, "\"received\""));
		api_free(r);
	}

	/* The fourth, signed or forged: refused before any signature work. */
	r = deliver(&srv, a, sig, payload);
	assert_limited(r);
	api_free(r);
	r = deliver(&srv, a, "t=1,v1=00", payload);
	assert_limited(r);
	api_free(r);

	/* Another address has its own count. */
	r = deliver(&srv, b, sig, payload);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	api_free(r);
	r = deliver(&srv, b, "t=1,v1=00", payload);
	sx_assert_error(r, 400, "invalid_signature");
	api_free(r);

	test_server_stop(&srv);
	free(payload);
	free(sig);
}

/*
 * A real event (the payment's intent succeeded) refused by the limit
 * changes nothing; the same event from an address under its limit is
 * applied.
 */
Test(stripe_webhook_limit, an_event_past_the_limit_changes_nothing,
    .timeout = 60)
{
	struct test_server	srv;
	struct paying		p;
	struct api_resp		*r;
	long long		pay;
	json_t			*pi, *ev;
	char			*intent, *path, *payload, *sig, *id;

	json_decref(sx_control("POST", "/__control/webhooks",
	    "{\"auto\": false}"));
	paying(&p, 1);
	pay = sx_initiated(&p, &intent);
	path = api_format("/__control/intents/%s", intent);
	pi = sx_control("GET", path, NULL);
	json_object_del(pi, "refunds");
	json_object_set_new(pi, "status", json_string("succeeded"));
	id = api_format("evt_limit_%lld", pay);
	ev = json_pack("{s:s, s:s, s:s, s:{s:O}}", "id", id, "object",
	    "event", "type", "payment_intent.succeeded", "data", "object", pi);
	payload = json_dumps(ev, JSON_COMPACT);
	sig = sx_sign(payload);

	limited_server(&srv, 1);
	r = deliver(&srv, "203.0.113.9", "t=1,v1=00", payload);
	sx_assert_error(r, 400, "invalid_signature");
	api_free(r);
	r = deliver(&srv, "203.0.113.9", sig, payload);
	assert_limited(r);
	api_free(r);

	sx_assert_unpaid(&p, pay);

	r = deliver(&srv, "203.0.113.10", sig, payload);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	api_free(r);
	cr_assert_str_eq(sx_text("SELECT status FROM payments WHERE id = "
	    "%lld", pay), "succeeded");
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p.bid), "confirmed");

	test_server_stop(&srv);
	json_decref(ev);
	json_decref(pi);
	free(payload);
	free(sig);
	free(path);
	free(intent);
	free(id);
}
