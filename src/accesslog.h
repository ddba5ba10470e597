/*
 * accesslog: one JSON line on standard output per answered request.
 */
#ifndef __H_ACCESSLOG_H
#define __H_ACCESSLOG_H

#include <kore/kore.h>
#include <kore/http.h>

void	accesslog_request(struct http_request *, const char *);
void	accesslog_kore_error(struct connection *, int, const char *);

#endif
