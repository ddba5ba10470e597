/*
 * POST /api/payments/mock-callback exists only with the mock gateway:
 * with PAYMENT_PROVIDER=stripe it is 404 not_found, as an unknown URL
 * is, even for an event signed with the server's own webhook secret, and
 * nothing changes. (With the mock it is tested in tests/integration.)
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe_fixtures.h"

TestSuite(stripe_mock_route, .init = sx_reset);

static struct api_resp *
post_callback(const char *method, const char *header_name, const char *sig,
    const char *payload)
{
	struct api_opts	o = { 0 };
	const char	*headers[2] = { NULL, NULL };
	char		*h;
	struct api_resp	*r;

	h = api_format("%s: %s", header_name, sig);
	headers[0] = h;
	o.headers = headers;
	r = api_with(method, "/api/payments/mock-callback", payload, &o);
	free(h);
	return (r);
}

Test(stripe_mock_route, mock_callback_is_not_found_with_stripe)
{
	struct paying	p;
	struct api_resp	*r, *unknown;
	long long	pay;
	char		*payload, *sig;
	const char	*methods[] = { "POST", "GET", "PUT" };
	size_t		i;

	paying(&p, 1);
	pay = sx_initiated(&p, NULL);
	payload = api_format("{\"id\": \"evt_mock_%lld\", \"type\": "
	    "\"payment.succeeded\", \"data\": {\"payment_id\": %lld}}", pay,
	    pay);
	sig = sx_sign(payload);

	unknown = api("POST", "/api/no-such-route", payload);
	cr_assert_eq(unknown->status, 404);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r = post_callback(methods[i], "X-Signature", sig, payload);
		cr_assert_eq(r->status, 404, "%s: %ld %s", methods[i],
		    r->status, r->body);
		cr_assert_str_eq(api_error_code(r), "not_found");
		cr_assert_str_eq(r->body, unknown->body);
		api_free(r);
	}
	r = post_callback("POST", "Stripe-Signature", sig, payload);
	cr_assert_eq(r->status, 404, "%ld %s", r->status, r->body);
	api_free(r);

	sx_assert_unpaid(&p, pay);
	api_free(unknown);
	free(payload);
	free(sig);
}
