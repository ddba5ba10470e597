/*
 * shows: GET /api/shows (list with movie_id, theatre_id, city, date,
 * limit, offset), GET /api/shows/{id} with seats_available, and the seat
 * map GET /api/shows/{id}/seats.
 *
 * Only the list is cached: a show's seats_available and its seat map
 * change with every hold and booking. A seat's status comes from the
 * seat_states view, the one place that knows about holds and bookings.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>

#include "cache.h"
#include "db.h"
#include "reply.h"
#include "route.h"
#include "shows.h"

int	shows_collection(struct http_request *);
int	shows_item(struct http_request *);
int	shows_seats(struct http_request *);

/*
 * One row even for an empty page (see movies.c), sorted by the page's own
 * row number. `date` is the theatre's local calendar date.
 */
static const char *sql_list =
    "WITH f AS ("
    "  SELECT s.id FROM shows s"
    "  JOIN screens sc ON sc.id = s.screen_id"
    "  JOIN theatres t ON t.id = sc.theatre_id"
    "  WHERE ($1::bigint IS NULL OR s.movie_id = $1::bigint)"
    "  AND ($2::bigint IS NULL OR sc.theatre_id = $2::bigint)"
    "  AND ($3::text IS NULL OR lower(t.city) = lower($3))"
    "  AND ($4::date IS NULL OR"
    "    (s.start_time AT TIME ZONE t.timezone)::date = $4::date)"
    "), page AS ("
    "  SELECT " SHOWS_COLUMNS ","
    "    row_number() OVER (ORDER BY s.start_time, s.id) AS n"
    "  FROM " SHOWS_FROM
    "  WHERE s.id IN (SELECT id FROM f)"
    "  ORDER BY s.start_time, s.id LIMIT $5 OFFSET $6"
    ")"
    " SELECT page.*, c.total"
    " FROM (SELECT count(*) AS total FROM f) c LEFT JOIN page ON true"
    " ORDER BY page.n";

/* A seat is available when seat_states says so. */
static const char *sql_get =
    "SELECT " SHOWS_COLUMNS ","
    " (SELECT count(*) FROM seats x"
    "  JOIN seat_states st ON st.seat_id = x.id"
    "  WHERE x.show_id = s.id AND st.status = 'available')"
    " FROM " SHOWS_FROM
    " WHERE s.id = $1";

/*
 * The show id, then one row per seat (seat columns NULL for a show
 * without seats). $2 is the caller's user id: a seat whose holder it is
 * is held_by_me. NULL until requests carry a user.
 */
static const char *sql_seats =
    "SELECT s.id, x.id, x.row_label, x.number, x.tier, x.price_cents,"
    " coalesce(st.status, 'available'),"
    " coalesce(st.holder_id = $2::bigint, false)"
    " FROM shows s"
    " LEFT JOIN seats x ON x.show_id = s.id"
    " LEFT JOIN seat_states st ON st.seat_id = x.id"
    " WHERE s.id = $1"
    " ORDER BY x.id";

/* Result columns after SHOWS_COLUMNS. */
#define SHOWS_LIST_TOTAL_COL	(SHOWS_NCOLUMNS + 1)
#define SHOWS_AVAILABLE_COL	SHOWS_NCOLUMNS

struct shows_req {
	struct db_call		db;
	struct cache_entry	cache;
	int64_t			limit;
	int64_t			offset;
	char			id[24];
	char			slimit[24];
	char			soffset[24];
};

static int	shows_list(struct http_request *);
static int	shows_get(struct http_request *);
static int	shows_seat_map(struct http_request *);
static int	shows_list_start(struct http_request *);
static int	shows_list_answer(struct http_request *);
static int	shows_get_start(struct http_request *);
static int	shows_get_answer(struct http_request *);
static int	shows_seats_start(struct http_request *);
static int	shows_seats_answer(struct http_request *);
static int	shows_cache(struct http_request *);
static int	shows_query(struct http_request *);
static int	shows_bind_id(struct http_request *, struct shows_req *,
		    const char *);
static void	shows_free(struct http_request *);

/*
 * Every read: parse, look in the cache, query on a miss, answer. Reads
 * that are never cached go from their start straight to the query.
 */
#define SHOWS_READ_START	0
#define SHOWS_READ_CACHE	1
#define SHOWS_READ_QUERY	2
#define SHOWS_READ_ANSWER	3

static struct http_state shows_list_states[] = {
	KORE_HTTP_STATE(shows_list_start),
	KORE_HTTP_STATE(shows_cache),
	KORE_HTTP_STATE(shows_query),
	KORE_HTTP_STATE(shows_list_answer),
};

static struct http_state shows_get_states[] = {
	KORE_HTTP_STATE(shows_get_start),
	KORE_HTTP_STATE(shows_cache),
	KORE_HTTP_STATE(shows_query),
	KORE_HTTP_STATE(shows_get_answer),
};

static struct http_state shows_seats_states[] = {
	KORE_HTTP_STATE(shows_seats_start),
	KORE_HTTP_STATE(shows_cache),
	KORE_HTTP_STATE(shows_query),
	KORE_HTTP_STATE(shows_seats_answer),
};

static const struct route_method shows_collection_methods[] = {
	{ HTTP_METHOD_GET, shows_list },
};

static const struct route_method shows_item_methods[] = {
	{ HTTP_METHOD_GET, shows_get },
};

static const struct route_method shows_seats_methods[] = {
	{ HTTP_METHOD_GET, shows_seat_map },
};

struct kore_json_item *
shows_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*s;

	s = kore_json_create_object(parent, name);
	kore_json_create_integer(s, "id", db_int(call, row, col));
	movies_json(s, "movie", call, row, col + 5);
	theatres_json(s, "theatre", call, row, col + 5 + MOVIES_NCOLUMNS);
	kore_json_create_integer(s, "screen_id", db_int(call, row, col + 1));
	kore_json_create_string(s, "start_time", db_value(call, row, col + 2));
	kore_json_create_string(s, "end_time", db_value(call, row, col + 3));
	kore_json_create_string(s, "currency", db_value(call, row, col + 4));

	return (s);
}

int
shows_collection(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, shows_collection_methods));
}

int
shows_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, shows_item_methods));
}

int
shows_seats(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, shows_seats_methods));
}

static int
shows_list(struct http_request *req)
{
	return (http_state_run(shows_list_states,
	    ROUTE_STATES(shows_list_states), req));
}

static int
shows_get(struct http_request *req)
{
	return (http_state_run(shows_get_states,
	    ROUTE_STATES(shows_get_states), req));
}

static int
shows_seat_map(struct http_request *req)
{
	return (http_state_run(shows_seats_states,
	    ROUTE_STATES(shows_seats_states), req));
}

/* Validate the query string and bind it to the statement. */
static int
shows_list_start(struct http_request *req)
{
	struct shows_req	*s;
	const char		*movie, *theatre, *city, *date;

	http_populate_get(req);
	s = http_state_create(req, sizeof(*s), shows_free);

	if (!route_page(req, &s->limit, &s->offset))
		return (HTTP_STATE_COMPLETE);
	if (route_param(req, "movie_id", &movie) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "movie_id", "movie_id must be a positive "
		    "integer.");
		return (HTTP_STATE_COMPLETE);
	}
	if (route_param(req, "theatre_id", &theatre) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "theatre_id", "theatre_id must be a "
		    "positive integer.");
		return (HTTP_STATE_COMPLETE);
	}
	if (route_param(req, "city", &city) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "city", "city must be 1 to 100 printable "
		    "characters.");
		return (HTTP_STATE_COMPLETE);
	}
	if (route_param(req, "date", &date) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "date", "date must be YYYY-MM-DD.");
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(s->slimit, sizeof(s->slimit), "%lld",
	    (long long)s->limit);
	(void)snprintf(s->soffset, sizeof(s->soffset), "%lld",
	    (long long)s->offset);

	db_call_init(&s->db, sql_list);
	db_call_param(&s->db, movie);
	db_call_param(&s->db, theatre);
	db_call_param(&s->db, city);
	db_call_param(&s->db, date);
	db_call_param(&s->db, s->slimit);
	db_call_param(&s->db, s->soffset);

	req->fsm_state = SHOWS_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

/* The show id from the path as $1 of sql; the 400 is sent on failure. */
static int
shows_bind_id(struct http_request *req, struct shows_req *s, const char *sql)
{
	int64_t		id;

	if (!route_id(req, 1, &id))
		return (KORE_RESULT_ERROR);

	(void)snprintf(s->id, sizeof(s->id), "%lld", (long long)id);
	db_call_init(&s->db, sql);
	db_call_param(&s->db, s->id);

	return (KORE_RESULT_OK);
}

static int
shows_get_start(struct http_request *req)
{
	struct shows_req	*s;

	s = http_state_create(req, sizeof(*s), shows_free);
	if (!shows_bind_id(req, s, sql_get))
		return (HTTP_STATE_COMPLETE);

	req->fsm_state = SHOWS_READ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
shows_seats_start(struct http_request *req)
{
	struct shows_req	*s;

	s = http_state_create(req, sizeof(*s), shows_free);
	if (!shows_bind_id(req, s, sql_seats))
		return (HTTP_STATE_COMPLETE);

	/* The caller's user id, once seat maps know who is asking. */
	db_call_param(&s->db, NULL);

	req->fsm_state = SHOWS_READ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

/* A cached body answers at once; a miss goes to PostgreSQL. */
static int
shows_cache(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	switch (cache_lookup(req, &s->cache)) {
	case CACHE_PENDING:
		return (HTTP_STATE_RETRY);
	case CACHE_HIT:
		cache_reply_hit(req, &s->cache);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = SHOWS_READ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
shows_query(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	switch (db_run(&s->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		/* Only a date like 2026-02-31 gets past the validator. */
		if (db_sqlstate_is(&s->db, "22008"))
			reply_invalid(req, "date", "date is not a real date.");
		else
			reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = SHOWS_READ_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
shows_list_answer(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);
	struct kore_json_item	*root, *data;
	int			i, rows;
	int64_t			total;

	root = reply_list_new(&data);
	rows = db_rows(&s->db);
	total = rows > 0 ? db_int(&s->db, 0, SHOWS_LIST_TOTAL_COL) : 0;

	for (i = 0; i < rows; i++) {
		if (db_isnull(&s->db, i, 0))
			continue;
		shows_json(data, NULL, &s->db, i, 0);
	}

	reply_list_end(root, s->limit, s->offset, total);
	cache_reply(req, &s->cache, root);
	return (HTTP_STATE_COMPLETE);
}

static int
shows_get_answer(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);
	struct kore_json_item	*root;

	if (db_rows(&s->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = shows_json(NULL, NULL, &s->db, 0, 0);
	kore_json_create_integer(root, "seats_available",
	    db_int(&s->db, 0, SHOWS_AVAILABLE_COL));
	reply_json(req, HTTP_STATUS_OK, root);
	return (HTTP_STATE_COMPLETE);
}

static int
shows_seats_answer(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);
	struct kore_json_item	*root, *seats, *seat;
	int			i, rows;

	if ((rows = db_rows(&s->db)) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_integer(root, "show_id", db_int(&s->db, 0, 0));
	seats = kore_json_create_array(root, "seats");

	for (i = 0; i < rows; i++) {
		if (db_isnull(&s->db, i, 1))
			continue;
		seat = kore_json_create_object(seats, NULL);
		kore_json_create_integer(seat, "id", db_int(&s->db, i, 1));
		kore_json_create_string(seat, "row", db_value(&s->db, i, 2));
		kore_json_create_integer(seat, "number", db_int(&s->db, i, 3));
		kore_json_create_string(seat, "tier", db_value(&s->db, i, 4));
		kore_json_create_integer(seat, "price_cents",
		    db_int(&s->db, i, 5));
		kore_json_create_string(seat, "status", db_value(&s->db, i, 6));
		if (db_value(&s->db, i, 7)[0] == 't') {
			kore_json_create_literal(seat, "held_by_me",
			    KORE_JSON_TRUE);
		}
	}

	reply_json(req, HTTP_STATUS_OK, root);
	return (HTTP_STATE_COMPLETE);
}

static void
shows_free(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	if (s == NULL)
		return;

	db_call_cleanup(&s->db);
	cache_cleanup(&s->cache);
	http_state_cleanup(req);
}
