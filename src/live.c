/*
 * live: GET /api/shows/{id}/seats/live, a show's seat map as a stream of
 * JSON text frames over WebSocket (Kore's own websocket support).
 *
 * After the upgrade a socket gets {"type": "snapshot", "show_id", "seats":
 * [{"id", "status"}]} and then {"type": "update", ...} with the seats whose
 * status changed. Where changes come from:
 * - every commit that changes seats calls seatmap_changed(show) (seatmap.c)
 *   and that calls live_publish(show), which PUBLISHes on the show's Redis
 *   channel; each worker keeps one subscriber connection of its own
 *   (live_sub.c) subscribed to the channels of the shows its sockets
 *   watch, so a change made by any worker of any instance reaches every
 *   watcher;
 * - holds and unpaid bookings lapse by the clock, with no commit: each
 *   watched show has one timer, armed for the next deadline the database
 *   reports (show_live_seats), and re-armed after every read. Shows no
 *   socket watches cost nothing.
 * A message or a timer never carries seat states: it makes the worker
 * re-read the show's seats (one statement, at most one in flight per show;
 * a change during a read marks the show dirty and reads again after), and
 * the difference from the last read is the update. Whatever was missed,
 * the next read repairs; a slow re-read (LIVE_RESYNC_MS) bounds staleness
 * if a notice is ever lost.
 *
 * A socket lives no longer than its token: live_tick() closes it (1008,
 * "token expired") when the token expires, or (1008, "session revoked")
 * when the token's session (sid) or the token itself (jti) was revoked:
 * a logout, or a refresh token used twice (sessions.c). Revocations are
 * read from their record, revoked_tokens (migrations 008 and 012), every
 * LIVE_REVOKED_MS while this worker has sockets: one statement for all of
 * them, so a revocation made by any worker of any instance closes its
 * sockets within about a second, and a worker without sockets asks
 * nothing.
 *
 * Bounds: at most config.live_max_sockets per worker (503 beyond) and
 * config.live_max_per_address per client address (peer.c: behind a
 * trusted proxy, the forwarded one) per worker (429); the kernel keeps at
 * most LIVE_SNDBUF of a socket's unsent data and a socket whose queue in
 * Kore passes config.live_queue_max is dropped (a slow reader never grows
 * the worker). Kore enforces that cap on every frame it queues, the pongs
 * it sends for a client's pings included (patches/kore-ws-send-cap.patch):
 * a client that pings and never reads is disconnected, not grown without
 * bound; live_send() checks it first only to log the slow reader. Every
 * socket is pinged every config.live_ping
 * seconds and Kore drops one that sends nothing, not even a pong, for
 * websocket_timeout.
 *
 * Redis restarts: the subscriber notices the closed connection, reconnects
 * every LIVE_TICK_MS, subscribes again, and on each confirmation re-reads
 * the show and sends every socket of it a fresh snapshot. A show that was
 * watched while the subscriber was down is read on its first
 * confirmation, and what changed meanwhile goes out as an update.
 *
 * Invariants: a live_sock is on exactly one show's list and its connection
 * points at it (c->hdlr_extra); a show exists while it has sockets; a
 * live_query whose show went away is orphaned (show = NULL) and frees
 * itself when Kore calls it back. Callbacks (pgsql, hiredis, timers,
 * websocket disconnect) may free sockets: lists are walked with the next
 * element saved first.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "token.h"
#include "live.h"
#include "live_frame.h"
#include "live_sub.h"
#include "peer.h"

#define LIVE_TICK_MS		250
#define LIVE_REVOKED_MS		1000	/* between reads of revocations */
#define LIVE_RESYNC_MS		30000
#define LIVE_RETRY_MS		1000
/* After a deadline, so the database's now() is past it too. */
#define LIVE_LAPSE_SLACK_MS	25
/*
 * The kernel's share of a live socket's unsent data; beyond it Kore
 * queues, and config.live_queue_max bounds that queue.
 */
#define LIVE_SNDBUF		(64 * 1024)

/* The sessions (sid) and tokens (jti) of $1 that were revoked. */
static const char *sql_revoked =
    "SELECT jti FROM revoked_tokens WHERE jti = ANY($1::text[])";

enum live_revoked_col {
	LIVE_REVOKED_COL_JTI,
};

/* Rows: seat id, status, ms until the next lapse (NULL: none). */
static const char *sql_seats =
    "SELECT seat_id, status, next_change_ms FROM show_live_seats($1)";

enum live_seats_col {
	LIVE_SEATS_COL_SEAT_ID,
	LIVE_SEATS_COL_STATUS,
	LIVE_SEATS_COL_NEXT_CHANGE_MS,
};

struct live_show;

struct live_sock {
	struct connection	*c;
	struct peer_ip		client;		/* peer.c: behind a proxy too */
	struct live_show	*show;
	int			want_snapshot;
	u_int64_t		expires;	/* kore_time_ms(): the token's */
	char			sid[TOKEN_SID_LEN + 1];
	char			jti[TOKEN_JTI_LEN + 1];
	TAILQ_ENTRY(live_sock)	list;
};

struct live_query {
	struct kore_pgsql	pg;
	struct live_show	*show;
	PGresult		*result;
	int			failed;
	char			id[24];
};

struct live_show {
	int64_t			id;
	TAILQ_HEAD(, live_sock)	socks;
	struct live_seat	*seats;
	size_t			nseats;
	int			known;
	/* Subscribe again after a reconnect: then send fresh snapshots. */
	int			resync;
	struct live_query	*query;
	int			dirty;
	struct kore_timer	*timer;
	u_int64_t		due;
	TAILQ_ENTRY(live_show)	list;
};

static struct {
	TAILQ_HEAD(, live_show)	shows;
	u_int32_t		nsocks;
	u_int64_t		last_ping;
	/* The read of revocations: at most one in flight. */
	struct db_bg		revoked;
	u_int64_t		revoked_next;
} live;

void	live_ws_disconnect(struct connection *);

static struct live_show	*live_show_find(int64_t);
static struct live_show	*live_show_get(int64_t);
static void	live_show_drop(struct live_show *);
static void	live_close(struct live_sock *, const char *);
static void	live_revoked_read(u_int64_t);
static void	live_revoked_rows(struct kore_pgsql *, void *);
static void	live_revoked_close(const char *);
static void	live_arm(struct live_show *, u_int64_t);
static void	live_timer(void *, u_int64_t);
static void	live_refresh(struct live_show *);
static void	live_query_start(struct live_query *);
static void	live_query_fail(struct live_query *);
static void	live_query_cb(struct kore_pgsql *, void *);
static void	live_query_done(struct live_query *);
static void	live_apply(struct live_show *, PGresult *, int);
static void	live_send(struct live_sock *, u_int8_t, const void *,
		    size_t);
static size_t	live_queued(const struct connection *);

static void	live_tick(void *, u_int64_t);
static void	live_sub_event(int64_t, int);

void
live_worker_init(void)
{
	TAILQ_INIT(&live.shows);
	live.nsocks = 0;
	live.last_ping = kore_time_ms();
	db_bg_init(&live.revoked, live_revoked_rows, NULL);
	live_sub_init(live_sub_event);
	/* Every frame Kore queues counts, its pongs too. */
	kore_websocket_queue_max = (u_int64_t)config.live_queue_max;

	(void)kore_timer_add(live_tick, LIVE_TICK_MS, NULL, 0);
}

/* Live sockets of this worker. */
u_int32_t
live_sockets(void)
{
	return (live.nsocks);
}

/* After a commit that changed seats of show_id (live_sub.c). */
void
live_publish(int64_t show_id)
{
	live_sub_publish(show_id);
}

/* Sockets of this worker from a client address (peer.c). */
int
live_address_count(const struct peer_ip *ip)
{
	struct live_show	*s;
	struct live_sock	*k;
	int			n;

	n = 0;
	TAILQ_FOREACH(s, &live.shows, list) {
		TAILQ_FOREACH(k, &s->socks, list) {
			if (k->client.family == ip->family &&
			    !memcmp(k->client.bytes, ip->bytes,
			    sizeof(ip->bytes)))
				n++;
		}
	}

	return (n);
}

/*
 * A socket just upgraded joins the show's watchers (live_upgrade.c),
 * for as long as the caller's access token (its claims) is good.
 */
void
live_attach(struct connection *c, int64_t show_id,
    const struct peer_ip *client, const struct token_claims *claims)
{
	struct live_show	*s;
	struct live_sock	*k;
	struct kore_buf		buf;
	int			bufsize;

	bufsize = LIVE_SNDBUF;
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
	    sizeof(bufsize)) == -1)
		kore_log(LOG_NOTICE, "live: SO_SNDBUF: %s", errno_s);

	s = live_show_get(show_id);
	k = kore_calloc(1, sizeof(*k));
	k->c = c;
	k->client = *client;
	k->show = s;
	k->expires = kore_time_ms() + (claims->exp > time(NULL) ?
	    (u_int64_t)(claims->exp - time(NULL)) * 1000 : 0);
	(void)kore_strlcpy(k->sid, claims->sid, sizeof(k->sid));
	(void)kore_strlcpy(k->jti, claims->jti, sizeof(k->jti));
	c->hdlr_extra = k;
	TAILQ_INSERT_TAIL(&s->socks, k, list);
	live.nsocks++;

	if (s->known) {
		kore_buf_init(&buf, 64 + s->nseats * 40);
		live_frame(&buf, "snapshot", s->id, s->seats, s->nseats, NULL);
		live_send(k, WEBSOCKET_OP_TEXT, buf.data, buf.offset);
		kore_buf_cleanup(&buf);
	} else {
		k->want_snapshot = 1;
		live_refresh(s);
	}
}

/*
 * The socket's token expired or was revoked: a close frame with 1008
 * (policy violation) and the reason, and the socket leaves its show at
 * once (no more frames; k is freed); Kore closes the connection when the
 * client answers the close, or websocket_timeout after. A client
 * reconnects with a fresh token.
 */
static void
live_close(struct live_sock *k, const char *reason)
{
	struct connection	*c = k->c;
	char			frame[64];
	size_t			len;

	live_ws_disconnect(c);
	if (c->state != CONN_STATE_ESTABLISHED ||
	    (c->flags & CONN_WS_CLOSE_SENT))
		return;

	frame[0] = (char)(1008 >> 8);
	frame[1] = (char)(1008 & 0xff);
	len = kore_strlcpy(frame + 2, reason, sizeof(frame) - 2);
	if (len >= sizeof(frame) - 2)
		len = sizeof(frame) - 3;
	c->flags |= CONN_WS_CLOSE_SENT;
	kore_websocket_send(c, WEBSOCKET_OP_CLOSE, frame, len + 2);
}

/*
 * Starts the read of which of the sockets' sessions and tokens were
 * revoked (live_revoked_rows() gets the answer); one that cannot start
 * now is tried at the next tick.
 */
static void
live_revoked_read(u_int64_t now)
{
	struct live_show	*s;
	struct live_sock	*k;
	struct kore_buf		ids;
	const char		*params[1];

	(void)db_bg_reap(&live.revoked);
	if (live.revoked.busy || live.nsocks == 0 || now < live.revoked_next)
		return;
	live.revoked_next = now + LIVE_REVOKED_MS;

	/* An array literal of ids from signed tokens: hex digits, dashes. */
	kore_buf_init(&ids, 64 + live.nsocks * (TOKEN_SID_LEN +
	    TOKEN_JTI_LEN + 2));
	kore_buf_append(&ids, "{", 1);
	TAILQ_FOREACH(s, &live.shows, list) {
		TAILQ_FOREACH(k, &s->socks, list) {
			if (token_sid_valid(k->sid))
				kore_buf_appendf(&ids, "%s%s",
				    ids.offset > 1 ? "," : "", k->sid);
			if (strspn(k->jti, "0123456789abcdef") ==
			    TOKEN_JTI_LEN)
				kore_buf_appendf(&ids, "%s%s",
				    ids.offset > 1 ? "," : "", k->jti);
		}
	}
	kore_buf_append(&ids, "}", 1);

	params[0] = kore_buf_stringify(&ids, NULL);
	(void)db_bg_start(&live.revoked, sql_revoked, 1, params);
	kore_buf_cleanup(&ids);
}

/* The revoked ids among the sockets'. */
static void
live_revoked_rows(struct kore_pgsql *pg, void *arg)
{
	int	i;

	for (i = 0; i < kore_pgsql_ntuples(pg); i++)
		live_revoked_close(kore_pgsql_getvalue(pg, i,
		    LIVE_REVOKED_COL_JTI));
}

/* Closes every socket opened with the revoked session or token id. */
static void
live_revoked_close(const char *id)
{
	struct live_show	*s, *snext;
	struct live_sock	*k, *knext;

	for (s = TAILQ_FIRST(&live.shows); s != NULL; s = snext) {
		snext = TAILQ_NEXT(s, list);
		/* The last socket of s may go here, and s with it. */
		for (k = TAILQ_FIRST(&s->socks); k != NULL; k = knext) {
			knext = TAILQ_NEXT(k, list);
			if (!strcmp(k->sid, id) || !strcmp(k->jti, id))
				live_close(k, "session revoked");
		}
	}
}

/* Kore calls this when a live socket goes, whatever the reason. */
void
live_ws_disconnect(struct connection *c)
{
	struct live_sock	*k = c->hdlr_extra;
	struct live_show	*s;

	if (k == NULL)
		return;

	c->hdlr_extra = NULL;
	s = k->show;
	TAILQ_REMOVE(&s->socks, k, list);
	live.nsocks--;
	kore_free(k);

	if (TAILQ_EMPTY(&s->socks))
		live_show_drop(s);
}

static struct live_show *
live_show_find(int64_t id)
{
	struct live_show	*s;

	TAILQ_FOREACH(s, &live.shows, list) {
		if (s->id == id)
			return (s);
	}

	return (NULL);
}

static struct live_show *
live_show_get(int64_t id)
{
	struct live_show	*s;

	if ((s = live_show_find(id)) != NULL)
		return (s);

	s = kore_calloc(1, sizeof(*s));
	s->id = id;
	TAILQ_INIT(&s->socks);
	TAILQ_INSERT_TAIL(&live.shows, s, list);

	live_sub_subscribe(id);

	return (s);
}

/* The last socket went: unsubscribe and forget the show. */
static void
live_show_drop(struct live_show *s)
{
	struct live_query	*q;

	TAILQ_REMOVE(&live.shows, s, list);

	live_sub_unsubscribe(s->id);

	if (s->timer != NULL)
		kore_timer_remove(s->timer);

	if ((q = s->query) != NULL) {
		if (q->pg.conn == NULL) {
			/* Still waiting for a connection. */
			kore_pgsql_cleanup(&q->pg);
			kore_free(q);
		} else {
			q->show = NULL;
		}
	}

	kore_free(s->seats);
	kore_free(s);
}

/* Read the show again in at most ms (never later than already due). */
static void
live_arm(struct live_show *s, u_int64_t ms)
{
	u_int64_t	now, due;

	now = kore_time_ms();
	due = now + ms;
	if (s->timer != NULL) {
		if (s->due <= due)
			return;
		kore_timer_remove(s->timer);
	}

	s->due = due;
	s->timer = kore_timer_add(live_timer, ms, s, KORE_TIMER_ONESHOT);
}

static void
live_timer(void *arg, u_int64_t now)
{
	struct live_show	*s = arg;

	/* Kore frees a oneshot timer after this returns. */
	s->timer = NULL;
	live_refresh(s);
}

static void
live_refresh(struct live_show *s)
{
	struct live_query	*q;

	if (s->query != NULL) {
		s->dirty = 1;
		return;
	}

	q = kore_calloc(1, sizeof(*q));
	q->show = s;
	(void)snprintf(q->id, sizeof(q->id), "%lld", (long long)s->id);
	kore_pgsql_init(&q->pg);
	kore_pgsql_bind_callback(&q->pg, live_query_cb, q);
	s->query = q;

	live_query_start(q);
}

static void
live_query_start(struct live_query *q)
{
	const char	*params[1];
	int		lengths[1], formats[1];

	if (!kore_pgsql_setup(&q->pg, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* Queued for a connection: Kore calls back in state INIT. */
		if (q->pg.state == KORE_PGSQL_STATE_INIT && q->pg.error == NULL)
			return;
		live_query_fail(q);
		return;
	}

	params[0] = q->id;
	lengths[0] = strlen(q->id);
	formats[0] = 0;
	if (!kore_pgsql_query_param_fields(&q->pg, sql_seats, 0, 1, params,
	    lengths, formats))
		live_query_fail(q);
}

static void
live_query_fail(struct live_query *q)
{
	q->failed = 1;
	kore_pgsql_logerror(&q->pg);

	/* Releasing a connection calls back in state COMPLETE. */
	if (q->pg.conn != NULL)
		kore_pgsql_cleanup(&q->pg);
	else
		live_query_done(q);
}

static void
live_query_cb(struct kore_pgsql *pg, void *arg)
{
	struct live_query	*q = arg;

	switch (pg->state) {
	case KORE_PGSQL_STATE_INIT:
		live_query_start(q);
		return;
	case KORE_PGSQL_STATE_WAIT:
		return;
	case KORE_PGSQL_STATE_COMPLETE:
		live_query_done(q);
		return;
	case KORE_PGSQL_STATE_RESULT:
		if (q->result != NULL)
			PQclear(q->result);
		q->result = pg->result;
		pg->result = NULL;
		break;
	case KORE_PGSQL_STATE_ERROR:
		q->failed = 1;
		kore_pgsql_logerror(pg);
		if (db_pgsql_lost(pg))
			return;		/* live_tick() releases it */
		break;
	default:
		break;
	}

	kore_pgsql_continue(pg);
}

/* The statement is over and its connection released; q goes. */
static void
live_query_done(struct live_query *q)
{
	struct live_show	*s = q->show;
	int			dirty;

	if (s != NULL) {
		s->query = NULL;
		dirty = s->dirty;
		s->dirty = 0;
		/* live_apply may drop the show: nothing touches s after. */
		if (!q->failed && q->result != NULL)
			live_apply(s, q->result, dirty);
		else
			live_arm(s, dirty ? 0 : LIVE_RETRY_MS);
	}

	if (q->result != NULL)
		PQclear(q->result);
	kore_pgsql_cleanup(&q->pg);
	kore_free(q);
}

/*
 * The show's seats as just read: the timer for the next lapse (or at once
 * when a change came in while reading: dirty), then snapshots to sockets
 * that want one and the changed seats to the others. Sending may drop
 * slow sockets, and with the last of them the show: s is not touched
 * after the sends.
 */
static void
live_apply(struct live_show *s, PGresult *res, int dirty)
{
	struct live_sock	*k, *next;
	struct live_seat	*seats;
	struct kore_buf		snap, upd;
	int			*changed, nchanged, full, err, want;
	int64_t			ms;
	size_t			i, n;

	n = PQntuples(res);
	seats = kore_calloc(n > 0 ? n : 1, sizeof(*seats));
	changed = kore_calloc(n > 0 ? n : 1, sizeof(*changed));
	for (i = 0; i < n; i++) {
		seats[i].id = (int64_t)kore_strtonum64(PQgetvalue(res, i,
		    LIVE_SEATS_COL_SEAT_ID), 1, &err);
		seats[i].status = live_status_code(PQgetvalue(res, i,
		    LIVE_SEATS_COL_STATUS));
	}

	/* Seats of a show never change; if they did, everyone starts over. */
	full = !s->known || s->nseats != n;
	nchanged = 0;
	for (i = 0; !full && i < n; i++) {
		if (s->seats[i].id != seats[i].id)
			full = 1;
		else if (s->seats[i].status != seats[i].status)
			changed[nchanged++] = i;
	}
	want = 0;
	TAILQ_FOREACH(k, &s->socks, list) {
		if (full)
			k->want_snapshot = 1;
		want |= k->want_snapshot;
	}

	/* A snapshot of a big show is large: only built when wanted. */
	kore_buf_init(&snap, want ? 64 + n * 40 : 16);
	kore_buf_init(&upd, 64 + nchanged * 40);
	if (want)
		live_frame(&snap, "snapshot", s->id, seats, n, NULL);
	if (nchanged > 0)
		live_frame(&upd, "update", s->id, seats, nchanged, changed);

	kore_free(s->seats);
	s->seats = seats;
	s->nseats = n;
	s->known = 1;

	ms = LIVE_RESYNC_MS;
	if (n > 0 && !PQgetisnull(res, 0, LIVE_SEATS_COL_NEXT_CHANGE_MS)) {
		ms = (int64_t)kore_strtonum64(PQgetvalue(res, 0,
		    LIVE_SEATS_COL_NEXT_CHANGE_MS), 1, &err);
		ms = ms < 0 ? 0 : ms + LIVE_LAPSE_SLACK_MS;
		if (ms > LIVE_RESYNC_MS)
			ms = LIVE_RESYNC_MS;
	}
	live_arm(s, dirty ? 0 : (u_int64_t)ms);

	for (k = TAILQ_FIRST(&s->socks); k != NULL; k = next) {
		next = TAILQ_NEXT(k, list);
		if (k->want_snapshot) {
			k->want_snapshot = 0;
			live_send(k, WEBSOCKET_OP_TEXT, snap.data, snap.offset);
		} else if (nchanged > 0) {
			live_send(k, WEBSOCKET_OP_TEXT, upd.data, upd.offset);
		}
	}

	kore_buf_cleanup(&snap);
	kore_buf_cleanup(&upd);
	kore_free(changed);
}

/* Bytes queued on the connection and not yet written. */
static size_t
live_queued(const struct connection *c)
{
	return (c->send_queued);
}

/*
 * One frame to one socket, unless the reader is too slow: then the socket
 * is dropped (and k freed, by live_ws_disconnect).
 */
static void
live_send(struct live_sock *k, u_int8_t op, const void *data, size_t len)
{
	struct connection	*c = k->c;

	if (c->state != CONN_STATE_ESTABLISHED)
		return;

	if (live_queued(c) > (size_t)config.live_queue_max) {
		kore_log(LOG_NOTICE, "live: dropping a slow reader of show "
		    "%lld", (long long)k->show->id);
		kore_connection_disconnect(c);
		return;
	}

	kore_websocket_send(c, op, data, len);
}

/*
 * Keeps the subscriber connected, pings every socket now and then, and
 * retires reads whose connection Kore dropped: Kore's pgsql does not call
 * a callback-bound statement back when its connection fails.
 */
static void
live_tick(void *arg, u_int64_t now)
{
	struct live_show	*s, *snext;
	struct live_sock	*k, *knext;
	struct live_query	*q;

	TAILQ_FOREACH(s, &live.shows, list) {
		if ((q = s->query) == NULL ||
		    q->pg.state != KORE_PGSQL_STATE_ERROR ||
		    !db_pgsql_lost(&q->pg))
			continue;
		kore_pgsql_logerror(&q->pg);
		/* Released here, not in live_query_done(): no call back. */
		q->pg.cb = NULL;
		kore_pgsql_cleanup(&q->pg);
		if (q->result != NULL)
			PQclear(q->result);
		kore_free(q);
		s->query = NULL;
		s->dirty = 0;
		live_arm(s, LIVE_RETRY_MS);
	}

	if (!TAILQ_EMPTY(&live.shows) && live_sub_connect(now)) {
		TAILQ_FOREACH(s, &live.shows, list)
			live_sub_subscribe(s->id);
	}

	/* A socket lives no longer than the token it was opened with. */
	for (s = TAILQ_FIRST(&live.shows); s != NULL; s = snext) {
		snext = TAILQ_NEXT(s, list);
		for (k = TAILQ_FIRST(&s->socks); k != NULL; k = knext) {
			knext = TAILQ_NEXT(k, list);
			if (k->expires <= now)
				live_close(k, "token expired");
		}
	}
	live_revoked_read(now);

	if (now - live.last_ping < (u_int64_t)config.live_ping * 1000)
		return;
	live.last_ping = now;

	for (s = TAILQ_FIRST(&live.shows); s != NULL; s = snext) {
		snext = TAILQ_NEXT(s, list);
		/* The last socket of s may go here, and s with it. */
		for (k = TAILQ_FIRST(&s->socks); k != NULL; k = knext) {
			knext = TAILQ_NEXT(k, list);
			live_send(k, WEBSOCKET_OP_PING, NULL, 0);
		}
	}
}

/*
 * What the subscriber hears (live_sub.c). A confirmation may follow a
 * reconnect, after which changes may have been missed: the show is read
 * again and every socket of it gets a fresh snapshot. A change: read
 * again, send the difference. A lost connection: every show subscribes
 * again on the next one, and resyncs.
 */
static void
live_sub_event(int64_t id, int what)
{
	struct live_show	*s;
	struct live_sock	*k;

	if (what == LIVE_SUB_LOST) {
		TAILQ_FOREACH(s, &live.shows, list)
			s->resync = 1;
		return;
	}

	if ((s = live_show_find(id)) == NULL)
		return;

	switch (what) {
	case LIVE_SUB_SUBSCRIBED:
		if (s->resync) {
			s->resync = 0;
			TAILQ_FOREACH(k, &s->socks, list)
				k->want_snapshot = 1;
		}
		live_refresh(s);
		break;
	case LIVE_SUB_CHANGED:
		live_refresh(s);
		break;
	case LIVE_SUB_UNSUBSCRIBED:
		/*
		 * The show went and came back before Redis confirmed its
		 * unsubscription; hiredis forgets the channel's callback on
		 * this reply, so subscribe again.
		 */
		live_sub_subscribe(s->id);
		break;
	}
}
