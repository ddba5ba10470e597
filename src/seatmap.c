/*
 * seatmap: owns the freshness of every answer derived from seat states
 * (GET /api/shows/{id}/seats, GET /api/shows/{id} with seats_available).
 * Those bodies are cached in Redis; this file is the only one that knows
 * their keys. A signed-in caller's seat map (held_by_me) is cached under
 * a key of its own, "<kind><show>:u<user>:<version>:<generation>", with
 * the same version and the same TTL rule as the anonymous one, so
 * everything below holds for it too. What is stored there: for a caller
 * who holds no seat of the show, SEATMAP_SAME ("the anonymous body of
 * this version", which the lookup script then answers); otherwise the
 * caller's own body, unless it is over SEATMAP_USER_BODY_MAX (a stadium
 * per reader would crowd Redis: computed on every read).
 *
 * A hit on a body up to SEATMAP_INLINE_MAX bytes comes back from the
 * lookup script itself (one round trip); a larger one is fetched with a
 * plain GET after the script has named its key, so Redis does not copy
 * it through Lua twice.
 *
 * The rule (migrations/005_booking.up.sql) changes its answer for a show
 * in two ways only:
 *  1. a write commits (a hold, its release or extension, a booking, a
 *     cancellation, a payment transition, an admin change to the show):
 *     the writer calls seatmap_changed(show) after the commit and before
 *     it answers, which bumps the show's version (SEATMAP_VERSION_PREFIX
 *     <show>). Bodies are stored under "<kind>:<show>:<version>:<catalog
 *     generation>", so once the bump is done no reader can find a body
 *     computed before the commit: a client that got its 201/204 sees its
 *     write in its next read (read-your-writes), whichever worker or
 *     instance serves it. A reader that computed its body before the
 *     commit stores it under the old version, where nobody looks.
 *  2. time passes a deadline (a hold's expires_at, a pending booking's
 *     payment_due_at): no writer exists, so every body is stored with a
 *     TTL no later than the earliest such deadline among the seats it
 *     shows (show_seat_ttl_ms(), migration 009), and at most
 *     SEATMAP_TTL_MAX_MS. A lapse shows within the time it takes to
 *     compute the body, well under a second.
 *
 * A version key that does not exist yet is created from Redis's clock
 * (microseconds), never from 0, so a version lost with Redis's data can
 * never come back and match an old body. seatmap_changed() on a show
 * without a version does nothing: nobody cached it since Redis lost it.
 *
 * Redis is an optimisation here: when it is unreachable every read is a
 * miss served from PostgreSQL, and a bump that could not be sent is only
 * logged (the body it should have retired lapses within
 * SEATMAP_TTL_MAX_MS).
 *
 * seatmap_changed() may be called with a NULL request (a timer, a
 * callback): the bump is then fired and not waited for. It also tells the
 * live seat map (live_publish()), so one call after a commit serves both.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "live.h"
#include "redis.h"
#include "reply.h"
#include "seatmap.h"

#define SEATMAP_VERSION_PREFIX	"seatmap:v:"
#define SEATMAP_KEY_MAX		96

/*
 * KEYS: the show's version, the catalog generation; ARGV: the body's key
 * prefix, SEATMAP_INLINE_MAX, and for a signed-in caller the anonymous
 * body's prefix (else ""). Answers the body (a bulk string), or a status
 * reply: "get <key>" for a body too large to hand through Lua, "miss
 * <key>" for the key to store a new body under. SEATMAP_SAME under the
 * caller's key stands for the anonymous body of the same version; when
 * that is missing the answer is "anon <its key>": the caller's body,
 * if it shows none of their seats, is the anonymous body to store.
 */
#define SEATMAP_SAME		"="

static const char *seatmap_lookup_script =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then\n"
    "  local t = redis.call('TIME')\n"
    "  v = t[1] .. string.format('%06d', tonumber(t[2]))\n"
    "  if not redis.call('SET', KEYS[1], v, 'NX') then\n"
    "    v = redis.call('GET', KEYS[1])\n"
    "  end\n"
    "end\n"
    "local g = ':' .. v .. ':' .. (redis.call('GET', KEYS[2]) or '0')\n"
    "local k = ARGV[1] .. g\n"
    "local n = redis.call('STRLEN', k)\n"
    "if n == 1 and ARGV[3] ~= '' and\n"
    "    redis.call('GET', k) == '" SEATMAP_SAME "' then\n"
    "  local a = ARGV[3] .. g\n"
    "  local m = redis.call('STRLEN', a)\n"
    "  if m == 0 then return redis.status_reply('anon ' .. a) end\n"
    "  k = a\n"
    "  n = m\n"
    "end\n"
    "if n == 0 then return redis.status_reply('miss ' .. k) end\n"
    "if n > tonumber(ARGV[2]) then\n"
    "  return redis.status_reply('get ' .. k)\n"
    "end\n"
    "return redis.call('GET', k)\n";

/* KEYS: the show's version. */
static const char *seatmap_bump_script =
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  return redis.call('INCR', KEYS[1])\n"
    "end\n"
    "return 0\n";

static int	seatmap_fetch(struct http_request *, struct seatmap_entry *);

static const char	*seatmap_kinds[] = { NULL, "seatmap:seats:",
			    "seatmap:show:" };

/*
 * Call after a commit that changed seat states of `show`, until it stops
 * answering SEATMAP_PENDING (return HTTP_STATE_RETRY meanwhile).
 */
int
seatmap_changed(struct http_request *req, struct seatmap_entry *e,
    int64_t show)
{
	struct redis_ticket	*t;
	const char		*argv[4];
	size_t			lens[4];
	char			key[SEATMAP_KEY_MAX];
	int			i;

	if (e->state == 0) {
		/* The same news for the live seat map's watchers (live.c). */
		live_publish(show);
		(void)snprintf(key, sizeof(key), SEATMAP_VERSION_PREFIX "%lld",
		    (long long)show);
		argv[0] = "EVAL";
		argv[1] = seatmap_bump_script;
		argv[2] = "1";
		argv[3] = key;
		for (i = 0; i < 4; i++)
			lens[i] = strlen(argv[i]);
		if (!redis_commandargv(req, &t, 4, argv, lens)) {
			kore_log(LOG_NOTICE, "seatmap: could not bump show "
			    "%lld", (long long)show);
			e->state = SEATMAP_DONE;
			return (e->state);
		}
		if (req == NULL) {
			redis_ticket_release(&t);
			e->state = SEATMAP_DONE;
			return (e->state);
		}
		e->ticket = t;
		e->state = SEATMAP_PENDING;
		return (e->state);
	}

	if (e->state != SEATMAP_PENDING)
		return (e->state);
	if (redis_wait(e->ticket) == REDIS_PENDING)
		return (SEATMAP_PENDING);
	if (redis_result(e->ticket) == NULL ||
	    redis_result(e->ticket)->type == REDIS_REPLY_ERROR) {
		kore_log(LOG_NOTICE, "seatmap: bump of show %lld failed",
		    (long long)show);
	}
	redis_ticket_release(&e->ticket);
	e->state = SEATMAP_DONE;

	return (e->state);
}

/*
 * Looks a body of `kind` for `show` up, as seen by `user` (0: anonymous);
 * call until it stops answering SEATMAP_PENDING. A miss remembers where
 * seatmap_reply() may store.
 */
int
seatmap_lookup(struct http_request *req, struct seatmap_entry *e, int kind,
    int64_t show, int64_t user)
{
	const struct redis_result	*r;
	const char			*argv[8];
	size_t				lens[8];
	char				key[SEATMAP_KEY_MAX];
	char				prefix[SEATMAP_KEY_MAX];
	char				anonymous[SEATMAP_KEY_MAX];
	int				i;

	if (e->state == 0) {
		(void)snprintf(key, sizeof(key), SEATMAP_VERSION_PREFIX "%lld",
		    (long long)show);
		(void)snprintf(anonymous, sizeof(anonymous), "%s%lld",
		    seatmap_kinds[kind], (long long)show);
		if (user != 0) {
			(void)snprintf(prefix, sizeof(prefix), "%s:u%lld",
			    anonymous, (long long)user);
		} else {
			kore_strlcpy(prefix, anonymous, sizeof(prefix));
			anonymous[0] = '\0';
		}
		e->per_user = user != 0;
		argv[0] = "EVAL";
		argv[1] = seatmap_lookup_script;
		argv[2] = "2";
		argv[3] = key;
		argv[4] = CACHE_GEN_KEY;
		argv[5] = prefix;
		argv[6] = SEATMAP_XSTR(SEATMAP_INLINE_MAX);
		argv[7] = anonymous;
		for (i = 0; i < 8; i++)
			lens[i] = strlen(argv[i]);
		e->state = redis_commandargv(req, &e->ticket, 8, argv, lens) ?
		    SEATMAP_PENDING : SEATMAP_MISS;
		return (e->state);
	}

	if (e->state != SEATMAP_PENDING)
		return (e->state);

	switch (redis_wait(e->ticket)) {
	case REDIS_PENDING:
		return (SEATMAP_PENDING);
	case REDIS_READY:
		r = redis_result(e->ticket);
		if (r->type == REDIS_REPLY_STRING) {
			e->state = SEATMAP_HIT;
		} else if (r->type == REDIS_REPLY_NIL && e->fetching) {
			/* Gone between the script and the GET. */
			e->state = SEATMAP_MISS;
		} else if (r->type == REDIS_REPLY_STATUS && r->str != NULL &&
		    !e->fetching && !strncmp(r->str, "miss ", 5)) {
			e->key = kore_strdup(r->str + 5);
			e->state = SEATMAP_MISS;
		} else if (r->type == REDIS_REPLY_STATUS && r->str != NULL &&
		    !e->fetching && !strncmp(r->str, "anon ", 5)) {
			e->key = kore_strdup(r->str + 5);
			e->anonymous = 1;
			e->state = SEATMAP_MISS;
		} else if (r->type == REDIS_REPLY_STATUS && r->str != NULL &&
		    !e->fetching && !strncmp(r->str, "get ", 4)) {
			e->key = kore_strdup(r->str + 4);
			e->state = seatmap_fetch(req, e);
		} else {
			kore_log(LOG_NOTICE, "seatmap: lookup: %s",
			    r->str != NULL ? r->str : "unexpected reply");
			e->state = SEATMAP_MISS;
		}
		break;
	default:
		e->state = SEATMAP_MISS;
		break;
	}

	return (e->state);
}

/* A large body: a plain GET of the key the script named. */
static int
seatmap_fetch(struct http_request *req, struct seatmap_entry *e)
{
	const char	*argv[2];
	size_t		lens[2];

	redis_ticket_release(&e->ticket);
	e->fetching = 1;
	argv[0] = "GET";
	argv[1] = e->key;
	lens[0] = 3;
	lens[1] = strlen(e->key);

	return (redis_commandargv(req, &e->ticket, 2, argv, lens) ?
	    SEATMAP_PENDING : SEATMAP_MISS);
}

/* Answers 200 with the body seatmap_lookup() found. */
void
seatmap_reply_hit(struct http_request *req, struct seatmap_entry *e)
{
	const struct redis_result	*r = redis_result(e->ticket);
	struct kore_buf			buf;

	buf.data = (u_int8_t *)r->str;
	buf.offset = r->len;
	buf.length = r->len;
	buf.flags = 0;
	http_response_header(req, "x-cache", "hit");
	reply_buf(req, HTTP_STATUS_OK, &buf);
}

/*
 * Answers 200 with root (which it frees) and, after a miss, stores the
 * body for ttl_ms (capped at SEATMAP_TTL_MAX_MS; nothing is stored when
 * it is not positive). Not waited for: the reply frees the orphan. For a
 * signed-in caller, `mine` says whether the body shows a seat held by
 * them; if not, SEATMAP_SAME is stored instead of the body.
 */
void
seatmap_reply(struct http_request *req, struct seatmap_entry *e,
    struct kore_json_item *root, int64_t ttl_ms, int mine)
{
	struct redis_ticket	*t;
	struct kore_buf		buf;
	const char		*argv[5];
	size_t			lens[5];
	char			px[24];
	int			i, same;

	kore_buf_init(&buf, 4096);
	kore_json_item_tobuf(root, &buf);
	kore_json_item_free(root);

	if (ttl_ms > SEATMAP_TTL_MAX_MS)
		ttl_ms = SEATMAP_TTL_MAX_MS;
	/*
	 * A signed-in caller's miss stores SEATMAP_SAME if the body shows
	 * none of their seats (or, sent to the anonymous key, the body
	 * itself); their own body up to SEATMAP_USER_BODY_MAX otherwise.
	 */
	same = e->per_user && !mine && !e->anonymous;
	if (e->per_user && mine &&
	    (e->anonymous || buf.offset > SEATMAP_USER_BODY_MAX))
		ttl_ms = 0;
	if (e->key != NULL && ttl_ms > 0) {
		(void)snprintf(px, sizeof(px), "%lld", (long long)ttl_ms);
		argv[0] = "SET";
		argv[1] = e->key;
		argv[2] = same ? SEATMAP_SAME : (const char *)buf.data;
		argv[3] = "PX";
		argv[4] = px;
		for (i = 0; i < 5; i++)
			lens[i] = i == 2 && !same ? buf.offset :
			    strlen(argv[i]);
		if (redis_commandargv(req, &t, 5, argv, lens)) {
			http_request_wakeup(req);
			redis_ticket_release(&t);
		}
	}

	http_response_header(req, "x-cache", "miss");
	reply_buf(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);
}

void
seatmap_cleanup(struct seatmap_entry *e)
{
	redis_ticket_release(&e->ticket);
	kore_free(e->key);
	e->key = NULL;
	e->state = 0;
	e->fetching = 0;
	e->per_user = 0;
	e->anonymous = 0;
}
