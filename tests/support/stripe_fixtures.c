/*
 * The Stripe integration tests' shared fixtures (stripe_fixtures.h).
 */
#include <criterion/criterion.h>

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe_fixtures.h"
#include "tokens.h"

struct api_resp *
sx_initiate(const struct paying *p, const char *key)
{
	struct api_resp	*r;
	char		*body, *k;

	k = key != NULL ? NULL : fixture_key();
	body = api_format("{\"booking_id\": %lld}", p->booking);
	r = fixture_book_at(NULL, p->token, key != NULL ? key : k, body,
	    "/api/payments/initiate");
	free(body);
	free(k);
	return (r);
}

struct api_resp *
sx_confirm(const struct paying *p, long long payment, const char *pm,
    const char *key)
{
	struct api_resp	*r;
	char		*body, *k;

	k = key != NULL ? NULL : fixture_key();
	body = api_format("{\"payment_id\": %lld, \"payment_method\": "
	    "\"%s\"}", payment, pm);
	r = fixture_book_at(NULL, p->token, key != NULL ? key : k, body,
	    "/api/payments/confirm");
	free(body);
	free(k);
	return (r);
}

/* Initiates a payment: its id, and its intent in *intent. */
long long
sx_initiated(const struct paying *p, char **intent)
{
	struct api_resp	*r;
	long long	id;

	r = sx_initiate(p, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	id = fixture_id(r);
	if (intent != NULL)
		*intent = strdup(json_string_value(json_object_get(r->json,
		    "provider_payment_id")));
	api_free(r);
	return (id);
}

/* A booking paid with pm_card_visa: its payment and intent. */
void
sx_paid(struct paying *p, long long *payment, char **intent)
{
	struct api_resp	*r;

	paying(p, 1);
	*payment = sx_initiated(p, intent);
	r = sx_confirm(p, *payment, "pm_card_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
}

json_t *
sx_control(const char *method, const char *path, const char *body)
{
	struct api_opts	o = { 0 };
	struct api_resp	*r;
	json_t		*j;

	o.base = getenv("STRIPE_STANDIN_URL");
	cr_assert_not_null(o.base, "STRIPE_STANDIN_URL is not set");
	r = api_with(method, path, body, &o);
	cr_assert_eq(r->status, 200, "%s %s: %ld %s", method, path, r->status,
	    r->body);
	j = json_incref(r->json);
	api_free(r);
	return (j);
}

void
sx_reset(void)
{
	json_decref(sx_control("POST", "/__control/reset", "{}"));
}

/* route's mode for `times` calls (0: until changed). */
void
sx_behaviour(const char *route, const char *mode, int times)
{
	char	*body;

	if (times > 0)
		body = api_format("{\"route\": \"%s\", \"mode\": \"%s\", "
		    "\"times\": %d}", route, mode, times);
	else
		body = api_format("{\"route\": \"%s\", \"mode\": \"%s\"}",
		    route, mode);
	json_decref(sx_control("POST", "/__control/behaviour", body));
	free(body);
}

/* A counter of /__control/stats: `calls` and a route, or a top one. */
long long
sx_stat(const char *group, const char *name)
{
	json_t		*s, *v;
	long long	n;

	s = sx_control("GET", "/__control/stats", NULL);
	v = group != NULL ? json_object_get(json_object_get(s, group), name) :
	    json_object_get(s, name);
	n = v != NULL ? json_integer_value(v) : 0;
	json_decref(s);
	return (n);
}

long long
sx_refunds_of(const char *intent)
{
	return (sx_stat("refunds_by_intent", intent));
}

/* One text value of a query (NULL for SQL NULL); formats like printf. */
char *
sx_text(const char *fmt, ...)
{
	va_list	ap;
	char	*sql, *v;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) == -1)
		cr_assert_fail("vasprintf");
	va_end(ap);
	v = db_text(sql, NULL);
	free(sql);
	return (v);
}

void
sx_assert_error(const struct api_resp *r, long status, const char *code)
{
	cr_assert_eq(r->status, status, "status %ld, body %s", r->status,
	    r->body);
	cr_assert_str_eq(api_error_code(r), code, "body %s", r->body);
}

/*
 * Nothing happened to an initiated payment: it still waits for
 * confirmation, its booking for payment, and no gateway event is logged.
 */
void
sx_assert_unpaid(const struct paying *p, long long pay)
{
	cr_assert_str_eq(sx_text("SELECT status FROM payments WHERE id = "
	    "%lld", pay), "requires_confirmation");
	cr_assert_str_eq(sx_text("SELECT status FROM bookings WHERE id = %s",
	    p->bid), "pending_payment");
	cr_assert_str_eq(sx_text("SELECT count(*) FROM payment_events WHERE "
	    "payment_id = %lld AND source = 'gateway'", pay), "0");
}

/* A header for `payload` signed with STRIPE_WEBHOOK_SECRET (by Stripe's
 * own signer, through the stand-in). */
char *
sx_sign(const char *payload)
{
	json_t		*req, *r;
	char		*body, *h;

	req = json_pack("{s:s, s:s}", "payload", payload, "secret",
	    getenv("STRIPE_WEBHOOK_SECRET"));
	cr_assert_not_null(req);
	body = json_dumps(req, JSON_COMPACT);
	r = sx_control("POST", "/__control/sign", body);
	h = strdup(json_string_value(json_object_get(r, "header")));
	json_decref(r);
	json_decref(req);
	free(body);
	return (h);
}
