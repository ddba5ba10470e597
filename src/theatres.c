/*
 * theatres: GET /api/theatres (list with city, limit, offset) and
 * GET /api/theatres/{id} with its screens. Both answers are cached
 * (cache.c).
 *
 * Admin writes: POST /api/theatres, PUT /api/theatres/{id} (a full
 * replacement), DELETE /api/theatres/{id} (its screens go with it; 409
 * in_use while shows use one of them) and POST /api/theatres/{id}/screens
 * with the screen's rows. A timezone must be one PostgreSQL knows, as the
 * date filters convert with it.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "body.h"
#include "cache.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "theatres.h"

int	theatres_collection(struct http_request *);
int	theatres_item(struct http_request *);
int	theatres_screens(struct http_request *);

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
    " r.tier, r.price_cents, r.aisles_after"
    " FROM theatres t"
    " LEFT JOIN screens sc ON sc.theatre_id = t.id"
    " LEFT JOIN screen_rows r ON r.screen_id = sc.id"
    " WHERE t.id = $1"
    " ORDER BY sc.id, r.position";

/*
 * Writes answer the theatre and whether the timezone is known (a NULL
 * theatre with a known zone is an unknown id).
 */
static const char *sql_create =
    "WITH tz AS ("
    "  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $4)"
    "    AS known"
    "), ins AS ("
    "  INSERT INTO theatres AS t (name, city, address, timezone)"
    "  SELECT $1, $2, coalesce($3, ''), $4 FROM tz WHERE tz.known"
    "  RETURNING " THEATRES_COLUMNS
    ")"
    " SELECT ins.*, tz.known FROM tz LEFT JOIN ins ON true";

static const char *sql_update =
    "WITH tz AS ("
    "  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $5)"
    "    AS known"
    "), up AS ("
    "  UPDATE theatres t SET name = $2, city = $3,"
    "    address = coalesce($4, ''), timezone = $5, updated_at = now()"
    "  FROM tz WHERE t.id = $1 AND tz.known"
    "  RETURNING " THEATRES_COLUMNS
    ")"
    " SELECT up.*, tz.known FROM tz LEFT JOIN up ON true";

/* A theatre's screens (and their rows) go with it, unless shows use them. */
static const char *sql_delete =
    "WITH sc AS (DELETE FROM screens WHERE theatre_id = $1)"
    " DELETE FROM theatres WHERE id = $1 RETURNING id";

/*
 * The screen and its rows ($3, a JSON array in order) in one statement;
 * no row at all when the theatre does not exist.
 */
static const char *sql_screen_create =
    "WITH th AS ("
    "  SELECT id FROM theatres WHERE id = $1::bigint"
    "), sc AS ("
    "  INSERT INTO screens (theatre_id, name) SELECT id, $2 FROM th"
    "  RETURNING id, name"
    "), r AS ("
    "  INSERT INTO screen_rows (screen_id, position, label, seats, tier,"
    "    price_cents, aisles_after)"
    "  SELECT sc.id, e.ord - 1, e.v->>'label', (e.v->>'seats')::integer,"
    "    e.v->>'tier', (e.v->>'price_cents')::integer,"
    "    ARRAY(SELECT jsonb_array_elements_text(e.v->'aisles_after')"
    "      ::integer)"
    "  FROM sc CROSS JOIN jsonb_array_elements($3::jsonb)"
    "    WITH ORDINALITY AS e(v, ord)"
    "  RETURNING screen_id, position, label, seats, tier, price_cents,"
    "    aisles_after"
    ")"
    " SELECT sc.id, sc.name, r.label, r.seats, r.tier, r.price_cents,"
    "  r.aisles_after"
    " FROM sc JOIN r ON r.screen_id = sc.id"
    " ORDER BY r.position";

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

	/* Writes only. */
	struct auth			auth;
	struct kore_json		json;
	struct theatres_input		in;
	struct theatres_screen_input	screen;
	struct kore_buf			rows;
	int64_t				theatre_id;
};

static int	theatres_list_start(struct http_request *);
static int	theatres_list_answer(struct http_request *);
static int	theatres_get_start(struct http_request *);
static int	theatres_get_answer(struct http_request *);
static int	theatres_cache(struct http_request *);
static int	theatres_query(struct http_request *);
static int	theatres_write_auth(struct http_request *);
static int	theatres_write_parse(struct http_request *);
static int	theatres_write_query(struct http_request *);
static int	theatres_write_invalidate(struct http_request *);
static int	theatres_write_answer(struct http_request *);
static int	theatres_bind_screen(struct http_request *,
		    struct theatres_req *);
static void	theatres_row_json(struct kore_json_item *,
		    const struct db_call *, int, int);
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

/*
 * Every write (POST, PUT, DELETE, POST screens): admin check, body and
 * id, the one statement, cache invalidation, answer.
 */
#define THEATRES_WRITE_AUTH		0
#define THEATRES_WRITE_PARSE		1
#define THEATRES_WRITE_QUERY		2
#define THEATRES_WRITE_INVALIDATE	3
#define THEATRES_WRITE_ANSWER		4

static struct http_state theatres_write_states[] = {
	KORE_HTTP_STATE(theatres_write_auth),
	KORE_HTTP_STATE(theatres_write_parse),
	KORE_HTTP_STATE(theatres_write_query),
	KORE_HTTP_STATE(theatres_write_invalidate),
	KORE_HTTP_STATE(theatres_write_answer),
};

static const struct route_method theatres_collection_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, theatres_list_states),
	ROUTE_METHOD(HTTP_METHOD_POST, theatres_write_states),
};

static const struct route_method theatres_item_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, theatres_get_states),
	ROUTE_METHOD(HTTP_METHOD_PUT, theatres_write_states),
	ROUTE_METHOD(HTTP_METHOD_DELETE, theatres_write_states),
};

static const struct route_method theatres_screens_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_POST, theatres_write_states),
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
 * seats, tier, price_cents, aisles_after) at col, NULL label for a screen
 * without rows.
 */
static void
theatres_screens_json(struct kore_json_item *screens,
    const struct db_call *call, int col, int64_t theatre_id)
{
	struct kore_json_item	*screen, *rows;
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
		if (!db_isnull(call, i, col + 2))
			theatres_row_json(rows, call, i, col + 2);
	}
}

/*
 * {label, seats, tier, price_cents, aisles_after} from the five columns at
 * col; aisles_after is [] for a row without aisles.
 */
static void
theatres_row_json(struct kore_json_item *rows, const struct db_call *call,
    int row, int col)
{
	struct kore_json_item	*r, *aisles;
	int64_t			after[THEATRES_SEATS_MAX];
	size_t			i, n;

	r = kore_json_create_object(rows, NULL);
	kore_json_create_string(r, "label", db_value(call, row, col));
	kore_json_create_integer(r, "seats", db_int(call, row, col + 1));
	kore_json_create_string(r, "tier", db_value(call, row, col + 2));
	kore_json_create_integer(r, "price_cents", db_int(call, row, col + 3));
	aisles = kore_json_create_array(r, "aisles_after");
	n = db_int_array(call, row, col + 4, after, THEATRES_SEATS_MAX);
	for (i = 0; i < n; i++)
		kore_json_create_integer(aisles, NULL, after[i]);
}

/*
 * A row's optional aisles_after: ascending seat numbers n (1 <= n < seats)
 * after which the row has an aisle, so seats n and n + 1 are not side by
 * side. Absent or null is no aisle.
 */
static int
theatres_aisles_parse(struct kore_json_item *row, int64_t seats,
    struct kore_json_item **out)
{
	struct kore_json_item	*item, *elem;
	int64_t			last, v;

	*out = NULL;
	if ((item = body_member(row, "aisles_after")) == NULL ||
	    (item->type == KORE_JSON_TYPE_LITERAL &&
	    item->data.literal == KORE_JSON_NULL))
		return (KORE_RESULT_OK);
	if (item->type != KORE_JSON_TYPE_ARRAY)
		return (KORE_RESULT_ERROR);

	last = 0;
	TAILQ_FOREACH(elem, &item->data.items, list) {
		if (elem->type == KORE_JSON_TYPE_INTEGER)
			v = elem->data.s64;
		else if (elem->type == KORE_JSON_TYPE_INTEGER_U64 &&
		    elem->data.u64 < THEATRES_SEATS_MAX)
			v = (int64_t)elem->data.u64;
		else
			return (KORE_RESULT_ERROR);
		if (v <= last || v >= seats)
			return (KORE_RESULT_ERROR);
		last = v;
	}

	*out = item;
	return (KORE_RESULT_OK);
}

/*
 * The one validation of a theatre body. On failure *field names the first
 * offending member and *message says what it must be.
 */
int
theatres_input_parse(struct kore_json_item *root, struct theatres_input *in,
    const char **field, const char **message)
{
	memset(in, 0, sizeof(*in));

	if (!body_get_string(root, "name", BODY_REQUIRED, 1, 200, &in->name)) {
		*field = "name";
		*message = "name must be a string of 1 to 200 characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "city", BODY_REQUIRED, 1, 100, &in->city)) {
		*field = "city";
		*message = "city must be a string of 1 to 100 characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "address", BODY_OPTIONAL, 0, 500,
	    &in->address)) {
		*field = "address";
		*message = "address must be a string of at most 500 "
		    "characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "timezone", BODY_REQUIRED, 1, 64,
	    &in->timezone)) {
		*field = "timezone";
		*message = "timezone must be an IANA time zone name.";
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/*
 * The one validation of a screen body: a name and 1 to THEATRES_ROWS_MAX
 * rows with distinct labels. The field of a bad row is "rows".
 */
int
theatres_screen_input_parse(struct kore_json_item *root,
    struct theatres_screen_input *in, const char **field,
    const char **message)
{
	struct kore_json_item	*rows, *row;
	size_t			i, n;

	memset(in, 0, sizeof(*in));

	if (!body_get_string(root, "name", BODY_REQUIRED, 1, 100, &in->name)) {
		*field = "name";
		*message = "name must be a string of 1 to 100 characters.";
		return (KORE_RESULT_ERROR);
	}

	*field = "rows";
	*message = "rows must be 1 to 50 objects {label (1 to 8 characters, "
	    "distinct), seats (1 to 200), tier (1 to 32 characters), "
	    "price_cents (0 to 100000000), aisles_after (optional: ascending "
	    "seat numbers from 1 to seats - 1)}.";

	rows = body_member(root, "rows");
	if (rows == NULL || rows->type != KORE_JSON_TYPE_ARRAY)
		return (KORE_RESULT_ERROR);

	n = 0;
	TAILQ_FOREACH(row, &rows->data.items, list) {
		if (n == THEATRES_ROWS_MAX)
			return (KORE_RESULT_ERROR);
		if (row->type != KORE_JSON_TYPE_OBJECT)
			return (KORE_RESULT_ERROR);
		if (!body_get_string(row, "label", BODY_REQUIRED, 1, 8,
		    &in->rows[n].label) ||
		    !body_get_int(row, "seats", BODY_REQUIRED, 1, 200,
		    &in->rows[n].seats) ||
		    !body_get_string(row, "tier", BODY_REQUIRED, 1, 32,
		    &in->rows[n].tier) ||
		    !body_get_int(row, "price_cents", BODY_REQUIRED, 0,
		    100000000, &in->rows[n].price_cents) ||
		    !theatres_aisles_parse(row, in->rows[n].seats,
		    &in->rows[n].aisles_after))
			return (KORE_RESULT_ERROR);
		for (i = 0; i < n; i++) {
			if (!strcmp(in->rows[i].label, in->rows[n].label))
				return (KORE_RESULT_ERROR);
		}
		n++;
	}
	if (n == 0)
		return (KORE_RESULT_ERROR);

	in->nrows = n;
	*field = NULL;
	*message = NULL;

	return (KORE_RESULT_OK);
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

int
theatres_screens(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, theatres_screens_methods));
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

	cache_param(&t->cache, "city", city);
	cache_param(&t->cache, "limit", t->slimit);
	cache_param(&t->cache, "offset", t->soffset);

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
		return (reply_db_failed(req, &t->db));
	}

	req->fsm_state = THEATRES_READ_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_list_answer(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);
	struct kore_json_item	*root;

	root = reply_list_rows(&t->db, theatres_json, THEATRES_NCOLUMNS, t->limit,
	    t->offset);
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

/* Only an admin may write. */
static int
theatres_write_auth(struct http_request *req)
{
	struct theatres_req	*t;

	if ((t = http_state_get(req)) == NULL)
		t = http_state_create(req, sizeof(*t), theatres_free);

	switch (admin_authorize(req, &t->auth)) {
	case AUTH_PENDING:
		return (HTTP_STATE_RETRY);
	case AUTH_DENIED:
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = THEATRES_WRITE_PARSE;
	return (HTTP_STATE_CONTINUE);
}

/* The screen body as sql_screen_create's $2 and $3 (a JSON array). */
static int
theatres_bind_screen(struct http_request *req, struct theatres_req *t)
{
	struct kore_json_item	*rows, *r, *aisles, *elem;
	const char		*field, *message;
	size_t			i;

	if (!theatres_screen_input_parse(t->json.root, &t->screen, &field,
	    &message)) {
		reply_invalid(req, field, message);
		return (KORE_RESULT_ERROR);
	}

	rows = kore_json_create_array(NULL, NULL);
	for (i = 0; i < t->screen.nrows; i++) {
		r = kore_json_create_object(rows, NULL);
		kore_json_create_string(r, "label", t->screen.rows[i].label);
		kore_json_create_integer(r, "seats", t->screen.rows[i].seats);
		kore_json_create_string(r, "tier", t->screen.rows[i].tier);
		kore_json_create_integer(r, "price_cents",
		    t->screen.rows[i].price_cents);
		aisles = kore_json_create_array(r, "aisles_after");
		if (t->screen.rows[i].aisles_after == NULL)
			continue;
		TAILQ_FOREACH(elem, &t->screen.rows[i].aisles_after->data.items,
		    list) {
			kore_json_create_integer(aisles, NULL,
			    elem->type == KORE_JSON_TYPE_INTEGER ?
			    elem->data.s64 : (int64_t)elem->data.u64);
		}
	}
	kore_buf_init(&t->rows, 256);
	kore_json_item_tobuf(rows, &t->rows);
	kore_json_item_free(rows);

	db_call_init(&t->db, sql_screen_create);
	db_call_param(&t->db, t->id);
	db_call_param(&t->db, t->screen.name);
	db_call_param(&t->db, kore_buf_stringify(&t->rows, NULL));

	return (KORE_RESULT_OK);
}

/* The id (all but POST /api/theatres) and the body, bound. */
static int
theatres_write_parse(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);
	const char		*field, *message;
	int			collection;

	collection = !strcmp(req->path, "/api/theatres");
	if (!collection) {
		if (!route_id(req, 1, &t->theatre_id))
			return (HTTP_STATE_COMPLETE);
		(void)snprintf(t->id, sizeof(t->id), "%lld",
		    (long long)t->theatre_id);
	}

	if (req->method == HTTP_METHOD_DELETE) {
		db_call_init(&t->db, sql_delete);
		db_call_param(&t->db, t->id);
		req->fsm_state = THEATRES_WRITE_QUERY;
		return (HTTP_STATE_CONTINUE);
	}

	if (!body_json(req, &t->json, BODY_REQUIRED))
		return (HTTP_STATE_COMPLETE);

	if (req->method == HTTP_METHOD_POST && !collection) {
		if (!theatres_bind_screen(req, t))
			return (HTTP_STATE_COMPLETE);
		req->fsm_state = THEATRES_WRITE_QUERY;
		return (HTTP_STATE_CONTINUE);
	}

	if (!theatres_input_parse(t->json.root, &t->in, &field, &message)) {
		reply_invalid(req, field, message);
		return (HTTP_STATE_COMPLETE);
	}

	if (collection) {
		db_call_init(&t->db, sql_create);
	} else {
		db_call_init(&t->db, sql_update);
		db_call_param(&t->db, t->id);
	}
	db_call_param(&t->db, t->in.name);
	db_call_param(&t->db, t->in.city);
	db_call_param(&t->db, t->in.address);
	db_call_param(&t->db, t->in.timezone);

	req->fsm_state = THEATRES_WRITE_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_write_query(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);

	switch (db_run(&t->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (admin_db_failed(req, &t->db, NULL));
	}

	req->fsm_state = THEATRES_WRITE_INVALIDATE;
	return (HTTP_STATE_CONTINUE);
}

/* Committed: cached catalog bodies are stale from now on. */
static int
theatres_write_invalidate(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);

	if (cache_invalidate(req, &t->cache) == CACHE_PENDING)
		return (HTTP_STATE_RETRY);

	req->fsm_state = THEATRES_WRITE_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
theatres_write_answer(struct http_request *req)
{
	struct theatres_req	*t = http_state_get(req);
	struct kore_json_item	*screen, *rows;
	int			i, n, screens;

	screens = req->method == HTTP_METHOD_POST &&
	    strcmp(req->path, "/api/theatres");

	/* A write of a theatre answers whether the timezone is known. */
	n = db_rows(&t->db);
	if (req->method != HTTP_METHOD_DELETE && !screens && n > 0 &&
	    db_value(&t->db, 0, THEATRES_NCOLUMNS)[0] != 't') {
		reply_invalid(req, "timezone", "timezone must be an IANA time "
		    "zone name.");
		return (HTTP_STATE_COMPLETE);
	}

	if (n == 0 || db_isnull(&t->db, 0, 0)) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No theatre with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	if (screens) {
		screen = theatres_screen_json(NULL, NULL, &t->db, 0, 0,
		    t->theatre_id);
		rows = kore_json_find_array(screen, "rows");
		for (i = 0; i < n; i++)
			theatres_row_json(rows, &t->db, i, 2);
		/* A screen is read as part of its theatre. */
		admin_created(req, "/api/theatres", t->theatre_id, screen);
		return (HTTP_STATE_COMPLETE);
	}

	switch (req->method) {
	case HTTP_METHOD_POST:
		admin_created(req, "/api/theatres", db_int(&t->db, 0, 0),
		    theatres_json(NULL, NULL, &t->db, 0, 0));
		break;
	case HTTP_METHOD_PUT:
		reply_json(req, HTTP_STATUS_OK,
		    theatres_json(NULL, NULL, &t->db, 0, 0));
		break;
	default:
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
		break;
	}

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
	auth_cleanup(&t->auth);
	body_cleanup(&t->json);
	kore_buf_cleanup(&t->rows);
	http_state_cleanup(req);
}
