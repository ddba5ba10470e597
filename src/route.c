/*
 * route: method dispatch, path ids and query parameters.
 *
 * Kore 4.1.0 validates query parameters with the config's validators but
 * drops a value that fails instead of refusing the request; route_param()
 * tells "absent" from "present but invalid" (or given twice) by looking at
 * the raw query string, so a bad limit is a 400 rather than a silent
 * default.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "cors.h"
#include "reply.h"
#include "route.h"

#define ROUTE_SEGMENT_MAX	64
#define ROUTE_LABEL_MAX		64

/*
 * The config's routes in config order, with a label fit for logs and
 * metrics ("/api/movies/{id}/shows" for ^/api/movies/[^/]+/shows$). Made
 * in the parent after the config is parsed; workers inherit it, so every
 * worker numbers routes alike.
 */
static struct {
	const struct kore_module_handle	*hdlr;
	char				label[ROUTE_LABEL_MAX];
} route_table[ROUTE_TABLE_MAX];
static int	route_count;

static void	route_label_make(const char *, char *, size_t);

static const char	*route_method_name(int);
static void		route_allow(const struct route_method *, size_t,
			    struct kore_buf *);
static int		route_qs_count(struct http_request *, const char *);

static const char *
route_method_name(int method)
{
	switch (method) {
	case HTTP_METHOD_GET:
		return ("GET");
	case HTTP_METHOD_POST:
		return ("POST");
	case HTTP_METHOD_PUT:
		return ("PUT");
	case HTTP_METHOD_DELETE:
		return ("DELETE");
	case HTTP_METHOD_PATCH:
		return ("PATCH");
	default:
		return (NULL);
	}
}

/* "GET, POST, ...": the methods of a route, HEAD and OPTIONS implied. */
static void
route_allow(const struct route_method *table, size_t count,
    struct kore_buf *allow)
{
	const char	*name;
	size_t		i;

	kore_buf_init(allow, 64);
	for (i = 0; i < count; i++) {
		if ((name = route_method_name(table[i].method)) == NULL)
			continue;
		kore_buf_appendf(allow, "%s%s", allow->offset ? ", " : "",
		    name);
	}
}

/*
 * Runs the route's handler for the request's method (GET's for HEAD);
 * OPTIONS is a CORS preflight (cors.c), anything else 405 with Allow.
 */
int
route_dispatch(struct http_request *req, const struct route_method *table,
    size_t count)
{
	size_t		i;
	struct kore_buf	allow;

	if (req->method == HTTP_METHOD_OPTIONS) {
		route_allow(table, count, &allow);
		kore_buf_appendf(&allow, ", OPTIONS");
		cors_preflight(req, kore_buf_stringify(&allow, NULL));
		kore_buf_cleanup(&allow);
		reply_empty(req, HTTP_STATUS_NO_CONTENT);
		return (KORE_RESULT_OK);
	}

	for (i = 0; i < count; i++) {
		if (table[i].method != req->method &&
		    (req->method != HTTP_METHOD_HEAD ||
		    table[i].method != HTTP_METHOD_GET))
			continue;
		if (table[i].handler != NULL)
			return (table[i].handler(req));
		if (table[i].flow != NULL)
			return (table[i].flow(req, table[i].arg));
		return (http_state_run(table[i].states, table[i].nstates,
		    req));
	}

	route_allow(table, count, &allow);
	http_response_header(req, "allow", kore_buf_stringify(&allow, NULL));
	kore_buf_cleanup(&allow);

	reply_error(req, HTTP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
	    "This method is not allowed on this resource.");
	return (KORE_RESULT_OK);
}

/*
 * The id in path segment `index` (0 is the segment after "/api/"), checked
 * by the config's v_id validator. On failure the 400 has been sent.
 */
int
route_id(struct http_request *req, int index, int64_t *out)
{
	const char	*p, *end;
	char		seg[ROUTE_SEGMENT_MAX];
	size_t		len;
	int		err;

	p = req->path;
	if (strncmp(p, "/api/", 5))
		goto invalid;
	p += 5;

	while (index-- > 0) {
		if ((p = strchr(p, '/')) == NULL)
			goto invalid;
		p++;
	}

	if ((end = strchr(p, '/')) == NULL)
		end = p + strlen(p);
	len = end - p;
	if (len == 0 || len >= sizeof(seg))
		goto invalid;

	memcpy(seg, p, len);
	seg[len] = '\0';

	if (kore_validator_run(req, "v_id", seg) != KORE_RESULT_OK)
		goto invalid;

	*out = kore_strtonum(seg, 10, 1, INT64_MAX, &err);
	if (err != KORE_RESULT_OK)
		goto invalid;

	return (KORE_RESULT_OK);

invalid:
	reply_invalid(req, "id", "The id in the path must be a positive "
	    "integer.");
	return (KORE_RESULT_ERROR);
}

/* How often `name` appears in the raw query string. */
static int
route_qs_count(struct http_request *req, const char *name)
{
	const char	*p;
	size_t		len;
	int		n;

	if (req->query_string == NULL)
		return (0);

	n = 0;
	len = strlen(name);
	p = req->query_string;
	while (p != NULL && *p != '\0') {
		if (!strncmp(p, name, len) &&
		    (p[len] == '=' || p[len] == '&' || p[len] == '\0'))
			n++;
		if ((p = strchr(p, '&')) != NULL)
			p++;
	}

	return (n);
}

/*
 * A query parameter as validated by the route's `params` block. Call after
 * http_populate_get(): Kore leaves the raw query string intact.
 */
int
route_param(struct http_request *req, const char *name, const char **out)
{
	char	*value;

	*out = NULL;
	switch (route_qs_count(req, name)) {
	case 0:
		return (ROUTE_PARAM_ABSENT);
	case 1:
		break;
	default:
		/* A scalar given twice is ambiguous, not "the first one". */
		return (ROUTE_PARAM_INVALID);
	}

	if (!http_argument_get_string(req, name, &value))
		return (ROUTE_PARAM_INVALID);

	*out = value;
	return (ROUTE_PARAM_OK);
}

/* limit (default 20, 1..100) and offset (>= 0); sends the 400 itself. */
int
route_page(struct http_request *req, int64_t *limit, int64_t *offset)
{
	const char	*v;
	int		err;

	*limit = 20;
	*offset = 0;

	switch (route_param(req, "limit", &v)) {
	case ROUTE_PARAM_INVALID:
		reply_invalid(req, "limit", "limit must be from 1 to 100.");
		return (KORE_RESULT_ERROR);
	case ROUTE_PARAM_OK:
		*limit = kore_strtonum(v, 10, 1, 100, &err);
		break;
	}

	switch (route_param(req, "offset", &v)) {
	case ROUTE_PARAM_INVALID:
		reply_invalid(req, "offset", "offset must be an integer >= 0.");
		return (KORE_RESULT_ERROR);
	case ROUTE_PARAM_OK:
		*offset = kore_strtonum(v, 10, 0, INT32_MAX, &err);
		break;
	}

	return (KORE_RESULT_OK);
}

static void
route_label_make(const char *path, char *out, size_t len)
{
	struct kore_buf	buf;
	const char	*p;

	if (!strcmp(path, "^/")) {
		kore_strlcpy(out, "other", len);
		return;
	}

	kore_buf_init(&buf, 64);
	for (p = path; *p != '\0'; p++) {
		if (*p == '^' || (*p == '$' && p[1] == '\0'))
			continue;
		if (!strncmp(p, "[^/]+", 5)) {
			kore_buf_appendf(&buf, "{id}");
			p += 4;
			continue;
		}
		kore_buf_append(&buf, p, 1);
	}
	kore_strlcpy(out, kore_buf_stringify(&buf, NULL), len);
	kore_buf_cleanup(&buf);
}

/* Call once in the parent, after the config was parsed. */
void
route_table_init(const struct kore_domain *dom)
{
	const struct kore_module_handle	*hdlr;

	route_count = 0;
	TAILQ_FOREACH(hdlr, &dom->handlers, list) {
		if (route_count == ROUTE_TABLE_MAX)
			fatal("more than %d routes", ROUTE_TABLE_MAX);
		route_table[route_count].hdlr = hdlr;
		route_label_make(hdlr->path, route_table[route_count].label,
		    sizeof(route_table[0].label));
		route_count++;
	}
}

int
route_table_count(void)
{
	return (route_count);
}

/* The route index of a request (-1: none, e.g. Kore's own errors). */
int
route_index(const struct http_request *req)
{
	int	i;

	for (i = 0; i < route_count; i++) {
		if (route_table[i].hdlr == req->hdlr)
			return (i);
	}

	return (-1);
}

const char *
route_label(int index)
{
	if (index < 0 || index >= route_count)
		return ("none");

	return (route_table[index].label);
}

int
route_not_found(struct http_request *req)
{
	reply_error(req, HTTP_STATUS_NOT_FOUND, "not_found",
	    "No such resource.");
	return (KORE_RESULT_OK);
}
