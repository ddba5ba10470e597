/*
 * movies: GET /api/movies (list with q, city, date, limit, offset) and
 * GET /api/movies/{id}. Every answer is cached (cache.c). A movie's shows
 * (GET /api/movies/{id}/shows) are listed by shows.c.
 *
 * Admin writes: POST /api/movies, PUT /api/movies/{id} (a full
 * replacement: absent optional fields get their defaults) and DELETE
 * /api/movies/{id} (409 in_use while shows refer to the movie).
 *
 * The flows are catalog.c's; this file describes the movie: its
 * statements, its JSON and its body.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "body.h"
#include "catalog.h"
#include "db.h"
#include "movies.h"
#include "reply.h"
#include "route.h"

int	movies_collection(struct http_request *);
int	movies_item(struct http_request *);

/*
 * One row even for an empty page, so the total is always known: the page
 * is left-joined onto a single row and id is NULL when the page is empty.
 * A movie matches city/date when it has a show in a theatre of that city
 * starting on that date of the theatre's local calendar.
 */
static const char sql_list[] =
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

/* sql_list's columns: the movie's (page.*: MOVIES_COLUMNS), the total. */
enum movies_list_col {
	MOVIES_LIST_COL_MOVIE,
	MOVIES_LIST_COL_TOTAL = MOVIES_NCOLUMNS,
};

static const char sql_get[] =
    "SELECT " MOVIES_COLUMNS " FROM movies m WHERE m.id = $1";

static const char sql_create[] =
    "INSERT INTO movies AS m (title, description, duration_minutes,"
    " rating, poster_url, release_date)"
    " VALUES ($1, coalesce($2, ''), $3::integer, coalesce($4, ''), $5,"
    " $6::date)"
    " RETURNING " MOVIES_COLUMNS;

static const char sql_update[] =
    "UPDATE movies m SET title = $2, description = coalesce($3, ''),"
    " duration_minutes = $4::integer, rating = coalesce($5, ''),"
    " poster_url = $6, release_date = $7::date, updated_at = now()"
    " WHERE m.id = $1"
    " RETURNING " MOVIES_COLUMNS;

static const char sql_delete[] =
    "DELETE FROM movies WHERE id = $1 RETURNING id";

static int	movies_bind(struct http_request *, struct catalog_req *);

static const char * const movies_list_filters[] = { "q", "city", "date",
    NULL };

static const struct catalog_read movies_list_read = {
	.sql = sql_list,
	.paged = 1,
	.filters = movies_list_filters,
	.row = movies_json,
	.total_col = MOVIES_LIST_COL_TOTAL,
};

static const struct catalog_read movies_get_read = {
	.sql = sql_get,
	.id = 1,
	.row = movies_json,
	.not_found = "No movie with this id.",
};

static const struct catalog_write movies_write = {
	.sql_create = sql_create,
	.sql_update = sql_update,
	.sql_delete = sql_delete,
	.insize = sizeof(struct movies_input),
	.bind = movies_bind,
	.row = movies_json,
	.collection = "/api/movies",
	.not_found = "No movie with this id.",
	.time_field = "release_date",
};

static const struct route_method movies_collection_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &movies_list_read),
	CATALOG_WRITE(HTTP_METHOD_POST, &movies_write),
};

static const struct route_method movies_item_methods[] = {
	CATALOG_READ(HTTP_METHOD_GET, &movies_get_read),
	CATALOG_WRITE(HTTP_METHOD_PUT, &movies_write),
	CATALOG_WRITE(HTTP_METHOD_DELETE, &movies_write),
};

/* A movie from MOVIES_COLUMNS at col (enum movies_col). */
struct kore_json_item *
movies_json(struct kore_json_item *parent, const char *name,
    const struct db_call *call, int row, int col)
{
	struct kore_json_item	*m;

	m = kore_json_create_object(parent, name);
	kore_json_create_integer(m, "id",
	    db_int(call, row, col + MOVIES_COL_ID));
	kore_json_create_string(m, "title",
	    db_value(call, row, col + MOVIES_COL_TITLE));
	kore_json_create_string(m, "description",
	    db_value(call, row, col + MOVIES_COL_DESCRIPTION));
	kore_json_create_integer(m, "duration_minutes",
	    db_int(call, row, col + MOVIES_COL_DURATION_MINUTES));
	kore_json_create_string(m, "rating",
	    db_value(call, row, col + MOVIES_COL_RATING));

	if (db_isnull(call, row, col + MOVIES_COL_POSTER_URL))
		kore_json_create_literal(m, "poster_url", KORE_JSON_NULL);
	else
		kore_json_create_string(m, "poster_url",
		    db_value(call, row, col + MOVIES_COL_POSTER_URL));

	if (db_isnull(call, row, col + MOVIES_COL_RELEASE_DATE))
		kore_json_create_literal(m, "release_date", KORE_JSON_NULL);
	else
		kore_json_create_string(m, "release_date",
		    db_value(call, row, col + MOVIES_COL_RELEASE_DATE));

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

/* The body of a POST or PUT, after the id (PUT). */
static int
movies_bind(struct http_request *req, struct catalog_req *c)
{
	struct movies_input	*in = c->in;
	const char		*field, *message;

	if (!movies_input_parse(c->json.root, in, &field, &message)) {
		reply_invalid(req, field, message);
		return (KORE_RESULT_ERROR);
	}

	db_call_param(&c->db, in->title);
	db_call_param(&c->db, in->description);
	(void)db_call_param_int(&c->db, in->duration_minutes);
	db_call_param(&c->db, in->rating);
	db_call_param(&c->db, in->poster_url);
	db_call_param(&c->db, in->release_date);

	return (KORE_RESULT_OK);
}
