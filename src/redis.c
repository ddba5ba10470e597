/*
 * redis: hiredis's asynchronous API on Kore's event loop.
 *
 * hiredis 0.14 asks its host loop to add and remove read and write
 * interest and to clean up before it closes the socket. The adapter keeps
 * the wanted set and registers the socket level-triggered with epoll
 * whenever that set changes (Kore's schedule helpers are edge-triggered
 * and replace the whole mask). hiredis may call cleanup from inside
 * redisAsyncHandleRead, so a dead adapter is only marked and freed on the
 * next watchdog tick, never on the spot.
 *
 * Invariants:
 * - at most one live connection per worker (redis.ac);
 * - every command issued has exactly one callback call from hiredis, with
 *   a NULL reply when the connection dies or is freed;
 * - a ticket is owned by its request until the callback fired; if the
 *   request goes away first the ticket is orphaned (req = NULL) and the
 *   callback frees it.
 * Nothing here may be called from inside a hiredis callback except
 * http_request_wakeup().
 *
 * With Sentinels configured (sentinel.c), every connect is preceded by a
 * question to one Sentinel, the next one each time: at start and after
 * any connection error the master may have moved. Until one answers,
 * commands fail as they do while Redis is unreachable.
 *
 * A "-READONLY" error reply is a connection error too: the server is a
 * replica now (the old master after a failover, which keeps its clients).
 * The command fails as if the connection had died, the connection is
 * dropped (redisAsyncDisconnect(), which hiredis allows from a callback:
 * it closes once the replies in flight have arrived) and the next connect
 * asks a Sentinel where the master is, so the service follows it.
 */
#include <sys/types.h>
#include <sys/epoll.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "redis.h"
#include "sentinel.h"

#define REDIS_TIMEOUT_MS	1000
#define REDIS_RECONNECT_MS	250	/* doubling up to the max */
#define REDIS_RECONNECT_MAX_MS	2000
#define REDIS_WATCHDOG_MS	200
#define REDIS_HOST_MAX		256
#define REDIS_PASSWORD_MAX	256

struct redis_adapter {
	struct kore_event	evt;
	int			fd;
	int			want;
	int			registered;
	int			dead;
	redisAsyncContext	*ac;
	struct redis_adapter	*next_dead;
};

struct redis_ticket {
	struct http_request	*req;
	int			state;
	struct redis_result	result;
};

static struct {
	char			host[REDIS_HOST_MAX];
	char			password[REDIS_PASSWORD_MAX];
	int			port;
	int			db;
	redisAsyncContext	*ac;
	u_int64_t		last_connect;
	u_int64_t		backoff;
	u_int64_t		last_progress;
	u_int32_t		outstanding;
	struct redis_adapter	*dead;
	/* Sentinel: the question in flight, and whether it was answered. */
	redisAsyncContext	*sentinel_ac;
	u_int64_t		sentinel_asked;
	int			sentinel_next;
	int			master_known;
} redis;

static void	redis_connect(void);
static void	redis_sentinel_ask(void);
static void	redis_on_sentinel(redisAsyncContext *, void *, void *);
static void	redis_watchdog(void *, u_int64_t);
static void	redis_on_connect(const redisAsyncContext *, int);
static void	redis_on_disconnect(const redisAsyncContext *, int);
static void	redis_on_reply(redisAsyncContext *, void *, void *);
static void	redis_on_setup_reply(redisAsyncContext *, void *, void *);
static void	redis_on_publish(redisAsyncContext *, void *, void *);
static int	redis_ready_context(void);
static int	redis_reply_failed(redisAsyncContext *, redisReply *);
static struct redis_ticket	*redis_ticket_new(struct http_request *);
static void	redis_ticket_free(struct redis_ticket *);

static void	adapter_update(struct redis_adapter *);
static void	adapter_handle(void *, int);
static void	adapter_add_read(void *);
static void	adapter_del_read(void *);
static void	adapter_add_write(void *);
static void	adapter_del_write(void *);
static void	adapter_cleanup(void *);
static int	adapter_attach(redisAsyncContext *);

#define ADAPTER_READ	0x01
#define ADAPTER_WRITE	0x02

/*
 * redis://[:password@]host[:port][/db]
 */
int
redis_url_parse(const char *url, char *host, size_t hlen, int *port, int *db,
    char *password, size_t plen)
{
	const char	*p, *at, *end, *colon, *slash;
	size_t		len;
	char		num[16];
	int		err;

	*port = 6379;
	*db = 0;
	password[0] = '\0';

	if (strncmp(url, "redis://", 8))
		return (KORE_RESULT_ERROR);
	p = url + 8;

	slash = strchr(p, '/');
	end = slash != NULL ? slash : p + strlen(p);

	if ((at = memchr(p, '@', end - p)) != NULL) {
		if (*p != ':' || (size_t)(at - p - 1) >= plen)
			return (KORE_RESULT_ERROR);
		memcpy(password, p + 1, at - p - 1);
		password[at - p - 1] = '\0';
		p = at + 1;
	}

	colon = memchr(p, ':', end - p);
	len = (colon != NULL ? colon : end) - p;
	if (len == 0 || len >= hlen)
		return (KORE_RESULT_ERROR);
	memcpy(host, p, len);
	host[len] = '\0';

	if (colon != NULL) {
		len = end - colon - 1;
		if (len == 0 || len >= sizeof(num))
			return (KORE_RESULT_ERROR);
		memcpy(num, colon + 1, len);
		num[len] = '\0';
		*port = kore_strtonum(num, 10, 1, 65535, &err);
		if (err != KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);
	}

	if (slash != NULL && slash[1] != '\0') {
		*db = kore_strtonum(slash + 1, 10, 0, 1024, &err);
		if (err != KORE_RESULT_OK)
			return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * Parsed once in the parent, and the host name resolved there: hiredis
 * would resolve it with a blocking getaddrinfo() on a worker's event loop
 * at every reconnect.
 */
int
redis_config(const char *url)
{
	struct addrinfo		hints, *res;
	int			ret;

	if (!redis_url_parse(url, redis.host, sizeof(redis.host),
	    &redis.port, &redis.db, redis.password, sizeof(redis.password)))
		return (KORE_RESULT_ERROR);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((ret = getaddrinfo(redis.host, NULL, &hints, &res)) != 0) {
		hints.ai_family = AF_UNSPEC;
		ret = getaddrinfo(redis.host, NULL, &hints, &res);
	}
	if (ret != 0) {
		fprintf(stderr, "booking: cannot resolve %s: %s\n", redis.host,
		    gai_strerror(ret));
		return (KORE_RESULT_ERROR);
	}
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, redis.host,
	    sizeof(redis.host), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);

	return (ret == 0 ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

void
redis_worker_init(void)
{
	redis.ac = NULL;
	redis.dead = NULL;
	redis.outstanding = 0;
	redis.last_connect = 0;
	redis.sentinel_ac = NULL;
	redis.master_known = 0;
	redis.sentinel_next = kore_time_ms() % 1024;

	(void)kore_timer_add(redis_watchdog, REDIS_WATCHDOG_MS, NULL, 0);
	redis_connect();
}

static void
redis_connect(void)
{
	redisAsyncContext	*ac;

	redis.last_connect = kore_time_ms();

	if (sentinel_count() > 0 && !redis.master_known) {
		redis_sentinel_ask();
		return;
	}
	/* The next connect (after an error) asks again. */
	redis.master_known = 0;

	ac = redisAsyncConnect(redis.host, redis.port);
	if (ac == NULL)
		return;

	if (ac->err) {
		metrics_redis_error(METRICS_REDIS_CONNECT);
		kore_log(LOG_NOTICE, "redis: connect: %s", ac->errstr);
		redis.backoff = redis.backoff == 0 ? REDIS_RECONNECT_MS :
		    MIN(redis.backoff * 2, REDIS_RECONNECT_MAX_MS);
		redisAsyncFree(ac);
		return;
	}

	if (!adapter_attach(ac)) {
		redisAsyncFree(ac);
		return;
	}

	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	redis.ac = ac;

	/* Queued ahead of any request's command on this connection. */
	if (redis.password[0] != '\0') {
		(void)redisAsyncCommand(ac, redis_on_setup_reply, NULL,
		    "AUTH %s", redis.password);
	}
	if (redis.db != 0) {
		(void)redisAsyncCommand(ac, redis_on_setup_reply, NULL,
		    "SELECT %d", redis.db);
	}
}

/*
 * SENTINEL get-master-addr-by-name to the next Sentinel; the answer
 * arrives in redis_on_sentinel(). One question at a time; the watchdog
 * abandons one unanswered for REDIS_TIMEOUT_MS.
 */
static void
redis_sentinel_ask(void)
{
	const struct sentinel_addr	*s;
	redisAsyncContext		*ac;

	if (redis.sentinel_ac != NULL)
		return;

	s = sentinel_get(redis.sentinel_next++);
	redis.sentinel_asked = kore_time_ms();
	if ((ac = redisAsyncConnect(s->host, s->port)) == NULL)
		return;
	if (ac->err || !adapter_attach(ac)) {
		kore_log(LOG_NOTICE, "redis: sentinel %s:%d: %s", s->host,
		    s->port, ac->err ? ac->errstr : "cannot attach");
		redisAsyncFree(ac);
		return;
	}
	if (redisAsyncCommand(ac, redis_on_sentinel, NULL,
	    "SENTINEL get-master-addr-by-name %s",
	    sentinel_master_name()) != REDIS_OK) {
		redisAsyncFree(ac);
		return;
	}
	redis.sentinel_ac = ac;
}

/*
 * The Sentinel's answer (NULL when its connection failed): the master's
 * address for the next connect, which the watchdog makes at once.
 */
static void
redis_on_sentinel(redisAsyncContext *ac, void *r, void *privdata)
{
	char	host[REDIS_HOST_MAX];
	int	port;

	if (redis.sentinel_ac == ac)
		redis.sentinel_ac = NULL;
	if (r == NULL)
		return;

	if (!sentinel_master_reply(r, host, sizeof(host), &port)) {
		kore_log(LOG_NOTICE, "redis: sentinel %s:%d does not know "
		    "master %s", ac->c.tcp.host, ac->c.tcp.port,
		    sentinel_master_name());
	} else {
		if (strcmp(host, redis.host) || port != redis.port) {
			kore_log(LOG_NOTICE, "redis: master %s is %s:%d",
			    sentinel_master_name(), host, port);
		}
		(void)kore_strlcpy(redis.host, host, sizeof(redis.host));
		redis.port = port;
		redis.master_known = 1;
		redis.last_connect = 0;
	}
	redisAsyncDisconnect(ac);
}

/*
 * Another connection on the same loop and adapter, for a module that
 * needs one of its own (a pub/sub subscriber cannot send other commands).
 * AUTH is queued first; the caller owns the context and sets its connect
 * and disconnect callbacks. NULL when it cannot even start connecting.
 */
redisAsyncContext *
redis_open(void)
{
	redisAsyncContext	*ac;

	if ((ac = redisAsyncConnect(redis.host, redis.port)) == NULL)
		return (NULL);

	if (ac->err) {
		kore_log(LOG_NOTICE, "redis: connect: %s", ac->errstr);
		redisAsyncFree(ac);
		return (NULL);
	}

	if (!adapter_attach(ac)) {
		redisAsyncFree(ac);
		return (NULL);
	}

	if (redis.password[0] != '\0') {
		(void)redisAsyncCommand(ac, redis_on_setup_reply, NULL,
		    "AUTH %s", redis.password);
	}

	return (ac);
}

/*
 * PUBLISH channel message on the worker's connection, without waiting for
 * the answer: for notices after a commit, where the request has already
 * been answered for. Fails when Redis is not reachable right now.
 */
int
redis_publish(const char *channel, const char *message)
{
	if (!redis_ready_context())
		return (KORE_RESULT_ERROR);

	if (redisAsyncCommand(redis.ac, redis_on_publish, NULL,
	    "PUBLISH %s %s", channel, message) != REDIS_OK)
		return (KORE_RESULT_ERROR);

	if (redis.outstanding++ == 0)
		redis.last_progress = kore_time_ms();

	return (KORE_RESULT_OK);
}

static void
redis_on_publish(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;

	redis.outstanding--;
	redis.last_progress = kore_time_ms();

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    !redis_reply_failed(ac, reply))
		kore_log(LOG_NOTICE, "redis: publish: %s", reply->str);
}

/*
 * An error reply that says the server cannot serve us (a replica now):
 * such a reply is not an answer to the command.
 */
int
redis_error_is_readonly(const char *str, size_t len)
{
	return (str != NULL && len >= 8 && !strncmp(str, "READONLY", 8) &&
	    (len == 8 || str[8] == ' '));
}

/*
 * 1 when the reply means the connection no longer reaches the master: it
 * is dropped (new commands go to a new connection) and the next connect
 * asks a Sentinel again. Called from hiredis's reply callbacks.
 */
static int
redis_reply_failed(redisAsyncContext *ac, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ERROR ||
	    !redis_error_is_readonly(reply->str, reply->len))
		return (0);

	if (redis.ac == ac) {
		kore_log(LOG_NOTICE, "redis: %s:%d is a replica now (%s), "
		    "reconnecting", ac->c.tcp.host, ac->c.tcp.port,
		    reply->str);
		redis.ac = NULL;
		redis.master_known = 0;
		redis.last_connect = 0;
		redisAsyncDisconnect(ac);
	}

	return (1);
}

static void
redis_on_connect(const redisAsyncContext *ac, int status)
{
	if (status == REDIS_OK) {
		redis.backoff = 0;
	} else {
		redis.backoff = redis.backoff == 0 ? REDIS_RECONNECT_MS :
		    MIN(redis.backoff * 2, REDIS_RECONNECT_MAX_MS);
		metrics_redis_error(METRICS_REDIS_CONNECT);
		kore_log(LOG_NOTICE, "redis: connect failed: %s", ac->errstr);
		if (redis.ac == ac)
			redis.ac = NULL;
	}
}

static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		kore_log(LOG_NOTICE, "redis: disconnected: %s", ac->errstr);

	if (redis.ac == ac)
		redis.ac = NULL;
}

static void
redis_on_setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		kore_log(LOG_ERR, "redis: setup: %s", reply->str);
}

/*
 * A usable context, reconnecting at most every REDIS_RECONNECT_MS, and
 * backing off (doubling to REDIS_RECONNECT_MAX_MS) while connects fail.
 */
static int
redis_ready_context(void)
{
	if (redis.ac != NULL)
		return (KORE_RESULT_OK);

	if (kore_time_ms() - redis.last_connect <
	    MAX(redis.backoff, REDIS_RECONNECT_MS))
		return (KORE_RESULT_ERROR);

	redis_connect();
	return (redis.ac != NULL);
}

/*
 * Fails every command in flight when Redis stopped answering, and frees
 * adapters that hiredis cleaned up.
 */
static void
redis_watchdog(void *arg, u_int64_t now)
{
	struct redis_adapter	*a;
	redisAsyncContext	*ac;

	if (redis.ac != NULL && redis.outstanding > 0 &&
	    now - redis.last_progress > REDIS_TIMEOUT_MS) {
		kore_log(LOG_NOTICE, "redis: no reply for %d ms, reconnecting",
		    REDIS_TIMEOUT_MS);
		ac = redis.ac;
		redis.ac = NULL;
		redisAsyncFree(ac);
	}

	if (redis.sentinel_ac != NULL &&
	    now - redis.sentinel_asked > REDIS_TIMEOUT_MS) {
		ac = redis.sentinel_ac;
		redis.sentinel_ac = NULL;
		redisAsyncFree(ac);
	}
	/* With Sentinels, the master is looked for without waiting for a
	 * request to need it. */
	if (redis.ac == NULL && sentinel_count() > 0)
		(void)redis_ready_context();

	while ((a = redis.dead) != NULL) {
		redis.dead = a->next_dead;
		kore_free(a);
	}
}

static struct redis_ticket *
redis_ticket_new(struct http_request *req)
{
	struct redis_ticket	*t;

	t = kore_calloc(1, sizeof(*t));
	t->req = req;
	t->state = REDIS_PENDING;

	if (redis.outstanding++ == 0)
		redis.last_progress = kore_time_ms();

	return (t);
}

static void
redis_ticket_free(struct redis_ticket *t)
{
	kore_free(t->result.str);
	kore_free(t);
}

static void
redis_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_ticket	*t = privdata;
	redisReply		*reply = r;

	redis.outstanding--;
	redis.last_progress = kore_time_ms();
	if (reply != NULL && redis_reply_failed(ac, reply))
		reply = NULL;
	if (reply == NULL)
		metrics_redis_error(METRICS_REDIS_FAILED);
	else if (reply->type == REDIS_REPLY_ERROR)
		metrics_redis_error(METRICS_REDIS_REPLY);

	if (t->req == NULL) {
		redis_ticket_free(t);
		return;
	}

	if (reply == NULL) {
		t->state = REDIS_FAILED;
	} else {
		t->state = REDIS_READY;
		t->result.type = reply->type;
		t->result.integer = reply->integer;
		if (reply->str != NULL) {
			t->result.str = kore_malloc(reply->len + 1);
			memcpy(t->result.str, reply->str, reply->len);
			t->result.str[reply->len] = '\0';
			t->result.len = reply->len;
		}
	}

	http_request_wakeup(t->req);
}

int
redis_commandargv(struct http_request *req, struct redis_ticket **out,
    int argc, const char **argv, const size_t *argvlen)
{
	struct redis_ticket	*t;

	*out = NULL;
	if (!redis_ready_context())
		return (KORE_RESULT_ERROR);

	t = redis_ticket_new(req);
	if (redisAsyncCommandArgv(redis.ac, redis_on_reply, t, argc, argv,
	    argvlen) != REDIS_OK) {
		redis.outstanding--;
		redis_ticket_free(t);
		return (KORE_RESULT_ERROR);
	}

	*out = t;
	if (req != NULL)
		http_request_sleep(req);

	return (KORE_RESULT_OK);
}

int
redis_command(struct http_request *req, struct redis_ticket **out,
    const char *fmt, ...)
{
	struct redis_ticket	*t;
	va_list			args;
	int			ret;

	*out = NULL;
	if (!redis_ready_context())
		return (KORE_RESULT_ERROR);

	t = redis_ticket_new(req);
	va_start(args, fmt);
	ret = redisvAsyncCommand(redis.ac, redis_on_reply, t, fmt, args);
	va_end(args);

	if (ret != REDIS_OK) {
		redis.outstanding--;
		redis_ticket_free(t);
		return (KORE_RESULT_ERROR);
	}

	*out = t;
	http_request_sleep(req);

	return (KORE_RESULT_OK);
}

/* REDIS_PENDING puts the request to sleep until the reply wakes it. */
int
redis_wait(struct redis_ticket *t)
{
	if (t == NULL)
		return (REDIS_FAILED);

	if (t->state == REDIS_PENDING)
		http_request_sleep(t->req);

	return (t->state);
}

const struct redis_result *
redis_result(const struct redis_ticket *t)
{
	if (t == NULL || t->state != REDIS_READY)
		return (NULL);

	return (&t->result);
}

void
redis_ticket_release(struct redis_ticket **tp)
{
	struct redis_ticket	*t = *tp;

	if (t == NULL)
		return;

	*tp = NULL;
	if (t->state == REDIS_PENDING)
		t->req = NULL;
	else
		redis_ticket_free(t);
}

static int
adapter_attach(redisAsyncContext *ac)
{
	struct redis_adapter	*a;

	if (ac->ev.data != NULL)
		return (KORE_RESULT_ERROR);

	a = kore_calloc(1, sizeof(*a));
	a->evt.type = KORE_TYPE_PGSQL_CONN + 100;
	a->evt.flags = 0;
	a->evt.handle = adapter_handle;
	a->fd = ac->c.fd;
	a->ac = ac;

	ac->ev.data = a;
	ac->ev.addRead = adapter_add_read;
	ac->ev.delRead = adapter_del_read;
	ac->ev.addWrite = adapter_add_write;
	ac->ev.delWrite = adapter_del_write;
	ac->ev.cleanup = adapter_cleanup;

	return (KORE_RESULT_OK);
}

static void
adapter_update(struct redis_adapter *a)
{
	int	events;

	if (a->dead)
		return;

	if (a->want == 0) {
		if (a->registered) {
			kore_platform_disable_read(a->fd);
			a->registered = 0;
		}
		return;
	}

	events = 0;
	if (a->want & ADAPTER_READ)
		events |= EPOLLIN;
	if (a->want & ADAPTER_WRITE)
		events |= EPOLLOUT;

	kore_platform_event_schedule(a->fd, events, 0, a);
	a->registered = 1;
}

static void
adapter_handle(void *arg, int error)
{
	struct redis_adapter	*a = arg;
	int			flags;

	flags = a->evt.flags;
	a->evt.flags = 0;

	if (a->dead)
		return;

	/* On an error hiredis finds out by reading and tears down. */
	if (error || (flags & KORE_EVENT_READ))
		redisAsyncHandleRead(a->ac);

	if (!a->dead && (flags & KORE_EVENT_WRITE))
		redisAsyncHandleWrite(a->ac);
}

static void
adapter_add_read(void *arg)
{
	struct redis_adapter	*a = arg;

	if (!(a->want & ADAPTER_READ)) {
		a->want |= ADAPTER_READ;
		adapter_update(a);
	}
}

static void
adapter_del_read(void *arg)
{
	struct redis_adapter	*a = arg;

	if (a->want & ADAPTER_READ) {
		a->want &= ~ADAPTER_READ;
		adapter_update(a);
	}
}

static void
adapter_add_write(void *arg)
{
	struct redis_adapter	*a = arg;

	if (!(a->want & ADAPTER_WRITE)) {
		a->want |= ADAPTER_WRITE;
		adapter_update(a);
	}
}

static void
adapter_del_write(void *arg)
{
	struct redis_adapter	*a = arg;

	if (a->want & ADAPTER_WRITE) {
		a->want &= ~ADAPTER_WRITE;
		adapter_update(a);
	}
}

/* Runs once, before hiredis closes the socket; may run inside HandleRead. */
static void
adapter_cleanup(void *arg)
{
	struct redis_adapter	*a = arg;

	a->want = 0;
	adapter_update(a);
	a->dead = 1;
	a->ac->ev.data = NULL;
	a->next_dead = redis.dead;
	redis.dead = a;
}
