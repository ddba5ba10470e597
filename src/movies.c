/*
 * movies: GET /api/movies (list with q, city, date, limit, offset),
 * GET /api/movies/{id} and GET /api/movies/{id}/shows (with city, date,
 * limit, offset). Every answer is cached (cache.c).
 *
 * Admin writes: POST /api/movies, PUT /api/movies/{id} (a full
 * replacement: absent optional fields get their defaults) and DELETE
 * /api/movies/{id} (409 in_use while shows refer to the movie). Each
 * bumps the cache generation after it committed.
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
#include "movies.h"
#include "reply.h"
#include "route.h"
#include "shows.h"

int	movies_collection(struct http_request *);
int	movies_item(struct http_request *);
int	movies_shows(struct http_request *);

/*
 * One row even for an empty page, so the total is always known: the page
 * is left-joined onto a single row and id is NULL when the page is empty.
 * A movie matches city/date when it has a show in a theatre of that city
 * starting on that date of the theatre's local calendar.
 */
static const char *sql_list =
    "WITH f AS ("
    "  SELECT m.* FROM movies m"
    "  WHERE ($1::text IS NULL OR m.title ILIKE '%' ||"
    "    replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
    "    || '%')"
    "  AND (($2::text IS NULL AND $3::date IS NULL) OR EXISTS ("
    "    SELECT 1 FROM shows s"
    "    JOIN screens sc ON sc.id = s.screen_id"
    "    JOIN theatres t ON t.id = sc.theatre_id"
    "    WHERE s.movie_id = m.id"
    "    AND ($2::text IS NULL OR lower(t.city) = lower($2))"
    "    AND ($3::date IS NULL OR"
    "      (s.start_time AT TIME ZONE t.timezone)::date = $3::date)))"
    "), page AS ("
    "  SELECT " MOVIES_COLUMNS " FROM f m ORDER BY m.id"
    "  LIMIT $4 OFFSET $5"
    ")"
    " SELECT page.*, c.total"
    " FROM (SELECT count(*) AS total FROM f) c LEFT JOIN page ON true"
    " ORDER BY page.id";

static const char *sql_get =
    "SELECT " MOVIES_COLUMNS " FROM movies m WHERE m.id = $1";

/*
 * A movie's shows, as GET /api/shows?movie_id= lists them, plus whether
 * the movie exists at all (an unknown movie is a 404, not an empty list).
 */
static const char *sql_shows =
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

static const char *sql_create =
    "INSERT INTO movies AS m (title, description, duration_minutes,"
    " rating, poster_url, release_date)"
    " VALUES ($1, coalesce($2, ''), $3::integer, coalesce($4, ''), $5,"
    " $6::date)"
    " RETURNING " MOVIES_COLUMNS;

static const char *sql_update =
    "UPDATE movies m SET title = $2, description = coalesce($3, ''),"
    " duration_minutes = $4::integer, rating = coalesce($5, ''),"
    " poster_url = $6, release_date = $7::date, updated_at = now()"
    " WHERE m.id = $1"
    " RETURNING " MOVIES_COLUMNS;

static const char *sql_delete =
    "DELETE FROM movies WHERE id = $1 RETURNING id";

/* Result columns of sql_shows after SHOWS_COLUMNS and the row number. */
#define MOVIES_SHOWS_TOTAL_COL	(SHOWS_NCOLUMNS + 1)
#define MOVIES_SHOWS_FOUND_COL	(SHOWS_NCOLUMNS + 2)

struct movies_req {
	struct db_call		db;
	struct cache_entry	cache;
	int64_t			limit;
	int64_t			offset;
	char			id[24];
	char			slimit[24];
	char			soffset[24];

	/* Writes only. */
	struct auth		auth;
	struct kore_json	json;
	struct movies_input	in;
	char			duration[24];
};

static int	movies_list_start(struct http_request *);
static int	movies_list_answer(struct http_request *);
static int	movies_get_start(struct http_request *);
static int	movies_get_answer(struct http_request *);
static int	movies_shows_start(struct http_request *);
static int	movies_shows_answer(struct http_request *);
static int	movies_cache(struct http_request *);
static int	movies_query(struct http_request *);
static int	movies_write_auth(struct http_request *);
static int	movies_write_parse(struct http_request *);
static int	movies_write_query(struct http_request *);
static int	movies_write_invalidate(struct http_request *);
static int	movies_write_answer(struct http_request *);
static void	movies_free(struct http_request *);

/* Every read: parse, look in the cache, query on a miss, answer. */
#define MOVIES_READ_START	0
#define MOVIES_READ_CACHE	1
#define MOVIES_READ_QUERY	2
#define MOVIES_READ_ANSWER	3

static struct http_state movies_list_states[] = {
	KORE_HTTP_STATE(movies_list_start),
	KORE_HTTP_STATE(movies_cache),
	KORE_HTTP_STATE(movies_query),
	KORE_HTTP_STATE(movies_list_answer),
};

static struct http_state movies_get_states[] = {
	KORE_HTTP_STATE(movies_get_start),
	KORE_HTTP_STATE(movies_cache),
	KORE_HTTP_STATE(movies_query),
	KORE_HTTP_STATE(movies_get_answer),
};

static struct http_state movies_shows_states[] = {
	KORE_HTTP_STATE(movies_shows_start),
	KORE_HTTP_STATE(movies_cache),
	KORE_HTTP_STATE(movies_query),
	KORE_HTTP_STATE(movies_shows_answer),
};

/*
 * Every write (POST, PUT, DELETE): admin check, body and id, the one
 * statement, cache invalidation, answer.
 */
#define MOVIES_WRITE_AUTH	0
#define MOVIES_WRITE_PARSE	1
#define MOVIES_WRITE_QUERY	2
#define MOVIES_WRITE_INVALIDATE	3
#define MOVIES_WRITE_ANSWER	4

static struct http_state movies_write_states[] = {
	KORE_HTTP_STATE(movies_write_auth),
	KORE_HTTP_STATE(movies_write_parse),
	KORE_HTTP_STATE(movies_write_query),
	KORE_HTTP_STATE(movies_write_invalidate),
	KORE_HTTP_STATE(movies_write_answer),
};

static const struct route_method movies_collection_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, movies_list_states),
	ROUTE_METHOD(HTTP_METHOD_POST, movies_write_states),
};

static const struct route_method movies_item_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, movies_get_states),
	ROUTE_METHOD(HTTP_METHOD_PUT, movies_write_states),
	ROUTE_METHOD(HTTP_METHOD_DELETE, movies_write_states),
};

static const struct route_method movies_shows_methods[] = {
	ROUTE_METHOD(HTTP_METHOD_GET, movies_shows_states),
};

struct kore_json_item *
movies_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*m;

	m = kore_json_create_object(parent, name);
	kore_json_create_integer(m, "id", db_int(call, row, col));
	kore_json_create_string(m, "title", db_value(call, row, col + 1));
	kore_json_create_string(m, "description",
	    db_value(call, row, col + 2));
	kore_json_create_integer(m, "duration_minutes",
	    db_int(call, row, col + 3));
	kore_json_create_string(m, "rating", db_value(call, row, col + 4));

	if (db_isnull(call, row, col + 5))
		kore_json_create_literal(m, "poster_url", KORE_JSON_NULL);
	else
		kore_json_create_string(m, "poster_url",
		    db_value(call, row, col + 5));

	if (db_isnull(call, row, col + 6))
		kore_json_create_literal(m, "release_date", KORE_JSON_NULL);
	else
		kore_json_create_string(m, "release_date",
		    db_value(call, row, col + 6));

	return (m);
}

/*
 * The one validation of a movie body. On failure *field names the first
 * offending member and *message says what it must be.
 */
int
movies_input_parse(struct kore_json_item *root, struct movies_input *in,
    const char **field, const char **message)
{
	memset(in, 0, sizeof(*in));

	if (!body_get_string(root, "title", BODY_REQUIRED, 1, 200,
	    &in->title)) {
		*field = "title";
		*message = "title must be a string of 1 to 200 characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "description", BODY_OPTIONAL, 0, 5000,
	    &in->description)) {
		*field = "description";
		*message = "description must be a string of at most 5000 "
		    "characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_int(root, "duration_minutes", BODY_REQUIRED, 1, 1000,
	    &in->duration_minutes)) {
		*field = "duration_minutes";
		*message = "duration_minutes must be an integer from 1 to "
		    "1000.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "rating", BODY_OPTIONAL, 0, 20,
	    &in->rating)) {
		*field = "rating";
		*message = "rating must be a string of at most 20 characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "poster_url", BODY_OPTIONAL, 1, 2000,
	    &in->poster_url)) {
		*field = "poster_url";
		*message = "poster_url must be null or a string of 1 to 2000 "
		    "characters.";
		return (KORE_RESULT_ERROR);
	}
	if (!body_get_string(root, "release_date", BODY_OPTIONAL, 10, 10,
	    &in->release_date) || (in->release_date != NULL &&
	    !body_date_valid(in->release_date))) {
		*field = "release_date";
		*message = "release_date must be null or a date YYYY-MM-DD.";
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

int
movies_collection(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, movies_collection_methods));
}

int
movies_item(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, movies_item_methods));
}

int
movies_shows(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, movies_shows_methods));
}

/* Validate the query string and bind it to the statement. */
static int
movies_list_start(struct http_request *req)
{
	struct movies_req	*m;
	const char		*q, *city, *date;

	http_populate_get(req);
	m = http_state_create(req, sizeof(*m), movies_free);

	if (!route_page(req, &m->limit, &m->offset))
		return (HTTP_STATE_COMPLETE);
	if (route_param(req, "q", &q) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "q", "q must be 1 to 200 printable "
		    "characters.");
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

	(void)snprintf(m->slimit, sizeof(m->slimit), "%lld",
	    (long long)m->limit);
	(void)snprintf(m->soffset, sizeof(m->soffset), "%lld",
	    (long long)m->offset);

	db_call_init(&m->db, sql_list);
	db_call_param(&m->db, q);
	db_call_param(&m->db, city);
	db_call_param(&m->db, date);
	db_call_param(&m->db, m->slimit);
	db_call_param(&m->db, m->soffset);

	cache_param(&m->cache, "q", q);
	cache_param(&m->cache, "city", city);
	cache_param(&m->cache, "date", date);
	cache_param(&m->cache, "limit", m->slimit);
	cache_param(&m->cache, "offset", m->soffset);

	req->fsm_state = MOVIES_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

/* A cached body answers at once; a miss goes to PostgreSQL. */
static int
movies_cache(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	switch (cache_lookup(req, &m->cache)) {
	case CACHE_PENDING:
		return (HTTP_STATE_RETRY);
	case CACHE_HIT:
		cache_reply_hit(req, &m->cache);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = MOVIES_READ_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_query(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	switch (db_run(&m->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		/* Only a date like 2026-02-31 gets past the validator. */
		if (!db_sqlstate_is(&m->db, "22008"))
			return (reply_db_failed(req, &m->db));
		reply_invalid(req, "date", "date is not a real date.");
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = MOVIES_READ_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_list_answer(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);
	struct kore_json_item	*root;

	root = reply_list_rows(&m->db, movies_json, MOVIES_NCOLUMNS, m->limit,
	    m->offset);
	cache_reply(req, &m->cache, root);
	return (HTTP_STATE_COMPLETE);
}

static int
movies_get_start(struct http_request *req)
{
	struct movies_req	*m;
	int64_t			id;

	m = http_state_create(req, sizeof(*m), movies_free);
	if (!route_id(req, 1, &id))
		return (HTTP_STATE_COMPLETE);

	(void)snprintf(m->id, sizeof(m->id), "%lld", (long long)id);
	db_call_init(&m->db, sql_get);
	db_call_param(&m->db, m->id);

	req->fsm_state = MOVIES_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_get_answer(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	if (db_rows(&m->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No movie with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	cache_reply(req, &m->cache, movies_json(NULL, NULL, &m->db, 0, 0));
	return (HTTP_STATE_COMPLETE);
}

/* Validate the id and the query string and bind them to the statement. */
static int
movies_shows_start(struct http_request *req)
{
	struct movies_req	*m;
	const char		*city, *date;
	int64_t			id;

	http_populate_get(req);
	m = http_state_create(req, sizeof(*m), movies_free);

	if (!route_id(req, 1, &id))
		return (HTTP_STATE_COMPLETE);
	if (!route_page(req, &m->limit, &m->offset))
		return (HTTP_STATE_COMPLETE);
	if (route_param(req, "city", &city) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "city", "city must be 1 to 100 printable "
		    "characters.");
		return (HTTP_STATE_COMPLETE);
	}
	if (route_param(req, "date", &date) == ROUTE_PARAM_INVALID) {
		reply_invalid(req, "date", "date must be YYYY-MM-DD.");
		return (HTTP_STATE_COMPLETE);
	}

	(void)snprintf(m->id, sizeof(m->id), "%lld", (long long)id);
	(void)snprintf(m->slimit, sizeof(m->slimit), "%lld",
	    (long long)m->limit);
	(void)snprintf(m->soffset, sizeof(m->soffset), "%lld",
	    (long long)m->offset);

	db_call_init(&m->db, sql_shows);
	db_call_param(&m->db, m->id);
	db_call_param(&m->db, city);
	db_call_param(&m->db, date);
	db_call_param(&m->db, m->slimit);
	db_call_param(&m->db, m->soffset);

	cache_param(&m->cache, "city", city);
	cache_param(&m->cache, "date", date);
	cache_param(&m->cache, "limit", m->slimit);
	cache_param(&m->cache, "offset", m->soffset);

	req->fsm_state = MOVIES_READ_CACHE;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_shows_answer(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);
	struct kore_json_item	*root;
	int			rows;

	rows = db_rows(&m->db);
	if (rows == 0 ||
	    db_value(&m->db, 0, MOVIES_SHOWS_FOUND_COL)[0] != 't') {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No movie with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	root = reply_list_rows(&m->db, shows_json, MOVIES_SHOWS_TOTAL_COL,
	    m->limit, m->offset);
	cache_reply(req, &m->cache, root);
	return (HTTP_STATE_COMPLETE);
}

/* Only an admin may write. */
static int
movies_write_auth(struct http_request *req)
{
	struct movies_req	*m;

	if ((m = http_state_get(req)) == NULL)
		m = http_state_create(req, sizeof(*m), movies_free);

	switch (admin_authorize(req, &m->auth)) {
	case AUTH_PENDING:
		return (HTTP_STATE_RETRY);
	case AUTH_DENIED:
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = MOVIES_WRITE_PARSE;
	return (HTTP_STATE_CONTINUE);
}

/* The id (PUT, DELETE) and the body (POST, PUT), bound to the statement. */
static int
movies_write_parse(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);
	const char		*field, *message;
	int64_t			id;

	if (req->method != HTTP_METHOD_POST) {
		if (!route_id(req, 1, &id))
			return (HTTP_STATE_COMPLETE);
		(void)snprintf(m->id, sizeof(m->id), "%lld", (long long)id);
	}

	if (req->method == HTTP_METHOD_DELETE) {
		db_call_init(&m->db, sql_delete);
		db_call_param(&m->db, m->id);
		req->fsm_state = MOVIES_WRITE_QUERY;
		return (HTTP_STATE_CONTINUE);
	}

	if (!body_json(req, &m->json, BODY_REQUIRED))
		return (HTTP_STATE_COMPLETE);
	if (!movies_input_parse(m->json.root, &m->in, &field, &message)) {
		reply_invalid(req, field, message);
		return (HTTP_STATE_COMPLETE);
	}
	(void)snprintf(m->duration, sizeof(m->duration), "%lld",
	    (long long)m->in.duration_minutes);

	if (req->method == HTTP_METHOD_POST) {
		db_call_init(&m->db, sql_create);
	} else {
		db_call_init(&m->db, sql_update);
		db_call_param(&m->db, m->id);
	}
	db_call_param(&m->db, m->in.title);
	db_call_param(&m->db, m->in.description);
	db_call_param(&m->db, m->duration);
	db_call_param(&m->db, m->in.rating);
	db_call_param(&m->db, m->in.poster_url);
	db_call_param(&m->db, m->in.release_date);

	req->fsm_state = MOVIES_WRITE_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_write_query(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	switch (db_run(&m->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		return (admin_db_failed(req, &m->db, "release_date"));
	}

	req->fsm_state = MOVIES_WRITE_INVALIDATE;
	return (HTTP_STATE_CONTINUE);
}

/* Committed: cached catalog bodies are stale from now on. */
static int
movies_write_invalidate(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	if (cache_invalidate(req, &m->cache) == CACHE_PENDING)
		return (HTTP_STATE_RETRY);

	req->fsm_state = MOVIES_WRITE_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_write_answer(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	if (db_rows(&m->db) == 0) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
		    "No movie with this id.");
		return (HTTP_STATE_COMPLETE);
	}

	switch (req->method) {
	case HTTP_METHOD_POST:
		admin_created(req, "/api/movies", db_int(&m->db, 0, 0),
		    movies_json(NULL, NULL, &m->db, 0, 0));
		break;
	case HTTP_METHOD_PUT:
		reply_json(req, HTTP_STATUS_OK,
		    movies_json(NULL, NULL, &m->db, 0, 0));
		break;
	default:
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
		break;
	}

	return (HTTP_STATE_COMPLETE);
}

static void
movies_free(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	if (m == NULL)
		return;

	db_call_cleanup(&m->db);
	cache_cleanup(&m->cache);
	auth_cleanup(&m->auth);
	body_cleanup(&m->json);
	http_state_cleanup(req);
}
