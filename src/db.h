/*
 * db: one asynchronous PostgreSQL statement on behalf of a request, on top
 * of Kore's pgsql. A handler state calls db_run() until it stops answering
 * DB_PENDING, then reads call->result.
 */
#ifndef __H_DB_H
#define __H_DB_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#define DB_NAME			"db"
#define DB_PARAMS_MAX		16

#define DB_PENDING		1
#define DB_DONE			2
#define DB_FAILED		3

/* SQLSTATEs the service acts on. */
#define DB_UNIQUE_VIOLATION	"23505"
#define DB_FOREIGN_KEY		"23503"
#define DB_EXCLUSION		"23P01"
#define DB_CHECK_VIOLATION	"23514"
#define DB_SERIALIZATION	"40001"
#define DB_DEADLOCK		"40P01"

/*
 * What the service does about a failed statement, by SQLSTATE
 * (db_errors[] in db.c): run it again backed off, answer 503 with
 * Retry-After, 400 invalid_request, or log it and answer 500.
 */
#define DB_ERROR_RETRY		1
#define DB_ERROR_UNAVAILABLE	2
#define DB_ERROR_INVALID	3
#define DB_ERROR_INTERNAL	4

/* Runs of one statement that keeps losing races, and the backoff. */
#define DB_RETRY_MAX		8
#define DB_RETRY_MS		2
#define DB_RETRY_SHIFT_MAX	6

struct db_error {
	const char	*sqlstate;	/* a whole SQLSTATE or its class */
	int		action;		/* DB_ERROR_* */
	int		log;		/* worth a log line when it fails */
};

struct kore_timer;

struct db_call {
	struct kore_pgsql	pgsql;
	struct kore_timer	*timer;		/* db_retry_later() */
	struct http_request	*sleeper;
	PGresult		*result;
	const char		*sql;
	int			nparams;
	const char		*params[DB_PARAMS_MAX];
	char			ints[DB_PARAMS_MAX][24];  /* param_int */
	char			sqlstate[6];
	int			started;
	int			answered;	/* a result arrived */
	int			bound;
	int			retries;	/* db_retry() so far */
};

void	db_call_init(struct db_call *, const char *);
void	db_call_param(struct db_call *, const char *);
const char	*db_call_param_int(struct db_call *, int64_t);
int	db_run(struct db_call *, struct http_request *);
void	db_call_cleanup(struct db_call *);
void	db_call_reset(struct db_call *);

int	db_rows(const struct db_call *);
const char	*db_value(const struct db_call *, int, int);
int	db_isnull(const struct db_call *, int, int);
int64_t	db_int(const struct db_call *, int, int);
size_t	db_int_array(const struct db_call *, int, int, int64_t *, size_t);
int	db_sqlstate_is(const struct db_call *, const char *);
int	db_connection_lost(const struct db_call *);
void	db_retry_later(struct db_call *, struct http_request *, u_int64_t);

const struct db_error	*db_error_lookup(const char *);
int	db_error_action(const struct db_call *);
int	db_retry(struct db_call *, struct http_request *);
int	db_retry_backoff(struct db_call *, struct http_request *);
u_int64_t	db_retry_delay(int, u_int64_t);

void	db_register(const char *);

/* A callback told the SQLSTATE (NULL: none) of every failed statement. */
void	db_on_error(void (*)(const char *));

/*
 * The db_run() step of a request state, in one call the state returns:
 * HTTP_STATE_RETRY while pending; on failure what `failed` returns
 * (reply_db_failed() in reply.c, or a handler's own mapping that ends
 * there); when done req->fsm_state becomes `next`.
 */
typedef int	(*db_failed_reply)(struct http_request *, struct db_call *);

int	db_state(struct http_request *, struct db_call *, int,
	    db_failed_reply);

/*
 * A statement with no request behind it (a timer's: outbox.c, live.c), on
 * a callback-bound Kore pgsql, at most one in flight per struct db_bg.
 * Its rows go to `rows` as they arrive; busy is 1 until the connection is
 * released. Kore does not call back when the connection dies under the
 * statement (and reading a broken one again would spin, db_pgsql_lost()):
 * db_bg_reap(), at the caller's next tick, abandons such a statement (1
 * when it did).
 */
struct db_bg {
	struct kore_pgsql	pgsql;
	int			busy;
	void			(*rows)(struct kore_pgsql *, void *);
	void			*arg;
};

void	db_bg_init(struct db_bg *, void (*)(struct kore_pgsql *, void *),
	    void *);
int	db_bg_start(struct db_bg *, const char *, int, const char **);
int	db_bg_reap(struct db_bg *);
int	db_pgsql_lost(const struct kore_pgsql *);

#endif
