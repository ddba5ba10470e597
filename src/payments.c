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
 * these state machines, the request sleeping until the provider answers).
 * Each write has its own machine; a step two of them take is one function
 * below the tables (payments_user(), payments_reserve(), ...), and each
 * table's state calls it naming its own next state.
 *
 * initiate (payments_initiate_states):
 *   auth     the Bearer token
 *   limit    RATE_LIMIT_PAYMENTS per user (throttle.c)
 *   parse    the Idempotency-Key and the body (payments_body.c), bound
 *            to payment_initiate's parameters
 *   reserve  the key in Redis (idem.c): a retry is replayed here
 *   create   payment_initiate: the payment, or the open one again
 *   intent   a provider with intents (Stripe) creates the payment's
 *            intent (503 when it does not answer)
 *   attach   the intent is recorded on the payment
 *   store    the answer under the key (idem.c)
 *   answer
 *
 * confirm (payments_confirm_states):
 *   auth, limit, parse, reserve   as initiate's
 *   begin    payment_confirm_begin: the payment is marked as being
 *            charged under the key ('charge'), or the answer comes
 *            without charging (then on to store)
 *   intent   with a provider that has intents: the payment's intent
 *   charge   the provider confirms the payment with the token or method
 *   finish   payment_confirm_finish_action with what the provider said
 *   store, answer
 *
 * mock callback (payments_callback_states), the mock gateway's events:
 *   verify   X-Signature, with PAYMENT_WEBHOOK_SECRET
 *   parse    the event
 *   apply    payment_event_apply, once per event id
 *   changed  a refund at the gateway freed seats: seat maps and live
 *            watchers of the show hear of it (seatmap.c, live.c)
 *   answer   {"received": true}
 *
 * Stripe's webhook (payments_stripe_states):
 *   limit    RATE_LIMIT_WEBHOOKS per client address (throttle.c), before
 *            any HMAC or SQL work: 429 past it
 *   verify   Stripe-Signature, with STRIPE_WEBHOOK_SECRET
 *   parse    the event: a type or an object not ours is acknowledged
 *            at once (on to answer)
 *   apply    stripe_event_apply, once per event id
 *   changed, answer   as the mock callback's
 *
 * Money that arrived for a booking no longer payable goes back: finish
 * and apply find the refund that their transition queued in the outbox
 * (outbox.c, which delivers it after the commit) and log it.
 *
 * Every transition is idempotent under its key (the Idempotency-Key of
 * initiate and confirm, the event id of a callback): when a transition's
 * connection dies, whether it committed is unknown, and the same call on
 * a fresh connection answers what was done (payments_resolved() reads
 * that answer); only a database that stays out of reach is 503.
 *
 * The transitions answer rows (outcome, ids, payment_rows() columns,
 * refund_due: enum payments_col). Outcomes that are a payment are
 * answered here; every other one goes through claim_error(), the one
 * table of SQL outcomes to HTTP. Requests call the provider only from
 * this file (payments_provider); the outbox calls it after commits.
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
#include "state.h"
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

/*
 * Every transition answers this layout, the columns named in each
 * statement below (payment_id to refund_reason are payment_rows()'s,
 * PAYMENTS_COLS of them, read by payments_json()); the events' also end
 * in freed_show.
 */
#define PAYMENTS_TRANSITION_COLS					\
    "outcome, blocked, payment_id, booking_id, amount_cents, currency,"	\
    " status, created_at, updated_at, refund_reason, refund_due"

enum payments_col {
	PAYMENTS_COL_OUTCOME,
	PAYMENTS_COL_BLOCKED,
	PAYMENTS_COL_PAYMENT_ID,
	PAYMENTS_COL_BOOKING_ID,
	PAYMENTS_COL_AMOUNT_CENTS,
	PAYMENTS_COL_CURRENCY,
	PAYMENTS_COL_STATUS,
	PAYMENTS_COL_CREATED_AT,
	PAYMENTS_COL_UPDATED_AT,
	PAYMENTS_COL_REFUND_REASON,
	PAYMENTS_COL_REFUND_DUE,
	PAYMENTS_COL_FREED_SHOW,	/* events only */
};

static const char *sql_initiate =
    "SELECT " PAYMENTS_TRANSITION_COLS
    " FROM payment_initiate($1, $2, $3, $4, $5)";
static const char *sql_confirm_begin =
    "SELECT " PAYMENTS_TRANSITION_COLS
    " FROM payment_confirm_begin($1, $2, $3, $4, $5)";
static const char *sql_confirm_finish =
    "SELECT " PAYMENTS_TRANSITION_COLS
    " FROM payment_confirm_finish_action($1, $2, $3, $4, $5)";
static const char *sql_event =
    "SELECT " PAYMENTS_TRANSITION_COLS ", freed_show"
    " FROM payment_event_apply($1, $2, $3)";
static const char *sql_stripe_event =
    "SELECT " PAYMENTS_TRANSITION_COLS ", freed_show"
    " FROM stripe_event_apply($1, $2, $3, $4, $5, $6, $7)";

/* The provider's intent of a payment (providers with needs_intent). */
static const char *sql_intent =
    "SELECT provider_ref FROM payments WHERE id = $1";

enum payments_intent_col {
	PAYMENTS_INTENT_COL_PROVIDER_REF,
};

static const char *sql_attach =
    "SELECT payment_intent_attach($1, $2, $3)";

/* payments_transition(): its row is in p->db (not an HTTP_STATE_*). */
#define PAYMENTS_ROW		(-1)

/*
 * A state that is one shared step (the functions below the states)
 * followed by its table's `next`: the step does the work, the state
 * names where its machine goes after it.
 */
#define PAYMENTS_STATE(state, step, next)				\
	static int							\
	state(struct http_request *req)					\
	{								\
		return (step(req, next));				\
	}

struct payments_req {
	struct auth		auth;
	struct throttle		limit;
	struct idem		idem;
	struct db_call		db;
	const char		*key;		/* the Idempotency-Key */
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
};

static int	payments_initiate_auth(struct http_request *);
static int	payments_initiate_limit(struct http_request *);
static int	payments_initiate_parse(struct http_request *);
static int	payments_initiate_reserve(struct http_request *);
static int	payments_initiate_create(struct http_request *);
static int	payments_initiate_intent(struct http_request *);
static int	payments_initiate_attach(struct http_request *);
static int	payments_initiate_store(struct http_request *);

static int	payments_confirm_auth(struct http_request *);
static int	payments_confirm_limit(struct http_request *);
static int	payments_confirm_parse(struct http_request *);
static int	payments_confirm_reserve(struct http_request *);
static int	payments_confirm_begin(struct http_request *);
static int	payments_confirm_intent(struct http_request *);
static int	payments_confirm_charge(struct http_request *);
static int	payments_confirm_finish(struct http_request *);
static int	payments_confirm_store(struct http_request *);

static int	payments_callback_verify(struct http_request *);
static int	payments_callback_parse(struct http_request *);
static int	payments_callback_apply(struct http_request *);
static int	payments_callback_changed(struct http_request *);

static int	payments_stripe_limit(struct http_request *);
static int	payments_stripe_verify(struct http_request *);
static int	payments_stripe_parse(struct http_request *);
static int	payments_stripe_apply(struct http_request *);
static int	payments_stripe_changed(struct http_request *);

static int	payments_answer(struct http_request *);

static int	payments_user(struct http_request *, int);
static int	payments_user_limit(struct http_request *, int);
static int	payments_parse_keyed(struct http_request *,
		    int (*)(struct http_request *, struct payments_body *),
		    const char *, const char *, int);
static int	payments_reserve(struct http_request *, int);
static int	payments_verify(struct http_request *, const char *, int);
static int	payments_apply(struct http_request *, int);
static int	payments_changed(struct http_request *, int);
static int	payments_store(struct http_request *, int);

static int	payments_transition(struct http_request *,
		    struct payments_req *, int);
static int	payments_call(struct http_request *, struct payments_req *);
static void	payments_call_init(struct payments_req *, int);
static void	payments_refund_queued(struct payments_req *);
static int	payments_answer_payment(struct http_request *,
		    struct payments_req *);
static void	payments_answer_event(struct payments_req *);
static const char	*payments_resolved(struct payments_req *);
static void	payments_keep(struct payments_req *, int,
		    struct kore_json_item *);
static void	payments_free(struct http_request *);
static const struct payment_provider	*payments_provider(void);
static void	payments_render(struct payments_req *);
static void	payments_charge_key(struct payments_req *);

enum payments_initiate_state {
	PAYMENTS_INITIATE_AUTH,
	PAYMENTS_INITIATE_LIMIT,
	PAYMENTS_INITIATE_PARSE,
	PAYMENTS_INITIATE_RESERVE,
	PAYMENTS_INITIATE_CREATE,
	PAYMENTS_INITIATE_INTENT,
	PAYMENTS_INITIATE_ATTACH,
	PAYMENTS_INITIATE_STORE,
	PAYMENTS_INITIATE_ANSWER,
};

static struct http_state payments_initiate_states[] = {
	[PAYMENTS_INITIATE_AUTH] = KORE_HTTP_STATE(payments_initiate_auth),
	[PAYMENTS_INITIATE_LIMIT] = KORE_HTTP_STATE(payments_initiate_limit),
	[PAYMENTS_INITIATE_PARSE] = KORE_HTTP_STATE(payments_initiate_parse),
	[PAYMENTS_INITIATE_RESERVE] =
	    KORE_HTTP_STATE(payments_initiate_reserve),
	[PAYMENTS_INITIATE_CREATE] = KORE_HTTP_STATE(payments_initiate_create),
	[PAYMENTS_INITIATE_INTENT] = KORE_HTTP_STATE(payments_initiate_intent),
	[PAYMENTS_INITIATE_ATTACH] = KORE_HTTP_STATE(payments_initiate_attach),
	[PAYMENTS_INITIATE_STORE] = KORE_HTTP_STATE(payments_initiate_store),
	[PAYMENTS_INITIATE_ANSWER] = KORE_HTTP_STATE(payments_answer),
};

enum payments_confirm_state {
	PAYMENTS_CONFIRM_AUTH,
	PAYMENTS_CONFIRM_LIMIT,
	PAYMENTS_CONFIRM_PARSE,
	PAYMENTS_CONFIRM_RESERVE,
	PAYMENTS_CONFIRM_BEGIN,
	PAYMENTS_CONFIRM_INTENT,
	PAYMENTS_CONFIRM_CHARGE,
	PAYMENTS_CONFIRM_FINISH,
	PAYMENTS_CONFIRM_STORE,
	PAYMENTS_CONFIRM_ANSWER,
};

static struct http_state payments_confirm_states[] = {
	[PAYMENTS_CONFIRM_AUTH] = KORE_HTTP_STATE(payments_confirm_auth),
	[PAYMENTS_CONFIRM_LIMIT] = KORE_HTTP_STATE(payments_confirm_limit),
	[PAYMENTS_CONFIRM_PARSE] = KORE_HTTP_STATE(payments_confirm_parse),
	[PAYMENTS_CONFIRM_RESERVE] = KORE_HTTP_STATE(payments_confirm_reserve),
	[PAYMENTS_CONFIRM_BEGIN] = KORE_HTTP_STATE(payments_confirm_begin),
	[PAYMENTS_CONFIRM_INTENT] = KORE_HTTP_STATE(payments_confirm_intent),
	[PAYMENTS_CONFIRM_CHARGE] = KORE_HTTP_STATE(payments_confirm_charge),
	[PAYMENTS_CONFIRM_FINISH] = KORE_HTTP_STATE(payments_confirm_finish),
	[PAYMENTS_CONFIRM_STORE] = KORE_HTTP_STATE(payments_confirm_store),
	[PAYMENTS_CONFIRM_ANSWER] = KORE_HTTP_STATE(payments_answer),
};

enum payments_callback_state {
	PAYMENTS_CALLBACK_VERIFY,
	PAYMENTS_CALLBACK_PARSE,
	PAYMENTS_CALLBACK_APPLY,
	PAYMENTS_CALLBACK_CHANGED,
	PAYMENTS_CALLBACK_ANSWER,
};

static struct http_state payments_callback_states[] = {
	[PAYMENTS_CALLBACK_VERIFY] = KORE_HTTP_STATE(payments_callback_verify),
	[PAYMENTS_CALLBACK_PARSE] = KORE_HTTP_STATE(payments_callback_parse),
	[PAYMENTS_CALLBACK_APPLY] = KORE_HTTP_STATE(payments_callback_apply),
	[PAYMENTS_CALLBACK_CHANGED] =
	    KORE_HTTP_STATE(payments_callback_changed),
	[PAYMENTS_CALLBACK_ANSWER] = KORE_HTTP_STATE(payments_answer),
};

enum payments_stripe_state {
	PAYMENTS_STRIPE_LIMIT,
	PAYMENTS_STRIPE_VERIFY,
	PAYMENTS_STRIPE_PARSE,
	PAYMENTS_STRIPE_APPLY,
	PAYMENTS_STRIPE_CHANGED,
	PAYMENTS_STRIPE_ANSWER,
};

static struct http_state payments_stripe_states[] = {
	[PAYMENTS_STRIPE_LIMIT] = KORE_HTTP_STATE(payments_stripe_limit),
	[PAYMENTS_STRIPE_VERIFY] = KORE_HTTP_STATE(payments_stripe_verify),
	[PAYMENTS_STRIPE_PARSE] = KORE_HTTP_STATE(payments_stripe_parse),
	[PAYMENTS_STRIPE_APPLY] = KORE_HTTP_STATE(payments_stripe_apply),
	[PAYMENTS_STRIPE_CHANGED] = KORE_HTTP_STATE(payments_stripe_changed),
	[PAYMENTS_STRIPE_ANSWER] = KORE_HTTP_STATE(payments_answer),
};

static const struct route_method payments_initiate_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, payments_initiate_states),
};

static const struct route_method payments_confirm_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, payments_confirm_states),
};

static const struct route_method payments_callback_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, payments_callback_states),
};

static const struct route_method payments_stripe_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, payments_stripe_states),
};

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

/* Stripe's events: only with Stripe as the provider. */
int
payments_stripe_webhook(struct http_request *req)
{
	if (config.provider != CONFIG_PROVIDER_STRIPE)
		return (route_not_found(req));

	return (ROUTE_DISPATCH(req, payments_stripe_methods));
}

/* Initiate: the caller's Bearer token. */
PAYMENTS_STATE(payments_initiate_auth, payments_user, PAYMENTS_INITIATE_LIMIT)

/* RATE_LIMIT_PAYMENTS per user: 429 past it. */
PAYMENTS_STATE(payments_initiate_limit, payments_user_limit,
    PAYMENTS_INITIATE_PARSE)

/* The key and {booking_id}, bound to payment_initiate. */
static int
payments_initiate_parse(struct http_request *req)
{
	return (payments_parse_keyed(req, payments_body_initiate,
	    sql_initiate, payments_provider()->name,
	    PAYMENTS_INITIATE_RESERVE));
}

/* The key in Redis: a retry is replayed or refused here. */
PAYMENTS_STATE(payments_initiate_reserve, payments_reserve,
    PAYMENTS_INITIATE_CREATE)

/*
 * payment_initiate: the payment, created or the open one answered again.
 * A provider with intents makes the payment's next; any other outcome,
 * or a provider without, is the answer.
 */
static int
payments_initiate_create(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	int			r;

	if ((r = payments_transition(req, p, PAYMENTS_INITIATE_STORE)) !=
	    PAYMENTS_ROW)
		return (r);

	p->outcome = db_value(&p->db, 0, PAYMENTS_COL_OUTCOME);
	if (payments_answer_payment(req, p) >= 300 ||
	    !payments_provider()->needs_intent)
		return (state_next(req, PAYMENTS_INITIATE_STORE));

	/*
	 * The intent is asked for under the same provider key every time,
	 * so however often this runs the payment has one intent.
	 */
	payments_call_init(p, PAYMENT_CALL_CREATE);
	p->call.booking_id = db_int(&p->db, 0, PAYMENTS_COL_BOOKING_ID);
	return (state_next(req, PAYMENTS_INITIATE_INTENT));
}

/* The provider creates the intent; no answer is 503 with Retry-After. */
static int
payments_initiate_intent(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	struct kore_json_item	*root;

	if (payments_call(req, p) == PAYMENT_CALL_PENDING)
		return (HTTP_STATE_RETRY);

	if (p->call.result != PAYMENT_RESULT_SUCCEEDED) {
		root = claim_error_as(&p->db, "provider_unavailable",
		    &p->status);
		payments_keep(p, p->status, root);
		http_response_header(req, "retry-after", "2");
		return (state_next(req, PAYMENTS_INITIATE_STORE));
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
	return (state_next(req, PAYMENTS_INITIATE_ATTACH));
}

/* The intent is the payment's (the first one it got stays). */
static int
payments_initiate_attach(struct http_request *req)
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

	return (state_next(req, PAYMENTS_INITIATE_STORE));
}

/* The answer under the key (or the key released after a 5xx). */
PAYMENTS_STATE(payments_initiate_store, payments_store,
    PAYMENTS_INITIATE_ANSWER)

/* Confirm: the caller's Bearer token. */
PAYMENTS_STATE(payments_confirm_auth, payments_user, PAYMENTS_CONFIRM_LIMIT)

/* RATE_LIMIT_PAYMENTS per user, shared with initiate: 429 past it. */
PAYMENTS_STATE(payments_confirm_limit, payments_user_limit,
    PAYMENTS_CONFIRM_PARSE)

/* The key and {payment_id, card_token}, bound to payment_confirm_begin. */
static int
payments_confirm_parse(struct http_request *req)
{
	return (payments_parse_keyed(req, payments_body_confirm,
	    sql_confirm_begin, PAYMENTS_CHARGE_STALE,
	    PAYMENTS_CONFIRM_RESERVE));
}

/* The key in Redis: a retry is replayed or refused here. */
PAYMENTS_STATE(payments_confirm_reserve, payments_reserve,
    PAYMENTS_CONFIRM_BEGIN)

/*
 * payment_confirm_begin: 'charge' (the payment is now marked as being
 * charged under this key) goes on to the provider, through the intent
 * lookup when the provider has intents; any other outcome is the answer.
 */
static int
payments_confirm_begin(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	int			r;

	if ((r = payments_transition(req, p, PAYMENTS_CONFIRM_STORE)) !=
	    PAYMENTS_ROW)
		return (r);

	p->outcome = payments_resolved(p);
	if (strcmp(p->outcome, "charge")) {
		(void)payments_answer_payment(req, p);
		return (state_next(req, PAYMENTS_CONFIRM_STORE));
	}

	p->charged = 1;
	payments_call_init(p, PAYMENT_CALL_CHARGE);
	(void)kore_strlcpy(p->call.method, p->body.token,
	    sizeof(p->call.method));
	payments_charge_key(p);
	if (!payments_provider()->needs_intent)
		return (state_next(req, PAYMENTS_CONFIRM_CHARGE));

	db_call_cleanup(&p->db);
	db_call_init(&p->db, sql_intent);
	db_call_param(&p->db, p->sid);
	return (state_next(req, PAYMENTS_CONFIRM_INTENT));
}

/* The payment's intent at the provider, for the charge. */
static int
payments_confirm_intent(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	switch (db_run(&p->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		/* Answered as the provider being out of reach. */
		p->call.started = 1;
		p->call.result = PAYMENT_RESULT_UNAVAILABLE;
		return (state_next(req, PAYMENTS_CONFIRM_CHARGE));
	}

	if (db_rows(&p->db) == 1 &&
	    !db_isnull(&p->db, 0, PAYMENTS_INTENT_COL_PROVIDER_REF))
		(void)kore_strlcpy(p->call.reference, db_value(&p->db, 0,
		    PAYMENTS_INTENT_COL_PROVIDER_REF),
		    sizeof(p->call.reference));
	return (state_next(req, PAYMENTS_CONFIRM_CHARGE));
}

/*
 * The provider charges (begin marked the payment as being charged under
 * this key); what it said is bound to payment_confirm_finish_action.
 */
static int
payments_confirm_charge(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (payments_call(req, p) == PAYMENT_CALL_PENDING)
		return (HTTP_STATE_RETRY);

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

	return (state_next(req, PAYMENTS_CONFIRM_FINISH));
}

/* payment_confirm_finish_action: the charge applied; the answer. */
static int
payments_confirm_finish(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);
	int			r;

	if ((r = payments_transition(req, p, PAYMENTS_CONFIRM_STORE)) !=
	    PAYMENTS_ROW)
		return (r);

	p->outcome = payments_resolved(p);
	payments_refund_queued(p);
	(void)payments_answer_payment(req, p);
	return (state_next(req, PAYMENTS_CONFIRM_STORE));
}

/* The answer under the key (or the key released after a 5xx). */
PAYMENTS_STATE(payments_confirm_store, payments_store, PAYMENTS_CONFIRM_ANSWER)

/* The mock's event: X-Signature (gateway_mock.c checks it). */
static int
payments_callback_verify(struct http_request *req)
{
	(void)state_req(req, sizeof(struct payments_req), payments_free);
	return (payments_verify(req, "x-signature", PAYMENTS_CALLBACK_PARSE));
}

/* {id, type, data: {payment_id}}, bound to payment_event_apply. */
static int
payments_callback_parse(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (!payments_body_event(req, &p->body))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(p->sid, sizeof(p->sid), "%lld", (long long)p->body.id);
	db_call_init(&p->db, sql_event);
	db_call_param(&p->db, p->body.event_id);
	db_call_param(&p->db, p->body.event_type);
	db_call_param(&p->db, p->sid);
	return (state_next(req, PAYMENTS_CALLBACK_APPLY));
}

/* payment_event_apply: applied, ignored or seen before. */
PAYMENTS_STATE(payments_callback_apply, payments_apply,
    PAYMENTS_CALLBACK_CHANGED)

/* Seats freed by a refund at the gateway: cached seat maps are stale. */
PAYMENTS_STATE(payments_callback_changed, payments_changed,
    PAYMENTS_CALLBACK_ANSWER)

/*
 * Stripe's event: RATE_LIMIT_WEBHOOKS per client address, charged once,
 * before the signature costs anything; 429 past it.
 */
static int
payments_stripe_limit(struct http_request *req)
{
	struct payments_req	*p;

	p = state_req(req, sizeof(*p), payments_free);
	if (p->limit.count == 0)
		throttle_webhooks(req, &p->limit);
	return (throttle_state(req, &p->limit, PAYMENTS_STRIPE_VERIFY));
}

/* Stripe-Signature (gateway_stripe.c checks it). */
static int
payments_stripe_verify(struct http_request *req)
{
	return (payments_verify(req, "stripe-signature",
	    PAYMENTS_STRIPE_PARSE));
}

/*
 * The event and its intent, bound to stripe_event_apply; a type or an
 * object not ours is acknowledged at once.
 */
static int
payments_stripe_parse(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (!payments_body_stripe_event(req, &p->body))
		return (HTTP_STATE_COMPLETE);

	if (!p->body.handled) {
		p->outcome = "ignored";
		payments_answer_event(p);
		return (state_next(req, PAYMENTS_STRIPE_ANSWER));
	}

	(void)snprintf(p->sid, sizeof(p->sid), "%lld", (long long)p->body.id);
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
	return (state_next(req, PAYMENTS_STRIPE_APPLY));
}

/* stripe_event_apply: applied, refused as not matching, or seen before. */
PAYMENTS_STATE(payments_stripe_apply, payments_apply, PAYMENTS_STRIPE_CHANGED)

/* Seats freed by a refund at Stripe: cached seat maps are stale. */
PAYMENTS_STATE(payments_stripe_changed, payments_changed,
    PAYMENTS_STRIPE_ANSWER)

/* Every write's last state: the kept answer. */
static int
payments_answer(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	payments_render(p);
	reply_buf(req, p->status, p->answer);
	return (HTTP_STATE_COMPLETE);
}

/* Step: a user's Bearer token; the request's struct is made here. */
static int
payments_user(struct http_request *req, int next)
{
	struct payments_req	*p;

	p = state_req(req, sizeof(*p), payments_free);
	return (auth_state(req, auth_check(req, &p->auth, AUTH_ROLE_USER),
	    next));
}

/* Step: one charge of RATE_LIMIT_PAYMENTS to the user, then its wait. */
static int
payments_user_limit(struct http_request *req, int next)
{
	struct payments_req	*p = http_state_get(req);

	if (p->limit.count == 0)
		throttle_user(req, &p->limit, THROTTLE_PAYMENTS,
		    p->auth.user_id);
	return (throttle_state(req, &p->limit, next));
}

/*
 * Step: initiate's or confirm's Idempotency-Key and body (`check`, which
 * answers 400 naming the field), bound to its transition `sql`: the
 * user, the id, the key, the request's fingerprint and `last`.
 */
static int
payments_parse_keyed(struct http_request *req,
    int (*check)(struct http_request *, struct payments_body *),
    const char *sql, const char *last, int next)
{
	struct payments_req	*p = http_state_get(req);

	if (!idem_header(req, &p->key) || !check(req, &p->body))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(p->user, sizeof(p->user), "%lld",
	    (long long)p->auth.user_id);
	(void)snprintf(p->sid, sizeof(p->sid), "%lld", (long long)p->body.id);
	idem_init(&p->idem, req, p->auth.user_id, p->key);
	db_call_init(&p->db, sql);
	db_call_param(&p->db, p->user);
	db_call_param(&p->db, p->sid);
	db_call_param(&p->db, p->key);
	db_call_param(&p->db, p->idem.fingerprint);
	db_call_param(&p->db, last);
	return (state_next(req, next));
}

/* Step: claim the key in Redis; a retry is replayed or refused. */
static int
payments_reserve(struct http_request *req, int next)
{
	struct payments_req	*p = http_state_get(req);

	switch (idem_begin(req, &p->idem)) {
	case IDEM_PENDING:
		return (HTTP_STATE_RETRY);
	case IDEM_ANSWERED:
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, next));
}

/*
 * Step: a gateway event's signature (header `name`) over the raw body,
 * checked by the provider; 400 invalid_signature when it does not hold.
 */
static int
payments_verify(struct http_request *req, const char *name, int next)
{
	const char	*sig;
	const void	*body;

	if (!http_request_header(req, name, &sig))
		sig = NULL;
	if (req->http_body != NULL)
		body = req->http_body->data;
	else
		body = "";
	if (payments_provider()->verify_event(sig, body,
	    req->http_body_length, time(NULL)) != PAYMENT_EVENT_VALID) {
		reply_error(req, HTTP_STATUS_BAD_REQUEST, "invalid_signature",
		    "The event's signature is missing, wrong or too old.");
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, next));
}

/*
 * Step: an event's transition, once per event id; its answer (or its
 * error) is kept, and the seats it freed are remembered for `next`.
 */
static int
payments_apply(struct http_request *req, int next)
{
	struct payments_req	*p = http_state_get(req);
	int			r;

	if ((r = payments_transition(req, p, next)) !=
	    PAYMENTS_ROW)
		return (r);

	p->outcome = db_value(&p->db, 0, PAYMENTS_COL_OUTCOME);
	payments_refund_queued(p);
	if (!db_isnull(&p->db, 0, PAYMENTS_COL_FREED_SHOW))
		p->freed_show = db_int(&p->db, 0, PAYMENTS_COL_FREED_SHOW);
	payments_answer_event(p);
	return (state_next(req, next));
}

/* Step: seat maps and live watchers hear of seats an event freed. */
static int
payments_changed(struct http_request *req, int next)
{
	struct payments_req	*p = http_state_get(req);

	/* seatmap_changed() also tells the live seat map (live.c). */
	if (p->freed_show != 0 && seatmap_changed(req, &p->seatmap,
	    p->freed_show) == SEATMAP_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, next));
}

/* Step: the answer stored under the key (or the key released). */
static int
payments_store(struct http_request *req, int next)
{
	struct payments_req	*p = http_state_get(req);

	payments_render(p);
	if (idem_finish(req, &p->idem, p->status, p->answer) == IDEM_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, next));
}

/*
 * One transition (p->db): PAYMENTS_ROW when its row is in p->db, or what
 * the state returns: HTTP_STATE_RETRY while asleep (retried on deadlock,
 * serialization failure and unique violation, two keys racing; asked
 * again on a fresh connection after a lost one), or, its error kept as
 * the answer (a database that stays unusable is 503), on to `failed`.
 */
static int
payments_transition(struct http_request *req, struct payments_req *p,
    int failed)
{
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
		return (state_next(req, failed));
	}

	if (db_rows(&p->db) == 0) {
		kore_log(LOG_ERR, "payments: a transition answered no row");
		payments_keep(p, HTTP_STATUS_INTERNAL_ERROR,
		    reply_error_json("internal_error", REPLY_INTERNAL_MSG,
		    NULL));
		return (state_next(req, failed));
	}

	return (PAYMENTS_ROW);
}

/*
 * One provider call; the request sleeps until it answers. A call the
 * intent lookup already answered (unavailable) is not made.
 */
static int
payments_call(struct http_request *req, struct payments_req *p)
{
	if (!p->call.started || p->call.result == 0) {
		if (provider_call_run(&p->call, req) == PAYMENT_CALL_PENDING)
			return (PAYMENT_CALL_PENDING);
	}

	if (p->call.result != PAYMENT_RESULT_SUCCEEDED &&
	    p->call.error[0] != '\0')
		kore_log(LOG_NOTICE, "payments: %s call for payment %lld: %s",
		    payments_provider()->name,
		    (long long)p->call.payment_id, p->call.error);

	return (PAYMENT_CALL_DONE);
}

/* A provider call about the transition's payment, for its amount. */
static void
payments_call_init(struct payments_req *p, int kind)
{
	provider_call_init(&p->call, kind,
	    db_int(&p->db, 0, PAYMENTS_COL_PAYMENT_ID));
	p->call.amount_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT_CENTS);
	(void)kore_strlcpy(p->call.currency, db_value(&p->db, 0,
	    PAYMENTS_COL_CURRENCY), sizeof(p->call.currency));
}

/*
 * Money that arrived for a booking no longer payable goes back: the
 * transition wrote the refund to the outbox (outbox.c), which delivers
 * it after this commit; here it is only logged.
 */
static void
payments_refund_queued(struct payments_req *p)
{
	if (!db_isnull(&p->db, 0, PAYMENTS_COL_REFUND_DUE) &&
	    !strcmp(db_value(&p->db, 0, PAYMENTS_COL_REFUND_DUE), "t")) {
		p->refund_id = db_int(&p->db, 0, PAYMENTS_COL_PAYMENT_ID);
		p->refund_cents = db_int(&p->db, 0, PAYMENTS_COL_AMOUNT_CENTS);
	}

	if (p->refund_id != 0)
		kore_log(LOG_NOTICE, "payments: payment %lld (%lld cents) "
		    "arrived for a booking no longer payable; refund queued",
		    (long long)p->refund_id, (long long)p->refund_cents);
}

/*
 * The answer to initiate's or confirm's transition (p->outcome): the
 * payment, or claim_error()'s answer to the outcome; its status.
 */
static int
payments_answer_payment(struct http_request *req, struct payments_req *p)
{
	struct kore_json_item	*root, *item;
	const char		*o;
	int			status;

	o = p->outcome;
	if (!strcmp(o, "payment_in_progress") ||
	    !strcmp(o, "confirm_in_flight"))
		http_response_header(req, "retry-after", "1");
	if (!strcmp(o, "provider_unavailable"))
		http_response_header(req, "retry-after", "2");

	if (!strcmp(o, "created") || !strcmp(o, "open") ||
	    !strcmp(o, "succeeded")) {
		status = !strcmp(o, "created") ? HTTP_STATUS_CREATED :
		    HTTP_STATUS_OK;
		payments_keep(p, status, payments_json(NULL, NULL, &p->db, 0,
		    PAYMENTS_COL_PAYMENT_ID));
		return (status);
	}

	if (!strcmp(o, "requires_action")) {
		/* 3-D Secure: the client finishes it with next_action. */
		root = payments_json(NULL, NULL, &p->db, 0,
		    PAYMENTS_COL_PAYMENT_ID);
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

/*
 * The answer to an event (p->outcome): applied, ignored or seen before,
 * the gateway is done; a Stripe event that does not match our payment is
 * refused (and logged).
 */
static void
payments_answer_event(struct payments_req *p)
{
	struct kore_json_item	*root;
	int			status;

	if (!strcmp(p->outcome, "event_mismatch")) {
		kore_log(LOG_WARNING, "payments: refused Stripe event %s (%s): "
		    "intent %s, %lld %s, does not match payment %lld of "
		    "booking %lld", p->body.event_id, p->body.event_type,
		    p->body.intent, (long long)p->body.amount,
		    p->body.currency, (long long)p->body.id,
		    (long long)p->body.booking_id);
		root = claim_error_as(&p->db, p->outcome, &status);
		payments_keep(p, status, root);
		return;
	}

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_literal(root, "received", KORE_JSON_TRUE);
	payments_keep(p, HTTP_STATUS_OK, root);
}

/*
 * Confirm's transition outcome. Run again after its connection died
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

	o = db_value(&p->db, 0, PAYMENTS_COL_OUTCOME);
	if (p->resolving == 0)
		return (o);

	if (!p->charged && !strcmp(o, "confirm_in_flight"))
		return ("charge");
	if (p->charged && !strcmp(p->charge_result, "invalid") &&
	    !strcmp(o, "payment_in_progress"))
		return ("card_token_invalid");

	if (p->charged && !strcmp(p->charge_result, "succeeded") &&
	    !strcmp(o, "booking_not_payable") &&
	    !db_isnull(&p->db, 0, PAYMENTS_COL_REFUND_REASON) &&
	    !strcmp(db_value(&p->db, 0, PAYMENTS_COL_REFUND_REASON),
	    "booking_not_payable")) {
		kore_log(LOG_NOTICE, "payments: refunding payment %lld, "
		    "whose refund_due was lost with its connection",
		    (long long)db_int(&p->db, 0, PAYMENTS_COL_PAYMENT_ID));
		p->refund_id = db_int(&p->db, 0, PAYMENTS_COL_PAYMENT_ID);
		p->refund_cents = db_int(&p->db, 0,
		    PAYMENTS_COL_AMOUNT_CENTS);
	}

	return (o);
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

static void
payments_free(struct http_request *req)
{
	struct payments_req	*p = http_state_get(req);

	if (p == NULL)
		return;

	auth_cleanup(&p->auth);
	throttle_cleanup(&p->limit);
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
