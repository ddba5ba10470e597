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
 *
 * The flows are catalog.c's; this file describes the theatre and the
 * screen: their statements, their JSON and their bodies.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "body.h"
#include "catalog.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "theatres.h"

int	theatres_collection(struct http_request *);
int	theatres_item(struct http_request *);
int	theatres_screens(struct http_request *);

/* One row even for an empty page: see movies.c. */
static const char sql_list[] =
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

/* sql_list's columns: the theatre's (page.*: THEATRES_COLUMNS), the total. */
enum theatres_list_col {
	THEATRES_LIST_COL_THEATRE,
	THEATRES_LIST_COL_TOTAL = THEATRES_NCOLUMNS,
};

/*
 * A screen's seat rows, one result row each, as sql_get (after the
 * theatre's columns) and sql_screen_create answer them.
 */
#define THEATRES_SCREEN_COLUMNS						\
	"sc.id, sc.name, r.label, r.seats, r.tier, r.price_cents,"	\
	" r.aisles_after"

enum theatres_screen_col {
	THEATRES_SCREEN_COL_ID,
	THEATRES_SCREEN_COL_NAME,
	THEATRES_SCREEN_COL_LABEL,
	THEATRES_SCREEN_COL_SEATS,
	THEATRES_SCREEN_COL_TIER,
	THEATRES_SCREEN_COL_PRICE_CENTS,
	THEATRES_SCREEN_COL_AISLES_AFTER,
};

/* One row per seat row of each screen; screen columns NULL without any. */
static const char sql_get[] =
    "SELECT " THEATRES_COLUMNS ", " THEATRES_SCREEN_COLUMNS
    " FROM theatres t"
    " LEFT JOIN screens sc ON sc.theatre_id = t.id"
    " LEFT JOIN screen_rows r ON r.screen_id = sc.id"
    " WHERE t.id = $1"
    " ORDER BY sc.id, r.position";

enum theatres_get_col {
	THEATRES_GET_COL_THEATRE,
	THEATRES_GET_COL_SCREEN = THEATRES_NCOLUMNS,
};

/*
 * Writes answer the theatre and whether the timezone is known (a NULL
 * theatre with a known zone is an unknown id).
 */
static const char sql_create[] =
    "WITH tz AS ("
    "  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $4)"
    "    AS known"
    "), ins AS ("
    "  INSERT INTO theatres AS t (name, city, address, timezone)"
    "  SELECT $1, $2, coalesce($3, ''), $4 FROM tz WHERE tz.known"
    "  RETURNING " THEATRES_COLUMNS
    ")"
    " SELECT ins.*, tz.known FROM tz LEFT JOIN ins ON true";

static const char sql_update[] =
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

/* sql_create's and sql_update's columns: the theatre's, then known. */
enum theatres_write_col {
	THEATRES_WRITE_COL_THEATRE,
	THEATRES_WRITE_COL_KNOWN = THEATRES_NCOLUMNS,
};

/* A theatre's screens (and their rows) go with it, unless shows use them. */
static const char sql_delete[] =
    "WITH sc AS (DELETE FROM screens WHERE theatre_id = $1)"
    " DELETE FROM theatres WHERE id = $1 RETURNING id";

/*
 * The screen and its rows ($3, a JSON array in order) in one statement;
 * no row at all when the theatre does not exist.
 */
static const char sql_screen_create[] =
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
    " SELECT " THEATRES_SCREEN_COLUMNS
    " FROM sc JOIN r ON r.screen_id = sc.id"
    " ORDER BY r.position";

/* sql_screen_create's columns: the screen's alone. */
enum theatres_screen_create_col {
	THEATRES_SCREEN_CREATE_COL_SCREEN,
};

static int	theatres_bind(struct http_request *, struct catalog_req *);
static int	theatres_bind_screen(struct http_request *,
		    struct catalog_req *);
static struct kore_json_item	*theatres_get_answer(struct catalog_req *);
static struct kore_json_item	*theatres_write_answer(
				    struct http_request *,
				    struct catalog_req *);
static struct kore_json_item	*theatres_screen_answer(
				    struct http_request *,
				    struct catalog_req *);
static void	theatres_row_json(struct kore_json_item *,
		    const struct db_call *, int, int);
static struct kore_json_item	*theatres_screen_json(
				    struct kore_json_item *, const char *,
				    const struct db_call *, int, int, int64_t);
static void	theatres_screens_json(struct kore_json_item *,
		    const struct db_call *, int, int64_t);

static const char * const theatres_list_filters[] = { "city", NULL };

static const struct catalog_read theatres_list_read = {
	.sql = sql_list,
	.paged = 1,
	.filters = theatres_list_filters,
	.row = theatres_json,
	.total_col = THEATRES_LIST_COL_TOTAL,
};

static const struct catalog_read theatres_get_read = {
	.sql = sql_get,
	.id = 1,
	.answer = theatres_get_answer,
	.not_found = "No theatre with this id.",
};

static const struct catalog_write theatres_write = {
	.sql_create = sql_create,
	.sql_update = sql_update,
	.sql_delete = sql_delete,
	.insize = sizeof(struct theatres_input),
	.bind = theatres_bind,
	.answer = theatres_write_answer,
	.collection = "/api/theatres",
	.not_found = "No theatre with this id.",
};

/* A screen is made under its theatre, and read as part of it. */
static const struct catalog_write theatres_screen_write = {
	.sql_create = sql_screen_create,
	.id_on_create = 1,
	.insize = sizeof(struct theatres_screen_input),
	.bind = theatres_bind_screen,
	.answer = theatres_screen_answer,
	.collection = "/api/theatres",
	.not_found = "No theatre with this id.",
};

static const struct route_method theatres_collection_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &theatres_list_read),
	CATALOG_WRITE(HTTP_METHOD_POST, &theatres_write),
};

static const struct route_method theatres_item_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &theatres_get_read),
	CATALOG_WRITE(HTTP_METHOD_PUT, &theatres_write),
	CATALOG_WRITE(HTTP_METHOD_DELETE, &theatres_write),
};

static const struct route_method theatres_screens_methods[] = {
	CATALOG_WRITE(HTTP_METHOD_POST, &theatres_screen_write),
};

/* A theatre from THEATRES_COLUMNS at col (enum theatres_col). */
struct kore_json_item *
theatres_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*t;

	t = kore_json_create_object(parent, name);
	kore_json_create_integer(t, "id",
	    db_int(call, row, col + THEATRES_COL_ID));
	kore_json_create_string(t, "name",
	    db_value(call, row, col + THEATRES_COL_NAME));
	kore_json_create_string(t, "city",
	    db_value(call, row, col + THEATRES_COL_CITY));
	kore_json_create_string(t, "address",
	    db_value(call, row, col + THEATRES_COL_ADDRESS));
	kore_json_create_string(t, "timezone",
	    db_value(call, row, col + THEATRES_COL_TIMEZONE));

	return (t);
}

/*
 * {id, theatre_id, name, rows: []} from THEATRES_SCREEN_COLUMNS at col
 * (enum theatres_screen_col).
 */
static struct kore_json_item *
theatres_screen_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col, int64_t theatre_id)
{
	struct kore_json_item	*s;

	s = kore_json_create_object(parent, name);
	kore_json_create_integer(s, "id",
	    db_int(call, row, col + THEATRES_SCREEN_COL_ID));
	kore_json_create_integer(s, "theatre_id", theatre_id);
	kore_json_create_string(s, "name",
	    db_value(call, row, col + THEATRES_SCREEN_COL_NAME));
	(void)kore_json_create_array(s, "rows");

	return (s);
}

/*
 * Screens from rows sorted by screen, THEATRES_SCREEN_COLUMNS at col: a
 * NULL screen id for a theatre without screens, a NULL label for a
 * screen without rows.
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
		if (db_isnull(call, i, col + THEATRES_SCREEN_COL_ID))
			continue;
		if (screen == NULL ||
		    db_int(call, i, col + THEATRES_SCREEN_COL_ID) != last) {
			last = db_int(call, i, col + THEATRES_SCREEN_COL_ID);
			screen = theatres_screen_json(screens, NULL, call, i,
			    col, theatre_id);
			rows = kore_json_find_array(screen, "rows");
		}
		if (!db_isnull(call, i, col + THEATRES_SCREEN_COL_LABEL))
			theatres_row_json(rows, call, i, col);
	}
}

/*
 * {label, seats, tier, price_cents, aisles_after} from the row's columns
 * of THEATRES_SCREEN_COLUMNS at col; aisles_after is [] for a row without
 * aisles.
 */
static void
theatres_row_json(struct kore_json_item *rows, const struct db_call *call,
    int row, int col)
{
	struct kore_json_item	*r, *aisles;
	int64_t			after[THEATRES_SEATS_MAX];
	size_t			i, n;

	r = kore_json_create_object(rows, NULL);
	kore_json_create_string(r, "label",
	    db_value(call, row, col + THEATRES_SCREEN_COL_LABEL));
	kore_json_create_integer(r, "seats",
	    db_int(call, row, col + THEATRES_SCREEN_COL_SEATS));
	kore_json_create_string(r, "tier",
	    db_value(call, row, col + THEATRES_SCREEN_COL_TIER));
	kore_json_create_integer(r, "price_cents",
	    db_int(call, row, col + THEATRES_SCREEN_COL_PRICE_CENTS));
	aisles = kore_json_create_array(r, "aisles_after");
	n = db_int_array(call, row, col + THEATRES_SCREEN_COL_AISLES_AFTER,
	    after, THEATRES_SEATS_MAX);
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

static struct kore_json_item *
theatres_get_answer(struct catalog_req *c)
{
	struct kore_json_item	*root, *screens;

	if (db_rows(&c->db) == 0)
		return (NULL);

	root = theatres_json(NULL, NULL, &c->db, 0, THEATRES_GET_COL_THEATRE);
	screens = kore_json_create_array(root, "screens");
	theatres_screens_json(screens, &c->db, THEATRES_GET_COL_SCREEN, c->id);
	return (root);
}

/* The body of a POST or PUT, after the id (PUT). */
static int
theatres_bind(struct http_request *req, struct catalog_req *c)
{
	struct theatres_input	*in = c->in;
	const char		*field, *message;

	if (!theatres_input_parse(c->json.root, in, &field, &message)) {
		reply_invalid(req, field, message);
		return (KORE_RESULT_ERROR);
	}

	db_call_param(&c->db, in->name);
	db_call_param(&c->db, in->city);
	db_call_param(&c->db, in->address);
	db_call_param(&c->db, in->timezone);

	return (KORE_RESULT_OK);
}

/* The screen body as sql_screen_create's $2 and $3 (a JSON array). */
static int
theatres_bind_screen(struct http_request *req, struct catalog_req *c)
{
	struct theatres_screen_input	*in = c->in;
	struct kore_json_item		*rows, *r, *aisles, *elem;
	const char			*field, *message;
	size_t				i;

	if (!theatres_screen_input_parse(c->json.root, in, &field,
	    &message)) {
		reply_invalid(req, field, message);
		return (KORE_RESULT_ERROR);
	}

	rows = kore_json_create_array(NULL, NULL);
	for (i = 0; i < in->nrows; i++) {
		r = kore_json_create_object(rows, NULL);
		kore_json_create_string(r, "label", in->rows[i].label);
		kore_json_create_integer(r, "seats", in->rows[i].seats);
		kore_json_create_string(r, "tier", in->rows[i].tier);
		kore_json_create_integer(r, "price_cents",
		    in->rows[i].price_cents);
		aisles = kore_json_create_array(r, "aisles_after");
		if (in->rows[i].aisles_after == NULL)
			continue;
		TAILQ_FOREACH(elem, &in->rows[i].aisles_after->data.items,
		    list) {
			kore_json_create_integer(aisles, NULL,
			    elem->type == KORE_JSON_TYPE_INTEGER ?
			    elem->data.s64 : (int64_t)elem->data.u64);
		}
	}
	c->param = kore_buf_alloc(256);
	kore_json_item_tobuf(rows, c->param);
	kore_json_item_free(rows);

	db_call_param(&c->db, in->name);
	db_call_param(&c->db, kore_buf_stringify(c->param, NULL));

	return (KORE_RESULT_OK);
}

/* A write of a theatre answers whether the timezone is known. */
static struct kore_json_item *
theatres_write_answer(struct http_request *req, struct catalog_req *c)
{
	if (db_value(&c->db, 0, THEATRES_WRITE_COL_KNOWN)[0] != 't') {
		reply_invalid(req, "timezone", "timezone must be an IANA time "
		    "zone name.");
		return (NULL);
	}
	if (db_isnull(&c->db, 0, THEATRES_WRITE_COL_THEATRE)) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No theatre with this id.");
		return (NULL);
	}

	return (theatres_json(NULL, NULL, &c->db, 0,
	    THEATRES_WRITE_COL_THEATRE));
}

static struct kore_json_item *
theatres_screen_answer(struct http_request *req, struct catalog_req *c)
{
	struct kore_json_item	*screen, *rows;
	int			i, n;

	screen = theatres_screen_json(NULL, NULL, &c->db, 0,
	    THEATRES_SCREEN_CREATE_COL_SCREEN, c->id);
	rows = kore_json_find_array(screen, "rows");
	n = db_rows(&c->db);
	for (i = 0; i < n; i++) {
		theatres_row_json(rows, &c->db, i,
		    THEATRES_SCREEN_CREATE_COL_SCREEN);
	}

	return (screen);
}
