/*
 * metrics: what GET /metrics answers, in Prometheus text format 0.0.4.
 *
 * Every worker owns one slot of a shared anonymous mapping made by the
 * parent before it forks (metrics_init()); only that worker writes it, so
 * the hot path takes no lock: a counter is bumped with a relaxed atomic
 * store of its own value plus one. A scrape, in whichever worker takes
 * it, reads every slot with relaxed atomic loads and sums them; a worker
 * that Kore restarts keeps its slot and its counts. Counts are 64-bit and
 * aligned, so a reader never sees a torn value; a scrape racing requests
 * may see one counter a step ahead of another, as Prometheus allows.
 *
 * Series (labels bounded: routes come from the config, outcomes and
 * classes from small fixed sets):
 *   booking_http_requests_total{route,code}       code "2xx".."5xx"
 *   booking_http_request_duration_seconds{route}  histogram
 *   booking_holds_total{outcome}, booking_bookings_total{outcome},
 *   booking_payments_total{outcome}               POSTs, by answer
 *   booking_idempotent_replays_total
 *   booking_pgsql_errors_total{class}             SQLSTATE class
 *   booking_redis_errors_total{kind}
 *   booking_open_connections                      gauge
 *   booking_outbox_attempts_total{result}         the payment outbox's
 *            provider calls (src/outbox.c), by what outbox_finish made
 *            of them: delivered, retried, failed, dead
 *   booking_outbox_rows{status}, booking_outbox_oldest_pending_seconds
 *            gauges of the payment_outbox table (pending, failed, dead;
 *            delivered rows are counted by the attempts above), as the
 *            deliverers last read them (every OUTBOX_GAUGE_MS); the
 *            newest reading of any worker is shown. They are the
 *            table's, so every instance shows the same figures.
 * Kore's own errors (before any handler) count under route "none".
 *
 * METRICS_ALLOW (CIDRs, default loopback) says who may scrape; anyone else
 * gets the same 404 as an unknown path.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "metrics.h"
#include "peer.h"
#include "reply.h"
#include "route.h"

#define METRICS_SLOTS		128
#define METRICS_ROUTES		(ROUTE_TABLE_MAX + 1)	/* + "none" */
#define METRICS_CLASSES		5
#define METRICS_BUCKETS		12			/* + Inf last */
#define METRICS_PG_CLASSES	(36 * 36 + 1)		/* + "none" last */
#define METRICS_TICK_MS		1000

#define METRICS_HOLDS		0
#define METRICS_BOOKINGS	1
#define METRICS_PAYMENTS	2
#define METRICS_KINDS		3

/* Upper bounds of the latency buckets, in milliseconds. */
static const u_int64_t	metrics_bounds_ms[METRICS_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};
static const char	*metrics_bounds_text[METRICS_BUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10", "+Inf"
};

static const char	*metrics_kind_names[METRICS_KINDS] = {
	"holds", "bookings", "payments"
};

#define METRICS_OUTCOMES	10
static const char	*metrics_outcome_names[METRICS_OUTCOMES] = {
	"created", "ok", "replayed", "conflict", "declined", "invalid",
	"denied", "rate_limited", "error", "other"
};

static const char	*metrics_redis_names[METRICS_REDIS_KINDS] = {
	"connect", "error_reply", "no_reply"
};

static const char	*metrics_outbox_names[METRICS_OUTBOX_RESULTS] = {
	"delivered", "retried", "failed", "dead"
};

/* outbox_finish()'s answers, in metrics_outbox_names' order. */
static const char	*metrics_outbox_statuses[METRICS_OUTBOX_RESULTS] = {
	"delivered", "pending", "failed", "dead"
};

static const char	*metrics_outbox_row_names[METRICS_OUTBOX_ROWS] = {
	"pending", "failed", "dead"
};

struct metrics_route {
	u_int64_t	requests[METRICS_CLASSES];
	u_int64_t	buckets[METRICS_BUCKETS];
	u_int64_t	sum_ms;
};

struct metrics_slot {
	struct metrics_route	routes[METRICS_ROUTES];
	u_int64_t		outcomes[METRICS_KINDS][METRICS_OUTCOMES];
	u_int64_t		replays;
	u_int64_t		pgsql[METRICS_PG_CLASSES];
	u_int64_t		redis[METRICS_REDIS_KINDS];
	u_int64_t		connections;
	u_int64_t		outbox[METRICS_OUTBOX_RESULTS];
	/* The worker's last reading of the table, and when (ms). */
	u_int64_t		outbox_rows[METRICS_OUTBOX_ROWS];
	u_int64_t		outbox_oldest_s;
	u_int64_t		outbox_read_ms;
};

static struct metrics_slot	*metrics_slots;
static struct metrics_slot	*metrics_mine;
static struct peer_cidrs	metrics_allow;

static void	metrics_bump(u_int64_t *, u_int64_t);
static u_int64_t	metrics_read(const u_int64_t *);
static void	metrics_tick(void *, u_int64_t);
static int	metrics_outcome(struct http_request *, int);
static int	metrics_has_header(struct http_request *, const char *);
static int	metrics_pg_index(const char *);
static void	metrics_pg_name(int, char *, size_t);
static void	metrics_write(struct kore_buf *);

int
metrics_config(const char *allow)
{
	return (peer_cidrs_parse(allow, &metrics_allow));
}

/* In the parent, before the workers fork. */
void
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(struct metrics_slot) * METRICS_SLOTS,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("metrics: mmap: %s", errno_s);
	metrics_slots = p;
}

void
metrics_worker_init(void)
{
	if (metrics_slots == NULL || worker == NULL ||
	    worker->id >= METRICS_SLOTS)
		fatal("metrics: no slot for worker");
	metrics_mine = &metrics_slots[worker->id];
	db_on_error(metrics_pgsql_error);
	(void)kore_timer_add(metrics_tick, METRICS_TICK_MS, NULL, 0);
	metrics_tick(NULL, 0);
}

static void
metrics_bump(u_int64_t *c, u_int64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
	    __ATOMIC_RELAXED);
}

static u_int64_t
metrics_read(const u_int64_t *c)
{
	return (__atomic_load_n(c, __ATOMIC_RELAXED));
}

/* An outbox row's attempt ended as outbox_finish() says (src/outbox.c). */
void
metrics_outbox_result(const char *status)
{
	int	i;

	if (metrics_mine == NULL || status == NULL)
		return;
	for (i = 0; i < METRICS_OUTBOX_RESULTS; i++) {
		if (!strcmp(status, metrics_outbox_statuses[i])) {
			metrics_bump(&metrics_mine->outbox[i], 1);
			return;
		}
	}
}

/* A deliverer read the table: rows by status, the oldest pending's age. */
void
metrics_outbox_rows(const u_int64_t *rows, u_int64_t oldest_s)
{
	int	i;

	if (metrics_mine == NULL)
		return;
	for (i = 0; i < METRICS_OUTBOX_ROWS; i++)
		__atomic_store_n(&metrics_mine->outbox_rows[i], rows[i],
		    __ATOMIC_RELAXED);
	__atomic_store_n(&metrics_mine->outbox_oldest_s, oldest_s,
	    __ATOMIC_RELAXED);
	__atomic_store_n(&metrics_mine->outbox_read_ms, kore_time_ms(),
	    __ATOMIC_RELEASE);
}

static void
metrics_tick(void *arg, u_int64_t now)
{
	if (metrics_mine != NULL)
		__atomic_store_n(&metrics_mine->connections,
		    (u_int64_t)worker_active_connections, __ATOMIC_RELAXED);
}

static int
metrics_has_header(struct http_request *req, const char *name)
{
	struct http_header	*hdr;

	TAILQ_FOREACH(hdr, &req->resp_headers, list) {
		if (!strcasecmp(hdr->header, name))
			return (1);
	}

	return (0);
}

static int
metrics_outcome(struct http_request *req, int status)
{
	if (metrics_has_header(req, "idempotent-replayed"))
		return (2);
	if (status == 201)
		return (0);
	if (status >= 200 && status < 300)
		return (1);

	switch (status) {
	case 409:
		return (3);
	case 402:
		return (4);
	case 400:
	case 413:
	case 415:
	case 422:
		return (5);
	case 401:
	case 403:
	case 404:
		return (6);
	case 429:
		return (7);
	}

	return (status >= 500 ? 8 : 9);
}

/* A request a handler answered; route is route_index(req). */
void
metrics_request(struct http_request *req, int route)
{
	struct metrics_route	*r;
	const char		*label;
	u_int64_t		ms;
	int			i, class, kind;

	if (metrics_mine == NULL)
		return;

	r = &metrics_mine->routes[route < 0 ? METRICS_ROUTES - 1 : route];
	class = req->status / 100 - 1;
	if (class >= 0 && class < METRICS_CLASSES)
		metrics_bump(&r->requests[class], 1);

	ms = kore_time_ms() - req->created;
	for (i = 0; i < METRICS_BUCKETS - 1; i++) {
		if (ms <= metrics_bounds_ms[i])
			break;
	}
	metrics_bump(&r->buckets[i], 1);
	metrics_bump(&r->sum_ms, ms);

	if (metrics_has_header(req, "idempotent-replayed"))
		metrics_bump(&metrics_mine->replays, 1);

	if (req->method != HTTP_METHOD_POST)
		return;
	label = route_label(route);
	if (!strcmp(label, "/api/holds"))
		kind = METRICS_HOLDS;
	else if (!strcmp(label, "/api/bookings"))
		kind = METRICS_BOOKINGS;
	else if (!strncmp(label, "/api/payments/", 14))
		kind = METRICS_PAYMENTS;
	else
		return;
	metrics_bump(&metrics_mine->outcomes[kind][metrics_outcome(req,
	    req->status)], 1);
}

/* An error Kore answered before any handler ran. */
void
metrics_kore_error(int status)
{
	struct metrics_route	*r;
	int			class;

	if (metrics_mine == NULL)
		return;

	r = &metrics_mine->routes[METRICS_ROUTES - 1];
	class = status / 100 - 1;
	if (class >= 0 && class < METRICS_CLASSES)
		metrics_bump(&r->requests[class], 1);
	metrics_bump(&r->buckets[0], 1);
}

/* "23505" counts under class 23; no SQLSTATE (no connection) as "none". */
static int
metrics_pg_index(const char *state)
{
	int	i, v, idx;

	if (state == NULL || strlen(state) < 2)
		return (METRICS_PG_CLASSES - 1);

	idx = 0;
	for (i = 0; i < 2; i++) {
		if (state[i] >= '0' && state[i] <= '9')
			v = state[i] - '0';
		else if (state[i] >= 'A' && state[i] <= 'Z')
			v = state[i] - 'A' + 10;
		else
			return (METRICS_PG_CLASSES - 1);
		idx = idx * 36 + v;
	}

	return (idx);
}

static void
metrics_pg_name(int idx, char *out, size_t len)
{
	static const char	digits[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (idx == METRICS_PG_CLASSES - 1) {
		kore_strlcpy(out, "none", len);
		return;
	}
	(void)snprintf(out, len, "%c%c", digits[idx / 36], digits[idx % 36]);
}

void
metrics_pgsql_error(const char *sqlstate)
{
	if (metrics_mine != NULL)
		metrics_bump(&metrics_mine->pgsql[metrics_pg_index(sqlstate)],
		    1);
}

void
metrics_redis_error(int kind)
{
	if (metrics_mine != NULL && kind >= 0 && kind < METRICS_REDIS_KINDS)
		metrics_bump(&metrics_mine->redis[kind], 1);
}

/* Sums every slot into the exposition text. */
static void
metrics_write(struct kore_buf *b)
{
	static struct metrics_slot	sum;
	const struct metrics_slot	*s;
	const char			*label;
	u_int64_t			cum;
	char				name[8];
	int				i, j, k, routes;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < METRICS_SLOTS; i++) {
		s = &metrics_slots[i];
		for (j = 0; j < METRICS_ROUTES; j++) {
			for (k = 0; k < METRICS_CLASSES; k++)
				sum.routes[j].requests[k] +=
				    metrics_read(&s->routes[j].requests[k]);
			for (k = 0; k < METRICS_BUCKETS; k++)
				sum.routes[j].buckets[k] +=
				    metrics_read(&s->routes[j].buckets[k]);
			sum.routes[j].sum_ms +=
			    metrics_read(&s->routes[j].sum_ms);
		}
		for (j = 0; j < METRICS_KINDS; j++) {
			for (k = 0; k < METRICS_OUTCOMES; k++)
				sum.outcomes[j][k] +=
				    metrics_read(&s->outcomes[j][k]);
		}
		sum.replays += metrics_read(&s->replays);
		for (j = 0; j < METRICS_PG_CLASSES; j++)
			sum.pgsql[j] += metrics_read(&s->pgsql[j]);
		for (j = 0; j < METRICS_REDIS_KINDS; j++)
			sum.redis[j] += metrics_read(&s->redis[j]);
		sum.connections += metrics_read(&s->connections);
		for (j = 0; j < METRICS_OUTBOX_RESULTS; j++)
			sum.outbox[j] += metrics_read(&s->outbox[j]);
		/* The newest reading of the table, whichever worker's. */
		if (metrics_read(&s->outbox_read_ms) > sum.outbox_read_ms) {
			sum.outbox_read_ms = __atomic_load_n(
			    &s->outbox_read_ms, __ATOMIC_ACQUIRE);
			for (j = 0; j < METRICS_OUTBOX_ROWS; j++)
				sum.outbox_rows[j] =
				    metrics_read(&s->outbox_rows[j]);
			sum.outbox_oldest_s = metrics_read(&s->outbox_oldest_s);
		}
	}

	routes = route_table_count();

	kore_buf_appendf(b, "# HELP booking_http_requests_total HTTP requests "
	    "answered, by route and status class.\n"
	    "# TYPE booking_http_requests_total counter\n");
	for (j = 0; j < METRICS_ROUTES; j++) {
		if (j >= routes && j != METRICS_ROUTES - 1)
			continue;
		label = route_label(j == METRICS_ROUTES - 1 ? -1 : j);
		for (k = 0; k < METRICS_CLASSES; k++) {
			kore_buf_appendf(b, "booking_http_requests_total"
			    "{route=\"%s\",code=\"%dxx\"} %llu\n", label,
			    k + 1,
			    (unsigned long long)sum.routes[j].requests[k]);
		}
	}

	kore_buf_appendf(b, "# HELP booking_http_request_duration_seconds "
	    "Time from a request's arrival to its answer, by route.\n"
	    "# TYPE booking_http_request_duration_seconds histogram\n");
	for (j = 0; j < routes; j++) {
		label = route_label(j);
		cum = 0;
		for (k = 0; k < METRICS_BUCKETS; k++) {
			cum += sum.routes[j].buckets[k];
			kore_buf_appendf(b, "booking_http_request_duration_"
			    "seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
			    label, metrics_bounds_text[k],
			    (unsigned long long)cum);
		}
		kore_buf_appendf(b, "booking_http_request_duration_seconds_sum"
		    "{route=\"%s\"} %llu.%03llu\n", label,
		    (unsigned long long)(sum.routes[j].sum_ms / 1000),
		    (unsigned long long)(sum.routes[j].sum_ms % 1000));
		kore_buf_appendf(b, "booking_http_request_duration_seconds_"
		    "count{route=\"%s\"} %llu\n", label,
		    (unsigned long long)cum);
	}

	for (j = 0; j < METRICS_KINDS; j++) {
		kore_buf_appendf(b, "# HELP booking_%s_total POST requests "
		    "of %s, by outcome.\n# TYPE booking_%s_total counter\n",
		    metrics_kind_names[j], metrics_kind_names[j],
		    metrics_kind_names[j]);
		for (k = 0; k < METRICS_OUTCOMES; k++) {
			kore_buf_appendf(b, "booking_%s_total{outcome=\"%s\"} "
			    "%llu\n", metrics_kind_names[j],
			    metrics_outcome_names[k],
			    (unsigned long long)sum.outcomes[j][k]);
		}
	}

	kore_buf_appendf(b, "# HELP booking_idempotent_replays_total Answers "
	    "replayed for a repeated Idempotency-Key.\n"
	    "# TYPE booking_idempotent_replays_total counter\n"
	    "booking_idempotent_replays_total %llu\n",
	    (unsigned long long)sum.replays);

	kore_buf_appendf(b, "# HELP booking_pgsql_errors_total Failed "
	    "PostgreSQL statements, by SQLSTATE class.\n"
	    "# TYPE booking_pgsql_errors_total counter\n");
	for (j = 0; j < METRICS_PG_CLASSES; j++) {
		if (sum.pgsql[j] == 0 && j != METRICS_PG_CLASSES - 1)
			continue;
		metrics_pg_name(j, name, sizeof(name));
		kore_buf_appendf(b, "booking_pgsql_errors_total{class=\"%s\"} "
		    "%llu\n", name, (unsigned long long)sum.pgsql[j]);
	}

	kore_buf_appendf(b, "# HELP booking_redis_errors_total Failed Redis "
	    "connections and commands.\n"
	    "# TYPE booking_redis_errors_total counter\n");
	for (j = 0; j < METRICS_REDIS_KINDS; j++) {
		kore_buf_appendf(b, "booking_redis_errors_total{kind=\"%s\"} "
		    "%llu\n", metrics_redis_names[j],
		    (unsigned long long)sum.redis[j]);
	}

	kore_buf_appendf(b, "# HELP booking_outbox_attempts_total Provider "
	    "calls of the payment outbox, by result.\n"
	    "# TYPE booking_outbox_attempts_total counter\n");
	for (j = 0; j < METRICS_OUTBOX_RESULTS; j++) {
		kore_buf_appendf(b, "booking_outbox_attempts_total"
		    "{result=\"%s\"} %llu\n", metrics_outbox_names[j],
		    (unsigned long long)sum.outbox[j]);
	}
	kore_buf_appendf(b, "# HELP booking_outbox_rows Rows of the payment "
	    "outbox not delivered, by status (the table's).\n"
	    "# TYPE booking_outbox_rows gauge\n");
	for (j = 0; j < METRICS_OUTBOX_ROWS; j++) {
		kore_buf_appendf(b, "booking_outbox_rows{status=\"%s\"} %llu\n",
		    metrics_outbox_row_names[j],
		    (unsigned long long)sum.outbox_rows[j]);
	}
	kore_buf_appendf(b, "# HELP booking_outbox_oldest_pending_seconds "
	    "Age of the oldest pending outbox row (0: none).\n"
	    "# TYPE booking_outbox_oldest_pending_seconds gauge\n"
	    "booking_outbox_oldest_pending_seconds %llu\n",
	    (unsigned long long)sum.outbox_oldest_s);

	kore_buf_appendf(b, "# HELP booking_open_connections Client "
	    "connections open, all workers.\n"
	    "# TYPE booking_open_connections gauge\n"
	    "booking_open_connections %llu\n",
	    (unsigned long long)sum.connections);
}

/* GET /metrics: the exposition, to METRICS_ALLOW only (others 404). */
int
metrics_get(struct http_request *req)
{
	struct peer_ip		ip;
	struct kore_buf		b;

	peer_ip(req, &ip);
	if ((req->method != HTTP_METHOD_GET &&
	    req->method != HTTP_METHOD_HEAD) ||
	    !peer_cidrs_match(&metrics_allow, &ip))
		return (route_not_found(req));

	metrics_tick(NULL, 0);
	kore_buf_init(&b, 16384);
	metrics_write(&b);
	reply_text(req, HTTP_STATUS_OK,
	    "text/plain; version=0.0.4; charset=utf-8", &b);
	kore_buf_cleanup(&b);

	return (KORE_RESULT_OK);
}
