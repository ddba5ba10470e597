/*
 * reply: every response body and header the service writes goes through
 * here, so every answer carries X-Request-Id and every error has the one
 * envelope {"error": {"code", "message", "details"?}}.
 */
#ifndef __H_REPLY_H
#define __H_REPLY_H

#include <kore/kore.h>
#include <kore/http.h>

void	reply_json(struct http_request *, int, struct kore_json_item *);
void	reply_buf(struct http_request *, int, struct kore_buf *);
void	reply_text(struct http_request *, int, const char *,
	    struct kore_buf *);
void	reply_empty(struct http_request *, int);
void	reply_file(struct http_request *, const char *, const void *, size_t,
	    const char *);
void	reply_error(struct http_request *, int, const char *, const char *);
void	reply_error_details(struct http_request *, int, const char *,
	    const char *, struct kore_json_item *);
struct kore_json_item	*reply_error_json(const char *, const char *,
			    struct kore_json_item *);
void	reply_invalid(struct http_request *, const char *, const char *);
void	reply_internal(struct http_request *);
void	reply_unavailable(struct http_request *);

#define REPLY_INTERNAL_MSG	\
	"The server failed to handle the request; it has been logged."
#define REPLY_UNAVAILABLE_MSG	\
	"A backing service is unavailable; try again shortly."

/* A failed statement's answer from db.c's table (the request's state). */
struct db_call;
struct kore_json_item	*reply_db_error(struct http_request *,
			    const struct db_call *, int *);
int	reply_db_failed(struct http_request *, struct db_call *);

/* The list envelope {"data": [...], "limit", "offset", "total"}. */
struct kore_json_item	*reply_list_new(struct kore_json_item **);
void	reply_list(struct http_request *, struct kore_json_item *,
	    int64_t, int64_t, int64_t);
/* Completes the envelope without answering (for cache_reply()). */
void	reply_list_end(struct kore_json_item *, int64_t, int64_t, int64_t);

/*
 * A list query's columns: the item's from the first on (its first column
 * NULL in the one row of an empty page), then whatever the caller adds
 * (its total column among them).
 */
enum reply_list_col {
	REPLY_LIST_COL_ITEM,
};

/* Builds one list item from a result row, its columns from `col` on. */
typedef struct kore_json_item	*(*reply_row_json)(struct kore_json_item *,
				    const char *, const struct db_call *, int,
				    int);

struct kore_json_item	*reply_list_rows(const struct db_call *,
			    reply_row_json, int, int64_t, int64_t);

/* Exposed for tests: is a client's X-Request-Id safe to echo? */
int	reply_request_id_valid(const char *);

#endif
