/*
 * movies: the movie resource. movies_json() is shared with the resources
 * that embed a movie (shows).
 */
#ifndef __H_MOVIES_H
#define __H_MOVIES_H

#include <kore/kore.h>

#include "db.h"

/* The select list movies_json() reads, in this order. */
#define MOVIES_COLUMNS							\
	"m.id, m.title, m.description, m.duration_minutes, m.rating, "	\
	"m.poster_url, to_char(m.release_date, 'YYYY-MM-DD')"
#define MOVIES_NCOLUMNS		7

struct kore_json_item	*movies_json(struct kore_json_item *, const char *,
			    const struct db_call *, int, int);

#endif
