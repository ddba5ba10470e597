/*
 * cache: Redis-backed bodies of public catalog reads.
 *
 * The key of a body is "cache:catalog:<gen>:<path>?<params>", where <gen>
 * is the integer in CACHE_GEN_KEY (absent means 0), <path> was validated
 * by its handler (ids through v_id) and <params> is what the handler
 * declared with cache_param(), in its own fixed order: validated values,
 * defaults filled in, percent-escaped. The raw query string never reaches
 * a key, so parameters the route ignores (?junk=N) or spellings of the
 * same request (?limit=20 or none) share one entry: the number of keys is
 * bounded by the number of distinct valid requests, and Redis's maxmemory
 * with an LRU policy bounds their bytes. A catalog write
 * commits first and then INCRs CACHE_GEN_KEY, so a reader that sees the
 * new generation started its query after the commit; bodies of older
 * generations are never read again and expire after CACHE_TTL_SECONDS.
 *
 * A lookup is one round trip: CACHE_LOOKUP_SCRIPT reads the generation
 * and the body together and answers the body (a hit) or the generation (a
 * miss, as an integer). Only 200 bodies are stored; the store is fired and
 * forgotten, its ticket orphaned so the reply frees it. Nothing here ever
 * fails a request: when Redis is unreachable every lookup is a miss.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "redis.h"
#include "reply.h"

#define CACHE_PREFIX		"cache:catalog:"

static const char *cache_lookup_script =
    "local g = redis.call('GET', KEYS[1]) or '0'\n"
    "local v = redis.call('GET', '" CACHE_PREFIX "' .. g .. ':' .. ARGV[1])\n"
    "if v then return v end\n"
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

char *
cache_key(long long gen, const char *path, const char *query)
{
	struct kore_buf		buf;
	char			*suffix, *s;

	suffix = cache_suffix(path, query);
	kore_buf_init(&buf, 128);
	kore_buf_appendf(&buf, CACHE_PREFIX "%lld:%s", gen, suffix);
	s = kore_strdup(kore_buf_stringify(&buf, NULL));
	kore_buf_cleanup(&buf);
	kore_free(suffix);

	return (s);
}

/* Call until it stops answering CACHE_PENDING (then return RETRY). */
int
cache_lookup(struct http_request *req, struct cache_entry *c)
{
	const struct redis_result	*r;
	const char			*argv[5];
	size_t				lens[5];
	char				*path;
	int				i, ok;

	if (c->state == 0) {
		c->gen = -1;
		path = cache_suffix(req->path, cache_params(c));
		argv[0] = "EVAL";
		argv[1] = cache_lookup_script;
		argv[2] = "1";
		argv[3] = CACHE_GEN_KEY;
		argv[4] = path;
		for (i = 0; i < 5; i++)
			lens[i] = strlen(argv[i]);
		ok = redis_commandargv(req, &c->ticket, 5, argv, lens);
		kore_free(path);
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
	struct kore_buf		buf;
	const char		*argv[5];
	size_t			lens[5];
	char			*key;
	int			i;

	kore_buf_init(&buf, 1024);
	kore_json_item_tobuf(root, &buf);
	kore_json_item_free(root);

	if (c->gen >= 0) {
		key = cache_key(c->gen, req->path, cache_params(c));
		argv[0] = "SET";
		argv[1] = key;
		argv[2] = (const char *)buf.data;
		argv[3] = "EX";
		argv[4] = CACHE_XSTR(CACHE_TTL_SECONDS);
		for (i = 0; i < 5; i++)
			lens[i] = i == 2 ? buf.offset : strlen(argv[i]);
		if (redis_commandargv(req, &t, 5, argv, lens)) {
			/* Not waited for: the reply frees the orphan. */
			http_request_wakeup(req);
			redis_ticket_release(&t);
		}
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
}
