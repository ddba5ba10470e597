/*
 * cache: whole JSON bodies of public catalog reads, kept in Redis for
 * CACHE_TTL_SECONDS under a generation number that every catalog write
 * bumps. A Redis that is down or slow only costs the cache: lookups miss,
 * stores and invalidations are skipped.
 */
#ifndef __H_CACHE_H
#define __H_CACHE_H

#include <kore/kore.h>
#include <kore/http.h>

#include "redis.h"

#define CACHE_TTL_SECONDS	60

/* The catalog generation (seatmap.c keys its bodies by it too). */
#define CACHE_GEN_KEY		"cache:gen:catalog"

#define CACHE_PENDING		1
#define CACHE_HIT		2
#define CACHE_MISS		3
#define CACHE_DONE		4

struct cache_entry {
	struct redis_ticket	*ticket;
	long long		gen;	/* -1: unknown, do not store */
	int			state;
	struct kore_buf		*params;	/* see cache_param() */
	int			skip;		/* see cache_skip() */
};

void	cache_param(struct cache_entry *, const char *, const char *);
void	cache_skip(struct cache_entry *);

int	cache_lookup(struct http_request *, struct cache_entry *);
void	cache_reply_hit(struct http_request *, struct cache_entry *);
void	cache_reply(struct http_request *, struct cache_entry *,
	    struct kore_json_item *);
int	cache_invalidate(struct http_request *, struct cache_entry *);
void	cache_cleanup(struct cache_entry *);

/* Exposed for tests: the Redis key (slot) of a request's body. */
char	*cache_key(const char *, const char *);

#endif
