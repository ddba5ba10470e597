/*
 * outbox: the deliverer of payment_outbox (migrations/013), the provider
 * calls that must happen after a commit: refunds of cancelled or late-paid
 * bookings (and cancels of abandoned intents). The rows are written by
 * the transitions that decide them, in the same transaction; this file
 * only delivers them.
 *
 * Every worker runs one deliverer on a Kore timer, so any instance may
 * deliver any row. One row is delivered by one deliverer at a time: it is
 * claimed with a lease (outbox_claim(): FOR UPDATE SKIP LOCKED and
 * locked_until set in one statement, because Kore hands the connection
 * back after every statement and no transaction can stay open across the
 * call). The lease is longer than the provider's timeout, so it lapses
 * only when its deliverer died; then another claims the row and calls
 * again under the same provider idempotency key (the row's), and the
 * provider acts once however many deliverers tried.
 *
 * The deliverer's steps, one at a time, each started by the timer:
 *
 *   claim    up to OUTBOX_BATCH due rows, leased
 *   call     the provider, asynchronously (provider.c); its answer
 *            arrives in outbox_called()
 *   finish   outbox_finish() records it: delivered, retried after a
 *            capped exponential backoff with jitter, failed, or dead
 *            after OUTBOX_MAX_ATTEMPTS (counted for /metrics)
 *
 * Between claims, every OUTBOX_GAUGE_MS, the instance's first worker
 * (Kore numbers its workers from 1, and a respawned worker keeps its
 * number) also reads the table's rows by status and the oldest pending
 * row's age for /metrics (metrics.c shows the newest reading of any
 * worker, so one reader an instance is enough).
 *
 * Who claims, so that an idle database is not polled by every worker:
 * only the first worker claims on a timer, every OUTBOX_POLL_MS, whether
 * or not it found rows last time. It is what finds rows committed on any
 * instance, rows whose backoff ended and rows whose lease lapsed (a
 * crashed deliverer's), within OUTBOX_POLL_MS. The other workers claim
 * only while there is work: when a claim of the first worker comes back
 * full (a backlog), it tells every worker of its instance (a Kore
 * message, OUTBOX_MSG_BACKLOG) to claim at once, and a worker whose claim
 * found rows claims again as soon as it has delivered them, until a claim
 * comes back empty. Idle, an instance sends 1000 / OUTBOX_POLL_MS claims
 * and 1000 / OUTBOX_GAUGE_MS readings a second, whatever its number of
 * workers. LISTEN/NOTIFY was weighed and left out: Kore's pgsql hands a
 * connection back to its pool after every statement and discards the
 * notifications of pooled connections, so a listener would need its own
 * libpq connection outside Kore's pool, and the poll is still needed for
 * backoffs and lapsed leases, which no insert announces.
 *
 * One statement in flight, a struct db_bg (db.c: a callback-bound Kore
 * pgsql with no request); a tick finding every connection busy waits for
 * the next one; a statement whose connection died is abandoned at the
 * next tick (its rows' leases lapse and they are claimed again).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/pgsql.h>

#include <openssl/rand.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "metrics.h"
#include "outbox.h"
#include "provider.h"

#define OUTBOX_TICK_MS		100
#define OUTBOX_POLL_MS		1000	/* between claims when idle */
#define OUTBOX_BATCH		10

#define OUTBOX_IDLE		0
#define OUTBOX_CLAIMING		1
#define OUTBOX_CALLING		2
#define OUTBOX_FINISHING	3
#define OUTBOX_COUNTING		4

#define OUTBOX_GAUGE_MS		2000	/* between readings for /metrics */

#define OUTBOX_LEAD_WORKER	1	/* the worker that polls: worker->id */
#define OUTBOX_MSG_BACKLOG	(KORE_MSG_APP_BASE + 2)

/* The leased rows (outbox_claim, migration 013). */
static const char *sql_claim =
    "SELECT id, payment_id, kind, amount_cents, currency, provider_ref,"
    " idempotency_key, attempts"
    " FROM outbox_claim($1::integer, $2::integer)";

enum outbox_claim_col {
	OUTBOX_CLAIM_COL_ID,
	OUTBOX_CLAIM_COL_PAYMENT_ID,
	OUTBOX_CLAIM_COL_KIND,
	OUTBOX_CLAIM_COL_AMOUNT_CENTS,
	OUTBOX_CLAIM_COL_CURRENCY,
	OUTBOX_CLAIM_COL_PROVIDER_REF,
	OUTBOX_CLAIM_COL_IDEMPOTENCY_KEY,
	OUTBOX_CLAIM_COL_ATTEMPTS,
};

static const char *sql_finish =
    "SELECT outbox_finish($1::bigint, $2, $3, $4::integer, $5::integer)";

enum outbox_finish_col {
	OUTBOX_FINISH_COL_RESULT,
};

/*
 * For /metrics: the rows not delivered, by status, and the oldest
 * pending row's age in seconds (index payment_outbox_open, migration 015).
 */
static const char *sql_gauges =
    "SELECT count(*) FILTER (WHERE status = 'pending'),"
    " count(*) FILTER (WHERE status = 'failed'),"
    " count(*) FILTER (WHERE status = 'dead'),"
    " coalesce(floor(extract(epoch FROM now() - min(created_at)"
    "  FILTER (WHERE status = 'pending'))), 0)::bigint"
    " FROM payment_outbox WHERE status <> 'delivered'";

enum outbox_gauges_col {
	OUTBOX_GAUGES_COL_PENDING,
	OUTBOX_GAUGES_COL_FAILED,
	OUTBOX_GAUGES_COL_DEAD,
	OUTBOX_GAUGES_COL_OLDEST_S,
};

/* The row counts in metrics_outbox_rows()'s order (metrics.h). */
static const int outbox_gauges_rows[METRICS_OUTBOX_ROWS] = {
	OUTBOX_GAUGES_COL_PENDING,
	OUTBOX_GAUGES_COL_FAILED,
	OUTBOX_GAUGES_COL_DEAD,
};

struct outbox_row {
	int64_t		id;
	int64_t		payment_id;
	int		kind;
	int64_t		amount_cents;
	int		attempts;
	char		currency[4];
	char		reference[PAYMENT_REFERENCE_MAX];
	char		key[PAYMENT_KEY_MAX];
};

static struct {
	struct db_bg		db;		/* the statement in flight */
	int			step;
	int			nrows;
	int			cur;
	struct outbox_row	rows[OUTBOX_BATCH];
	struct payment_call	call;
	int			called;		/* the provider answered */
	int			lead;		/* polls, reads the gauges */
	int			wanted;		/* claim at the next tick */
	u_int64_t		next_claim;
	u_int64_t		next_gauges;
} ob;

static int	outbox_is_lead(u_int16_t);
static void	outbox_tick(void *, u_int64_t);
static void	outbox_backlog(struct kore_msg *, const void *);
static void	outbox_claim(u_int64_t);
static int	outbox_query(const char *, int, const char **);
static void	outbox_result(struct kore_pgsql *, void *);
static void	outbox_rows(struct kore_pgsql *);
static void	outbox_gauges(struct kore_pgsql *);
static void	outbox_call(void);
static void	outbox_called(struct payment_call *, void *);
static void	outbox_finish(void);
static int	outbox_delay(int);

void
outbox_worker_init(void)
{
	memset(&ob, 0, sizeof(ob));
	db_bg_init(&ob.db, outbox_result, NULL);
	ob.step = OUTBOX_IDLE;
	ob.lead = outbox_is_lead(worker != NULL ? worker->id : 0);
	ob.next_claim = kore_time_ms() + OUTBOX_POLL_MS / 2;
	if (!kore_msg_register(OUTBOX_MSG_BACKLOG, outbox_backlog))
		kore_log(LOG_ERR, "outbox: cannot register its message");
	(void)kore_timer_add(outbox_tick, OUTBOX_TICK_MS, NULL, 0);
}

/* The worker numbered id polls the outbox and reads its gauges. */
static int
outbox_is_lead(u_int16_t id)
{
	return (id == OUTBOX_LEAD_WORKER);
}

/* The first worker found a backlog: claim too, at the next tick. */
static void
outbox_backlog(struct kore_msg *msg, const void *data)
{
	ob.wanted = 1;
}

static void
outbox_tick(void *arg, u_int64_t now)
{
	/* The connection died under the statement: start over. */
	if (db_bg_reap(&ob.db))
		ob.step = OUTBOX_IDLE;
	if (ob.db.busy)
		return;

	switch (ob.step) {
	case OUTBOX_IDLE:
		if (ob.lead && now >= ob.next_gauges) {
			ob.next_gauges = now + OUTBOX_GAUGE_MS;
			if (outbox_query(sql_gauges, 0, NULL))
				ob.step = OUTBOX_COUNTING;
			return;
		}
		if (ob.wanted || (ob.lead && now >= ob.next_claim))
			outbox_claim(now);
		return;
	case OUTBOX_CLAIMING:
		/* The claim is done: deliver what it leased. */
		if (ob.nrows == 0) {
			ob.step = OUTBOX_IDLE;
			return;
		}
		/* Rows found: claim again once they are delivered. */
		ob.wanted = 1;
		if (ob.lead && ob.nrows == OUTBOX_BATCH)
			kore_msg_send(KORE_MSG_WORKER_ALL, OUTBOX_MSG_BACKLOG,
			    NULL, 0);
		ob.cur = 0;
		outbox_call();
		return;
	case OUTBOX_CALLING:
		if (ob.called)
			outbox_finish();
		return;
	case OUTBOX_COUNTING:
		ob.step = OUTBOX_IDLE;
		return;
	case OUTBOX_FINISHING:
		provider_call_cleanup(&ob.call);
		if (++ob.cur < ob.nrows) {
			outbox_call();
			return;
		}
		ob.step = OUTBOX_IDLE;
		return;
	}
}

/* Claims up to OUTBOX_BATCH due rows, leased. */
static void
outbox_claim(u_int64_t now)
{
	const char	*v[2];
	char		batch[16], lease[16];

	(void)snprintf(batch, sizeof(batch), "%d", OUTBOX_BATCH);
	(void)snprintf(lease, sizeof(lease), "%d", config.outbox_lease_ms);
	v[0] = batch;
	v[1] = lease;
	ob.nrows = 0;
	ob.cur = 0;
	if (!outbox_query(sql_claim, 2, v))
		return;
	ob.step = OUTBOX_CLAIMING;
	ob.wanted = 0;
	ob.next_claim = now + OUTBOX_POLL_MS;
}

/* Starts one statement; 0 when it cannot start now (tried later). */
static int
outbox_query(const char *sql, int n, const char **values)
{
	return (db_bg_start(&ob.db, sql, n, values));
}

/* The rows of the statement in flight, read by the step it serves. */
static void
outbox_result(struct kore_pgsql *pg, void *arg)
{
	if (ob.step == OUTBOX_CLAIMING)
		outbox_rows(pg);
	else if (ob.step == OUTBOX_COUNTING)
		outbox_gauges(pg);
	else if (ob.step == OUTBOX_FINISHING && kore_pgsql_ntuples(pg) == 1)
		metrics_outbox_result(kore_pgsql_getvalue(pg, 0,
		    OUTBOX_FINISH_COL_RESULT));
}

/* The leased rows of a claim. */
static void
outbox_rows(struct kore_pgsql *pg)
{
	struct outbox_row	*r;
	int			i, n, err;

	n = kore_pgsql_ntuples(pg);
	for (i = 0; i < n && ob.nrows < OUTBOX_BATCH; i++) {
		r = &ob.rows[ob.nrows];
		memset(r, 0, sizeof(*r));
		r->id = (int64_t)kore_strtonum64(kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_ID), 0, &err);
		r->payment_id = (int64_t)kore_strtonum64(kore_pgsql_getvalue(pg,
		    i, OUTBOX_CLAIM_COL_PAYMENT_ID), 0, &err);
		r->kind = !strcmp(kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_KIND), "cancel") ?
		    PAYMENT_CALL_CANCEL : PAYMENT_CALL_REFUND;
		r->amount_cents = (int64_t)kore_strtonum64(kore_pgsql_getvalue(
		    pg, i, OUTBOX_CLAIM_COL_AMOUNT_CENTS), 0, &err);
		(void)kore_strlcpy(r->currency, kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_CURRENCY), sizeof(r->currency));
		(void)kore_strlcpy(r->reference, kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_PROVIDER_REF), sizeof(r->reference));
		(void)kore_strlcpy(r->key, kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_IDEMPOTENCY_KEY), sizeof(r->key));
		r->attempts = kore_strtonum(kore_pgsql_getvalue(pg, i,
		    OUTBOX_CLAIM_COL_ATTEMPTS), 10, 0, INT_MAX, &err);
		ob.nrows++;
	}
}

/* The table's figures for /metrics (metrics.c shows the newest). */
static void
outbox_gauges(struct kore_pgsql *pg)
{
	u_int64_t	rows[METRICS_OUTBOX_ROWS], oldest;
	int		i, err;

	if (kore_pgsql_ntuples(pg) != 1)
		return;
	for (i = 0; i < METRICS_OUTBOX_ROWS; i++) {
		rows[i] = kore_strtonum64(kore_pgsql_getvalue(pg, 0,
		    outbox_gauges_rows[i]), 0, &err);
	}
	oldest = kore_strtonum64(kore_pgsql_getvalue(pg, 0,
	    OUTBOX_GAUGES_COL_OLDEST_S), 0, &err);
	metrics_outbox_rows(rows, oldest);
}

/* The provider call of the current row. */
static void
outbox_call(void)
{
	struct outbox_row	*r = &ob.rows[ob.cur];

	provider_call_init(&ob.call, r->kind, r->payment_id);
	ob.call.amount_cents = r->amount_cents;
	(void)kore_strlcpy(ob.call.currency, r->currency,
	    sizeof(ob.call.currency));
	(void)kore_strlcpy(ob.call.reference, r->reference,
	    sizeof(ob.call.reference));
	(void)kore_strlcpy(ob.call.idem_key, r->key,
	    sizeof(ob.call.idem_key));
	ob.call.done = outbox_called;
	ob.called = 0;
	ob.step = OUTBOX_CALLING;

	if (provider_call_run(&ob.call, NULL) == PAYMENT_CALL_DONE)
		ob.called = 1;
}

/* Kore's curl callback: the transfer ended; read it. */
static void
outbox_called(struct payment_call *call, void *arg)
{
	if (provider_call_run(call, NULL) == PAYMENT_CALL_DONE)
		ob.called = 1;
}

/* Records what the provider said about the current row. */
static void
outbox_finish(void)
{
	struct outbox_row	*r = &ob.rows[ob.cur];
	const char		*v[5];
	char			id[24], max[16], delay[16];

	if (ob.call.result != PAYMENT_RESULT_SUCCEEDED)
		kore_log(LOG_NOTICE, "outbox: %s of payment %lld, attempt %d: "
		    "%s (%s)", r->kind == PAYMENT_CALL_REFUND ? "refund" :
		    "cancel", (long long)r->payment_id, r->attempts,
		    provider_result_name(ob.call.result), ob.call.error);

	(void)snprintf(id, sizeof(id), "%lld", (long long)r->id);
	(void)snprintf(max, sizeof(max), "%d", config.outbox_max_attempts);
	(void)snprintf(delay, sizeof(delay), "%d", outbox_delay(r->attempts));
	v[0] = id;
	v[1] = provider_result_name(ob.call.result);
	v[2] = ob.call.error;
	v[3] = max;
	v[4] = delay;

	/* Not started now: the next tick tries again, the lease holds. */
	if (outbox_query(sql_finish, 5, v))
		ob.step = OUTBOX_FINISHING;
}

/*
 * The delay before attempt n+1: OUTBOX_BACKOFF_MS doubled per attempt,
 * capped at OUTBOX_BACKOFF_MAX_MS, then "equal jitter" (half fixed, half
 * random) so rows that failed together do not come back together.
 */
static int
outbox_delay(int attempts)
{
	u_int64_t	d;
	u_int32_t	r;
	int		shift;

	shift = attempts > 1 ? attempts - 1 : 0;
	if (shift > 20)
		shift = 20;
	d = (u_int64_t)config.outbox_backoff_ms << shift;
	if (d > (u_int64_t)config.outbox_backoff_max_ms)
		d = config.outbox_backoff_max_ms;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (u_int32_t)kore_time_ms();

	return ((int)(d / 2 + r % (d / 2 + 1)));
}
