/*
 * live_sub: the live seat map's Redis publish and subscribe.
 *
 * live_sub_publish() PUBLISHes a show's id on "booking:seats:<show>" with
 * the ordinary connection (redis.c). The subscriber is a connection of
 * its own per worker (hiredis async on Kore's loop, the adapter of
 * redis.c): live.c asks for it with live_sub_connect() while shows are
 * watched and it is down (at most every LIVE_SUB_RETRY_MS), and
 * subscribes each watched show. Replies become calls of the callback of
 * live_sub_init(): a subscription confirmed (also after a reconnect, when
 * changes may have been missed), a change, an unsubscription confirmed,
 * or the connection lost. A message never carries seat states: live.c
 * reads them again.
 *
 * A failed connect is logged once until a connection works again.
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include <stdio.h>
#include <string.h>

#include "live_sub.h"
#include "redis.h"

#define LIVE_SUB_PREFIX		"booking:seats:"
#define LIVE_SUB_CHANNEL_MAX	64
#define LIVE_SUB_RETRY_MS	250

static struct {
	redisAsyncContext	*sub;
	u_int64_t		last_connect;
	int			down_logged;
	void			(*cb)(int64_t, int);
} live_sub;

static void	live_sub_channel(int64_t, char *, size_t);
static void	live_sub_on_connect(const redisAsyncContext *, int);
static void	live_sub_on_disconnect(const redisAsyncContext *, int);
static void	live_sub_on_message(redisAsyncContext *, void *, void *);

void
live_sub_init(void (*cb)(int64_t, int))
{
	live_sub.sub = NULL;
	live_sub.last_connect = 0;
	live_sub.down_logged = 0;
	live_sub.cb = cb;
}

/*
 * Best effort: with Redis down the watchers' next timed re-read (or the
 * resubscription once Redis is back) brings them up to date.
 */
void
live_sub_publish(int64_t show_id)
{
	char	channel[LIVE_SUB_CHANNEL_MAX], id[24];

	live_sub_channel(show_id, channel, sizeof(channel));
	(void)snprintf(id, sizeof(id), "%lld", (long long)show_id);

	if (!redis_publish(channel, id))
		kore_log(LOG_NOTICE, "live: cannot publish show %s", id);
}

/*
 * A new subscriber connection when there is none and the last attempt is
 * old enough; 1 when one was opened (the caller subscribes its shows).
 */
int
live_sub_connect(u_int64_t now)
{
	if (live_sub.sub != NULL ||
	    now - live_sub.last_connect < LIVE_SUB_RETRY_MS)
		return (0);

	live_sub.last_connect = kore_time_ms();
	if ((live_sub.sub = redis_open()) == NULL)
		return (0);

	redisAsyncSetConnectCallback(live_sub.sub, live_sub_on_connect);
	redisAsyncSetDisconnectCallback(live_sub.sub, live_sub_on_disconnect);
	return (1);
}

void
live_sub_subscribe(int64_t show_id)
{
	char	channel[LIVE_SUB_CHANNEL_MAX];

	if (live_sub.sub == NULL)
		return;

	live_sub_channel(show_id, channel, sizeof(channel));
	if (redisAsyncCommand(live_sub.sub, live_sub_on_message, NULL,
	    "SUBSCRIBE %s", channel) != REDIS_OK)
		kore_log(LOG_NOTICE, "live: cannot subscribe %s", channel);
}

void
live_sub_unsubscribe(int64_t show_id)
{
	char	channel[LIVE_SUB_CHANNEL_MAX];

	if (live_sub.sub == NULL)
		return;

	live_sub_channel(show_id, channel, sizeof(channel));
	(void)redisAsyncCommand(live_sub.sub, NULL, NULL, "UNSUBSCRIBE %s",
	    channel);
}

static void
live_sub_channel(int64_t show_id, char *channel, size_t len)
{
	(void)snprintf(channel, len, LIVE_SUB_PREFIX "%lld",
	    (long long)show_id);
}

static void
live_sub_on_connect(const redisAsyncContext *ac, int status)
{
	if (status == REDIS_OK) {
		live_sub.down_logged = 0;
		return;
	}

	if (!live_sub.down_logged) {
		kore_log(LOG_NOTICE, "live: subscriber: %s", ac->errstr);
		live_sub.down_logged = 1;
	}
	if (live_sub.sub == ac)
		live_sub.sub = NULL;
}

static void
live_sub_on_disconnect(const redisAsyncContext *ac, int status)
{
	kore_log(LOG_NOTICE, "live: subscriber disconnected%s%s",
	    status != REDIS_OK ? ": " : "", status != REDIS_OK ?
	    ac->errstr : "");
	if (live_sub.sub == ac)
		live_sub.sub = NULL;

	live_sub.cb(0, LIVE_SUB_LOST);
}

/* Subscription confirmations and messages, by the show in the channel. */
static void
live_sub_on_message(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply		*reply = r;
	const char		*kind, *channel;
	int64_t			id;
	int			err;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING)
		return;

	kind = reply->element[0]->str;
	channel = reply->element[1]->str;
	if (strncmp(channel, LIVE_SUB_PREFIX, sizeof(LIVE_SUB_PREFIX) - 1))
		return;
	id = (int64_t)kore_strtonum64(channel + sizeof(LIVE_SUB_PREFIX) - 1,
	    1, &err);
	if (err != KORE_RESULT_OK)
		return;

	if (!strcmp(kind, "subscribe"))
		live_sub.cb(id, LIVE_SUB_SUBSCRIBED);
	else if (!strcmp(kind, "message"))
		live_sub.cb(id, LIVE_SUB_CHANGED);
	else if (!strcmp(kind, "unsubscribe"))
		live_sub.cb(id, LIVE_SUB_UNSUBSCRIBED);
}
