/*
 * shows: the show resource and its seat map. shows_json() is shared with
 * the resources that list shows (a movie's shows); shows_input_parse()
 * is exposed for tests.
 */
#ifndef __H_SHOWS_H
#define __H_SHOWS_H

#include <kore/kore.h>

#include "db.h"
#include "movies.h"
#include "theatres.h"

/* RFC 3339 in UTC, as every time the API answers. */
#define SHOWS_TIME(col)							\
	"to_char(" col " AT TIME ZONE 'UTC', "				\
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * The select list shows_json() reads, in this order (enum shows_col): the
 * show, its movie (MOVIES_COLUMNS), its theatre (THEATRES_COLUMNS).
 * SHOWS_FROM names the tables it reads them from.
 */
#define SHOWS_COLUMNS							\
	"s.id, s.screen_id, " SHOWS_TIME("s.start_time") ", "		\
	SHOWS_TIME("s.end_time") ", s.currency, "			\
	MOVIES_COLUMNS ", " THEATRES_COLUMNS

enum shows_col {
	SHOWS_COL_ID,
	SHOWS_COL_SCREEN_ID,
	SHOWS_COL_START_TIME,
	SHOWS_COL_END_TIME,
	SHOWS_COL_CURRENCY,
	SHOWS_COL_MOVIE,		/* MOVIES_NCOLUMNS of them */
	SHOWS_COL_THEATRE = SHOWS_COL_MOVIE + MOVIES_NCOLUMNS,
	SHOWS_NCOLUMNS = SHOWS_COL_THEATRE + THEATRES_NCOLUMNS
};

#define SHOWS_FROM							\
	"shows s JOIN movies m ON m.id = s.movie_id"			\
	" JOIN screens sc ON sc.id = s.screen_id"			\
	" JOIN theatres t ON t.id = sc.theatre_id"

/* A show as POST and PUT take it; strings point into the document. */
struct shows_input {
	int64_t		movie_id;
	int64_t		screen_id;
	const char	*start_time;
	const char	*currency;
};

int	shows_input_parse(struct kore_json_item *, struct shows_input *,
	    const char **, const char **);

struct kore_json_item	*shows_json(struct kore_json_item *, const char *,
			    const struct db_call *, int, int);

#endif
