/*
 * sweep: the periodic clean-up of old holds, run by a timer in the first
 * worker only (one per server instance; several instances sweeping at
 * once only skip each other's locked rows), and of refresh tokens.
 *
 * Nothing depends on it for correctness: the availability rule lets
 * holds lapse by themselves. It keeps holds and hold_seats from growing
 * forever: every HOLD_SWEEP_SECONDS (config.hold_sweep) it runs
 * hold_sweep() (migration 009), which deletes at most SWEEP_BATCH holds
 * that expired more than SWEEP_GRACE ago and that no booking refers to. A full batch means a
 * backlog: the next batch follows after SWEEP_CATCHUP_MS, so a large
 * backlog drains in bounded steps without holding a connection long (a
 * batch of 5,000 took 0.6-1.2 s on a loaded two-core machine, so batches
 * are 1,000: up to 5,000 holds a second, a million in a few minutes).
 * The same statement runs refresh_sweep() (migration 012): refresh tokens
 * that expired or were revoked more than SWEEP_GRACE ago, and lapsed
 * deny-list records, a batch at a time, so neither table grows for ever.
 *
 * One statement in flight at a time, on a callback-bound Kore pgsql (no
 * request). When every connection of the worker is busy the tick is
 * skipped rather than queued ahead of requests. Kore does not call back
 * when the connection dies under the statement, so a statement whose
 * connection is gone is abandoned at the next tick.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/pgsql.h>

#include <limits.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "sweep.h"

#define SWEEP_INTERVAL_MS	(config.hold_sweep * 1000)
#define SWEEP_CATCHUP_MS	200
#define SWEEP_BATCH		"1000"
#define SWEEP_GRACE		"1 hour"

static const char *sql_sweep =
    "SELECT hold_sweep($1::integer, $2::interval),"
    " refresh_sweep($1::integer, $2::interval)";

static struct {
	struct kore_pgsql	pgsql;
	int			busy;
	int			deleted;
	int			tokens;		/* refresh tokens deleted */
	u_int64_t		next_at;
} sweep;

static void	sweep_tick(void *, u_int64_t);
static void	sweep_db(struct kore_pgsql *, void *);
static void	sweep_next(int);

void
sweep_worker_init(void)
{
	if (worker == NULL || worker->id != 1)
		return;

	sweep.busy = 0;
	sweep_next(SWEEP_INTERVAL_MS);
	(void)kore_timer_add(sweep_tick, SWEEP_CATCHUP_MS, NULL, 0);
}

static void
sweep_next(int ms)
{
	sweep.next_at = kore_time_ms() + ms;
}

static void
sweep_tick(void *arg, u_int64_t now)
{
	struct kore_pgsql	*pg = &sweep.pgsql;
	const char		*values[2] = { SWEEP_BATCH, SWEEP_GRACE };
	int			lengths[2] = { 0, 0 };
	int			formats[2] = { 0, 0 };

	if (sweep.busy && pg->conn == NULL &&
	    pg->state == KORE_PGSQL_STATE_ERROR) {
		kore_pgsql_logerror(pg);
		kore_pgsql_cleanup(pg);
		sweep.busy = 0;
		sweep_next(SWEEP_INTERVAL_MS);
	}
	if (sweep.busy || now < sweep.next_at)
		return;

	kore_pgsql_init(pg);
	kore_pgsql_bind_callback(pg, sweep_db, NULL);
	if (!kore_pgsql_setup(pg, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* Queued behind requests, or no database: try later. */
		if (pg->error != NULL)
			kore_pgsql_logerror(pg);
		kore_pgsql_cleanup(pg);
		sweep_next(SWEEP_INTERVAL_MS);
		return;
	}

	sweep.busy = 1;
	sweep.deleted = -1;
	sweep.tokens = -1;
	if (!kore_pgsql_query_param_fields(pg, sql_sweep, 0, 2, values,
	    lengths, formats)) {
		kore_pgsql_logerror(pg);
		sweep.busy = 0;
		kore_pgsql_cleanup(pg);
		sweep_next(SWEEP_INTERVAL_MS);
	}
}

/* Kore calls this at every state change of the statement. */
static void
sweep_db(struct kore_pgsql *pg, void *arg)
{
	int		err;

	switch (pg->state) {
	case KORE_PGSQL_STATE_WAIT:
		return;
	case KORE_PGSQL_STATE_RESULT:
		if (kore_pgsql_ntuples(pg) == 1) {
			sweep.deleted = kore_strtonum(kore_pgsql_getvalue(pg,
			    0, 0), 10, 0, INT_MAX, &err);
			if (err != KORE_RESULT_OK)
				sweep.deleted = -1;
			sweep.tokens = kore_strtonum(kore_pgsql_getvalue(pg,
			    0, 1), 10, 0, INT_MAX, &err);
			if (err != KORE_RESULT_OK)
				sweep.tokens = -1;
		}
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_ERROR:
		kore_pgsql_logerror(pg);
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_DONE:
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_COMPLETE:
		if (!sweep.busy)
			return;
		sweep.busy = 0;
		if (sweep.deleted > 0) {
			kore_log(LOG_INFO, "sweep: deleted %d old holds",
			    sweep.deleted);
		}
		if (sweep.tokens > 0) {
			kore_log(LOG_INFO, "sweep: deleted %d old refresh "
			    "tokens", sweep.tokens);
		}
		sweep_next(sweep.deleted == atoi(SWEEP_BATCH) ||
		    sweep.tokens == atoi(SWEEP_BATCH) ?
		    SWEEP_CATCHUP_MS : SWEEP_INTERVAL_MS);
		return;
	default:
		return;
	}
}
