/*
 * db: asynchronous statements for request handlers.
 *
 * A struct db_call is one parameterised statement: db_call_init() names
 * the SQL (always a static constant with $n placeholders), db_call_param()
 * appends text parameters (NULL for SQL NULL), db_run() drives it through
 * Kore's pgsql states. Kore releases the connection back to its pool when
 * the statement completes, so a db_call is one statement and one implicit
 * transaction: a multi-statement transaction must be written as a single
 * statement (CTEs) or a SQL function, never as BEGIN and COMMIT spread
 * over several calls, which could hand an open transaction to another
 * request.
 *
 * The result is taken from Kore (call->result) so it can be read after the
 * statement completed; db_call_cleanup() frees it and is safe to call
 * twice, and must run from the request's onfree callback because Kore's
 * own cleanup of the request's pgsql list runs after onfree.
 *
 * A struct db_bg is a statement of a timer's, with no request (the
 * outbox, the live sockets' revocations): one in flight at a time, its
 * rows handed to a callback, abandoned when its connection dies.
 *
 * db_errors[] is the one table of what a failed statement means for the
 * request (run it again, 503, 400 or 500); reply_db_failed() in reply.c
 * answers from it, after a handler has answered the SQLSTATEs that are
 * its own (a 23505 that means email_taken, ...). Nothing read from the
 * database is a reason to fatal(): a value that breaks an invariant is
 * logged and answered 500.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "state.h"

/*
 * The connection string with the host's address resolved now, in the
 * parent (hostaddr=, unless one was given or the host is a socket
 * directory or a list): Kore connects from a worker's event loop with a
 * blocking call, which would otherwise resolve the name every time.
 */
static char *
db_resolved(const char *url)
{
	PQconninfoOption	*opts, *o;
	struct addrinfo		hints, *res;
	struct kore_buf		buf;
	const char		*host, *p;
	char			addr[64];
	char			*out;

	if ((opts = PQconninfoParse(url, NULL)) == NULL)
		return (kore_strdup(url));

	host = NULL;
	for (o = opts; o->keyword != NULL; o++) {
		if (!strcmp(o->keyword, "host"))
			host = o->val;
		if (!strcmp(o->keyword, "hostaddr") && o->val != NULL &&
		    o->val[0] != '\0')
			host = NULL;
	}
	if (host == NULL || host[0] == '\0' || host[0] == '/' ||
	    strchr(host, ',') != NULL) {
		PQconninfoFree(opts);
		return (kore_strdup(url));
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 ||
	    getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr),
	    NULL, 0, NI_NUMERICHOST) != 0) {
		fprintf(stderr, "booking: cannot resolve the database host "
		    "%s\n", host);
		exit(1);
	}
	freeaddrinfo(res);

	kore_buf_init(&buf, 256);
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || !strcmp(o->keyword, "hostaddr"))
			continue;
		kore_buf_appendf(&buf, "%s='", o->keyword);
		for (p = o->val; *p != '\0'; p++) {
			if (*p == '\'' || *p == '\\')
				kore_buf_append(&buf, "\\", 1);
			kore_buf_append(&buf, p, 1);
		}
		kore_buf_append(&buf, "' ", 2);
	}
	kore_buf_appendf(&buf, "hostaddr='%s'", addr);
	out = kore_buf_stringify(&buf, NULL);
	out = kore_strdup(out);
	kore_buf_cleanup(&buf);
	PQconninfoFree(opts);

	return (out);
}

/*
 * What a failed statement means, most specific first; the first entry
 * whose sqlstate begins the statement's wins ("" matches only a failure
 * without one: the connection died or none could be made). Not here: a
 * programming mistake (42: a bad statement) or a database in trouble
 * (XX), logged and answered 500. Class 23 (integrity) is the handler's
 * to answer (email_taken, show_overlap, ...): one that reaches the table
 * was not expected, and is 500 too.
 */
static const struct db_error db_errors[] = {
	/* The transaction lost a race and was rolled back: run it again. */
	{ DB_SERIALIZATION,	DB_ERROR_RETRY,		0 },
	{ DB_DEADLOCK,		DB_ERROR_RETRY,		0 },
	/* The connection failed, or the server is going or coming. */
	{ "",			DB_ERROR_UNAVAILABLE,	1 },
	{ "08",			DB_ERROR_UNAVAILABLE,	1 },
	{ "57P01",		DB_ERROR_UNAVAILABLE,	1 },
	{ "57P02",		DB_ERROR_UNAVAILABLE,	1 },
	{ "57P03",		DB_ERROR_UNAVAILABLE,	1 },
	/* Out of connections, memory or disk; a timeout; a busy lock. */
	{ "53",			DB_ERROR_UNAVAILABLE,	1 },
	{ "57014",		DB_ERROR_UNAVAILABLE,	1 },
	{ "55P03",		DB_ERROR_UNAVAILABLE,	1 },
	/* A value from the client that SQL refused (a date like 02-31). */
	{ "22",			DB_ERROR_INVALID,	0 },
	{ "23",			DB_ERROR_INTERNAL,	0 },
};

static const struct db_error db_error_unknown = {
	NULL,			DB_ERROR_INTERNAL,	1
};

const struct db_error *
db_error_lookup(const char *sqlstate)
{
	const struct db_error	*e;
	size_t			i, len;

	for (i = 0; i < sizeof(db_errors) / sizeof(db_errors[0]); i++) {
		e = &db_errors[i];
		len = strlen(e->sqlstate);
		if (len == 0 ? sqlstate[0] == '\0' :
		    !strncmp(sqlstate, e->sqlstate, len))
			return (e);
	}

	return (&db_error_unknown);
}

/* The failed statement's DB_ERROR_* action. */
int
db_error_action(const struct db_call *call)
{
	return (db_error_lookup(call->sqlstate)->action);
}

void
db_register(const char *url)
{
	char	*conninfo;

	conninfo = db_resolved(url);
	if (!kore_pgsql_register(DB_NAME, conninfo))
		fatal("failed to register the database");
	kore_free(conninfo);
}

void
db_call_init(struct db_call *call, const char *sql)
{
	db_call_cleanup(call);
	memset(call, 0, sizeof(*call));
	kore_pgsql_init(&call->pgsql);
	call->sql = sql;
}

void
db_call_param(struct db_call *call, const char *value)
{
	if (call->nparams >= DB_PARAMS_MAX)
		fatal("db_call_param: more than %d parameters", DB_PARAMS_MAX);

	call->params[call->nparams++] = value;
}

/*
 * An integer parameter, formatted into the call's own storage (it lives
 * as long as the call); the text is returned for other uses, e.g. a
 * cache key.
 */
const char *
db_call_param_int(struct db_call *call, int64_t value)
{
	char	*buf;
	int	len;

	if (call->nparams >= DB_PARAMS_MAX)
		fatal("db_call_param: more than %d parameters", DB_PARAMS_MAX);

	buf = call->ints[call->nparams];
	len = snprintf(buf, sizeof(call->ints[0]), "%lld", (long long)value);
	if (len < 0 || (size_t)len >= sizeof(call->ints[0]))
		fatal("db_call_param_int: %lld", (long long)value);

	db_call_param(call, buf);
	return (buf);
}

/* Who is told of every failed statement (metrics.c, once per worker). */
static void	(*db_error_cb)(const char *);

void
db_on_error(void (*cb)(const char *))
{
	db_error_cb = cb;
}

static int
db_fail(struct db_call *call)
{
	const char	*state;

	call->sqlstate[0] = '\0';
	if (call->pgsql.result != NULL &&
	    (state = PQresultErrorField(call->pgsql.result,
	    PG_DIAG_SQLSTATE)) != NULL)
		kore_strlcpy(call->sqlstate, state, sizeof(call->sqlstate));

	if (db_error_cb != NULL)
		db_error_cb(call->sqlstate[0] != '\0' ? call->sqlstate : NULL);
	if (db_error_lookup(call->sqlstate)->log)
		kore_pgsql_logerror(&call->pgsql);

	return (DB_FAILED);
}

/*
 * Every statement answers with a result (its rows, a command's status or
 * an error) before libpq says it is done. Done without one means the
 * connection died between sending and answering (seen while PostgreSQL
 * restarts: libpq's PQgetResult() returns NULL at once, and Kore calls
 * that done): the statement failed, with no SQLSTATE, as a lost
 * connection does. Taken for an empty result it made a read of an
 * existing row answer 404 instead of 503.
 */
static int
db_unanswered(struct db_call *call)
{
	struct kore_pgsql	*pg = &call->pgsql;
	char			msg[256];

	(void)snprintf(msg, sizeof(msg), "statement ended without a result"
	    " (%s)", pg->conn != NULL && PQstatus(pg->conn->db) ==
	    CONNECTION_OK ? "connection open" : "connection lost");
	kore_free(pg->error);
	pg->error = kore_strdup(msg);
	pg->state = KORE_PGSQL_STATE_ERROR;

	return (db_fail(call));
}

int
db_run(struct db_call *call, struct http_request *req)
{
	struct kore_pgsql	*pg = &call->pgsql;
	int			lengths[DB_PARAMS_MAX];
	int			formats[DB_PARAMS_MAX];
	int			i;

	if (!call->bound) {
		kore_pgsql_bind_request(pg, req);
		call->bound = 1;
	}

	if (!call->started) {
		if (!kore_pgsql_setup(pg, DB_NAME, KORE_PGSQL_ASYNC)) {
			/* Queued for a free connection: Kore wakes us. */
			if (pg->state == KORE_PGSQL_STATE_INIT &&
			    pg->error == NULL)
				return (DB_PENDING);
			return (db_fail(call));
		}

		for (i = 0; i < call->nparams; i++) {
			lengths[i] = call->params[i] == NULL ? 0 :
			    (int)strlen(call->params[i]);
			formats[i] = 0;
		}

		if (!kore_pgsql_query_param_fields(pg, call->sql, 0,
		    call->nparams, call->params, lengths, formats))
			return (db_fail(call));

		call->started = 1;
		return (DB_PENDING);
	}

	for (;;) {
		switch (pg->state) {
		case KORE_PGSQL_STATE_INIT:
		case KORE_PGSQL_STATE_WAIT:
			/* Kore wakes the request when the result arrives. */
			http_request_sleep(req);
			return (DB_PENDING);
		case KORE_PGSQL_STATE_COMPLETE:
			return (DB_DONE);
		case KORE_PGSQL_STATE_DONE:
			/* A command's status (no rows) is a result too. */
			if (pg->result != NULL)
				call->answered = 1;
			else if (!call->answered)
				return (db_unanswered(call));
			break;
		case KORE_PGSQL_STATE_ERROR:
			return (db_fail(call));
		case KORE_PGSQL_STATE_RESULT:
			call->answered = 1;
			if (call->result != NULL)
				PQclear(call->result);
			call->result = pg->result;
			pg->result = NULL;
			break;
		default:
			break;
		}

		kore_pgsql_continue(pg);
	}
}

void
db_call_cleanup(struct db_call *call)
{
	if (call->timer != NULL) {
		kore_timer_remove(call->timer);
		call->timer = NULL;
	}

	if (call->sql != NULL || call->bound)
		kore_pgsql_cleanup(&call->pgsql);

	if (call->result != NULL) {
		PQclear(call->result);
		call->result = NULL;
	}

	call->bound = 0;
	call->started = 0;
	call->answered = 0;
}

/* Ready to run the same statement again, e.g. after a deadlock. */
void
db_call_reset(struct db_call *call)
{
	db_call_cleanup(call);
	kore_pgsql_init(&call->pgsql);
	call->sqlstate[0] = '\0';
}

int
db_rows(const struct db_call *call)
{
	if (call->result == NULL)
		return (0);

	return (PQntuples(call->result));
}

const char *
db_value(const struct db_call *call, int row, int col)
{
	return (PQgetvalue(call->result, row, col));
}

int
db_isnull(const struct db_call *call, int row, int col)
{
	return (PQgetisnull(call->result, row, col));
}

int64_t
db_int(const struct db_call *call, int row, int col)
{
	int		err;

	return (kore_strtonum(PQgetvalue(call->result, row, col), 10,
	    INT64_MIN, INT64_MAX, &err));
}

/*
 * An integer[] or bigint[] column as PostgreSQL prints it ({1,2,3}); at
 * most max values, how many in the return value. NULL is empty.
 */
size_t
db_int_array(const struct db_call *call, int row, int col, int64_t *out,
    size_t max)
{
	const char	*p;
	char		*end;
	size_t		n;

	n = 0;
	if (PQgetisnull(call->result, row, col))
		return (0);

	for (p = PQgetvalue(call->result, row, col); *p != '\0' && n < max;
	    p++) {
		if (*p != '-' && (*p < '0' || *p > '9'))
			continue;
		out[n++] = strtoll(p, &end, 10);
		p = end - 1;
	}

	return (n);
}

int
db_sqlstate_is(const struct db_call *call, const char *state)
{
	return (!strcmp(call->sqlstate, state));
}

/*
 * The statement failed because the connection did, not because of what
 * it asked: no SQLSTATE at all (the socket died, no connection could be
 * made), class 08 (connection exception) or 57P01-57P03 (the server shut
 * down or is starting). Whether a statement sent before the failure
 * committed is then unknown.
 */
int
db_connection_lost(const struct db_call *call)
{
	return (call->sqlstate[0] == '\0' ||
	    !strncmp(call->sqlstate, "08", 2) ||
	    !strcmp(call->sqlstate, "57P01") ||
	    !strcmp(call->sqlstate, "57P02") ||
	    !strcmp(call->sqlstate, "57P03"));
}

static void
db_wakeup(void *arg, u_int64_t now)
{
	struct db_call		*call = arg;

	call->timer = NULL;
	http_request_wakeup(call->sleeper);
}

/*
 * Run the same statement again in `ms` milliseconds: the request sleeps
 * until then. The timer belongs to the call; db_call_cleanup() (from the
 * request's onfree) removes it, so a request that goes away is never
 * woken.
 */
void
db_retry_later(struct db_call *call, struct http_request *req, u_int64_t ms)
{
	db_call_reset(call);
	call->sleeper = req;
	call->timer = kore_timer_add(db_wakeup, ms, call, KORE_TIMER_ONESHOT);
	http_request_sleep(req);
}

/*
 * Milliseconds before run `retries` + 1 of a statement that lost a race:
 * doubling from DB_RETRY_MS, capped, plus up to as much again picked by
 * `seed`, so statements that deadlocked each other do not meet again.
 */
u_int64_t
db_retry_delay(int retries, u_int64_t seed)
{
	u_int64_t	ms;

	ms = DB_RETRY_MS << (retries < DB_RETRY_SHIFT_MAX ? retries :
	    DB_RETRY_SHIFT_MAX);
	return (ms + seed % (ms + 1));
}

/*
 * Runs the statement again later, backed off, whatever its SQLSTATE, at
 * most DB_RETRY_MAX runs in all: 1 when the request now sleeps until
 * then (the state returns HTTP_STATE_RETRY and runs db_run() again), 0
 * when the runs are used up.
 */
int
db_retry_backoff(struct db_call *call, struct http_request *req)
{
	if (call->retries + 1 >= DB_RETRY_MAX)
		return (0);

	kore_log(LOG_NOTICE, "db: SQLSTATE %s, trying again (%d)",
	    call->sqlstate, call->retries + 1);
	db_retry_later(call, req, db_retry_delay(call->retries,
	    kore_time_ms() ^ (u_int64_t)(uintptr_t)call));
	call->retries++;

	return (1);
}

/* db_retry_backoff() for what db_errors[] says is worth running again. */
int
db_retry(struct db_call *call, struct http_request *req)
{
	if (db_error_action(call) != DB_ERROR_RETRY)
		return (0);

	return (db_retry_backoff(call, req));
}

/*
 * The db_run() step of a request state: HTTP_STATE_RETRY while the
 * statement runs; on failure what `failed` returns (it answers, or sleeps
 * the request to run the statement again); when done req->fsm_state
 * becomes `next` and the state continues.
 */
int
db_state(struct http_request *req, struct db_call *call, int next,
    db_failed_reply failed)
{
	switch (db_run(call, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (failed(req, call));
	}

	return (state_next(req, next));
}

static void	db_bg_state(struct kore_pgsql *, void *);

void
db_bg_init(struct db_bg *bg, void (*rows)(struct kore_pgsql *, void *),
    void *arg)
{
	memset(bg, 0, sizeof(*bg));
	kore_pgsql_init(&bg->pgsql);
	bg->rows = rows;
	bg->arg = arg;
}

/* Starts the statement; 0 when it cannot start now (tried later). */
int
db_bg_start(struct db_bg *bg, const char *sql, int n, const char **values)
{
	struct kore_pgsql	*pg = &bg->pgsql;
	int			lengths[DB_PARAMS_MAX] = { 0 };
	int			formats[DB_PARAMS_MAX] = { 0 };

	if (n > DB_PARAMS_MAX)
		fatal("db_bg_start: more than %d parameters", DB_PARAMS_MAX);

	kore_pgsql_init(pg);
	kore_pgsql_bind_callback(pg, db_bg_state, bg);
	if (!kore_pgsql_setup(pg, DB_NAME, KORE_PGSQL_ASYNC)) {
		if (pg->error != NULL)
			kore_pgsql_logerror(pg);
		kore_pgsql_cleanup(pg);
		return (0);
	}
	bg->busy = 1;
	if (!kore_pgsql_query_param_fields(pg, sql, 0, n, values, lengths,
	    formats)) {
		kore_pgsql_logerror(pg);
		kore_pgsql_cleanup(pg);
		bg->busy = 0;
		return (0);
	}

	return (1);
}

/*
 * 1 when a statement's connection is gone: Kore dropped it (no conn), or
 * it is broken, when every read of it fails again. Reading a broken one
 * again (kore_pgsql_continue() after an error) calls the callback with
 * the same error at once, and since each of those calls is a tail call,
 * the worker spins for ever: callbacks stop at the error instead, and
 * their owner releases the statement at its next tick.
 */
int
db_pgsql_lost(const struct kore_pgsql *pg)
{
	return (pg->conn == NULL || PQstatus(pg->conn->db) == CONNECTION_BAD);
}

int
db_bg_reap(struct db_bg *bg)
{
	struct kore_pgsql	*pg = &bg->pgsql;

	if (!bg->busy || pg->state != KORE_PGSQL_STATE_ERROR ||
	    !db_pgsql_lost(pg))
		return (0);

	kore_pgsql_logerror(pg);
	kore_pgsql_cleanup(pg);
	bg->busy = 0;

	return (1);
}

/* Kore calls this at every state change of a db_bg statement. */
static void
db_bg_state(struct kore_pgsql *pg, void *arg)
{
	struct db_bg	*bg = arg;

	switch (pg->state) {
	case KORE_PGSQL_STATE_RESULT:
		bg->rows(pg, bg->arg);
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_ERROR:
		kore_pgsql_logerror(pg);
		if (db_pgsql_lost(pg))
			return;		/* db_bg_reap() releases it */
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_DONE:
		kore_pgsql_continue(pg);
		return;
	case KORE_PGSQL_STATE_COMPLETE:
		bg->busy = 0;
		return;
	default:
		return;
	}
}
