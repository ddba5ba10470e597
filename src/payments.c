/*
 * payments: POST /api/payments/initiate, /confirm, /mock-callback and
 * /webhooks/stripe. The reads (GET /api/payments/{id},
 * GET /api/bookings/{id}/payments) and the JSON of a payment are in
 * payments_read.c.
 *
 * Every change of state is a transition function in
 * migrations/007_payments.up.sql (the state machine is written at its
 * top; 013 adds Stripe's events and the outbox); this file runs them in
 * order and talks to the provider (provider.c: each call is a step of
 * this state machine, the request sleeping until the provider answers).
 * The four writes share one state machine:
 *
 *   auth     Bearer token, or for a gateway event its signature
 *   limit    RATE_LIMIT_PAYMENTS per user (throttle.c); not for events
 *   parse    the body (payments_body.c) and the Idempotency-Key into
 *            struct payments_req, bound to the transition's parameters
 *   reserve  the key in Redis (idem.c): a retry is replayed here
 *   query    one transition: payment_initiate, payment_confirm_begin,
 *            payment_confirm_finish, payment_event_apply or
 *            stripe_event_apply
 *   intent   confirm with a provider that has intents: the payment's
 *   call     the provider: confirm, when begin said 'charge' (then query
 *            runs payment_confirm_finish with its answer); or initiate,
 *            creating the payment's intent (503 when it did not answer)
 *   attach   initiate: the intent is recorded on the payment
 *   refund   money that arrived for a booking no longer payable: the
 *            transition queued its refund in the outbox (outbox.c)
 *   changed  a refund at the gateway freed seats: seat maps and live
 *            watchers of the show hear of it (seatmap.c, live.c)
 *   store    the answer under the key (idem.c)
 *   answer
 *
 * Every transition is idempotent under its key (the Idempotency-Key of
 * initiate and confirm, the event id of a callback): when a transition's
 * connection dies, whether it committed is unknown, and the same call on
 * a fresh connection answers what was done (payments_resolved() reads
 * that answer); only a database that stays out of reach is 503.
 *
 * The transitions answer rows (outcome, ids, payment_rows() columns,
 * refund_due). Outcomes that are a payment are answered here; every other
 * one goes through claim_error(), the one table of SQL outcomes to HTTP.
 * Requests call the provider only from this file (payments_provider);
 * the outbox calls it after commits.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "claim.h"
#include "config.h"
#include "db.h"
#include "idem.h"
#include "payments.h"
#include "payments_body.h"
#include "payments_read.h"
#include "reply.h"
#include "route.h"
#include "seatmap.h"
#include "throttle.h"

int	payments_initiate(struct http_request *);
int	payments_confirm(struct http_request *);
int	payments_callback(struct http_request *);
int	payments_stripe_webhook(struct http_request *);

/*
 * After a transition's connection died: this many lookups, backing off
 * from PAYMENTS_RESOLVE_MS (as bookings do for a claim).
 */
#define PAYMENTS_RESOLVE_ATTEMPTS	6
#define PAYMENTS_RESOLVE_MS		150

/* A charge mark older than this is a dead server's (seconds). */
#define PAYMENTS_CHARGE_STALE	"60"

/* Rows: outcome, ids, PAYMENTS_COLS, refund_due. */
static const char *sql_initiate =
    "SELECT * FROM payment_initiate($1, $2, $3, $4, $5)";
static const char *sql_confirm_begin =
    "SELECT * FROM payment_confirm_begin($1, $2, $3, $4, $5)";
static const char *sql_confirm_finish =
    "SELECT * FROM payment_confirm_finish_action($1, $2, $3, $4, $5)";
static const char *sql_event =
    "SELECT * FROM payment_event_apply($1, $2, $3)";
static const char *sql_stripe_event =
    "SELECT * FROM stripe_event_apply($1, $2, $3, $4, $5, $6, $7)";
/* The provider's intent of a payment (providers with needs_intent). */
static const char *sql_intent =
    "SELECT provider_ref FROM payments WHERE id = $1";
static const char *sql_attach =
    "SELECT payment_intent_attach($1, $2, $3)";

/* payment_rows() columns (PAYMENTS_COLS) in a transition's answer. */
#define PAYMENTS_COL_ROWS	2	/* in a transition's answer */
#define PAYMENTS_COL_ID		2
#define PAYMENTS_COL_AMOUNT	4
#define PAYMENTS_COL_REFUND	(PAYMENTS_COL_ROWS + PAYMENTS_COLS)
#define PAYMENTS_COL_FREED	(PAYMENTS_COL_REFUND + 1)	/* events */

/* Which request, by route. */
#define PAYMENTS_INITIATE	1
#define PAYMENTS_CONFIRM	2
#define PAYMENTS_CALLBACK	3
#define PAYMENTS_STRIPE_EVENT	4	/* POST /api/payments/webhooks/stripe */
#define PAYMENTS_IS_EVENT(p)	((p)->which == PAYMENTS_CALLBACK || \
				    (p)->which == PAYMENTS_STRIPE_EVENT)

struct payments_req {
	int			which;
	struct auth		auth;
	struct throttle		limit_user;
	struct idem		idem;
	struct db_call		db;
	int			keyed;		/* uses an Idempotency-Key */
	const char		*key;
	struct payments_body	body;		/* payments_body.c */
	struct payment_call	call;		/* provider.c */
	int			charged;
	const char		*charge_result;	/* what the provider said */
	struct kore_json_item	*root;		/* the answer, until sent */
	int			resolving;	/* lookups after a lost call */
	const char		*outcome;	/* the transition's, resolved */
	int64_t			refund_id;
	int64_t			refund_cents;
	int64_t			freed_show;
	struct seatmap_entry	seatmap;
	int			status;
	struct kore_buf		*answer;
	char			user[24];
	char			sid[24];
	char			booking_sid[24];
	char			amount_sid[24];
	char			reference[PAYMENT_REFERENCE_MAX];
};

static int	payments_auth(struct http_request *);
static int	payments_limit(struct http_request *);
static int	payments_parse(struct http_request *);
static int	payments_reserve(struct http_request *);
static int	payments_query(struct http_request *);
static int	payments_intent(struct http_request *);
static int	payments_call(struct http_request *);
static int	payments_attach(struct http_request *);
static int	payments_refund_due(struct http_request *);
static int	payments_changed(struct http_request *);
static int	payments_store(struct http_request *);
static int	payments_answer(struct http_request *);

static int	payments_outcome(struct payments_req *);
static const char	*payments_resolved(struct payments_req *);
static void	payments_keep(struct payments_req *, int,
		    struct kore_json_item *);
static int	payments_run(struct http_request *, int);
static struct payments_req	*payments_state(struct http_request *);
static void	payments_free(struct http_request *);
static const struct payment_provider	*payments_provider(void);
static void	payments_render(struct payments_req *);
static void	payments_charge_key(struct payments_req *);

#define PAYMENTS_AUTH		0
#define PAYMENTS_LIMIT		1
#define PAYMENTS_PARSE		2
#define PAYMENTS_RESERVE	3
#define PAYMENTS_QUERY		4
#define PAYMENTS_INTENT		5
#define PAYMENTS_CALL		6
#define PAYMENTS_ATTACH		7
#define PAYMENTS_REFUND		8
#define PAYMENTS_CHANGED	9
#define PAYMENTS_STORE		10
#define PAYMENTS_ANSWER		11

static struct http_state payments_write_states[] = {
	KORE_HTTP_STATE(payments_auth),
	KORE_HTTP_STATE(payments_limit),
	KORE_HTTP_STATE(payments_parse),
	KORE_HTTP_STATE(payments_reserve),
	KORE_HTTP_STATE(payments_query),
	KORE_HTTP_STATE(payments_intent),
	KORE_HTTP_STATE(payments_call),
	KORE_HTTP_STATE(payments_attach),
	KORE_HTTP_STATE(payments_refund_due),
	KORE_HTTP_STATE(payments_changed),
	KORE_HTTP_STATE(payments_store),
	KORE_HTTP_STATE(payments_answer),
};

static int	payments_initiate_post(struct http_request *);
static int	payments_confirm_post(struct http_request *);
static int	payments_callback_post(struct http_request *);

static const struct route_method payments_initiate_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_POST, payments_initiate_post),
};

static const struct route_method payments_confirm_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_POST, payments_confirm_post),
};

static const struct route_method payments_callback_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_POST, payments_callback_post),
};

static int	payments_stripe_post(struct http_request *);

static const struct route_method payments_stripe_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_POST, payments_stripe_post),
};

int
payments_stripe_webhook(struct http_request *req)
{
	if (config.provider != CONFIG_PROVIDER_STRIPE)
		return (route_not_found(req));

	return (ROUTE_DISPATCH(req, payments_stripe_methods));
}

static int
payments_stripe_post(struct http_request *req)
{
	return (payments_run(req, PAYMENTS_STRIPE_EVENT));
}

int
payments_initiate(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, payments_initiate_methods));
}

int
payments_confirm(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, payments_confirm_methods));
}

/* The mock's events: with any other provider no such route, any method. */
int
payments_callback(struct http_request *req)
{
	if (config.provider != CONFIG_PROVIDER_MOCK)
		return (route_not_found(req));

	return (ROUTE_DISPATCH(req, payments_callback_methods));
}

static int
payments_initiate_post(struct http_request *req)
{
	return (payments_run(req, PAYMENTS_INITIATE));
}

static int
payments_confirm_post(struct http_request *req)
{
	return (payments_run(req, PAYMENTS_CONFIRM));
}

static int
payments_callback_post(struct http_request *req)
{
	return (payments_run(req, PAYMENTS_CALLBACK));
}

static int
payments_run(struct http_request *req, int which)
{
	payments_state(req)->which = which;
	return (http_state_run(payments_write_states,
	    ROUTE_STATES(payments_write_states), req));
}

static struct payments_req *
payments_state(struct http_request *req)
{
	struct payments_req	*p;

	if ((p = http_state_get(req)) == NULL)
		p = http_state_create(req, sizeof(*p), payments_free);

	return (p);
}

/* PAYMENT_PROVIDER's (provider.c). */
static const struct payment_provider *
payments_provider(void)
{
	return (provider_get());
}

/* The answer to send (and to store under the Idempotency-Key). */
static void
payments_keep(struct payments_req *p, int status, struct kore_json_item *root)
{
	p->status = status;
	if (p->root != NULL)
		kore_json_item_free(p->root);
	p->root = root;
}

/* The kept answer as text, with a provider's next_action in it. */
static void
payments_render(struct payments_req *p)
{
	struct kore_buf		*na;

	if (p->root == NULL)
		return;
	if (p->answer == NULL)
		p->answer = kore_buf_alloc(512);
	kore_buf_reset(p->answer);
	kore_json_item_tobuf(p->root, p->answer);
	kore_json_item_free(p->root);
	p->root = NULL;

	na = p->call.next_action;
	if (p->status < 300 && na != NULL && na->offset > 0 &&
	    p->answer->offset > 0 &&
	    p->answer->data[p->answer->offset - 1] == '}') {
		p->answer->offset--;
		kore_buf_append(p->answer, ",", 1);
		kore_buf_append(p->answer, na->data, na->offset);
		kore_buf_append(p->answer, "}", 1);
	}
}

/* Who is asking: a user's Bearer token, or the gateway's signature. */
static int
payments_auth(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	const char		*sig;
	const void		*body;
	int			r;

	if (PAYMENTS_IS_EVENT(p)) {
		if (!http_request_header(req, p->which == PAYMENTS_CALLBACK ?
		    "x-signature" : "stripe-signature", &sig))
			sig = NULL;
		if (req->http_body != NULL)
			body = req->http_body->data;
		else
			body = "";
		if (payments_provider()->verify_event(sig, body,
		    req->http_body_length, time(NULL)) !=
		    PAYMENT_EVENT_VALID) {
			reply_error(req, HTTP_STATUS_BAD_REQUEST,
			    "invalid_signature", "The event's signature is "
			    "missing, wrong or too old.");
			return (HTTP_STATE_COMPLETE);
		}
		req->fsm_state = PAYMENTS_PARSE;
		return (HTTP_STATE_CONTINUE);
	}

	r = auth_state(req, auth_check(req, &p->auth, AUTH_ROLE_USER),
	    PAYMENTS_LIMIT);
	if (r != HTTP_STATE_CONTINUE)
		return (r);

	(void)snprintf(p->user, sizeof(p->user), "%lld",
	    (long long)p->auth.user_id);
	throttle_user(req, &p->limit_user, THROTTLE_PAYMENTS,
	    p->auth.user_id);
	return (HTTP_STATE_CONTINUE);
}

/* RATE_LIMIT_PAYMENTS per user (initiate and confirm): 429 past it. */
static int
payments_limit(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	switch (throttle_limited(req, &p->limit_user)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = PAYMENTS_PARSE;
	return (HTTP_STATE_CONTINUE);
}

/* The body (and the Idempotency-Key), bound to the first transition. */
static int
payments_parse(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	int			ok;

	if (!PAYMENTS_IS_EVENT(p)) {
		if (!idem_header(req, &p->key))
			return (HTTP_STATE_COMPLETE);
	}

	switch (p->which) {
	case PAYMENTS_INITIATE:
		ok = payments_body_initiate(req, &p->body);
		break;
	case PAYMENTS_CONFIRM:
		ok = payments_body_confirm(req, &p->body);
		break;
	case PAYMENTS_CALLBACK:
		ok = payments_body_event(req, &p->body);
		break;
	case PAYMENTS_STRIPE_EVENT:
		ok = payments_body_stripe_event(req, &p->body);
		break;
	default:
		fatal("payments_parse: unknown request %d", p->which);
	}
	if (!ok)
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(p->sid, sizeof(p->sid), "%lld", (long long)p->body.id);
	if (p->which == PAYMENTS_STRIPE_EVENT) {
		if (!p->body.handled) {
			/* Not a type or an object of ours: acknowledged. */
			p->outcome = "ignored";
			p->status = payments_outcome(p);
			req->fsm_state = PAYMENTS_ANSWER;
			return (HTTP_STATE_CONTINUE);
		}
		(void)snprintf(p->booking_sid, sizeof(p->booking_sid), "%lld",
		    (long long)p->body.booking_id);
		(void)snprintf(p->amount_sid, sizeof(p->amount_sid), "%lld",
		    (long long)p->body.amount);
		db_call_init(&p->db, sql_stripe_event);
		db_call_param(&p->db, p->body.event_id);
		db_call_param(&p->db, p->body.event_type);
		db_call_param(&p->db, p->body.intent);
		db_call_param(&p->db, p->sid);
		db_call_param(&p->db, p->booking_sid);
		db_call_param(&p->db, p->amount_sid);
		db_call_param(&p->db, p->body.currency);
		req->fsm_state = PAYMENTS_QUERY;
		return (HTTP_STATE_CONTINUE);
	}
	if (p->which == PAYMENTS_CALLBACK) {
		db_call_init(&p->db, sql_event);
		db_call_param(&p->db, p->body.event_id);
		db_call_param(&p->db, p->body.event_type);
		db_call_param(&p->db, p->sid);
		req->fsm_state = PAYMENTS_QUERY;
		return (HTTP_STATE_CONTINUE);
	}

	p->keyed = 1;
	idem_init(&p->idem, req, p->auth.user_id, p->key);
	if (p->which == PAYMENTS_INITIATE) {
		db_call_init(&p->db, sql_initiate);
		db_call_param(&p->db, p->user);
		db_call_param(&p->db, p->sid);
		db_call_param(&p->db, p->key);
		db_call_param(&p->db, p->idem.fingerprint);
		db_call_param(&p->db, payments_provider()->name);
	} else {
		db_call_init(&p->db, sql_confirm_begin);
		db_call_param(&p->db, p->user);
		db_call_param(&p->db, p->sid);
		db_call_param(&p->db, p->key);
		db_call_param(&p->db, p->idem.fingerprint);
		db_call_param(&p->db, PAYMENTS_CHARGE_STALE);
	}

	req->fsm_state = PAYMENTS_RESERVE;
	return (HTTP_STATE_CONTINUE);
}

/* Claim the key in Redis: a retry is replayed or refused here. */
static int
payments_reserve(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	switch (idem_begin(req, &p->idem)) {
	case IDEM_PENDING:
		return (HTTP_STATE_RETRY);
	case IDEM_ANSWERED:
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = PAYMENTS_QUERY;
	return (HTTP_STATE_CONTINUE);
}

/*
 * One transition. Retried on deadlock, serialization failure and unique
 * violation (two keys racing); a database that stays unusable is 503.
 */
static int
payments_query(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	struct kore_json_item	*root;
	int			status;

	switch (db_run(&p->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		if (claim_retry(&p->db, req))
			return (HTTP_STATE_RETRY);
		if (db_connection_lost(&p->db) &&
		    p->resolving < PAYMENTS_RESOLVE_ATTEMPTS) {
			kore_log(LOG_NOTICE, "payments: connection lost during "
			    "a transition; asking again (%d)",
			    p->resolving + 1);
			db_retry_later(&p->db, req,
			    PAYMENTS_RESOLVE_MS << MIN(p->resolving, 3));
			p->resolving++;
			return (HTTP_STATE_RETRY);
		}
		root = reply_db_error(req, &p->db, &status);
		payments_keep(p, status, root);
		req->fsm_state = PAYMENTS_STORE;
		return (HTTP_STATE_CONTINUE);
	}

	if (db_rows(&p->db) == 0) {
		kore_log(LOG_ERR, "payments: a transition answered no row");
		payments_keep(p, HTTP_STATUS_INTERNAL_ERROR,
		    reply_error_json("internal_error", REPLY_INTERNAL_MSG,
		    NULL));
		req->fsm_state = PAYMENTS_STORE;
		return (HTTP_STATE_CONTINUE);
	}

	p->outcome = payments_resolved(p);
	if (!strcmp(p->outcome, "charge")) {
		if (p->charged)
			fatal("payments_query: charging twice");
		p->charged = 1;
		provider_call_init(&p->call, PAYMENT_CALL_CHARGE,
		    db_int(&p->db, 0, PAYMENTS_COL_ID));
		p->call.amount_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT);
		(void)kore_strlcpy(p->call.currency, db_value(&p->db, 0,
		    PAYMENTS_COL_ROWS + 3), sizeof(p->call.currency));
		(void)kore_strlcpy(p->call.method, p->body.token,
		    sizeof(p->call.method));
		payments_charge_key(p);
		req->fsm_state = payments_provider()->needs_intent ?
		    PAYMENTS_INTENT : PAYMENTS_CALL;
		if (req->fsm_state == PAYMENTS_INTENT) {
			db_call_cleanup(&p->db);
			db_call_init(&p->db, sql_intent);
			db_call_param(&p->db, p->sid);
		}
		return (HTTP_STATE_CONTINUE);
	}

	if (!strcmp(p->outcome, "payment_in_progress") ||
	    !strcmp(p->outcome, "confirm_in_flight"))
		http_response_header(req, "retry-after", "1");
	if (!strcmp(p->outcome, "provider_unavailable"))
		http_response_header(req, "retry-after", "2");

	if (!db_isnull(&p->db, 0, PAYMENTS_COL_REFUND) &&
	    !strcmp(db_value(&p->db, 0, PAYMENTS_COL_REFUND), "t")) {
		p->refund_id = db_int(&p->db, 0, PAYMENTS_COL_ID);
		p->refund_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT);
	}
	if (PAYMENTS_IS_EVENT(p) &&
	    !db_isnull(&p->db, 0, PAYMENTS_COL_FREED))
		p->freed_show = db_int(&p->db, 0, PAYMENTS_COL_FREED);

	p->status = payments_outcome(p);
	req->fsm_state = PAYMENTS_REFUND;
	if (p->which == PAYMENTS_INITIATE && p->status < 300 &&
	    payments_provider()->needs_intent) {
		/*
		 * Created, or the open one answered again: the intent is
		 * asked for under the same provider key every time, so
		 * however often this runs the payment has one intent.
		 */
		provider_call_init(&p->call, PAYMENT_CALL_CREATE,
		    db_int(&p->db, 0, PAYMENTS_COL_ID));
		p->call.booking_id = db_int(&p->db, 0, PAYMENTS_COL_ROWS + 1);
		p->call.amount_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT);
		(void)kore_strlcpy(p->call.currency, db_value(&p->db, 0,
		    PAYMENTS_COL_ROWS + 3), sizeof(p->call.currency));
		req->fsm_state = PAYMENTS_CALL;
	}
	return (HTTP_STATE_CONTINUE);
}

/*
 * The provider key of a charge: the payment and the client's own key, so
 * a retried confirm is the same confirm at the provider.
 */
static void
payments_charge_key(struct payments_req *p)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	len, i;
	char		hex[17];

	len = 0;
	if (!EVP_Digest(p->key, strlen(p->key), md, &len, EVP_sha256(),
	    NULL) || len < 8)
		fatal("payments_charge_key: EVP_Digest failed");
	for (i = 0; i < 8; i++)
		(void)snprintf(hex + i * 2, 3, "%02x", md[i]);
	(void)snprintf(p->call.idem_key, sizeof(p->call.idem_key),
	    "booking-pay-%lld-confirm-%s", (long long)p->call.payment_id, hex);
}

/*
 * The transition's outcome. Run again after its connection died
 * (p->resolving), a transition that had committed answers as a retry of
 * its key does, which is not always what this request did:
 *
 *   confirm_in_flight  before the charge: the payment is marked as being
 *                      charged under this request's key (which the
 *                      request holds), and the charge never happened, so
 *                      the request charges now; a charge is deduped by
 *                      payment (struct payment_charge), so even a
 *                      second request of the key racing it charges once
 *   payment_in_progress  after the provider refused the token: the first
 *                      run lifted the mark; nothing was charged, so the
 *                      answer is card_token_invalid
 *   booking_not_payable  after money arrived for a booking that lapsed:
 *                      the first run refunded the payment in the
 *                      database but its refund_due was lost, so the
 *                      money goes back now
 */
static const char *
payments_resolved(struct payments_req *p)
{
	const char	*o;
	int		reason;

	o = db_value(&p->db, 0, 0);
	if (p->resolving == 0 || p->which != PAYMENTS_CONFIRM)
		return (o);

	if (!p->charged && !strcmp(o, "confirm_in_flight"))
		return ("charge");
	if (p->charged && !strcmp(p->charge_result, "invalid") &&
	    !strcmp(o, "payment_in_progress"))
		return ("card_token_invalid");

	reason = PAYMENTS_COL_ROWS + 7;
	if (p->charged && !strcmp(p->charge_result, "succeeded") &&
	    !strcmp(o, "booking_not_payable") &&
	    !db_isnull(&p->db, 0, reason) &&
	    !strcmp(db_value(&p->db, 0, reason), "booking_not_payable")) {
		kore_log(LOG_NOTICE, "payments: refunding payment %lld, "
		    "whose refund_due was lost with its connection",
		    (long long)db_int(&p->db, 0, PAYMENTS_COL_ID));
		p->refund_id = db_int(&p->db, 0, PAYMENTS_COL_ID);
		p->refund_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT);
	}

	return (o);
}

/* The transition's answer in p->answer; returns its status. */
static int
payments_outcome(struct payments_req *p)
{
	struct kore_json_item	*root, *item;
	const char		*o;
	int			status;

	o = p->outcome;
	if (PAYMENTS_IS_EVENT(p) && !strcmp(o, "event_mismatch")) {
		kore_log(LOG_WARNING, "payments: refused Stripe event %s (%s): "
		    "intent %s, %lld %s, does not match payment %lld of "
		    "booking %lld", p->body.event_id, p->body.event_type,
		    p->body.intent, (long long)p->body.amount,
		    p->body.currency, (long long)p->body.id,
		    (long long)p->body.booking_id);
		root = claim_error_as(&p->db, o, &status);
		payments_keep(p, status, root);
		return (status);
	}
	if (PAYMENTS_IS_EVENT(p)) {
		/* Applied, ignored or seen before: the gateway is done. */
		root = kore_json_create_object(NULL, NULL);
		kore_json_create_literal(root, "received", KORE_JSON_TRUE);
		payments_keep(p, HTTP_STATUS_OK, root);
		return (p->status);
	}

	if (!strcmp(o, "created") || !strcmp(o, "open") ||
	    !strcmp(o, "succeeded")) {
		status = !strcmp(o, "created") ? HTTP_STATUS_CREATED :
		    HTTP_STATUS_OK;
		payments_keep(p, status, payments_json(NULL, NULL, &p->db, 0,
		    PAYMENTS_COL_ROWS));
		return (status);
	}

	if (!strcmp(o, "requires_action")) {
		/* 3-D Secure: the client finishes it with next_action. */
		root = payments_json(NULL, NULL, &p->db, 0, PAYMENTS_COL_ROWS);
		item = kore_json_find_string(root, "status");
		if (item != NULL) {
			kore_free(item->data.string);
			item->data.string = kore_strdup("requires_action");
		}
		payments_keep(p, HTTP_STATUS_OK, root);
		return (HTTP_STATUS_OK);
	}

	root = claim_error_as(&p->db, o, &status);
	payments_keep(p, status, root);
	return (status);
}

/* The payment's intent at the provider, for the charge. */
static int
payments_intent(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	switch (db_run(&p->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		/* Answered as the provider being out of reach. */
		p->call.started = 1;
		p->call.result = PAYMENT_RESULT_UNAVAILABLE;
		req->fsm_state = PAYMENTS_CALL;
		return (HTTP_STATE_CONTINUE);
	}

	if (db_rows(&p->db) == 1 && !db_isnull(&p->db, 0, 0))
		(void)kore_strlcpy(p->call.reference, db_value(&p->db, 0, 0),
		    sizeof(p->call.reference));
	req->fsm_state = PAYMENTS_CALL;
	return (HTTP_STATE_CONTINUE);
}

/*
 * One provider call; the request sleeps until it answers. A charge
 * (begin marked the payment as being charged under this key) goes on to
 * payment_confirm_finish with what the provider said; an intent is
 * recorded by payments_attach.
 */
static int
payments_call(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	struct kore_json_item	*root;
	int			done;

	if (p->call.started && p->call.result != 0)
		done = PAYMENT_CALL_DONE;
	else
		done = provider_call_run(&p->call, req);
	if (done == PAYMENT_CALL_PENDING)
		return (HTTP_STATE_RETRY);

	if (p->call.result != PAYMENT_RESULT_SUCCEEDED &&
	    p->call.error[0] != '\0')
		kore_log(LOG_NOTICE, "payments: %s call for payment %lld: %s",
		    payments_provider()->name,
		    (long long)p->call.payment_id, p->call.error);

	if (p->call.kind == PAYMENT_CALL_CREATE) {
		if (p->call.result != PAYMENT_RESULT_SUCCEEDED) {
			root = claim_error_as(&p->db, "provider_unavailable",
			    &p->status);
			payments_keep(p, p->status, root);
			http_response_header(req, "retry-after", "2");
			req->fsm_state = PAYMENTS_STORE;
			return (HTTP_STATE_CONTINUE);
		}
		kore_json_create_string(p->root, "provider",
		    payments_provider()->name);
		kore_json_create_string(p->root, "provider_payment_id",
		    p->call.reference);
		kore_json_create_string(p->root, "client_secret",
		    p->call.client_secret);
		db_call_cleanup(&p->db);
		db_call_init(&p->db, sql_attach);
		(void)db_call_param_int(&p->db, p->call.payment_id);
		db_call_param(&p->db, p->call.reference);
		db_call_param(&p->db, p->call.client_secret);
		req->fsm_state = PAYMENTS_ATTACH;
		return (HTTP_STATE_CONTINUE);
	}

	p->charge_result = provider_result_name(p->call.result);
	p->resolving = 0;

	db_call_cleanup(&p->db);
	db_call_init(&p->db, sql_confirm_finish);
	db_call_param(&p->db, p->sid);
	db_call_param(&p->db, p->key);
	db_call_param(&p->db, p->charge_result);
	db_call_param(&p->db, p->call.reference[0] != '\0' ?
	    p->call.reference : NULL);
	/* requires_action's next_action, kept for GET (migrations/015). */
	if (p->call.next_action != NULL && p->call.next_action->offset > 0) {
		db_call_param(&p->db, kore_buf_stringify(p->call.next_action,
		    NULL));
		p->call.next_action->offset--;	/* the NUL stays behind it */
	} else {
		db_call_param(&p->db, NULL);
	}

	req->fsm_state = PAYMENTS_QUERY;
	return (HTTP_STATE_CONTINUE);
}

/* The intent is the payment's (the first one it got stays). */
static int
payments_attach(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	struct kore_json_item	*root;
	int			status;

	switch (db_run(&p->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		root = reply_db_error(req, &p->db, &status);
		payments_keep(p, status, root);
		break;
	}

	req->fsm_state = PAYMENTS_REFUND;
	return (HTTP_STATE_CONTINUE);
}

/*
 * Money that arrived for a booking no longer payable goes back: the
 * transition wrote the refund to the outbox (outbox.c), which delivers
 * it after this commit; here it is only logged.
 */
static int
payments_refund_due(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (p->refund_id != 0)
		kore_log(LOG_NOTICE, "payments: payment %lld (%lld cents) "
		    "arrived for a booking no longer payable; refund queued",
		    (long long)p->refund_id, (long long)p->refund_cents);

	req->fsm_state = PAYMENTS_CHANGED;
	return (HTTP_STATE_CONTINUE);
}

/* Seats freed by a refund at the gateway: cached seat maps are stale. */
static int
payments_changed(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	/* seatmap_changed() also tells the live seat map (live.c). */
	if (p->freed_show != 0 && seatmap_changed(req, &p->seatmap,
	    p->freed_show) == SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	req->fsm_state = p->keyed ? PAYMENTS_STORE : PAYMENTS_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

/* Store the answer under the key (or release it after a 5xx). */
static int
payments_store(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	payments_render(p);
	if (p->keyed &&
	    idem_finish(req, &p->idem, p->status, p->answer) == IDEM_PENDING)
		return (HTTP_STATE_RETRY);

	req->fsm_state = PAYMENTS_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
payments_answer(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	payments_render(p);
	reply_buf(req, p->status, p->answer);
	return (HTTP_STATE_COMPLETE);
}

static void
payments_free(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (p == NULL)
		return;

	auth_cleanup(&p->auth);
	throttle_cleanup(&p->limit_user);
	idem_cleanup(&p->idem);
	seatmap_cleanup(&p->seatmap);
	db_call_cleanup(&p->db);
	provider_call_cleanup(&p->call);
	if (p->root != NULL) {
		kore_json_item_free(p->root);
		p->root = NULL;
	}
	if (p->answer != NULL) {
		kore_buf_free(p->answer);
		p->answer = NULL;
	}
	http_state_cleanup(req);
}
