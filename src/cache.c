/*
 * cache: Redis-backed bodies of public catalog reads.
 *
 * The cache shares its Redis with security state (the deny list, login
 * and rate counters, idempotency records), which must never be evicted:
 * that Redis runs with maxmemory-policy noeviction, so the cache bounds
 * itself instead of relying on eviction. It has config.cache_slots keys,
 * "cache:catalog:slot:<n>", and no others: a request's slot is a hash of
 * its canonical form ("<path>?<params>", below), and the slot holds
 * "<gen>\n<canonical form>\n<body>" for the last request stored there.
 * A lookup hits only when both the generation and the canonical form
 * match; a store overwrites the slot. Bodies over config.cache_body_max
 * bytes are not stored. The cache's memory is thus at most cache_slots
 * times cache_body_max (16 MB by default), whatever a client asks for:
 * a flood of distinct queries only overwrites slots, and never touches
 * anything else in Redis.
 *
 * <gen> is the integer in CACHE_GEN_KEY (absent means 0), <path> was
 * validated by its handler (ids through v_id) and <params> is what the
 * handler declared with cache_param(), in its own fixed order: validated
 * values, defaults filled in, percent-escaped. The raw query string never
 * reaches a key, so parameters the route ignores (?junk=N) or spellings
 * of the same request (?limit=20 or none) share one entry. A handler
 * calls cache_skip() for a request that is not worth a slot (catalog.c:
 * a long search, a page at an arbitrary offset). A catalog write commits
 * first and then INCRs CACHE_GEN_KEY, so a reader that sees the new
 * generation started its query after the commit; a body of an older
 * generation never matches again, and expires after CACHE_TTL_SECONDS.
 *
 * A lookup is one round trip: CACHE_LOOKUP_SCRIPT reads the generation
 * and the slot together and answers the body (a hit) or the generation (a
 * miss, as an integer). Only 200 bodies are stored; the store is fired and
 * forgotten, its ticket orphaned so the reply frees it. Nothing here ever
 * fails a request: when Redis is unreachable (or full) every lookup is a
 * miss and every store is dropped.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "redis.h"
#include "reply.h"

#define CACHE_PREFIX		"cache:catalog:slot:"

/* KEYS: the generation, the slot; ARGV: the canonical form. */
static const char *cache_lookup_script =
    "local g = redis.call('GET', KEYS[1]) or '0'\n"
    "local v = redis.call('GET', KEYS[2])\n"
    "local p = g .. '\\n' .. ARGV[1] .. '\\n'\n"
    "if v and string.sub(v, 1, #p) == p then\n"
    "  return string.sub(v, #p + 1)\n"
    "end\n"
    "return tonumber(g)\n";

#define CACHE_STR(x)		#x
#define CACHE_XSTR(x)		CACHE_STR(x)

static char	*cache_suffix(const char *, const char *);
static const char	*cache_params(const struct cache_entry *);

/*
 * Declares one parameter of the request's key, after validation. A NULL
 * value (absent) still takes its place, so "a absent, b=x" and "a=x, b
 * absent" differ.
 */
void
cache_param(struct cache_entry *c, const char *name, const char *value)
{
	const unsigned char	*p;

	if (c->params == NULL)
		c->params = kore_buf_alloc(64);
	if (c->params->offset > 0)
		kore_buf_append(c->params, "&", 1);
	kore_buf_appendf(c->params, "%s", name);
	if (value == NULL)
		return;

	kore_buf_append(c->params, "=", 1);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			kore_buf_append(c->params, p, 1);
		else
			kore_buf_appendf(c->params, "%%%02X", *p);
	}
}

static const char *
cache_params(const struct cache_entry *c)
{
	if (c->params == NULL)
		return (NULL);

	return (kore_buf_stringify(c->params, NULL));
}

/* "<path>?<params>", or the path alone; the caller frees it. */
static char *
cache_suffix(const char *path, const char *query)
{
	struct kore_buf		buf;
	char			*s;

	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, "%s", path);
	if (query != NULL && *query != '\0')
		kore_buf_appendf(&buf, "?%s", query);
	s = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);

	return (s);
}

/* The slot of a canonical form: FNV-1a, the same in every process. */
char *
cache_key(const char *path, const char *query)
{
	const unsigned char	*p;
	u_int64_t		h;
	char			*suffix, *s;
	size_t			len;

	suffix = cache_suffix(path, query);
	h = 0xcbf29ce484222325ULL;
	for (p = (const unsigned char *)suffix; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	kore_free(suffix);

	len = sizeof(CACHE_PREFIX) + 24;
	s = kore_malloc(len);
	(void)snprintf(s, len, CACHE_PREFIX "%llu", (unsigned long long)(h %
	    (u_int64_t)(config.cache_slots > 0 ? config.cache_slots : 1)));

	return (s);
}

/* This request is neither looked up nor stored. */
void
cache_skip(struct cache_entry *c)
{
	c->skip = 1;
}

/* Call until it stops answering CACHE_PENDING (then return RETRY). */
int
cache_lookup(struct http_request *req, struct cache_entry *c)
{
	const struct redis_result	*r;
	const char			*argv[6];
	size_t				lens[6];
	char				*path, *key;
	int				i, ok;

	if (c->state == 0) {
		c->gen = -1;
		if (c->skip) {
			c->state = CACHE_MISS;
			return (c->state);
		}
		path = cache_suffix(req->path, cache_params(c));
		key = cache_key(req->path, cache_params(c));
		argv[0] = "EVAL";
		argv[1] = cache_lookup_script;
		argv[2] = "2";
		argv[3] = CACHE_GEN_KEY;
		argv[4] = key;
		argv[5] = path;
		for (i = 0; i < 6; i++)
			lens[i] = strlen(argv[i]);
		ok = redis_commandargv(req, &c->ticket, 6, argv, lens);
		kore_free(path);
		kore_free(key);
		c->state = ok ? CACHE_PENDING : CACHE_MISS;
		return (c->state);
	}

	if (c->state != CACHE_PENDING)
		return (c->state);

	switch (redis_wait(c->ticket)) {
	case REDIS_PENDING:
		return (CACHE_PENDING);
	case REDIS_READY:
		r = redis_result(c->ticket);
		if (r->type == REDIS_REPLY_STRING) {
			c->state = CACHE_HIT;
		} else if (r->type == REDIS_REPLY_INTEGER) {
			c->gen = r->integer;
			c->state = CACHE_MISS;
		} else {
			kore_log(LOG_NOTICE, "cache: lookup: %s",
			    r->str != NULL ? r->str : "unexpected reply");
			c->state = CACHE_MISS;
		}
		break;
	default:
		c->state = CACHE_MISS;
		break;
	}

	return (c->state);
}

/* Answers 200 with the body cache_lookup() found. */
void
cache_reply_hit(struct http_request *req, struct cache_entry *c)
{
	const struct redis_result	*r = redis_result(c->ticket);
	struct kore_buf			buf;

	kore_buf_init(&buf, r->len + 1);
	kore_buf_append(&buf, r->str, r->len);
	http_response_header(req, "x-cache", "hit");
	reply_buf(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);
}

/* Answers 200 with root (which it frees) and stores the body. */
void
cache_reply(struct http_request *req, struct cache_entry *c,
    struct kore_json_item *root)
{
	struct redis_ticket	*t;
	struct kore_buf		buf, slot;
	const char		*argv[5];
	size_t			lens[5];
	char			*key, *suffix;
	int			i;

	kore_buf_init(&buf, 1024);
	kore_json_item_tobuf(root, &buf);
	kore_json_item_free(root);

	if (c->gen >= 0 && !c->skip &&
	    buf.offset <= (size_t)config.cache_body_max) {
		key = cache_key(req->path, cache_params(c));
		suffix = cache_suffix(req->path, cache_params(c));
		kore_buf_init(&slot, buf.offset + 128);
		kore_buf_appendf(&slot, "%lld\n%s\n", c->gen, suffix);
		kore_buf_append(&slot, buf.data, buf.offset);
		argv[0] = "SET";
		argv[1] = key;
		argv[2] = (const char *)slot.data;
		argv[3] = "EX";
		argv[4] = CACHE_XSTR(CACHE_TTL_SECONDS);
		for (i = 0; i < 5; i++)
			lens[i] = i == 2 ? slot.offset : strlen(argv[i]);
		if (redis_commandargv(req, &t, 5, argv, lens)) {
			/* Not waited for: the reply frees the orphan. */
			http_request_wakeup(req);
			redis_ticket_release(&t);
		}
		kore_buf_cleanup(&slot);
		kore_free(suffix);
		kore_free(key);
	}

	http_response_header(req, "x-cache", "miss");
	reply_buf(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);
}

/*
 * Makes every cached body stale; call after the write committed, until it
 * stops answering CACHE_PENDING. Without Redis there is nothing to do.
 */
int
cache_invalidate(struct http_request *req, struct cache_entry *c)
{
	if (c->state == 0) {
		c->state = redis_command(req, &c->ticket, "INCR %s",
		    CACHE_GEN_KEY) ? CACHE_PENDING : CACHE_DONE;
		return (c->state);
	}

	if (c->state == CACHE_PENDING &&
	    redis_wait(c->ticket) == REDIS_PENDING)
		return (CACHE_PENDING);

	if (c->state == CACHE_PENDING && redis_result(c->ticket) == NULL)
		kore_log(LOG_NOTICE, "cache: invalidation failed");
	c->state = CACHE_DONE;

	return (c->state);
}

void
cache_cleanup(struct cache_entry *c)
{
	redis_ticket_release(&c->ticket);
	if (c->params != NULL) {
		kore_buf_free(c->params);
		c->params = NULL;
	}
	c->state = 0;
	c->gen = -1;
	c->skip = 0;
}
