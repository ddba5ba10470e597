/*
 * catalog: the two flows of every catalog resource, once.
 *
 * A read (GET of a list or an item) binds the path's id and the query
 * string to the resource's statement, answers from the cache (cache.c)
 * when it can, else queries and caches what it answers. A write (POST,
 * PUT, DELETE: admins only) is one statement, so it commits or fails as
 * a whole; after it committed every cached catalog body is stale, so the
 * cache generation is bumped before the answer.
 *
 * Reads are public, and limited per client address (RATE_LIMIT_READS a
 * window, throttle.c; 429 past it): the charge and the cache lookup go to
 * Redis together. Only canonical requests use the cache: a search of at
 * most CATALOG_CACHE_Q_MAX bytes, a page whose offset is a multiple of
 * its limit and at most CATALOG_CACHE_OFFSET_MAX; anything else is
 * answered from PostgreSQL and not stored (cache.c bounds the rest).
 *
 * The resources (movies.c, theatres.c, shows.c) describe themselves in a
 * struct catalog_read or catalog_write (catalog.h) and name it in their
 * route's method table (CATALOG_READ, CATALOG_WRITE); the description is
 * kept with the request, as Kore calls the handler again each time the
 * request wakes.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "admin.h"
#include "catalog.h"
#include "reply.h"
#include "route.h"
#include "state.h"

/* The query string filters of catalog lists, and what each must be. */
static const struct {
	const char	*name;
	const char	*message;
} catalog_filters[] = {
	{ "q", "q must be 1 to 200 printable characters." },
	{ "movie_id", "movie_id must be a positive integer." },
	{ "theatre_id", "theatre_id must be a positive integer." },
	{ "city", "city must be 1 to 100 printable characters." },
	{ "date", "date must be YYYY-MM-DD." },
};

#define CATALOG_FILTERS_MAX	8
/* The canonical requests that may be cached (see above). */
#define CATALOG_CACHE_Q_MAX		32
#define CATALOG_CACHE_OFFSET_MAX	1000

static const char	*catalog_filter_message(const char *);
static int	catalog_read_bind(struct http_request *);
static int	catalog_read_cache(struct http_request *);
static int	catalog_read_query(struct http_request *);
static int	catalog_read_answer(struct http_request *);
static int	catalog_write_auth(struct http_request *);
static int	catalog_write_parse(struct http_request *);
static int	catalog_write_query(struct http_request *);
static int	catalog_write_invalidate(struct http_request *);
static int	catalog_write_answer(struct http_request *);
static int	catalog_write_failed(struct http_request *,
		    struct db_call *);
static void	catalog_free(struct http_request *);

/* A read: bind, look in the cache, query on a miss, answer and cache. */
enum catalog_read_state {
	CATALOG_READ_BIND,
	CATALOG_READ_CACHE,
	CATALOG_READ_QUERY,
	CATALOG_READ_ANSWER,
};

static struct http_state catalog_read_states[] = {
	[CATALOG_READ_BIND] = KORE_HTTP_STATE(catalog_read_bind),
	[CATALOG_READ_CACHE] = KORE_HTTP_STATE(catalog_read_cache),
	[CATALOG_READ_QUERY] = KORE_HTTP_STATE(catalog_read_query),
	[CATALOG_READ_ANSWER] = KORE_HTTP_STATE(catalog_read_answer),
};

/* A write: admin check, id and body, the statement, invalidate, answer. */
enum catalog_write_state {
	CATALOG_WRITE_AUTH,
	CATALOG_WRITE_PARSE,
	CATALOG_WRITE_QUERY,
	CATALOG_WRITE_INVALIDATE,
	CATALOG_WRITE_ANSWER,
};

static struct http_state catalog_write_states[] = {
	[CATALOG_WRITE_AUTH] = KORE_HTTP_STATE(catalog_write_auth),
	[CATALOG_WRITE_PARSE] = KORE_HTTP_STATE(catalog_write_parse),
	[CATALOG_WRITE_QUERY] = KORE_HTTP_STATE(catalog_write_query),
	[CATALOG_WRITE_INVALIDATE] = KORE_HTTP_STATE(catalog_write_invalidate),
	[CATALOG_WRITE_ANSWER] = KORE_HTTP_STATE(catalog_write_answer),
};

/*
 * The description is set again each time Kore calls the handler, before
 * the machine runs (state_req() makes the struct on the first call).
 */
int
catalog_read(struct http_request *req, const void *r)
{
	struct catalog_req	*c;

	c = state_req(req, sizeof(*c), catalog_free);
	c->read = r;
	return (http_state_run(catalog_read_states,
	    ROUTE_STATES(catalog_read_states), req));
}

int
catalog_write(struct http_request *req, const void *w)
{
	struct catalog_req	*c;

	c = state_req(req, sizeof(*c), catalog_free);
	c->write = w;
	return (http_state_run(catalog_write_states,
	    ROUTE_STATES(catalog_write_states), req));
}

/* Only a date like 2026-02-31 gets past the validator. */
int
catalog_read_failed(struct http_request *req, struct db_call *call)
{
	if (!db_sqlstate_is(call, "22008"))
		return (reply_db_failed(req, call));

	reply_invalid(req, "date", "date is not a real date.");
	return (HTTP_STATE_COMPLETE);
}

static const char *
catalog_filter_message(const char *name)
{
	size_t		i;

	for (i = 0; i < sizeof(catalog_filters) / sizeof(catalog_filters[0]);
	    i++) {
		if (!strcmp(catalog_filters[i].name, name))
			return (catalog_filters[i].message);
	}

	fatal("catalog: no filter %s", name);
	return (NULL);
}

/* Validate the id and the query string and bind them to the statement. */
static int
catalog_read_bind(struct http_request *req)
{
	struct catalog_req		*c = http_state_get(req);
	const struct catalog_read	*r = c->read;
	const char			*value[CATALOG_FILTERS_MAX];
	const char			*limit, *offset;
	size_t				i, n;

	http_populate_get(req);

	if (r->id && !route_id(req, 1, &c->id))
		return (HTTP_STATE_COMPLETE);
	if (r->paged && !route_page(req, &c->limit, &c->offset))
		return (HTTP_STATE_COMPLETE);

	for (n = 0; r->filters != NULL && r->filters[n] != NULL; n++) {
		if (n == CATALOG_FILTERS_MAX)
			fatal("catalog: too many filters");
		if (route_param(req, r->filters[n], &value[n]) ==
		    ROUTE_PARAM_INVALID) {
			reply_invalid(req, r->filters[n],
			    catalog_filter_message(r->filters[n]));
			return (HTTP_STATE_COMPLETE);
		}
	}

	db_call_init(&c->db, r->sql);
	if (r->id)
		(void)db_call_param_int(&c->db, c->id);
	for (i = 0; i < n; i++) {
		db_call_param(&c->db, value[i]);
		cache_param(&c->cache, r->filters[i], value[i]);
		if (!strcmp(r->filters[i], "q") && value[i] != NULL &&
		    strlen(value[i]) > CATALOG_CACHE_Q_MAX)
			cache_skip(&c->cache);
	}
	if (r->paged) {
		limit = db_call_param_int(&c->db, c->limit);
		offset = db_call_param_int(&c->db, c->offset);
		cache_param(&c->cache, "limit", limit);
		cache_param(&c->cache, "offset", offset);
		if (c->offset % c->limit != 0 ||
		    c->offset > CATALOG_CACHE_OFFSET_MAX)
			cache_skip(&c->cache);
	}

	return (state_next(req, CATALOG_READ_CACHE));
}

/*
 * The address's charge and the cache lookup, sent together: past the
 * limit 429; a cached body answers at once; a miss goes to PostgreSQL.
 */
static int
catalog_read_cache(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	if (!c->charged) {
		c->charged = 1;
		throttle_reads(req, &c->reads);
		(void)cache_lookup(req, &c->cache);
	}

	switch (throttle_limited(req, &c->reads)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	switch (cache_lookup(req, &c->cache)) {
	case CACHE_PENDING:
		return (HTTP_STATE_RETRY);
	case CACHE_HIT:
		cache_reply_hit(req, &c->cache);
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, CATALOG_READ_QUERY));
}

static int
catalog_read_query(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	return (db_state(req, &c->db, CATALOG_READ_ANSWER,
	    catalog_read_failed));
}

static int
catalog_read_answer(struct http_request *req)
{
	struct catalog_req		*c = http_state_get(req);
	const struct catalog_read	*r = c->read;
	struct kore_json_item		*root;

	if (r->answer != NULL)
		root = r->answer(c);
	else if (r->paged)
		root = reply_list_rows(&c->db, r->row, r->total_col, c->limit,
		    c->offset);
	else if (db_rows(&c->db) > 0)
		root = r->row(NULL, NULL, &c->db, 0, CATALOG_COL_ROW);
	else
		root = NULL;

	if (root == NULL) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    r->not_found);
		return (HTTP_STATE_COMPLETE);
	}

	cache_reply(req, &c->cache, root);
	return (HTTP_STATE_COMPLETE);
}

/* Only an admin may write. */
static int
catalog_write_auth(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	return (auth_state(req, admin_authorize(req, &c->auth),
	    CATALOG_WRITE_PARSE));
}

/* The id and the body, bound to the statement. */
static int
catalog_write_parse(struct http_request *req)
{
	struct catalog_req		*c = http_state_get(req);
	const struct catalog_write	*w = c->write;

	if (req->method != HTTP_METHOD_POST || w->id_on_create) {
		if (!route_id(req, 1, &c->id))
			return (HTTP_STATE_COMPLETE);
	}

	switch (req->method) {
	case HTTP_METHOD_POST:
		db_call_init(&c->db, w->sql_create);
		break;
	case HTTP_METHOD_PUT:
		db_call_init(&c->db, w->sql_update);
		break;
	case HTTP_METHOD_DELETE:
		db_call_init(&c->db, w->sql_delete);
		break;
	default:
		fatal("catalog_write_parse: method %d", req->method);
	}
	if (c->id != 0)
		(void)db_call_param_int(&c->db, c->id);

	if (req->method != HTTP_METHOD_DELETE) {
		if (!body_json(req, &c->json, BODY_REQUIRED))
			return (HTTP_STATE_COMPLETE);
		c->in = kore_calloc(1, w->insize);
		if (!w->bind(req, c))
			return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, CATALOG_WRITE_QUERY));
}

static int
catalog_write_query(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	return (db_state(req, &c->db, CATALOG_WRITE_INVALIDATE,
	    catalog_write_failed));
}

static int
catalog_write_failed(struct http_request *req, struct db_call *call)
{
	struct catalog_req	*c = http_state_get(req);

	return (admin_db_failed(req, call, c->write->time_field));
}

/* Committed: cached catalog bodies are stale from now on. */
static int
catalog_write_invalidate(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	if (cache_invalidate(req, &c->cache) == CACHE_PENDING)
		return (HTTP_STATE_RETRY);

	return (state_next(req, CATALOG_WRITE_ANSWER));
}

static int
catalog_write_answer(struct http_request *req)
{
	struct catalog_req		*c = http_state_get(req);
	const struct catalog_write	*w = c->write;
	struct kore_json_item		*root;

	if (db_rows(&c->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    w->not_found);
		return (HTTP_STATE_COMPLETE);
	}
	if (req->method == HTTP_METHOD_DELETE) {
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
		return (HTTP_STATE_COMPLETE);
	}

	if (w->answer != NULL)
		root = w->answer(req, c);
	else
		root = w->row(NULL, NULL, &c->db, 0, CATALOG_COL_ROW);
	if (root == NULL)
		return (HTTP_STATE_COMPLETE);

	if (req->method == HTTP_METHOD_POST) {
		admin_created(req, w->collection, c->id != 0 ? c->id :
		    db_int(&c->db, 0, CATALOG_COL_ID), root);
	} else {
		reply_json(req, HTTP_STATUS_OK, root);
	}

	return (HTTP_STATE_COMPLETE);
}

static void
catalog_free(struct http_request *req)
{
	struct catalog_req	*c = http_state_get(req);

	if (c == NULL)
		return;

	db_call_cleanup(&c->db);
	cache_cleanup(&c->cache);
	throttle_cleanup(&c->reads);
	auth_cleanup(&c->auth);
	body_cleanup(&c->json);
	kore_free(c->in);
	c->in = NULL;
	if (c->param != NULL) {
		kore_buf_free(c->param);
		c->param = NULL;
	}
	http_state_cleanup(req);
}
