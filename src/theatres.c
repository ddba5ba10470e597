/*
 * theatres: GET /api/theatres (list with city, limit, offset) and
 * GET /api/theatres/{id} with its screens. Both answers are cached
 * (cache.c).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>

#include "cache.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "theatres.h"

int	theatres_collection(struct http_request *);
int	theatres_item(struct http_request *);

/* One row even for an empty page: see movies.c. */
static const char *sql_list =
    "WITH f AS ("
    "  SELECT t.* FROM theatres t"
    "  WHERE $1::text IS NULL OR lower(t.city) = lower($1)"
    "), page AS ("
    "  SELECT " THEATRES_COLUMNS " FROM f t ORDER BY t.id"
    "  LIMIT $2 OFFSET $3"
    ")"
    " SELECT page.*, c.total"
    " FROM (SELECT count(*) AS total FROM f) c LEFT JOIN page ON true"
    " ORDER BY page.id";

/* One row per seat row of each screen; screen columns NULL without any. */
static const char *sql_get =
    "SELECT " THEATRES_COLUMNS ", sc.id, sc.name, r.label, r.seats,"
    " r.tier, r.price_cents"
    " FROM theatres t"
    " LEFT JOIN screens sc ON sc.theatre_id = t.id"
    " LEFT JOIN screen_rows r ON r.screen_id = sc.id"
    " WHERE t.id = $1"
    " ORDER BY sc.id, r.position";

/* Where the screen columns of sql_get start. */
#define THEATRES_SCREEN_COL	THEATRES_NCOLUMNS

struct theatres_req {
	struct db_call		db;
	struct cache_entry	cache;
	int64_t			limit;
	int64_t			offset;
	char			id[24];
	char			slimit[24];
	char			soffset[24];
};

static int	theatres_list(struct http_request *);
static int	theatres_get(struct http_request *);
static int	theatres_list_start(struct http_request *);
static int	theatres_list_answer(struct http_request *);
static int	theatres_get_start(struct http_request *);
static int	theatres_get_answer(struct http_request *);
static int	theatres_cache(struct http_request *);
static int	theatres_query(struct http_request *);
static void	theatres_free(struct http_request *);
static struct kore_json_item	*theatres_screen_json(
				    struct kore_json_item *, const char *,
				    const struct db_call *, int, int, int64_t);
static void	theatres_screens_json(struct kore_json_item *,
		    const struct db_call *, int, int64_t);

/* Both reads: parse, look in the cache, query on a miss, answer. */
#define THEATRES_READ_START	0
#define THEATRES_READ_CACHE	1
#define THEATRES_READ_QUERY	2
#define THEATRES_READ_ANSWER	3

static struct http_state theatres_list_states[] = {
	KORE_HTTP_STATE(theatres_list_start),
	KORE_HTTP_STATE(theatres_cache),
	KORE_HTTP_STATE(theatres_query),
	KORE_HTTP_STATE(theatres_list_answer),
};

static struct http_state theatres_get_states[] = {
	KORE_HTTP_STATE(theatres_get_start),
	KORE_HTTP_STATE(theatres_cache),
	KORE_HTTP_STATE(theatres_query),
	KORE_HTTP_STATE(theatres_get_answer),
};

static const struct route_method theatres_collection_methods[] = {
	{ HTTP_METHOD_GET, theatres_list },
};

static const struct route_method theatres_item_methods[] = {
	{ HTTP_METHOD_GET, theatres_get },
};

struct kore_json_item *
theatres_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*t;

	t = kore_json_create_object(parent, name);
	kore_json_create_integer(t, "id", db_int(call, row, col));
	kore_json_create_string(t, "name", db_value(call, row, col + 1));
	kore_json_create_string(t, "city", db_value(call, row, col + 2));
	kore_json_create_string(t, "address", db_value(call, row, col + 3));
	kore_json_create_string(t, "timezone", db_value(call, row, col + 4));

	return (t);
}

/* {id, theatre_id, name, rows: []} from the screen id and name at col. */
static struct kore_json_item *
theatres_screen_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col, int64_t theatre_id)
{
	struct kore_json_item	*s;

	s = kore_json_create_object(parent, name);
	kore_json_create_integer(s, "id", db_int(call, row, col));
	kore_json_create_integer(s, "theatre_id", theatre_id);
	kore_json_create_string(s, "name", db_value(call, row, col + 1));
	(void)kore_json_create_array(s, "rows");

	return (s);
}

/*
 * Screens from rows sorted by screen: (screen id, screen name, label,
 * seats, tier, price_cents) at col, NULL label for a screen without rows.
 */
static void
theatres_screens_json(struct kore_json_item *screens,
    const struct db_call *call, int col, int64_t theatre_id)
{
	struct kore_json_item	*screen, *rows, *r;
	int64_t			last;
	int			i, n;

	screen = NULL;
	rows = NULL;
	last = 0;
	n = db_rows(call);

	for (i = 0; i < n; i++) {
		if (db_isnull(call, i, col))
			continue;
		if (screen == NULL || db_int(call, i, col) != last) {
			last = db_int(call, i, col);
			screen = theatres_screen_json(screens, NULL, call, i,
			    col, theatre_id);
			rows = kore_json_find_array(screen, "rows");
		}
		if (db_isnull(call, i, col + 2))
			continue;
		r = kore_json_create_object(rows, NULL);
		kore_json_create_string(r, "label", db_value(call, i, col + 2));
		kore_json_create_integer(r, "seats", db_int(call, i, col + 3));
		kore_json_create_string(r, "tier", db_value(call, i, col + 4));
		kore_json_create_integer(r, "price_cents",
		    db_int(call, i, col + 5));
	}
}

int
theatres_collection(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, theatres_collection_methods));
}

int
theatres_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, theatres_item_methods));
}

static int
theatres_list(struct http_request *req)
{
	return (http_state_run(theatres_list_states,
	    ROUTE_STATES(theatres_list_states), req));
}

static int
theatres_get(struct http_request *req)
{
	return (http_state_run(theatres_get_states,
	    ROUTE_STATES(theatres_get_states), req));
}

/* Validate the query string and bind it to the statement. */
static int
theatres_list_start(struct http_request *req)
{
	struct theatres_req	*t;
	const char		*city;

	http_populate_get(req);
	t = http_state_create(req, sizeof(*t), theatres_free);

	if (!route_page(req, &t->limit, &t->offset))
		return (HTTP_STATE_COMPLETE);
	if (route_param(req, "city", &city) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "city", "city must be 1 to 100 printable "
		    "characters.");
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(t->slimit, sizeof(t->slimit), "%lld",
	    (long long)t->limit);
	(void)snprintf(t->soffset, sizeof(t->soffset), "%lld",
	    (long long)t->offset);

	db_call_init(&t->db, sql_list);
	db_call_param(&t->db, city);
	db_call_param(&t->db, t->slimit);
	db_call_param(&t->db, t->soffset);

	req->fsm_state = THEATRES_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_get_start(struct http_request *req)
{
	struct theatres_req	*t;
	int64_t			id;

	t = http_state_create(req, sizeof(*t), theatres_free);
	if (!route_id(req, 1, &id))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(t->id, sizeof(t->id), "%lld", (long long)id);
	db_call_init(&t->db, sql_get);
	db_call_param(&t->db, t->id);

	req->fsm_state = THEATRES_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

/* A cached body answers at once; a miss goes to PostgreSQL. */
static int
theatres_cache(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);

	switch (cache_lookup(req, &t->cache)) {
	case CACHE_PENDING:
		return (HTTP_STATE_RETRY);
	case CACHE_HIT:
		cache_reply_hit(req, &t->cache);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = THEATRES_READ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_query(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);

	switch (db_run(&t->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = THEATRES_READ_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_list_answer(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);
	struct kore_json_item	*root, *data;
	int			i, rows;
	int64_t			total;

	root = reply_list_new(&data);
	rows = db_rows(&t->db);
	total = rows > 0 ? db_int(&t->db, 0, THEATRES_NCOLUMNS) : 0;

	for (i = 0; i < rows; i++) {
		if (db_isnull(&t->db, i, 0))
			continue;
		theatres_json(data, NULL, &t->db, i, 0);
	}

	reply_list_end(root, t->limit, t->offset, total);
	cache_reply(req, &t->cache, root);
	return (HTTP_STATE_COMPLETE);
}

static int
theatres_get_answer(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);
	struct kore_json_item	*root, *screens;

	if (db_rows(&t->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No theatre with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = theatres_json(NULL, NULL, &t->db, 0, 0);
	screens = kore_json_create_array(root, "screens");
	theatres_screens_json(screens, &t->db, THEATRES_SCREEN_COL,
	    db_int(&t->db, 0, 0));
	cache_reply(req, &t->cache, root);
	return (HTTP_STATE_COMPLETE);
}

static void
theatres_free(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);

	if (t == NULL)
		return;

	db_call_cleanup(&t->db);
	cache_cleanup(&t->cache);
	http_state_cleanup(req);
}
