/*
 * cors: cross-origin calls from browsers for the origins in CORS_ORIGINS
 * (none by default): the response headers every answer carries and the
 * preflight (OPTIONS) answer route_dispatch() gives.
 */
#ifndef __H_CORS_H
#define __H_CORS_H

#include <kore/kore.h>
#include <kore/http.h>

#define CORS_ORIGINS_MAX	32
#define CORS_MAX_AGE		"600"

int	cors_config(const char *);
void	cors_headers(struct http_request *);
void	cors_preflight(struct http_request *, const char *);

/* Exposed for tests. */
int	cors_origin_allowed(const char *);

#endif
