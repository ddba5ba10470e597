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
 * One statement in flight at a time, a db_bg (db.c: no request behind
 * it). When every connection of the worker is busy the tick is skipped
 * rather than queued ahead of requests; a statement whose connection died
 * is abandoned at the next tick (db_bg_reap).
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
    "SELECT hold_sweep($1::integer, $2::interval) AS holds,"
    " refresh_sweep($1::integer, $2::interval) AS tokens";

enum sweep_col {
	SWEEP_COL_HOLDS,
	SWEEP_COL_TOKENS,
};

static struct {
	struct db_bg		db;
	int			running;	/* started, its end not seen */
	int			deleted;
	int			tokens;		/* refresh tokens deleted */
	u_int64_t		next_at;
} sweep;

static void	sweep_tick(void *, u_int64_t);
static void	sweep_rows(struct kore_pgsql *, void *);
static void	sweep_done(void);
static void	sweep_next(int);
static int	sweep_count(struct kore_pgsql *, int);

void
sweep_worker_init(void)
{
	if (worker == NULL || worker->id != 1)
		return;

	db_bg_init(&sweep.db, sweep_rows, NULL);
	sweep.running = 0;
	sweep_next(SWEEP_INTERVAL_MS);
	(void)kore_timer_add(sweep_tick, SWEEP_CATCHUP_MS, NULL, 0);
}

static void
sweep_next(int ms)
{
	sweep.next_at = kore_time_ms() + ms;
}

/* Every SWEEP_CATCHUP_MS: notice the end of a batch, start the next. */
static void
sweep_tick(void *arg, u_int64_t now)
{
	const char	*values[2] = { SWEEP_BATCH, SWEEP_GRACE };

	if (db_bg_reap(&sweep.db)) {
		sweep.running = 0;
		sweep_next(SWEEP_INTERVAL_MS);
	}
	if (sweep.db.busy)
		return;
	if (sweep.running) {
		sweep.running = 0;
		sweep_done();
	}
	if (now < sweep.next_at)
		return;

	sweep.deleted = -1;
	sweep.tokens = -1;
	if (!db_bg_start(&sweep.db, sql_sweep, 2, values)) {
		/* Queued behind requests, or no database: try later. */
		sweep_next(SWEEP_INTERVAL_MS);
		return;
	}
	sweep.running = 1;
}

static void
sweep_rows(struct kore_pgsql *pg, void *arg)
{
	if (kore_pgsql_ntuples(pg) != 1)
		return;

	sweep.deleted = sweep_count(pg, SWEEP_COL_HOLDS);
	sweep.tokens = sweep_count(pg, SWEEP_COL_TOKENS);
}

static int
sweep_count(struct kore_pgsql *pg, int col)
{
	int	n, err;

	n = kore_strtonum(kore_pgsql_getvalue(pg, 0, col), 10, 0, INT_MAX,
	    &err);

	return (err == KORE_RESULT_OK ? n : -1);
}

/* A batch is over: a full one means a backlog, the next follows soon. */
static void
sweep_done(void)
{
	if (sweep.deleted > 0)
		kore_log(LOG_INFO, "sweep: deleted %d old holds", sweep.deleted);
	if (sweep.tokens > 0) {
		kore_log(LOG_INFO, "sweep: deleted %d old refresh tokens",
		    sweep.tokens);
	}
	sweep_next(sweep.deleted == atoi(SWEEP_BATCH) ||
	    sweep.tokens == atoi(SWEEP_BATCH) ?
	    SWEEP_CATCHUP_MS : SWEEP_INTERVAL_MS);
}
