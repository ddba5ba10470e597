/*
 * metrics: Prometheus counters and histograms, kept per worker in shared
 * memory and summed when GET /metrics is scraped (METRICS_ALLOW only).
 */
#ifndef __H_METRICS_H
#define __H_METRICS_H

#include <kore/kore.h>
#include <kore/http.h>

/* Redis failures, by kind. */
#define METRICS_REDIS_CONNECT	0
#define METRICS_REDIS_REPLY	1	/* an error reply */
#define METRICS_REDIS_FAILED	2	/* no reply: dropped or timed out */
#define METRICS_REDIS_KINDS	3

/* The payment outbox: attempts by result, rows by status. */
#define METRICS_OUTBOX_DELIVERED	0
#define METRICS_OUTBOX_RETRIED		1
#define METRICS_OUTBOX_FAILED		2
#define METRICS_OUTBOX_DEAD		3
#define METRICS_OUTBOX_RESULTS		4
#define METRICS_OUTBOX_ROWS		3	/* pending, failed, dead */

int	metrics_config(const char *);
void	metrics_init(void);
void	metrics_worker_init(void);
void	metrics_request(struct http_request *, int);
void	metrics_kore_error(int);
void	metrics_pgsql_error(const char *);
void	metrics_redis_error(int);
void	metrics_outbox_result(const char *);
void	metrics_outbox_rows(const u_int64_t *, u_int64_t);

int	metrics_get(struct http_request *);

#endif
