/*
 * cors: Cross-Origin Resource Sharing for an allow-list of origins.
 *
 * CORS_ORIGINS is a comma-separated list of exact origins
 * ("https://app.example.com", scheme and host, optional port, no path);
 * it is read once in the parent. A request whose Origin is on the list
 * gets Access-Control-Allow-Origin naming that origin (never "*": the API
 * is called with Bearer tokens) and the headers a client may read; any
 * other origin gets no CORS header at all, so the browser keeps the
 * answer from the page. When the list is not empty every answer says
 * Vary: Origin, since it depends on it (caches in between must not hand
 * one origin's answer to another).
 *
 * A preflight (OPTIONS with Access-Control-Request-Method) from an
 * allowed origin is answered 204 with the route's methods, the request
 * headers the API reads (Authorization, Content-Type, Idempotency-Key,
 * X-Request-Id) and a max-age; from anyone else 204 without them.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "cors.h"

#define CORS_ORIGIN_MAX		256

static char	cors_origins[CORS_ORIGINS_MAX][CORS_ORIGIN_MAX];
static int	cors_count;

static int	cors_origin_valid(const char *);

/* scheme://host[:port], nothing else, no spaces or control characters. */
static int
cors_origin_valid(const char *o)
{
	const char	*host;
	size_t		i;

	if (!strncmp(o, "https://", 8))
		host = o + 8;
	else if (!strncmp(o, "http://", 7))
		host = o + 7;
	else
		return (0);

	if (*host == '\0')
		return (0);
	for (i = 0; host[i] != '\0'; i++) {
		if (host[i] <= ' ' || host[i] >= 0x7f || host[i] == '/' ||
		    host[i] == ',' || host[i] == '*')
			return (0);
	}

	return (1);
}

int
cors_config(const char *list)
{
	const char	*p, *end;
	size_t		len;

	cors_count = 0;
	if (list == NULL)
		return (KORE_RESULT_OK);

	for (p = list; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = end - p;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (cors_count == CORS_ORIGINS_MAX ||
		    len >= sizeof(cors_origins[0]))
			return (KORE_RESULT_ERROR);
		memcpy(cors_origins[cors_count], p, len);
		cors_origins[cors_count][len] = '\0';
		if (!cors_origin_valid(cors_origins[cors_count]))
			return (KORE_RESULT_ERROR);
		cors_count++;
	}

	return (KORE_RESULT_OK);
}

/* Origins compare exactly (RFC 6454 serialisation, as browsers send it). */
int
cors_origin_allowed(const char *origin)
{
	int	i;

	for (i = 0; i < cors_count; i++) {
		if (!strcmp(cors_origins[i], origin))
			return (1);
	}

	return (0);
}

void
cors_headers(struct http_request *req)
{
	const char	*origin;

	if (cors_count == 0)
		return;

	http_response_header(req, "vary", "Origin");
	if (!http_request_header(req, "origin", &origin) ||
	    !cors_origin_allowed(origin))
		return;

	http_response_header(req, "access-control-allow-origin", origin);
	http_response_header(req, "access-control-expose-headers",
	    "X-Request-Id, Retry-After, Idempotent-Replayed, Location, "
	    "X-Cache, WWW-Authenticate");
}

/* Before reply_empty(204): the preflight's own headers. */
void
cors_preflight(struct http_request *req, const char *methods)
{
	const char	*origin, *method;

	http_response_header(req, "allow", methods);
	if (!http_request_header(req, "origin", &origin) ||
	    !cors_origin_allowed(origin) ||
	    !http_request_header(req, "access-control-request-method",
	    &method))
		return;

	http_response_header(req, "access-control-allow-methods", methods);
	http_response_header(req, "access-control-allow-headers",
	    "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
	http_response_header(req, "access-control-max-age", CORS_MAX_AGE);
}
