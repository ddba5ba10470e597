/*
 * Refunds through the outbox with Stripe (the stand-in): down while 20
 * paid bookings are cancelled, every refund is delivered once it is back,
 * each exactly once, refund_status pending -> succeeded; a worker killed
 * mid-delivery still refunds once; money that arrives after the hold
 * lapsed and the seat went to someone else is refunded, the seat stays
 * sold once. Counted at the stand-in.
 */
#include <sys/types.h>

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stripe_fixtures.h"
#include "tokens.h"

TestSuite(stripe_refund, .init = sx_reset);

#define PAID	20

static char *
booking_of(const struct paying *p, const char *column)
{
	return (sx_text("SELECT coalesce(%s, 'null') FROM bookings WHERE "
	    "id = %s", column, p->bid));
}

static void
cancel(const struct paying *p)
{
	struct api_resp	*r;

	r = api_auth("POST", api_format("/api/bookings/%lld/cancel",
	    p->booking), p->token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "status")), "cancelled");
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "refund_status")), "pending", "%s", r->body);
	api_free(r);
}

/* GET /api/bookings/{id} says what the database says. */
static void
assert_api_refund_status(const struct paying *p, const char *status,
    const char *refund_status)
{
	struct api_resp	*r;

	r = api_auth("GET", api_format("/api/bookings/%lld", p->booking),
	    p->token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "status")), status, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "refund_status")), refund_status, "%s", r->body);
	api_free(r);
}

/* Waits up to `seconds` for the booking to be refunded. */
static int
refunded_within(const struct paying *p, int seconds)
{
	int	i;

	for (i = 0; i < seconds * 10; i++) {
		if (!strcmp(booking_of(p, "status"), "refunded"))
			return (1);
		usleep(100000);
	}
	return (0);
}

Test(stripe_refund, stripe_down_while_20_are_cancelled_refunds_each_once,
    .timeout = 180)
{
	struct paying	p[PAID];
	long long	pay[PAID];
	char		*intent[PAID];
	time_t		back;
	int		i, attempts;

	for (i = 0; i < PAID; i++)
		sx_paid(&p[i], &pay[i], &intent[i]);

	sx_behaviour("refund", "error500", 0);
	for (i = 0; i < PAID; i++) {
		cancel(&p[i]);
		cr_assert_str_eq(booking_of(&p[i], "refund_status"), "pending");
	}
	/* Until every refund was tried (and refused) at least once. */
	for (i = 0; i < 200 && sx_stat("calls", "refund") < PAID; i++)
		usleep(50000);
	cr_assert_eq(sx_stat(NULL, "refunds_created"), 0);
	cr_assert_geq(sx_stat("calls", "refund"), PAID,
	    "the outbox did not try while Stripe was down");
	for (i = 0; i < PAID; i++) {
		cr_assert_str_eq(booking_of(&p[i], "status"), "cancelled");
		cr_assert_str_eq(booking_of(&p[i], "refund_status"), "pending");
	}

	sx_behaviour("refund", "ok", 0);
	back = time(NULL);
	for (i = 0; i < PAID; i++) {
		cr_assert(refunded_within(&p[i], 60), "booking %s: %s", p[i].bid,
		    booking_of(&p[i], "status"));
		cr_assert_str_eq(booking_of(&p[i], "refund_status"),
		    "succeeded");
		cr_assert_eq(sx_refunds_of(intent[i]), 1, "%s", intent[i]);
	}
	cr_assert_eq(sx_stat(NULL, "refunds_created"), PAID);
	attempts = atoi(sx_text("SELECT sum(attempts) FROM payment_outbox o "
	    "JOIN payments p ON p.id = o.payment_id WHERE p.provider_ref IN "
	    "(SELECT provider_ref FROM payments WHERE id BETWEEN %lld AND "
	    "%lld)", pay[0], pay[PAID - 1]));
	fprintf(stderr, "outbox: %d refunds, %d attempts, %lld refund calls at "
	    "the stand-in, all delivered %ld s after it came back\n", PAID,
	    attempts, sx_stat("calls", "refund"), (long)(time(NULL) - back));
}

Test(stripe_refund, a_worker_killed_mid_delivery_still_refunds_once,
    .timeout = 120)
{
	struct paying	p;
	pid_t		pids[8];
	long long	pay;
	char		*intent;
	int		i, n;

	sx_paid(&p, &pay, &intent);
	json_decref(sx_control("POST", "/__control/behaviour",
	    "{\"route\": \"refund\", \"mode\": \"slow\", \"delay_ms\": 1500, "
	    "\"times\": 1}"));
	cancel(&p);
	for (i = 0; i < 100 && sx_stat("calls", "refund") == 0; i++)
		usleep(50000);
	cr_assert_eq(sx_stat("calls", "refund"), 1, "no delivery started");

	/* Every worker: whichever holds the delivery dies with it. */
	n = test_worker_pids(pids, 8);
	cr_assert_geq(n, 1);
	for (i = 0; i < n; i++)
		cr_assert_eq(kill(pids[i], SIGKILL), 0);

	cr_assert(refunded_within(&p, 60), "%s", booking_of(&p, "status"));
	cr_assert_str_eq(booking_of(&p, "refund_status"), "succeeded");
	assert_api_refund_status(&p, "refunded", "succeeded");
	cr_assert_geq(sx_stat("calls", "refund"), 2,
	    "the killed delivery was not tried again");
	cr_assert_eq(sx_refunds_of(intent), 1, "refunded twice");
}

Test(stripe_refund, money_after_the_seat_was_resold_is_refunded, .timeout = 60)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay, other;
	struct api_opts	o;
	char		*intent, *tb, *body;
	int		i;

	sx_paying(&p, 1);
	pay = sx_initiated(&p, &intent);
	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s' "
	    "WHERE id = $1", p.bid, NULL);
	tb = test_user_token("user", &other);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}",
	    p.show.id, p.show.seats[0]);
	r = fixture_book(tb, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "the seat was not free: %s", r->body);
	api_free(r);

	/* The customer confirms with Stripe.js: Stripe sends the event. */
	memset(&o, 0, sizeof(o));
	o.base = getenv("STRIPE_STANDIN_URL");
	o.token = getenv("STRIPE_SECRET_KEY");
	o.content_type = "application/x-www-form-urlencoded";
	r = api_with("POST", api_format("/v1/payment_intents/%s/confirm",
	    intent), "payment_method=pm_card_visa", &o);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	for (i = 0; i < 100 && sx_refunds_of(intent) == 0; i++)
		usleep(100000);
	cr_assert_eq(sx_refunds_of(intent), 1, "the late money was not "
	    "refunded");
	for (i = 0; i < 50 && strcmp(booking_of(&p, "refund_status"),
	    "succeeded"); i++)
		usleep(100000);
	cr_assert_str_eq(booking_of(&p, "refund_status"), "succeeded");
	cr_assert_str_eq(booking_of(&p, "status"), "expired");
	cr_assert_str_eq(sx_text("SELECT status || ':' || refund_reason FROM "
	    "payments WHERE id = %lld", pay), "refunded:booking_not_payable");
	cr_assert_str_eq(sx_text("SELECT count(*) FROM booking_seats bs JOIN "
	    "bookings b ON b.id = bs.booking_id WHERE bs.seat_id = %lld AND "
	    "bs.live", p.show.seats[0]), "1", "the seat is sold once");
	free(body);
}

/* One sample of GET /metrics (`series` with its labels), or -1. */
static double
scraped(const char *series)
{
	struct api_resp	*r;
	const char	*at;
	double		v;
	size_t		len;

	r = api("GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	v = -1;
	len = strlen(series);
	for (at = strstr(r->body, series); at != NULL;
	    at = strstr(at + 1, series)) {
		if ((at == r->body || at[-1] == '\n') && at[len] == ' ') {
			v = strtod(at + len + 1, NULL);
			break;
		}
	}
	api_free(r);
	return (v);
}

/*
 * The outbox in /metrics: attempts by result (this instance's deliverers)
 * and the rows by status with the oldest pending row's age (the table's,
 * refreshed by the deliverers), while Stripe refuses a refund until it
 * is dead.
 */
Test(stripe_refund, the_outbox_is_in_metrics_while_a_refund_fails, .timeout = 90)
{
	struct paying	p;
	long long	pay;
	double		retried, dead, rows_dead, v;
	char		*intent, *st;
	int		i;

	retried = scraped("booking_outbox_attempts_total{result=\"retried\"}");
	dead = scraped("booking_outbox_attempts_total{result=\"dead\"}");
	rows_dead = scraped("booking_outbox_rows{status=\"dead\"}");
	cr_assert_geq(retried, 0, "no outbox attempts in /metrics");
	cr_assert_geq(rows_dead, 0, "no outbox rows in /metrics");

	sx_paid(&p, &pay, &intent);
	sx_behaviour("refund", "error500", 0);
	cancel(&p);

	/* Pending and retried: the gauges see the row within seconds. */
	for (i = 0; i < 100; i++) {
		if (scraped("booking_outbox_rows{status=\"pending\"}") >= 1 &&
		    scraped("booking_outbox_oldest_pending_seconds") >= 1 &&
		    scraped("booking_outbox_attempts_total"
		    "{result=\"retried\"}") > retried)
			break;
		usleep(100000);
	}
	cr_assert_geq(scraped("booking_outbox_rows{status=\"pending\"}"), 1);
	cr_assert_geq(scraped("booking_outbox_oldest_pending_seconds"), 1);
	cr_assert_gt(scraped("booking_outbox_attempts_total"
	    "{result=\"retried\"}"), retried);

	st = NULL;
	for (i = 0; i < 300; i++) {
		st = sx_text("SELECT status FROM payment_outbox WHERE "
		    "payment_id = %lld", pay);
		if (!strcmp(st, "dead"))
			break;
		usleep(100000);
	}
	cr_assert_str_eq(st, "dead");
	cr_assert_eq(scraped("booking_outbox_attempts_total{result=\"dead\"}"),
	    dead + 1);
	for (i = 0; i < 100; i++) {
		v = scraped("booking_outbox_rows{status=\"dead\"}");
		if (v >= rows_dead + 1)
			break;
		usleep(100000);
	}
	cr_assert_geq(v, rows_dead + 1);
	free(intent);
}

Test(stripe_refund, a_refund_stripe_keeps_refusing_is_dead_and_shown_to_admins,
    .timeout = 90)
{
	struct paying	p;
	struct api_resp	*r;
	json_t		*row;
	long long	pay;
	char		*intent, *st, *admin;
	int		i;

	sx_paid(&p, &pay, &intent);
	sx_behaviour("refund", "error500", 0);
	cancel(&p);
	st = NULL;
	for (i = 0; i < 300; i++) {
		st = sx_text("SELECT status FROM payment_outbox WHERE "
		    "payment_id = %lld", pay);
		if (!strcmp(st, "dead"))
			break;
		usleep(100000);
	}
	cr_assert_str_eq(st, "dead");
	cr_assert_str_eq(booking_of(&p, "refund_status"), "failed");
	cr_assert_str_eq(booking_of(&p, "status"), "cancelled");
	assert_api_refund_status(&p, "cancelled", "failed");
	cr_assert_eq(sx_refunds_of(intent), 0);
	cr_assert_eq(sx_stat("calls", "refund"), 10);

	r = api_auth("GET", "/api/admin/payments/outbox?status=dead",
	    p.token, NULL);
	cr_assert_eq(r->status, 403, "%s", r->body);
	api_free(r);
	admin = test_admin_token();
	r = api_auth("GET", "/api/admin/payments/outbox?status=dead", admin,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	row = json_array_get(json_object_get(r->json, "data"), 0);
	cr_assert_eq(json_integer_value(json_object_get(row, "payment_id")),
	    pay, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(row, "attempts")), 10);
	cr_assert_str_eq(json_string_value(json_object_get(row, "kind")),
	    "refund");
	cr_assert_not_null(json_string_value(json_object_get(row,
	    "last_error")));
	api_free(r);
	r = api_auth("GET", "/api/admin/payments/outbox?status=lost", admin,
	    NULL);
	cr_assert_eq(r->status, 400, "%s", r->body);
	api_free(r);
}

Test(stripe_refund, cancelling_an_unpaid_booking_cancels_its_intent,
    .timeout = 60)
{
	struct paying	p;
	struct api_resp	*r;
	json_t		*pi;
	char		*intent, *path;
	int		i;

	sx_paying(&p, 1);
	(void)sx_initiated(&p, &intent);
	r = api_auth("POST", api_format("/api/bookings/%lld/cancel",
	    p.booking), p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	for (i = 0; i < 100 && sx_stat("calls", "cancel_intent") == 0; i++)
		usleep(100000);
	cr_assert_eq(sx_stat("calls", "cancel_intent"), 1);
	path = api_format("/__control/intents/%s", intent);
	pi = sx_control("GET", path, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(pi, "status")),
	    "canceled");
	json_decref(pi);
	free(path);
	cr_assert_str_eq(booking_of(&p, "refund_status"), "null");
}
