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

int	metrics_config(const char *);
void	metrics_init(void);
void	metrics_worker_init(void);
void	metrics_request(struct http_request *, int);
void	metrics_kore_error(int);
void	metrics_pgsql_error(const char *);
void	metrics_redis_error(int);

int	metrics_get(struct http_request *);

#endif
