/*
 * theatres: the theatre resource and its screens. theatres_json() is
 * shared with the resources that embed a theatre (shows); the input
 * parsers are exposed for tests.
 */
#ifndef __H_THEATRES_H
#define __H_THEATRES_H

#include <kore/kore.h>

#include "db.h"

/* The select list theatres_json() reads, named in this order below. */
#define THEATRES_COLUMNS						\
	"t.id, t.name, t.city, t.address, t.timezone"

/* THEATRES_COLUMNS, from wherever a statement puts them. */
enum theatres_col {
	THEATRES_COL_ID,
	THEATRES_COL_NAME,
	THEATRES_COL_CITY,
	THEATRES_COL_ADDRESS,
	THEATRES_COL_TIMEZONE,
	THEATRES_NCOLUMNS
};

#define THEATRES_ROWS_MAX	50
/* Seats in a row, at most (screen_rows.seats). */
#define THEATRES_SEATS_MAX	200

/* A theatre as POST and PUT take it; strings point into the document. */
struct theatres_input {
	const char	*name;
	const char	*city;
	const char	*address;
	const char	*timezone;
};

/* A screen as POST /api/theatres/{id}/screens takes it. */
struct theatres_screen_input {
	const char	*name;
	size_t		nrows;
	struct {
		const char	*label;
		const char	*tier;
		int64_t		seats;
		int64_t		price_cents;
		/* Validated array of ascending seat numbers, or NULL. */
		struct kore_json_item	*aisles_after;
	} rows[THEATRES_ROWS_MAX];
};

int	theatres_input_parse(struct kore_json_item *,
	    struct theatres_input *, const char **, const char **);
int	theatres_screen_input_parse(struct kore_json_item *,
	    struct theatres_screen_input *, const char **, const char **);

struct kore_json_item	*theatres_json(struct kore_json_item *,
			    const char *, const struct db_call *, int, int);

#endif
