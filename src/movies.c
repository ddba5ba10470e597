/*
 * movies: GET /api/movies (list with q, city, date, limit, offset) and
 * GET /api/movies/{id}.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

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
    " SELECT page.*, (SELECT count(*) FROM f)"
    " FROM (SELECT 1) one LEFT JOIN page ON true";

static const char *sql_get =
    "SELECT " MOVIES_COLUMNS " FROM movies m WHERE m.id = $1";

struct movies_req {
	struct db_call	db;
	int64_t		limit;
	int64_t		offset;
	char		id[24];
	char		slimit[24];
	char		soffset[24];
};

static int	movies_list(struct http_request *);
static int	movies_get(struct http_request *);
static int	movies_list_start(struct http_request *);
static int	movies_list_query(struct http_request *);
static int	movies_list_answer(struct http_request *);
static int	movies_get_start(struct http_request *);
static int	movies_get_query(struct http_request *);
static int	movies_get_answer(struct http_request *);
static void	movies_free(struct http_request *);

#define MOVIES_LIST_START	0
#define MOVIES_LIST_QUERY	1
#define MOVIES_LIST_ANSWER	2

static struct http_state movies_list_states[] = {
	KORE_HTTP_STATE(movies_list_start),
	KORE_HTTP_STATE(movies_list_query),
	KORE_HTTP_STATE(movies_list_answer),
};

#define MOVIES_GET_START	0
#define MOVIES_GET_QUERY	1
#define MOVIES_GET_ANSWER	2

static struct http_state movies_get_states[] = {
	KORE_HTTP_STATE(movies_get_start),
	KORE_HTTP_STATE(movies_get_query),
	KORE_HTTP_STATE(movies_get_answer),
};

static const struct route_method movies_collection_methods[] = {
	{ HTTP_METHOD_GET, movies_list },
};

static const struct route_method movies_item_methods[] = {
	{ HTTP_METHOD_GET, movies_get },
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

static int
movies_list(struct http_request *req)
{
	return (http_state_run(movies_list_states,
	    ROUTE_STATES(movies_list_states), req));
}

static int
movies_get(struct http_request *req)
{
	return (http_state_run(movies_get_states,
	    ROUTE_STATES(movies_get_states), req));
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

	req->fsm_state = MOVIES_LIST_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_list_query(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	switch (db_run(&m->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		/* Only a date like 2026-02-31 gets past the validator. */
		if (db_sqlstate_is(&m->db, "22008"))
			reply_invalid(req, "date", "date is not a real date.");
		else
			reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = MOVIES_LIST_ANSWER;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_list_answer(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);
	struct kore_json_item	*root, *data;
	int			i, rows;
	int64_t			total;

	root = reply_list_new(&data);
	rows = db_rows(&m->db);
	total = rows > 0 ? db_int(&m->db, 0, MOVIES_NCOLUMNS) : 0;

	for (i = 0; i < rows; i++) {
		if (db_isnull(&m->db, i, 0))
			continue;
		movies_json(data, NULL, &m->db, i, 0);
	}

	reply_list(req, root, m->limit, m->offset, total);
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

	req->fsm_state = MOVIES_GET_QUERY;
	return (HTTP_STATE_CONTINUE);
}

static int
movies_get_query(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	switch (db_run(&m->db, req)) {
	case DB_PENDING:
		return (HTTP_STATE_RETRY);
	case DB_FAILED:
		reply_unavailable(req);
		return (HTTP_STATE_COMPLETE);
	}

	req->fsm_state = MOVIES_GET_ANSWER;
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

	reply_json(req, HTTP_STATUS_OK, movies_json(NULL, NULL, &m->db, 0, 0));
	return (HTTP_STATE_COMPLETE);
}

static void
movies_free(struct http_request *req)
{
	struct movies_req	*m = http_state_get(req);

	if (m == NULL)
		return;

	db_call_cleanup(&m->db);
	http_state_cleanup(req);
}
