/*
 * theatres: the theatre resource and its screens. theatres_json() is
 * shared with the resources that embed a theatre (shows).
 */
#ifndef __H_THEATRES_H
#define __H_THEATRES_H

#include <kore/kore.h>

#include "db.h"

/* The select list theatres_json() reads, in this order. */
#define THEATRES_COLUMNS						\
	"t.id, t.name, t.city, t.address, t.timezone"
#define THEATRES_NCOLUMNS	5

struct kore_json_item	*theatres_json(struct kore_json_item *,
			    const char *, const struct db_call *, int, int);

#endif
