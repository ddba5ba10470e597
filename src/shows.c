/*
 * shows: GET /api/shows (list with movie_id, theatre_id, city, date,
 * limit, offset), a movie's shows GET /api/movies/{id}/shows (city, date,
 * limit, offset), GET /api/shows/{id} with seats_available, and the seat
 * map GET /api/shows/{id}/seats.
 *
 * The list is cached with the catalog (cache.c). A show's
 * seats_available and its seat map (anonymous, or a signed-in caller's
 * with held_by_me) are cached by seatmap.c, which keeps them fresh after
 * every seat-changing commit and lets them lapse by the earliest hold or
 * payment deadline they show. A seat's status
 * comes from the seat_states view, the one place that knows about holds
 * and bookings.
 *
 * Admin writes: POST /api/shows makes the show and its seats (one per
 * seat of the screen's rows, prices copied) in one statement, its end
 * from the movie's duration; PUT /api/shows/{id} moves it in time or
 * changes its movie (not its screen: the seats belong to the screen);
 * DELETE /api/shows/{id}. An overlap on the screen is 409 show_overlap.
 *
 * The list and the writes are catalog.c's flows, described here; a
 * show's details and its seat map have their own, as seatmap.c caches
 * them.
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
#include "seatmap.h"
#include "shows.h"
#include "state.h"

int	shows_collection(struct http_request *);
int	shows_item(struct http_request *);
int	shows_seats(struct http_request *);
int	shows_by_movie(struct http_request *);

/*
 * One row even for an empty page (see movies.c), sorted by the page's own
 * row number. `date` is the theatre's local calendar date.
 */
static const char sql_list[] =
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

/* The show's columns (enum shows_col), its place in the page, the total. */
enum shows_list_col {
	SHOWS_LIST_COL_N = SHOWS_NCOLUMNS,
	SHOWS_LIST_COL_TOTAL,
};

/*
 * A movie's shows, as GET /api/shows?movie_id= lists them, plus whether
 * the movie exists at all (an unknown movie is a 404, not an empty list).
 */
static const char sql_by_movie[] =
    "WITH f AS ("
    "  SELECT s.id FROM shows s"
    "  JOIN screens sc ON sc.id = s.screen_id"
    "  JOIN theatres t ON t.id = sc.theatre_id"
    "  WHERE s.movie_id = $1::bigint"
    "  AND ($2::text IS NULL OR lower(t.city) = lower($2))"
    "  AND ($3::date IS NULL OR"
    "    (s.start_time AT TIME ZONE t.timezone)::date = $3::date)"
    "), page AS ("
    "  SELECT " SHOWS_COLUMNS ","
    "    row_number() OVER (ORDER BY s.start_time, s.id) AS n"
    "  FROM " SHOWS_FROM
    "  WHERE s.id IN (SELECT id FROM f)"
    "  ORDER BY s.start_time, s.id LIMIT $4 OFFSET $5"
    ")"
    " SELECT page.*, c.total, c.found"
    " FROM (SELECT count(*) AS total,"
    "   EXISTS (SELECT 1 FROM movies WHERE id = $1::bigint) AS found"
    "   FROM f) c"
    " LEFT JOIN page ON true"
    " ORDER BY page.n";

/* As sql_list's, and whether the movie exists. */
enum shows_by_movie_col {
	SHOWS_BY_MOVIE_COL_N = SHOWS_NCOLUMNS,
	SHOWS_BY_MOVIE_COL_TOTAL,
	SHOWS_BY_MOVIE_COL_FOUND,
};

/*
 * A seat is available when seat_states says so (migration 006); the last
 * column is how long the answer may be cached (migration 009).
 */
static const char sql_get[] =
    "SELECT " SHOWS_COLUMNS ", show_seats_available(s.id),"
    " show_seat_ttl_ms(s.id, $2)"
    " FROM " SHOWS_FROM
    " WHERE s.id = $1";

enum shows_get_col {
	SHOWS_GET_COL_SHOW,		/* enum shows_col */
	SHOWS_GET_COL_AVAILABLE = SHOWS_NCOLUMNS,
	SHOWS_GET_COL_TTL,
};

/*
 * The show id, then one row per seat (seat columns NULL for a show
 * without seats), each with how long the map may be cached. $2 is the
 * caller's user id (NULL when anonymous): a seat whose holder it is is
 * held_by_me.
 */
static const char sql_seats[] =
    "SELECT m.show_id, m.seat_id, m.row_label, m.seat_number, m.tier,"
    " m.price_cents, m.status, m.held_by_me, t.ttl"
    " FROM show_seat_map($1, $2::bigint) m,"
    " (SELECT show_seat_ttl_ms($1, $3)) t(ttl)";

enum shows_seats_col {
	SHOWS_SEATS_COL_SHOW_ID,
	SHOWS_SEATS_COL_SEAT_ID,
	SHOWS_SEATS_COL_ROW_LABEL,
	SHOWS_SEATS_COL_SEAT_NUMBER,
	SHOWS_SEATS_COL_TIER,
	SHOWS_SEATS_COL_PRICE_CENTS,
	SHOWS_SEATS_COL_STATUS,
	SHOWS_SEATS_COL_HELD_BY_ME,
	SHOWS_SEATS_COL_TTL,
};

#define SHOWS_TTL_MAX		SEATMAP_XSTR(SEATMAP_TTL_MAX_MS)

/*
 * The new show with its seats in one statement. One row always: the show
 * (NULL when not made), its seat count, and whether the movie and the
 * screen exist.
 */
static const char sql_create[] =
    "WITH mv AS ("
    "  SELECT id, duration_minutes FROM movies WHERE id = $1::bigint"
    "), scr AS ("
    "  SELECT id FROM screens WHERE id = $2::bigint"
    "), ins AS ("
    "  INSERT INTO shows (movie_id, screen_id, start_time, end_time,"
    "    currency)"
    "  SELECT mv.id, scr.id, $3::timestamptz, $3::timestamptz +"
    "    make_interval(mins => mv.duration_minutes), coalesce($4, 'EUR')"
    "  FROM mv, scr"
    "  RETURNING *"
    "), x AS ("
    "  INSERT INTO seats (show_id, row_label, number, tier, price_cents)"
    "  SELECT ins.id, r.label, n, r.tier, r.price_cents"
    "  FROM ins JOIN screen_rows r ON r.screen_id = ins.screen_id"
    "  CROSS JOIN LATERAL generate_series(1, r.seats) n"
    "  ORDER BY r.position, n"
    "  RETURNING id"
    ")"
    " SELECT page.*, (SELECT count(*) FROM x),"
    "  EXISTS (SELECT 1 FROM mv), EXISTS (SELECT 1 FROM scr)"
    " FROM (SELECT 1) one LEFT JOIN ("
    "  SELECT " SHOWS_COLUMNS
    "  FROM ins s JOIN movies m ON m.id = s.movie_id"
    "  JOIN screens sc ON sc.id = s.screen_id"
    "  JOIN theatres t ON t.id = sc.theatre_id"
    " ) page ON true";

/*
 * The columns sql_create and sql_update share: the show (enum shows_col,
 * its id NULL when not written) and its available seats, then the flags
 * of each.
 */
enum shows_write_col {
	SHOWS_WRITE_COL_SHOW,
	SHOWS_WRITE_COL_SEATS = SHOWS_NCOLUMNS,
	SHOWS_WRITE_COL_FLAGS,
};

enum shows_create_col {
	SHOWS_CREATE_COL_MOVIE_FOUND = SHOWS_WRITE_COL_FLAGS,
	SHOWS_CREATE_COL_SCREEN_FOUND,
};

/*
 * Same shape: the show (NULL when not changed), its available seats, and
 * whether the show, the movie exist and the screen is the show's own.
 */
static const char sql_update[] =
    "WITH cur AS ("
    "  SELECT id, screen_id FROM shows WHERE id = $1::bigint"
    "), mv AS ("
    "  SELECT id, duration_minutes FROM movies WHERE id = $2::bigint"
    "), up AS ("
    "  UPDATE shows s SET movie_id = mv.id, start_time = $4::timestamptz,"
    "    end_time = $4::timestamptz +"
    "      make_interval(mins => mv.duration_minutes),"
    "    currency = coalesce($5, s.currency), updated_at = now()"
    "  FROM mv WHERE s.id = $1::bigint AND s.screen_id = $3::bigint"
    "  RETURNING s.*"
    ")"
    " SELECT page.*,"
    "  (SELECT count(*) FROM seats x"
    "   JOIN seat_states st ON st.seat_id = x.id"
    "   WHERE x.show_id = $1::bigint AND st.status = 'available'),"
    "  EXISTS (SELECT 1 FROM cur), EXISTS (SELECT 1 FROM mv),"
    "  EXISTS (SELECT 1 FROM cur WHERE screen_id = $3::bigint)"
    " FROM (SELECT 1) one LEFT JOIN ("
    "  SELECT " SHOWS_COLUMNS
    "  FROM up s JOIN movies m ON m.id = s.movie_id"
    "  JOIN screens sc ON sc.id = s.screen_id"
    "  JOIN theatres t ON t.id = sc.theatre_id"
    " ) page ON true";

enum shows_update_col {
	SHOWS_UPDATE_COL_SHOW_FOUND = SHOWS_WRITE_COL_FLAGS,
	SHOWS_UPDATE_COL_MOVIE_FOUND,
	SHOWS_UPDATE_COL_SCREEN_OWN,
};

/* Its seats go with it (ON DELETE CASCADE) unless bookings hold them. */
static const char sql_delete[] =
    "DELETE FROM shows WHERE id = $1 RETURNING id";

/* A show's details or its seat map. */
struct shows_req {
	struct db_call		db;
	struct seatmap_entry	seatmap;
	struct throttle		reads;	/* per client address */
	int			charged;
	struct auth		auth;
	int64_t			show_id;
};

static int	shows_bind(struct http_request *, struct catalog_req *);
static struct kore_json_item	*shows_by_movie_answer(struct catalog_req *);
static struct kore_json_item	*shows_write_answer(struct http_request *,
				    struct catalog_req *);
static int	shows_write_refused(struct http_request *,
		    const struct db_call *);
static int	shows_bind_id(struct http_request *, struct shows_req *,
		    const char *);
static int	shows_seatmap_state(struct http_request *, int, int);
static int	shows_get_bind(struct http_request *);
static int	shows_get_cache(struct http_request *);
static int	shows_get_query(struct http_request *);
static int	shows_get_answer(struct http_request *);
static int	shows_seats_bind(struct http_request *);
static int	shows_seats_caller(struct http_request *);
static int	shows_seats_params(struct http_request *);
static int	shows_seats_cache(struct http_request *);
static int	shows_seats_query(struct http_request *);
static int	shows_seats_answer(struct http_request *);
static void	shows_free(struct http_request *);

static const char * const shows_list_filters[] = { "movie_id",
    "theatre_id", "city", "date", NULL };

static const struct catalog_read shows_list_read = {
	.sql = sql_list,
	.paged = 1,
	.filters = shows_list_filters,
	.row = shows_json,
	.total_col = SHOWS_LIST_COL_TOTAL,
};

static const char * const shows_by_movie_filters[] = { "city", "date",
    NULL };

static const struct catalog_read shows_by_movie_read = {
	.sql = sql_by_movie,
	.id = 1,
	.paged = 1,
	.filters = shows_by_movie_filters,
	.answer = shows_by_movie_answer,
	.not_found = "No movie with this id.",
};

static const struct catalog_write shows_write = {
	.sql_create = sql_create,
	.sql_update = sql_update,
	.sql_delete = sql_delete,
	.insize = sizeof(struct shows_input),
	.bind = shows_bind,
	.answer = shows_write_answer,
	.collection = "/api/shows",
	.not_found = "No show with this id.",
	.time_field = "start_time",
};

/* A show's details: bind, seatmap.c's cache, query on a miss, answer. */
enum shows_get_state {
	SHOWS_GET_BIND,
	SHOWS_GET_CACHE,
	SHOWS_GET_QUERY,
	SHOWS_GET_ANSWER,
};

static struct http_state shows_get_states[] = {
	[SHOWS_GET_BIND] = KORE_HTTP_STATE(shows_get_bind),
	[SHOWS_GET_CACHE] = KORE_HTTP_STATE(shows_get_cache),
	[SHOWS_GET_QUERY] = KORE_HTTP_STATE(shows_get_query),
	[SHOWS_GET_ANSWER] = KORE_HTTP_STATE(shows_get_answer),
};

/*
 * The seat map learns who asks first: an anonymous caller and a signed-in
 * one (held_by_me) have bodies of their own in seatmap.c's cache.
 */
enum shows_seats_state {
	SHOWS_SEATS_BIND,
	SHOWS_SEATS_CALLER,
	SHOWS_SEATS_PARAMS,
	SHOWS_SEATS_CACHE,
	SHOWS_SEATS_QUERY,
	SHOWS_SEATS_ANSWER,
};

static struct http_state shows_seats_states[] = {
	[SHOWS_SEATS_BIND] = KORE_HTTP_STATE(shows_seats_bind),
	[SHOWS_SEATS_CALLER] = KORE_HTTP_STATE(shows_seats_caller),
	[SHOWS_SEATS_PARAMS] = KORE_HTTP_STATE(shows_seats_params),
	[SHOWS_SEATS_CACHE] = KORE_HTTP_STATE(shows_seats_cache),
	[SHOWS_SEATS_QUERY] = KORE_HTTP_STATE(shows_seats_query),
	[SHOWS_SEATS_ANSWER] = KORE_HTTP_STATE(shows_seats_answer),
};

static const struct route_method shows_collection_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &shows_list_read),
	CATALOG_WRITE(HTTP_METHOD_POST, &shows_write),
};

static const struct route_method shows_item_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, shows_get_states),
	CATALOG_WRITE(HTTP_METHOD_PUT, &shows_write),
	CATALOG_WRITE(HTTP_METHOD_DELETE, &shows_write),
};

static const struct route_method shows_by_movie_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &shows_by_movie_read),
};

static const struct route_method shows_seats_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, shows_seats_states),
};

struct kore_json_item *
shows_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*s;

	s = kore_json_create_object(parent, name);
	kore_json_create_integer(s, "id",
	    db_int(call, row, col + SHOWS_COL_ID));
	movies_json(s, "movie", call, row, col + SHOWS_COL_MOVIE);
	theatres_json(s, "theatre", call, row, col + SHOWS_COL_THEATRE);
	kore_json_create_integer(s, "screen_id",
	    db_int(call, row, col + SHOWS_COL_SCREEN_ID));
	kore_json_create_string(s, "start_time",
	    db_value(call, row, col + SHOWS_COL_START_TIME));
	kore_json_create_string(s, "end_time",
	    db_value(call, row, col + SHOWS_COL_END_TIME));
	kore_json_create_string(s, "currency",
	    db_value(call, row, col + SHOWS_COL_CURRENCY));

	return (s);
}

/*
 * The one validation of a show body. On failure *field names the first
 * offending member and *message says what it must be.
 */
int
shows_input_parse(struct kore_json_item *root, struct shows_input *in,
    const char **field, const char **message)
{
	const char	*c;

	memset(in, 0, sizeof(*in));

	if (!body_get_int(root, "movie_id", BODY_REQUIRED, 1, INT64_MAX,
	    &in->movie_id)) {
		*field = "movie_id";
		*message = "movie_id must be a positive integer.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_int(root, "screen_id", BODY_REQUIRED, 1, INT64_MAX,
	    &in->screen_id)) {
		*field = "screen_id";
		*message = "screen_id must be a positive integer.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "start_time", BODY_REQUIRED, 20, 64,
	    &in->start_time) || !body_rfc3339_valid(in->start_time)) {
		*field = "start_time";
		*message = "start_time must be an RFC 3339 date-time, "
		    "e.g. 2026-12-24T18:30:00Z.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "currency", BODY_OPTIONAL, 3, 3, &c) ||
	    (c != NULL && (c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' ||
	    c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z'))) {
		*field = "currency";
		*message = "currency must be an ISO 4217 code, e.g. EUR.";
		return (KORE_RESULT_ERROR);
	}
	in->currency = c;

	return (KORE_RESULT_OK);
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

int
shows_by_movie(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, shows_by_movie_methods));
}

/* An unknown movie is a 404, not an empty list. */
static struct kore_json_item *
shows_by_movie_answer(struct catalog_req *c)
{
	if (db_rows(&c->db) == 0 ||
	    db_value(&c->db, 0, SHOWS_BY_MOVIE_COL_FOUND)[0] != 't')
		return (NULL);

	return (reply_list_rows(&c->db, shows_json, SHOWS_BY_MOVIE_COL_TOTAL,
	    c->limit, c->offset));
}

/* The body of a POST or PUT, after the id (PUT). */
static int
shows_bind(struct http_request *req, struct catalog_req *c)
{
	struct shows_input	*in = c->in;
	const char		*field, *message;

	if (!shows_input_parse(c->json.root, in, &field, &message)) {
		reply_invalid(req, field, message);
		return (KORE_RESULT_ERROR);
	}

	(void)db_call_param_int(&c->db, in->movie_id);
	(void)db_call_param_int(&c->db, in->screen_id);
	db_call_param(&c->db, in->start_time);
	db_call_param(&c->db, in->currency);

	return (KORE_RESULT_OK);
}

/*
 * Why a POST or PUT changed nothing, from the flags after the show's
 * columns; answers and returns 1 when it did.
 */
static int
shows_write_refused(struct http_request *req, const struct db_call *db)
{
	if (req->method == HTTP_METHOD_PUT) {
		if (db_value(db, 0, SHOWS_UPDATE_COL_SHOW_FOUND)[0] != 't') {
			reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
			    "No show with this id.");
			return (1);
		}
		if (db_value(db, 0, SHOWS_UPDATE_COL_MOVIE_FOUND)[0] != 't') {
			reply_invalid(req, "movie_id",
			    "No movie with this id.");
			return (1);
		}
		if (db_value(db, 0, SHOWS_UPDATE_COL_SCREEN_OWN)[0] != 't') {
			reply_invalid(req, "screen_id", "A show cannot move to "
			    "another screen; delete it and create a new one.");
			return (1);
		}
		return (0);
	}

	if (db_value(db, 0, SHOWS_CREATE_COL_MOVIE_FOUND)[0] != 't') {
		reply_invalid(req, "movie_id", "No movie with this id.");
		return (1);
	}
	if (db_value(db, 0, SHOWS_CREATE_COL_SCREEN_FOUND)[0] != 't') {
		reply_invalid(req, "screen_id", "No screen with this id.");
		return (1);
	}

	return (0);
}

/* The statements answer one row, the show or why it was not written. */
static struct kore_json_item *
shows_write_answer(struct http_request *req, struct catalog_req *c)
{
	struct kore_json_item	*root;

	if (db_rows(&c->db) != 1) {
		kore_log(LOG_ERR, "shows_write_answer: %d rows",
		    db_rows(&c->db));
		reply_internal(req);
		return (NULL);
	}
	if (shows_write_refused(req, &c->db))
		return (NULL);
	if (db_isnull(&c->db, 0, SHOWS_WRITE_COL_SHOW)) {
		kore_log(LOG_ERR, "shows_write_answer: no show and no reason");
		reply_internal(req);
		return (NULL);
	}

	root = shows_json(NULL, NULL, &c->db, 0, SHOWS_WRITE_COL_SHOW);
	kore_json_create_integer(root, "seats_available",
	    db_int(&c->db, 0, SHOWS_WRITE_COL_SEATS));
	return (root);
}

/* The show id from the path as $1 of sql; the 400 is sent on failure. */
static int
shows_bind_id(struct http_request *req, struct shows_req *s, const char *sql)
{
	if (!route_id(req, 1, &s->show_id))
		return (KORE_RESULT_ERROR);

	db_call_init(&s->db, sql);
	(void)db_call_param_int(&s->db, s->show_id);

	return (KORE_RESULT_OK);
}

/*
 * A body seatmap.c has answers at once; a miss goes on to `next`, the
 * query.
 */
static int
shows_seatmap_state(struct http_request *req, int kind, int next)
{
	struct shows_req	*s = http_state_get(req);

	/* A public read: the address's charge goes with the lookup. */
	if (!s->charged) {
		s->charged = 1;
		throttle_reads(req, &s->reads);
		(void)seatmap_lookup(req, &s->seatmap, kind, s->show_id,
		    s->auth.user_id);
	}
	switch (throttle_limited(req, &s->reads)) {
	case THROTTLE_PENDING:
		return (HTTP_STATE_RETRY);
	case THROTTLE_LIMITED:
		return (HTTP_STATE_COMPLETE);
	}

	switch (seatmap_lookup(req, &s->seatmap, kind, s->show_id,
	    s->auth.user_id)) {
	case SEATMAP_PENDING:
		return (HTTP_STATE_RETRY);
	case SEATMAP_HIT:
		seatmap_reply_hit(req, &s->seatmap);
		return (HTTP_STATE_COMPLETE);
	}

	return (state_next(req, next));
}

/* The show's id from the path, and how long its answer may be cached. */
static int
shows_get_bind(struct http_request *req)
{
	struct shows_req	*s;

	s = state_req(req, sizeof(*s), shows_free);
	if (!shows_bind_id(req, s, sql_get))
		return (HTTP_STATE_COMPLETE);
	db_call_param(&s->db, SHOWS_TTL_MAX);

	return (state_next(req, SHOWS_GET_CACHE));
}

/* seatmap.c's cached body, if it has one. */
static int
shows_get_cache(struct http_request *req)
{
	return (shows_seatmap_state(req, SEATMAP_BODY_SHOW, SHOWS_GET_QUERY));
}

/* A miss: the show and its available seats. */
static int
shows_get_query(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	return (db_state(req, &s->db, SHOWS_GET_ANSWER, catalog_read_failed));
}

/* 404, or the show with seats_available, cached for next time. */
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

	root = shows_json(NULL, NULL, &s->db, 0, SHOWS_GET_COL_SHOW);
	kore_json_create_integer(root, "seats_available",
	    db_int(&s->db, 0, SHOWS_GET_COL_AVAILABLE));
	seatmap_reply(req, &s->seatmap, root,
	    db_int(&s->db, 0, SHOWS_GET_COL_TTL), 0);
	return (HTTP_STATE_COMPLETE);
}

/* The show's id from the path. */
static int
shows_seats_bind(struct http_request *req)
{
	struct shows_req	*s;

	s = state_req(req, sizeof(*s), shows_free);
	if (!shows_bind_id(req, s, sql_seats))
		return (HTTP_STATE_COMPLETE);

	return (state_next(req, SHOWS_SEATS_CALLER));
}

/* Anonymous callers are welcome; a signed-in one sees held_by_me. */
static int
shows_seats_caller(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	return (auth_state(req, auth_optional(req, &s->auth),
	    SHOWS_SEATS_PARAMS));
}

/* The caller (NULL when anonymous) and the cache's bound. */
static int
shows_seats_params(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	if (s->auth.user_id != 0)
		(void)db_call_param_int(&s->db, s->auth.user_id);
	else
		db_call_param(&s->db, NULL);
	db_call_param(&s->db, SHOWS_TTL_MAX);

	return (state_next(req, SHOWS_SEATS_CACHE));
}

/* seatmap.c's cached body for this caller, if it has one. */
static int
shows_seats_cache(struct http_request *req)
{
	return (shows_seatmap_state(req, SEATMAP_BODY_SEATS,
	    SHOWS_SEATS_QUERY));
}

/* A miss: the seat map. */
static int
shows_seats_query(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	return (db_state(req, &s->db, SHOWS_SEATS_ANSWER,
	    catalog_read_failed));
}

/* 404, or every seat with its status, cached for next time. */
static int
shows_seats_answer(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);
	struct kore_json_item	*root, *seats, *seat;
	int			i, rows, mine;

	if ((rows = db_rows(&s->db)) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No show with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_integer(root, "show_id",
	    db_int(&s->db, 0, SHOWS_SEATS_COL_SHOW_ID));
	seats = kore_json_create_array(root, "seats");

	mine = 0;
	for (i = 0; i < rows; i++) {
		if (db_isnull(&s->db, i, SHOWS_SEATS_COL_SEAT_ID))
			continue;
		seat = kore_json_create_object(seats, NULL);
		kore_json_create_integer(seat, "id",
		    db_int(&s->db, i, SHOWS_SEATS_COL_SEAT_ID));
		kore_json_create_string(seat, "row",
		    db_value(&s->db, i, SHOWS_SEATS_COL_ROW_LABEL));
		kore_json_create_integer(seat, "number",
		    db_int(&s->db, i, SHOWS_SEATS_COL_SEAT_NUMBER));
		kore_json_create_string(seat, "tier",
		    db_value(&s->db, i, SHOWS_SEATS_COL_TIER));
		kore_json_create_integer(seat, "price_cents",
		    db_int(&s->db, i, SHOWS_SEATS_COL_PRICE_CENTS));
		kore_json_create_string(seat, "status",
		    db_value(&s->db, i, SHOWS_SEATS_COL_STATUS));
		if (db_value(&s->db, i, SHOWS_SEATS_COL_HELD_BY_ME)[0] == 't') {
			kore_json_create_literal(seat, "held_by_me",
			    KORE_JSON_TRUE);
			mine = 1;
		}
	}

	seatmap_reply(req, &s->seatmap, root,
	    db_int(&s->db, 0, SHOWS_SEATS_COL_TTL), mine);
	return (HTTP_STATE_COMPLETE);
}

static void
shows_free(struct http_request *req)
{
	struct shows_req	*s = http_state_get(req);

	if (s == NULL)
		return;

	db_call_cleanup(&s->db);
	seatmap_cleanup(&s->seatmap);
	throttle_cleanup(&s->reads);
	auth_cleanup(&s->auth);
	http_state_cleanup(req);
}
