/*
 * catalog: the request flows the catalog resources (movies, theatres and
 * their screens, shows) share, written once and driven by a description
 * per resource: a read (cached list or item) and an admin write (auth,
 * parse, statement, invalidation, answer).
 */
#ifndef __H_CATALOG_H
#define __H_CATALOG_H

#include <kore/kore.h>
#include <kore/http.h>

#include "auth.h"
#include "body.h"
#include "cache.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "throttle.h"

/*
 * Where a catalog statement puts the resource's row in its answer: from
 * the first column on (as a list's item, reply_list_rows()), the id
 * first. A list's total comes after the row (total_col).
 */
enum catalog_col {
	CATALOG_COL_ROW = REPLY_LIST_COL_ITEM,
	CATALOG_COL_ID = CATALOG_COL_ROW,
};

/* One catalog request, read or write. */
struct catalog_req {
	struct db_call			db;
	struct cache_entry		cache;
	struct throttle			reads;	/* per client address */
	int				charged;
	struct auth			auth;
	struct kore_json		json;
	const struct catalog_read	*read;
	const struct catalog_write	*write;
	int64_t				id;	/* the path's; 0: none */
	int64_t				limit;
	int64_t				offset;
	void				*in;	/* write->insize bytes */
	struct kore_buf			*param;	/* built by write->bind */
};

/*
 * A cached read. The path's id (when `id`) is $1, then the query string
 * filters in the order named (a NULL-terminated list of names catalog.c
 * knows), then limit and offset when `paged`. The answer is built by
 * `answer` when given (NULL: 404 not_found), else by `row`: a list
 * envelope with the total in column total_col when paged, one item (404
 * without a row) when not.
 */
struct catalog_read {
	const char		*sql;
	int			id;
	int			paged;
	const char * const	*filters;
	reply_row_json		row;
	int			total_col;
	struct kore_json_item	*(*answer)(struct catalog_req *);
	const char		*not_found;
};

/*
 * An admin write: POST makes (sql_create), PUT replaces (sql_update),
 * DELETE removes (sql_delete) one row in one statement. The path's id,
 * when it has one (always but for a POST, unless id_on_create), is $1;
 * `bind` parses the body into `in` and binds the rest, answering 400
 * itself. The answer is `answer`'s body (NULL: it answered) or else
 * row(); a POST answers 201 with Location <collection>/<id>, the id of
 * the path or else of the new row.
 */
struct catalog_write {
	const char		*sql_create;
	const char		*sql_update;
	const char		*sql_delete;
	int			id_on_create;
	size_t			insize;
	int			(*bind)(struct http_request *,
				    struct catalog_req *);
	reply_row_json		row;
	struct kore_json_item	*(*answer)(struct http_request *,
				    struct catalog_req *);
	const char		*collection;
	const char		*not_found;
	const char		*time_field;	/* of a bad date-time */
};

/* Route methods (route.h) that run a read or a write described by d. */
#define CATALOG_READ(m, d)	ROUTE_FLOW(m, catalog_read, d)
#define CATALOG_WRITE(m, d)	ROUTE_FLOW(m, catalog_write, d)

int	catalog_read(struct http_request *, const void *);
int	catalog_write(struct http_request *, const void *);

/*
 * A failed catalog read: 400 for a date PostgreSQL refused, else db.c's
 * table (reply_db_failed()). Returns the request's next state.
 */
int	catalog_read_failed(struct http_request *, struct db_call *);

#endif
