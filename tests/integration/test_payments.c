/*
 * Payments over HTTPS: paying in time, declines, expiry, cancel racing
 * pay, signed gateway events (bad signatures, duplicates, any order, late
 * money refunded by itself), refunds on cancel, amounts from the booking
 * only, and Idempotency-Key on initiate and confirm. Each test asserts the
 * answer and the database.
 */
#include <sys/wait.h>

#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

static struct api_resp *
keyed(const char *path, const char *token, const char *key,
    const char *body)
{
	return (fixture_book_at(NULL, token, key, body, path));
}

static struct api_resp *
initiate(const struct paying *p, const char *key)
{
	struct api_resp	*r;
	char		*body, *k;

	k = key != NULL ? NULL : fixture_key();
	body = api_format("{\"booking_id\": %lld}", p->booking);
	r = keyed("/api/payments/initiate", p->token, key != NULL ? key : k,
	    body);
	free(body);
	free(k);

	return (r);
}

static struct api_resp *
confirm(const struct paying *p, long long payment, const char *card,
    const char *key)
{
	struct api_resp	*r;
	char		*body, *k;

	k = key != NULL ? NULL : fixture_key();
	body = api_format("{\"payment_id\": %lld, \"card_token\": \"%s\"}",
	    payment, card);
	r = keyed("/api/payments/confirm", p->token, key != NULL ? key : k,
	    body);
	free(body);
	free(k);

	return (r);
}

/* Initiates a payment and answers its id. */
static long long
initiated(const struct paying *p)
{
	struct api_resp	*r;
	long long	id;

	r = initiate(p, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	id = fixture_id(r);
	api_free(r);

	return (id);
}

static char *
payment_status(long long payment)
{
	return (db_text("SELECT status || ':' || coalesce(refund_reason, '')"
	    " FROM payments WHERE id = $1", api_format("%lld", payment),
	    NULL));
}

static char *
booking_status(const struct paying *p)
{
	return (db_text("SELECT status FROM bookings WHERE id = $1", p->bid,
	    NULL));
}

/* How many history rows of a type a payment has. */
static long long
events(long long payment, const char *type)
{
	return (db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " payment_id = $1 AND type = $2", api_format("%lld", payment),
	    type, NULL));
}

/* Live booking_seats rows of the booking's seats, in any booking. */
static long long
live_seats(const struct paying *p)
{
	return (db_scalar("SELECT count(*) FROM booking_seats bs"
	    " JOIN seats s ON s.id = bs.seat_id JOIN bookings b"
	    " ON b.id = bs.booking_id WHERE s.show_id = $1 AND bs.live"
	    " AND booking_status_live(booking_status_now(b.status,"
	    " b.payment_due_at))", api_format("%lld", p->show.id), NULL));
}

/* The public seat map's status of the booking's first seat. */
static char *
seat_map_status(const struct paying *p)
{
	struct api_resp	*r;
	json_t		*seat;
	size_t		i;
	char		*st;

	r = api("GET", api_format("/api/shows/%lld/seats", p->show.id), NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	st = NULL;
	json_array_foreach(json_object_get(r->json, "seats"), i, seat) {
		if (json_integer_value(json_object_get(seat, "id")) ==
		    p->show.seats[0])
			st = strdup(str(seat, "status"));
	}
	cr_assert_not_null(st);
	api_free(r);

	return (st);
}

/*
 * A gateway event, signed with `secret` at time t (0: no signature) over
 * `signed_body` (NULL: the body sent).
 */
static struct api_resp *
gateway_event_as(const char *body, const char *signed_body, long long t,
    const char *secret)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[2] = { NULL, NULL };
	unsigned char		mac[32];
	unsigned int		maclen;
	char			hex[65], *msg, *line;
	struct api_resp		*r;
	int			i;

	line = NULL;
	if (t != 0) {
		msg = api_format("%lld.%s", t,
		    signed_body != NULL ? signed_body : body);
		cr_assert_not_null(HMAC(EVP_sha256(), secret, strlen(secret),
		    (unsigned char *)msg, strlen(msg), mac, &maclen));
		for (i = 0; i < 32; i++)
			(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		line = api_format("X-Signature: t=%lld,v1=%s", t, hex);
		hdrs[0] = line;
		free(msg);
	}
	o.headers = hdrs;
	r = api_with("POST", "/api/payments/mock-callback", body, &o);
	free(line);

	return (r);
}

static struct api_resp *
gateway_event(const char *body, long long t, const char *secret)
{
	return (gateway_event_as(body, NULL, t, secret));
}

/* The X-Signature header line for body at time t. */
static char *
signature_line(const char *body, long long t)
{
	const char	*secret = getenv("PAYMENT_WEBHOOK_SECRET");
	unsigned char	mac[32];
	unsigned int	maclen;
	char		hex[65], *msg, *line;
	int		i;

	msg = api_format("%lld.%s", t, body);
	cr_assert_not_null(HMAC(EVP_sha256(), secret, strlen(secret),
	    (unsigned char *)msg, strlen(msg), mac, &maclen));
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	line = api_format("X-Signature: t=%lld,v1=%s", t, hex);
	free(msg);

	return (line);
}

static char *
event_body(const char *id, const char *type, long long payment)
{
	return (api_format("{\"id\": \"%s\", \"type\": \"%s\", \"data\":"
	    " {\"payment_id\": %lld}}", id, type, payment));
}

/* A correctly signed event; asserts the gateway gets 200 received. */
static void
send_event(const char *id, const char *type, long long payment)
{
	struct api_resp	*r;
	char		*body;

	body = event_body(id, type, payment);
	r = gateway_event(body, (long long)time(NULL),
	    getenv("PAYMENT_WEBHOOK_SECRET"));
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert(json_is_true(json_object_get(r->json, "received")), "%s",
	    r->body);
	api_free(r);
	free(body);
}

Test(payments, pay_in_time_confirms_the_booking)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;

	paying(&p, 2);
	r = initiate(&p, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	pay = fixture_id(r);
	cr_assert_gt(pay, 0);
	cr_assert_eq(json_integer_value(json_object_get(r->json,
	    "booking_id")), p.booking);
	cr_assert_eq(json_integer_value(json_object_get(r->json,
	    "amount_cents")), p.total);
	cr_assert_str_eq(str(r->json, "currency"), "EUR");
	cr_assert_str_eq(str(r->json, "status"), "requires_confirmation");
	cr_assert_eq(strlen(str(r->json, "created_at")), 20);
	cr_assert_eq(strlen(str(r->json, "updated_at")), 20);
	cr_assert(json_is_null(json_object_get(r->json, "refund_reason")));
	api_free(r);

	r = confirm(&p, pay, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(fixture_id(r), pay);
	cr_assert_str_eq(str(r->json, "status"), "succeeded");
	api_free(r);

	r = api_auth("GET", api_format("/api/bookings/%lld", p.booking),
	    p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "confirmed");
	api_free(r);

	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_str_eq(booking_status(&p), "confirmed");
	cr_assert_eq(live_seats(&p), 2);
	cr_assert_eq(events(pay, "charge_started"), 1);
	cr_assert_eq(events(pay, "succeeded"), 1);
}

Test(payments, decline_is_402_booking_stays_pending_and_a_new_payment_works)
{
	struct paying	p;
	struct api_resp	*r;
	long long	first, second;

	paying(&p, 1);
	first = initiated(&p);
	r = confirm(&p, first, "tok_chargeDeclined", NULL);
	assert_error(r, 402, "payment_declined");
	api_free(r);
	cr_assert_str_eq(payment_status(first), "failed:");
	cr_assert_str_eq(booking_status(&p), "pending_payment");
	cr_assert_eq(live_seats(&p), 1);

	/* The failed payment cannot be confirmed again... */
	r = confirm(&p, first, "tok_visa", NULL);
	assert_error(r, 409, "payment_not_confirmable");
	api_free(r);
	cr_assert_str_eq(payment_status(first), "failed:");

	/* ...but a new one can be initiated and paid. */
	second = initiated(&p);
	cr_assert_neq(second, first);
	r = confirm(&p, second, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	cr_assert_str_eq(booking_status(&p), "confirmed");

	/* Both, oldest first. */
	r = api_auth("GET", api_format("/api/bookings/%lld/payments",
	    p.booking), p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(r->json, "data"), 0), "id")), first);
	cr_assert_str_eq(str(json_array_get(json_object_get(r->json, "data"),
	    0), "status"), "failed");
	cr_assert_str_eq(str(json_array_get(json_object_get(r->json, "data"),
	    1), "status"), "succeeded");
	api_free(r);
}

Test(payments, unknown_card_token_is_400_and_charges_nothing)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;

	paying(&p, 1);
	pay = initiated(&p);
	r = confirm(&p, pay, "tok_unknown", NULL);
	assert_error(r, 400, "invalid_request");
	cr_assert_str_eq(str(json_object_get(json_object_get(r->json,
	    "error"), "details"), "field"), "card_token");
	api_free(r);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");
	cr_assert_str_eq(booking_status(&p), "pending_payment");

	r = confirm(&p, pay, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
}

Test(payments, pay_after_expiry_is_409_and_the_seats_are_not_taken_back)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay, other;
	char		*tb, *body;

	paying(&p, 1);
	pay = initiated(&p);
	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s'"
	    " WHERE id = $1", p.bid, NULL);

	/* Someone else books the lapsed seat at once. */
	tb = test_user_token("user", &other);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}",
	    p.show.id, p.show.seats[0]);
	r = fixture_book(tb, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	r = confirm(&p, pay, "tok_visa", NULL);
	assert_error(r, 409, "booking_not_payable");
	api_free(r);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");
	cr_assert_eq(events(pay, "charge_started"), 0, "money moved");
	cr_assert_str_eq(booking_status(&p), "expired");
	cr_assert_eq(db_scalar("SELECT count(*) FROM booking_seats WHERE"
	    " booking_id = $1 AND live", p.bid, NULL), 0);
	cr_assert_eq(live_seats(&p), 1);

	r = initiate(&p, NULL);
	assert_error(r, 409, "booking_not_payable");
	api_free(r);
	free(body);
}

/*
 * Pay against cancel, 16 requests at once on one booking, in several
 * rounds and both orders. Whichever wins, the card is charged at most
 * once and the end is one of two consistent states: cancel first (the
 * booking is cancelled, every confirm 409, no money kept) or pay first
 * (a confirm got 200, then the cancel refunded it: the booking and the
 * payment are refunded). Seats end free either way.
 */
Test(payments, pay_and_cancel_racing_one_wins_and_the_end_is_consistent,
    .timeout = 120)
{
	struct paying		p;
	struct multi_req	reqs[16];
	char			*bodies[16], *keys[16], *path, *ps;
	long long		pay;
	int			round, i, paid, cancelled, refused, won_pay;
	int			won_cancel;

	won_pay = won_cancel = 0;
	for (round = 0; round < 6; round++) {
		paying(&p, 2);
		pay = initiated(&p);
		path = api_format("/api/bookings/%lld/cancel", p.booking);
		memset(reqs, 0, sizeof(reqs));
		for (i = 0; i < 16; i++) {
			reqs[i].base = getenv("BOOKING_URL");
			reqs[i].token = p.token;
			keys[i] = NULL;
			bodies[i] = NULL;
			if ((i + round) % 2 == 0) {
				keys[i] = fixture_key();
				bodies[i] = api_format("{\"payment_id\": %lld,"
				    " \"card_token\": \"tok_visa\"}", pay);
				reqs[i].path = "/api/payments/confirm";
				reqs[i].key = keys[i];
				reqs[i].body = bodies[i];
			} else {
				reqs[i].path = path;
			}
		}
		fixture_multi(reqs, 16, 20000);

		paid = cancelled = refused = 0;
		for (i = 0; i < 16; i++) {
			cr_assert_eq(reqs[i].curl_error, 0);
			cr_assert_lt(reqs[i].status, 500, "%ld %s",
			    reqs[i].status, reqs[i].resp);
			if (reqs[i].key == NULL) {
				cr_assert_eq(reqs[i].status, 200, "cancel: %s",
				    reqs[i].resp);
				cancelled++;
			} else if (reqs[i].status == 200) {
				paid++;
			} else {
				cr_assert_eq(reqs[i].status, 409, "confirm: %s",
				    reqs[i].resp);
				cr_assert(strstr(reqs[i].resp,
				    "booking_not_payable") != NULL ||
				    strstr(reqs[i].resp,
				    "payment_in_progress") != NULL, "%s",
				    reqs[i].resp);
				refused++;
			}
		}
		cr_assert_eq(paid + refused, 8);
		cr_assert_eq(cancelled, 8);

		/* Charged at most once; money is never kept. */
		cr_assert_leq(events(pay, "charge_started"), 1);
		cr_assert_leq(events(pay, "succeeded"), 1);
		ps = payment_status(pay);
		if (paid > 0) {
			won_pay++;
			/* refunded once the outbox delivered the refund */
			cr_assert(!strcmp(booking_status(&p), "refunded") ||
			    !strcmp(booking_status(&p), "cancelled"));
			cr_assert_eq(db_scalar("SELECT count(*) FROM"
			    " payment_outbox WHERE payment_id = $1",
			    api_format("%lld", pay), NULL), 1);
			cr_assert_str_eq(ps, "refunded:booking_cancelled");
			cr_assert_eq(events(pay, "succeeded"), 1);
		} else {
			won_cancel++;
			cr_assert_str_eq(booking_status(&p), "cancelled");
			cr_assert(!strcmp(ps, "requires_confirmation:") ||
			    !strcmp(ps, "refunded:booking_not_payable"),
			    "payment %s", ps);
			cr_assert_eq(events(pay, "succeeded"), 0);
		}
		cr_assert_eq(db_scalar("SELECT count(*) FROM payments WHERE"
		    " booking_id = $1 AND status = 'succeeded'", p.bid, NULL),
		    0);
		cr_assert_eq(live_seats(&p), 0);

		fixture_multi_free(reqs, 16);
		for (i = 0; i < 16; i++) {
			free(keys[i]);
			free(bodies[i]);
		}
		free(path);
		free(ps);
	}
	cr_log_info("pay vs cancel: pay won %d rounds, cancel won %d",
	    won_pay, won_cancel);
}

Test(payments, bad_missing_or_stale_signatures_are_400_and_change_nothing)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay, before, now;
	char		*body, *other;
	const char	*secret = getenv("PAYMENT_WEBHOOK_SECRET");
	struct api_opts	o = { 0 };
	const char	*hdrs[2] = { NULL, NULL };

	paying(&p, 1);
	pay = initiated(&p);
	body = event_body("evt_bad_sig", "payment.succeeded", pay);
	now = (long long)time(NULL);
	before = db_scalar("SELECT count(*) FROM payment_events", NULL);

	r = gateway_event(body, 0, NULL);
	assert_error(r, 400, "invalid_signature");
	api_free(r);
	r = gateway_event(body, now,
	    "not-the-webhook-secret-0123456789abcdefgh");
	assert_error(r, 400, "invalid_signature");
	api_free(r);
	/*
	 * Past the 300 s tolerance by a margin: the server reads its clock
	 * later than `now` was read, a second later on a slow run (now + 301
	 * was then inside the window and accepted).
	 */
	r = gateway_event(body, now - 330, secret);
	assert_error(r, 400, "invalid_signature");
	api_free(r);
	r = gateway_event(body, now + 330, secret);
	assert_error(r, 400, "invalid_signature");
	api_free(r);

	/* Signed for another body. */
	other = event_body("evt_bad_sig", "payment.succeeded", pay + 1);
	r = gateway_event_as(body, other, now, secret);
	assert_error(r, 400, "invalid_signature");
	api_free(r);

	/* Malformed headers. */
	hdrs[0] = "X-Signature: t=1,v1=00";
	o.headers = hdrs;
	r = api_with("POST", "/api/payments/mock-callback", body, &o);
	assert_error(r, 400, "invalid_signature");
	api_free(r);
	hdrs[0] = "X-Signature: garbage";
	r = api_with("POST", "/api/payments/mock-callback", body, &o);
	assert_error(r, 400, "invalid_signature");
	api_free(r);

	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events", NULL),
	    before);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");
	cr_assert_str_eq(booking_status(&p), "pending_payment");
	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " event_id = 'evt_bad_sig'", NULL), 0);

	/* And the same event, signed right, is applied. */
	send_event("evt_bad_sig", "payment.succeeded", pay);
	cr_assert_str_eq(payment_status(pay), "succeeded:");
	free(body);
	free(other);
}

Test(payments, the_same_event_id_twice_is_applied_once)
{
	struct paying	p;
	long long	pay;
	char		*id;

	paying(&p, 1);
	pay = initiated(&p);
	id = api_format("evt_twice_%lld", pay);

	send_event(id, "payment.succeeded", pay);
	send_event(id, "payment.succeeded", pay);
	/* The same id with another type is still the same event. */
	send_event(id, "payment.failed", pay);

	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_str_eq(booking_status(&p), "confirmed");
	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " event_id = $1", id, NULL), 1);
	cr_assert_eq(events(pay, "succeeded"), 1);
	cr_assert_eq(events(pay, "failed"), 0);
	free(id);
}

Test(payments, callback_before_or_after_confirm_reaches_the_same_end)
{
	struct paying	a, b;
	struct api_resp	*r;
	long long	pa, pb;
	char		*ida, *idb;

	/* Event first, then the client's confirm: no second charge. */
	paying(&a, 1);
	pa = initiated(&a);
	ida = api_format("evt_before_%lld", pa);
	send_event(ida, "payment.succeeded", pa);
	r = confirm(&a, pa, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "succeeded");
	api_free(r);

	/* Confirm first, then the event. */
	paying(&b, 1);
	pb = initiated(&b);
	r = confirm(&b, pb, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	idb = api_format("evt_after_%lld", pb);
	send_event(idb, "payment.succeeded", pb);

	cr_assert_str_eq(payment_status(pa), payment_status(pb));
	cr_assert_str_eq(payment_status(pa), "succeeded:");
	cr_assert_str_eq(booking_status(&a), "confirmed");
	cr_assert_str_eq(booking_status(&b), "confirmed");
	cr_assert_eq(events(pa, "succeeded"), 1);
	cr_assert_eq(events(pb, "succeeded"), 1);
	cr_assert_eq(events(pa, "charge_started"), 0);
	cr_assert_eq(events(pb, "charge_started"), 1);
	cr_assert_eq(live_seats(&a), 1);
	cr_assert_eq(live_seats(&b), 1);
	free(ida);
	free(idb);
}

Test(payments, late_success_after_expiry_is_refunded_and_takes_no_seat)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay, other;
	char		*tb, *body, *id;

	paying(&p, 1);
	pay = initiated(&p);
	db_exec("UPDATE bookings SET payment_due_at = now() - interval '1 s'"
	    " WHERE id = $1", p.bid, NULL);
	tb = test_user_token("user", &other);
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}",
	    p.show.id, p.show.seats[0]);
	r = fixture_book(tb, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	id = api_format("evt_late_%lld", pay);
	send_event(id, "payment.succeeded", pay);

	cr_assert_str_eq(payment_status(pay), "refunded:booking_not_payable");
	cr_assert_str_eq(booking_status(&p), "expired");
	cr_assert_eq(db_scalar("SELECT count(*) FROM booking_seats WHERE"
	    " booking_id = $1 AND live", p.bid, NULL), 0);
	cr_assert_eq(live_seats(&p), 1, "the seat is the other user's");

	r = api_auth("GET", api_format("/api/payments/%lld", pay), p.token,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "refunded");
	cr_assert_str_eq(str(r->json, "refund_reason"), "booking_not_payable");
	api_free(r);
	free(body);
	free(id);
}

Test(payments, late_success_after_cancel_is_refunded_seats_stay_free)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*id;

	paying(&p, 1);
	pay = initiated(&p);
	r = api_auth("POST", api_format("/api/bookings/%lld/cancel",
	    p.booking), p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "cancelled");
	api_free(r);

	id = api_format("evt_late_cancel_%lld", pay);
	send_event(id, "payment.succeeded", pay);
	cr_assert_str_eq(payment_status(pay), "refunded:booking_not_payable");
	cr_assert_str_eq(booking_status(&p), "cancelled");
	cr_assert_eq(live_seats(&p), 0);
	free(id);
}

Test(payments, cancelling_a_paid_booking_refunds_it)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*path;

	paying(&p, 2);
	pay = initiated(&p);
	r = confirm(&p, pay, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);

	path = api_format("/api/bookings/%lld/cancel", p.booking);
	r = api_auth("POST", path, p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	/* Refunded once the provider confirmed it (the outbox). */
	cr_assert_str_eq(str(r->json, "status"), "cancelled");
	cr_assert_eq(strlen(str(r->json, "cancelled_at")), 20);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_outbox WHERE"
	    " payment_id = $1 AND kind = 'refund'", api_format("%lld", pay),
	    NULL), 1);

	cr_assert_str_eq(payment_status(pay), "refunded:booking_cancelled");
	cr_assert_eq(live_seats(&p), 0);
	cr_assert_eq(events(pay, "refunded"), 1);
	wait_for(!strcmp(booking_status(&p), "refunded"), 10,
	    "the refund to be confirmed");
	cr_assert_str_eq(booking_status(&p), "refunded");
	cr_assert_str_eq(db_text("SELECT refund_status FROM bookings WHERE"
	    " id = $1", p.bid, NULL), "succeeded");
	cr_assert_eq(events(pay, "refund_delivered"), 1);

	/* Cancelling again answers the same refunded booking. */
	r = api_auth("POST", path, p.token, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(str(r->json, "status"), "refunded");
	api_free(r);
	cr_assert_eq(events(pay, "refunded"), 1);

	r = api_auth("GET", api_format("/api/payments/%lld", pay), p.token,
	    NULL);
	cr_assert_str_eq(str(r->json, "refund_reason"), "booking_cancelled");
	api_free(r);
	free(path);
}

Test(payments, amount_cents_in_a_body_is_ignored)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*body;

	paying(&p, 2);
	body = api_format("{\"booking_id\": %lld, \"amount_cents\": 1}",
	    p.booking);
	r = keyed("/api/payments/initiate", p.token, fixture_key(), body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	pay = fixture_id(r);
	cr_assert_eq(json_integer_value(json_object_get(r->json,
	    "amount_cents")), p.total);
	api_free(r);
	free(body);

	body = api_format("{\"payment_id\": %lld, \"card_token\":"
	    " \"tok_visa\", \"amount_cents\": 1}", pay);
	r = keyed("/api/payments/confirm", p.token, fixture_key(), body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json,
	    "amount_cents")), p.total);
	api_free(r);
	free(body);

	cr_assert_eq(db_scalar("SELECT amount_cents FROM payments WHERE"
	    " id = $1", api_format("%lld", pay), NULL), p.total);
	cr_assert_gt(p.total, 1);
}

Test(payments, initiate_and_confirm_replay_with_the_same_key_and_422_on_reuse)
{
	struct paying	p, q;
	struct api_resp	*r, *again;
	long long	pay;
	char		*ki, *kc, hdr[16], *body;

	paying(&p, 1);
	paying(&q, 1);
	ki = fixture_key();
	r = initiate(&p, ki);
	cr_assert_eq(r->status, 201, "%s", r->body);
	pay = fixture_id(r);
	again = initiate(&p, ki);
	cr_assert_eq(again->status, 201, "%s", again->body);
	cr_assert_str_eq(again->body, r->body);
	cr_assert_not_null(api_header(again, "Idempotent-Replayed", hdr,
	    sizeof(hdr)));
	cr_assert_str_eq(hdr, "true");
	api_free(again);
	api_free(r);

	/* The same key for another request: 422, nothing made. */
	body = api_format("{\"booking_id\": %lld}", q.booking);
	r = keyed("/api/payments/initiate", p.token, ki, body);
	assert_error(r, 422, "idempotency_key_reused");
	api_free(r);
	free(body);

	kc = fixture_key();
	r = confirm(&p, pay, "tok_visa", kc);
	cr_assert_eq(r->status, 200, "%s", r->body);
	again = confirm(&p, pay, "tok_visa", kc);
	cr_assert_eq(again->status, 200, "%s", again->body);
	cr_assert_str_eq(again->body, r->body);
	cr_assert_not_null(api_header(again, "Idempotent-Replayed", hdr,
	    sizeof(hdr)));
	api_free(again);
	api_free(r);
	r = confirm(&p, pay, "tok_chargeDeclined", kc);
	assert_error(r, 422, "idempotency_key_reused");
	api_free(r);

	/* Redis loses every key: the database still answers once. */
	redis_flush();
	r = initiate(&p, ki);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_eq(fixture_id(r), pay);
	api_free(r);
	r = confirm(&p, pay, "tok_visa", kc);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(fixture_id(r), pay);
	api_free(r);
	r = confirm(&p, pay, "tok_chargeDeclined", kc);
	assert_error(r, 422, "idempotency_key_reused");
	api_free(r);

	cr_assert_eq(db_scalar("SELECT count(*) FROM payments WHERE"
	    " booking_id = $1", p.bid, NULL), 1);
	cr_assert_eq(events(pay, "charge_started"), 1);
	cr_assert_eq(events(pay, "succeeded"), 1);
	free(ki);
	free(kc);
}

Test(payments, one_open_payment_per_booking_and_who_may_see_it)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay, other;
	char		*tb, *admin, *path;

	paying(&p, 1);
	pay = initiated(&p);
	r = initiate(&p, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(fixture_id(r), pay);
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payments WHERE"
	    " booking_id = $1", p.bid, NULL), 1);

	r = keyed("/api/payments/initiate", p.token, NULL,
	    "{\"booking_id\": 1}");
	assert_error(r, 400, "idempotency_key_missing");
	api_free(r);

	path = api_format("/api/payments/%lld", pay);
	tb = test_user_token("user", &other);
	r = api_auth("GET", path, tb, NULL);
	assert_error(r, 404, "not_found");
	api_free(r);
	r = keyed("/api/payments/initiate", tb, fixture_key(),
	    api_format("{\"booking_id\": %lld}", p.booking));
	assert_error(r, 404, "not_found");
	api_free(r);
	r = confirm(&(struct paying){ .token = tb }, pay, "tok_visa", NULL);
	assert_error(r, 404, "not_found");
	api_free(r);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");

	admin = test_admin_token();
	r = api_auth("GET", path, admin, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	r = api_auth("GET", api_format("/api/bookings/%lld/payments",
	    p.booking), admin, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 1);
	api_free(r);
	r = api_auth("GET", api_format("/api/bookings/%lld/payments",
	    p.booking), tb, NULL);
	assert_error(r, 404, "not_found");
	api_free(r);

	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 401, "%s", r->body);
	api_free(r);
	free(path);
}

Test(payments, a_paid_booking_is_not_payable_again)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;

	paying(&p, 1);
	pay = initiated(&p);
	r = confirm(&p, pay, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);

	r = initiate(&p, NULL);
	assert_error(r, 409, "booking_not_payable");
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payments WHERE"
	    " booking_id = $1", p.bid, NULL), 1);
}

Test(payments, payment_failed_and_refund_succeeded_events_apply)
{
	struct paying	p;
	long long	first, second;
	char		*id;

	paying(&p, 1);
	first = initiated(&p);
	id = api_format("evt_failed_%lld", first);
	send_event(id, "payment.failed", first);
	free(id);
	cr_assert_str_eq(payment_status(first), "failed:");
	cr_assert_str_eq(booking_status(&p), "pending_payment");

	second = initiated(&p);
	id = api_format("evt_ok_%lld", second);
	send_event(id, "payment.succeeded", second);
	free(id);
	cr_assert_str_eq(booking_status(&p), "confirmed");

	/* A refund made at the gateway frees the seats, seat map included. */
	cr_assert_str_eq(seat_map_status(&p), "booked");
	id = api_format("evt_refund_%lld", second);
	send_event(id, "refund.succeeded", second);
	free(id);
	cr_assert_str_eq(payment_status(second), "refunded:");
	cr_assert_str_eq(booking_status(&p), "refunded");
	cr_assert_eq(live_seats(&p), 0);
	cr_assert_str_eq(seat_map_status(&p), "available");

	/* A late payment.failed changes nothing any more. */
	id = api_format("evt_failed_late_%lld", second);
	send_event(id, "payment.failed", second);
	free(id);
	cr_assert_str_eq(payment_status(second), "refunded:");
}

Test(payments, malformed_or_unknown_events)
{
	struct api_resp	*r;
	char		*body, *id;
	long long	now = (long long)time(NULL);

	/* Signed but not an event we know: 400 naming the field. */
	body = api_format("{\"id\": \"evt_x\", \"type\": \"charge.odd\","
	    " \"data\": {\"payment_id\": 1}}");
	r = gateway_event(body, now, getenv("PAYMENT_WEBHOOK_SECRET"));
	assert_error(r, 400, "invalid_request");
	cr_assert_str_eq(str(json_object_get(json_object_get(r->json,
	    "error"), "details"), "field"), "type");
	api_free(r);
	free(body);

	body = api_format("{\"id\": \"evt_y\", \"type\":"
	    " \"payment.succeeded\", \"data\": {\"payment_id\": -3}}");
	r = gateway_event(body, now, getenv("PAYMENT_WEBHOOK_SECRET"));
	assert_error(r, 400, "invalid_request");
	api_free(r);
	free(body);

	r = gateway_event("[1, 2", now, getenv("PAYMENT_WEBHOOK_SECRET"));
	assert_error(r, 400, "invalid_request");
	api_free(r);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " event_id IN ('evt_x', 'evt_y')", NULL), 0);

	/* A payment we do not know: acknowledged, recorded, nothing else. */
	id = api_format("evt_unknown_%lld_%d", now, rand());
	send_event(id, "payment.succeeded", 999999999999LL);
	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " event_id = $1 AND payment_id IS NULL", id, NULL), 1);
	free(id);
}

/* 12 deliveries of one event at once: one applies it, all get 200. */
Test(payments, the_same_event_delivered_concurrently_is_applied_once,
    .timeout = 60)
{
	struct paying		p;
	struct multi_req	reqs[12];
	long long		pay;
	char			*id, *body, *line;
	int			i;

	paying(&p, 1);
	pay = initiated(&p);
	id = api_format("evt_burst_%lld", pay);
	body = event_body(id, "payment.succeeded", pay);
	line = signature_line(body, (long long)time(NULL));

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 12; i++) {
		reqs[i].base = getenv("BOOKING_URL");
		reqs[i].path = "/api/payments/mock-callback";
		reqs[i].body = body;
		reqs[i].header = line;
	}
	fixture_multi(reqs, 12, 20000);
	for (i = 0; i < 12; i++) {
		cr_assert_eq(reqs[i].curl_error, 0);
		cr_assert_eq(reqs[i].status, 200, "%ld %s", reqs[i].status,
		    reqs[i].resp);
		cr_assert_str_eq(reqs[i].resp, "{\"received\":true}");
	}

	cr_assert_eq(db_scalar("SELECT count(*) FROM payment_events WHERE"
	    " event_id = $1", id, NULL), 1);
	cr_assert_eq(events(pay, "succeeded"), 1);
	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_str_eq(booking_status(&p), "confirmed");

	fixture_multi_free(reqs, 12);
	free(id);
	free(body);
	free(line);
}

/* Nothing is deleted or rewritten: the database refuses it. */
Test(payments, payment_history_cannot_be_deleted_or_rewritten)
{
	struct paying	p;
	PGconn		*conn;
	PGresult	*res;
	long long	pay;
	char		*sql;
	int		i;
	const char	*stmts[] = {
		"DELETE FROM payment_events WHERE payment_id = %lld",
		"UPDATE payment_events SET type = 'x' WHERE payment_id = %lld",
		"DELETE FROM payments WHERE id = %lld",
	};

	paying(&p, 1);
	pay = initiated(&p);
	conn = PQconnectdb(getenv("DATABASE_URL"));
	cr_assert_eq(PQstatus(conn), CONNECTION_OK);
	for (i = 0; i < 3; i++) {
		sql = api_format(stmts[i], pay);
		res = PQexec(conn, sql);
		cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR, "%s", sql);
		cr_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    "23001", "%s", sql);
		PQclear(res);
		free(sql);
	}
	PQfinish(conn);

	cr_assert_eq(events(pay, "initiated"), 1);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");
}

/*
 * 12 confirms of one payment at once, each with its own key: the card is
 * charged once; the others are told it is in progress, or that it is paid.
 */
Test(payments, concurrent_confirms_charge_the_card_once, .timeout = 60)
{
	struct paying		p;
	struct multi_req	reqs[12];
	char			*keys[12], *body;
	long long		pay;
	int			i, ok, busy, round;

	for (round = 0; round < 3; round++) {
		paying(&p, 1);
		pay = initiated(&p);
		body = api_format("{\"payment_id\": %lld, \"card_token\":"
		    " \"tok_visa\"}", pay);
		memset(reqs, 0, sizeof(reqs));
		for (i = 0; i < 12; i++) {
			keys[i] = fixture_key();
			reqs[i].base = getenv("BOOKING_URL");
			reqs[i].path = "/api/payments/confirm";
			reqs[i].token = p.token;
			reqs[i].key = keys[i];
			reqs[i].body = body;
		}
		fixture_multi(reqs, 12, 20000);

		ok = busy = 0;
		for (i = 0; i < 12; i++) {
			cr_assert_eq(reqs[i].curl_error, 0);
			if (reqs[i].status == 200) {
				ok++;
				cr_assert(strstr(reqs[i].resp,
				    "\"status\":\"succeeded\"") != NULL, "%s",
				    reqs[i].resp);
			} else {
				cr_assert_eq(reqs[i].status, 409, "%ld %s",
				    reqs[i].status, reqs[i].resp);
				cr_assert(strstr(reqs[i].resp,
				    "payment_in_progress") != NULL, "%s",
				    reqs[i].resp);
				busy++;
			}
		}
		cr_assert_geq(ok, 1);
		cr_assert_eq(ok + busy, 12);
		cr_assert_eq(events(pay, "charge_started"), 1,
		    "the card was charged more than once");
		cr_assert_eq(events(pay, "succeeded"), 1);
		cr_assert_str_eq(payment_status(pay), "succeeded:");
		cr_assert_str_eq(booking_status(&p), "confirmed");

		fixture_multi_free(reqs, 12);
		for (i = 0; i < 12; i++)
			free(keys[i]);
		free(body);
	}
}

Test(payments, payment_settings_are_checked_at_startup)
{
	static const struct {
		const char	*unset;
		const char	*set;
		const char	*says;
	} cases[] = {
		{ "PAYMENT_WEBHOOK_SECRET", NULL,
		    "PAYMENT_WEBHOOK_SECRET is not set" },
		{ NULL, "PAYMENT_WEBHOOK_SECRET=0123456789abcdef0123456789abcde",
		    "PAYMENT_WEBHOOK_SECRET must be at least 32 bytes" },
		{ NULL, "PAYMENTS=maybe", "PAYMENTS must be on or off" },
		{ NULL, "PAYMENT_WINDOW_SECONDS=0",
		    "PAYMENT_WINDOW_SECONDS must be from 1 to 86400" },
	};
	size_t	i;
	int	status;
	char	*out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = test_start_output(cases[i].unset, cases[i].set, &status);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "case %zu: status %d, output %s", i, status, out);
		cr_assert_not_null(strstr(out, cases[i].says),
		    "case %zu said: %s", i, out);
		free(out);
	}
}

/*
 * A payment marked as being charged by a confirm that never finished (its
 * server died): 409 payment_in_progress with Retry-After while the mark
 * is fresh, taken over once it is a minute old.
 */
Test(payments, a_dead_servers_charge_mark_is_taken_over_after_a_minute)
{
	struct paying	p;
	struct api_resp	*r;
	long long	pay;
	char		*id, hdr[16];

	paying(&p, 1);
	pay = initiated(&p);
	id = api_format("%lld", pay);
	db_exec("UPDATE payments SET confirm_key = 'dead-server-key',"
	    " confirm_fingerprint = 'x', confirm_started_at = now()"
	    " WHERE id = $1", id, NULL);

	r = confirm(&p, pay, "tok_visa", NULL);
	assert_error(r, 409, "payment_in_progress");
	cr_assert_not_null(api_header(r, "Retry-After", hdr, sizeof(hdr)));
	api_free(r);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");

	db_exec("UPDATE payments SET confirm_started_at = now() -"
	    " interval '61 seconds' WHERE id = $1", id, NULL);
	r = confirm(&p, pay, "tok_visa", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_str_eq(booking_status(&p), "confirmed");
	free(id);
}

/* Confirms payment `pay` under `key`: answers status, asserts the code. */
static void
confirm_answers(const struct paying *p, long long pay, const char *key,
    long status, const char *code, int replayed)
{
	struct api_resp	*r;
	char		hdr[16];

	r = confirm(p, pay, "tok_visa", key);
	cr_assert_eq(r->status, status, "status %ld, body %s", r->status,
	    r->body);
	if (code != NULL)
		cr_assert_str_eq(api_error_code(r), code, "body %s", r->body);
	if (status == 409)
		cr_assert_not_null(api_header(r, "Retry-After", hdr,
		    sizeof(hdr)));
	cr_assert_eq(api_header(r, "Idempotent-Replayed", hdr,
	    sizeof(hdr)) != NULL, replayed, "replayed: %d", !replayed);
	api_free(r);
}

/*
 * 409 payment_in_progress invites a retry (Retry-After): it is not stored
 * as the key's answer, so the retry with the same key, once the other
 * confirm is gone, gets the real outcome, which is then the key's answer.
 */
Test(payments, a_409_payment_in_progress_is_not_the_keys_answer)
{
	struct paying	p;
	long long	pay;
	char		*id, *key;

	paying(&p, 1);
	pay = initiated(&p);
	id = api_format("%lld", pay);
	key = fixture_key();
	db_exec("UPDATE payments SET confirm_key = 'other-request-key',"
	    " confirm_fingerprint = 'x', confirm_started_at = now()"
	    " WHERE id = $1", id, NULL);

	confirm_answers(&p, pay, key, 409, "payment_in_progress", 0);
	confirm_answers(&p, pay, key, 409, "payment_in_progress", 0);
	cr_assert_str_eq(payment_status(pay), "requires_confirmation:");

	/* The other confirm's mark lapses: this key may charge now. */
	db_exec("UPDATE payments SET confirm_started_at = now() -"
	    " interval '61 seconds' WHERE id = $1", id, NULL);
	confirm_answers(&p, pay, key, 200, NULL, 0);
	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_str_eq(booking_status(&p), "confirmed");
	confirm_answers(&p, pay, key, 200, NULL, 1);
	cr_assert_eq(events(pay, "charge_started"), 1);
	free(key);
	free(id);
}

/*
 * 409 confirm_in_flight (the database says this very key is still
 * charging, e.g. after Redis lost the key's record) is not stored either:
 * once the charge has an answer, the retry with the key gets it.
 */
Test(payments, a_409_confirm_in_flight_is_not_the_keys_answer)
{
	struct paying	p;
	long long	pay;
	char		*id, *key, *rkey;
	const char	*del[] = { "redis-cli", "-p", getenv("TEST_REDIS_PORT"),
			    "DEL", NULL, NULL };

	paying(&p, 1);
	pay = initiated(&p);
	id = api_format("%lld", pay);
	key = fixture_key();
	rkey = api_format("idem:%lld:%s", p.user, key);
	del[4] = rkey;

	confirm_answers(&p, pay, key, 200, NULL, 0);
	/* As if the charge under this key had not answered yet. */
	db_exec("UPDATE payments SET confirm_outcome = NULL WHERE id = $1",
	    id, NULL);
	cr_assert_eq(test_run(del, NULL), 0);

	confirm_answers(&p, pay, key, 409, "idempotency_in_flight", 0);
	db_exec("UPDATE payments SET confirm_outcome = 'succeeded'"
	    " WHERE id = $1", id, NULL);
	confirm_answers(&p, pay, key, 200, NULL, 0);
	confirm_answers(&p, pay, key, 200, NULL, 1);
	cr_assert_str_eq(payment_status(pay), "succeeded:");
	cr_assert_eq(events(pay, "charge_started"), 1);
	free(rkey);
	free(key);
	free(id);
}

/* Stripe's webhook route exists only with PAYMENT_PROVIDER=stripe. */
Test(payments, the_stripe_webhook_is_not_routed_with_the_mock)
{
	struct api_resp	*r;
	const char	*methods[] = { "POST", "GET" };
	int		i;

	for (i = 0; i < 2; i++) {
		r = api(methods[i], "/api/payments/webhooks/stripe",
		    i == 0 ? "{\"id\": \"evt_1\", \"type\": \"x\"}" : NULL);
		assert_error(r, 404, "not_found");
		api_free(r);
	}
}
