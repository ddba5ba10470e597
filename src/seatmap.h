/*
 * seatmap: freshness of everything derived from seat states (the seat map
 * and a show's seats_available), cached in Redis under a per-show
 * version. Writers of seat state call seatmap_changed() after their
 * commit and before they answer; readers go through seatmap_lookup(),
 * seatmap_reply_hit() and seatmap_reply(). See seatmap.c.
 */
#ifndef __H_SEATMAP_H
#define __H_SEATMAP_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#include "redis.h"

/* The longest a body is kept, whatever its deadlines (milliseconds). */
#define SEATMAP_TTL_MAX_MS	10000

/* Larger bodies are fetched with a plain GET, not through the script. */
#define SEATMAP_INLINE_MAX	65536
/* Larger maps of a caller holding seats: not stored, computed each read. */
#define SEATMAP_USER_BODY_MAX	65536

#define SEATMAP_STR(x)		#x
#define SEATMAP_XSTR(x)		SEATMAP_STR(x)

#define SEATMAP_PENDING		1
#define SEATMAP_HIT		2
#define SEATMAP_MISS		3
#define SEATMAP_DONE		4

/* What a cached body is: the seat map, or the show with seats_available. */
#define SEATMAP_BODY_SEATS	1
#define SEATMAP_BODY_SHOW	2

struct seatmap_entry {
	struct redis_ticket	*ticket;
	char			*key;	/* where a miss may store its body */
	int			state;
	int			fetching;	/* a plain GET of key */
	int			per_user;	/* a signed-in caller's body */
	int			anonymous;	/* key: the anonymous body's */
};

int	seatmap_changed(struct http_request *, struct seatmap_entry *,
	    int64_t);
int	seatmap_lookup(struct http_request *, struct seatmap_entry *, int,
	    int64_t, int64_t);
void	seatmap_reply_hit(struct http_request *, struct seatmap_entry *);
void	seatmap_reply(struct http_request *, struct seatmap_entry *,
	    struct kore_json_item *, int64_t, int);
void	seatmap_cleanup(struct seatmap_entry *);

#endif
