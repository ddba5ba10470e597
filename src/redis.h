/*
 * redis: one asynchronous hiredis connection per worker, driven by Kore's
 * event loop, reconnecting by itself.
 *
 * A request issues a command with redis_command(), gets a ticket and
 * sleeps; the reply callback stores a copy of the reply in the ticket and
 * wakes the request; the state reads it with redis_wait(). The request's
 * onfree must call redis_ticket_release(), which orphans a ticket still in
 * flight so the late callback frees it instead of touching the request.
 * redis_commandargv() also takes a NULL request (a timer's command): the
 * caller then releases the ticket at once and the reply frees it.
 */
#ifndef __H_REDIS_H
#define __H_REDIS_H

#include <kore/kore.h>
#include <kore/http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#define REDIS_PENDING		1
#define REDIS_READY		2
#define REDIS_FAILED		3

struct redis_result {
	int		type;		/* REDIS_REPLY_* */
	long long	integer;
	/* STRING, STATUS and ERROR replies; NUL-terminated. */
	char		*str;
	size_t		len;
};

struct redis_ticket;

int	redis_config(const char *);
void	redis_worker_init(void);
int	redis_command(struct http_request *, struct redis_ticket **,
	    const char *, ...);
int	redis_commandargv(struct http_request *, struct redis_ticket **,
	    int, const char **, const size_t *);
int	redis_wait(struct redis_ticket *);
const struct redis_result	*redis_result(const struct redis_ticket *);
void	redis_ticket_release(struct redis_ticket **);

/* For modules that are not request-bound (live.c). */
redisAsyncContext	*redis_open(void);
int	redis_publish(const char *, const char *);

/* Exposed for tests. */
int	redis_error_is_readonly(const char *, size_t);
int	redis_url_parse(const char *, char *, size_t, int *, int *, char *,
	    size_t);

#endif
