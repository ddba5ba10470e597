/*
 * movies: the movie resource. movies_json() is shared with the resources
 * that embed a movie (shows); movies_input_parse() is exposed for tests.
 */
#ifndef __H_MOVIES_H
#define __H_MOVIES_H

#include <kore/kore.h>

#include "db.h"

/* The select list movies_json() reads, named in this order below. */
#define MOVIES_COLUMNS							\
	"m.id, m.title, m.description, m.duration_minutes, m.rating, "	\
	"m.poster_url, to_char(m.release_date, 'YYYY-MM-DD')"

/* MOVIES_COLUMNS, from wherever a statement puts them. */
enum movies_col {
	MOVIES_COL_ID,
	MOVIES_COL_TITLE,
	MOVIES_COL_DESCRIPTION,
	MOVIES_COL_DURATION_MINUTES,
	MOVIES_COL_RATING,
	MOVIES_COL_POSTER_URL,
	MOVIES_COL_RELEASE_DATE,
	MOVIES_NCOLUMNS
};

/* A movie as POST and PUT take it; strings point into the document. */
struct movies_input {
	const char	*title;
	const char	*description;
	const char	*rating;
	const char	*poster_url;
	const char	*release_date;
	int64_t		duration_minutes;
};

int	movies_input_parse(struct kore_json_item *, struct movies_input *,
	    const char **, const char **);

struct kore_json_item	*movies_json(struct kore_json_item *, const char *,
			    const struct db_call *, int, int);

#endif
