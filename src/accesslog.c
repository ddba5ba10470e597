/*
 * accesslog: one JSON object per line on standard output for every
 * answer, written with a single write(2) so lines of different workers
 * never interleave:
 *
 *   {"time":"2026-11-23T13:30:00.123Z","request_id":"...","method":"GET",
 *    "route":"/api/movies/{id}","status":200,"duration_ms":3,
 *    "user_id":5,"client":"127.0.0.1"}
 *
 * What a line may hold is fixed here: the route's label (never the path
 * or query, which may carry anything), the request id as sent in
 * X-Request-Id (a validated client id or a random one), the user id that
 * auth_check() recorded (null for anonymous calls), the client address
 * from peer.c. Never a header value, token, password or body. Errors Kore
 * answers before any handler ran (413, 408, a bad request line) are logged
 * with route "none" and method null.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "peer.h"

#define ACCESSLOG_LINE_MAX	512

static void	accesslog_time(char *, size_t);
static const char	*accesslog_request_id(struct http_request *);
static void	accesslog_write(const char *, int);

static void
accesslog_time(char *out, size_t len)
{
	struct timespec		ts;
	struct tm		tm;
	char			base[32];

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = '\0';
	(void)snprintf(out, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static const char *
accesslog_request_id(struct http_request *req)
{
	struct http_header	*hdr;

	TAILQ_FOREACH(hdr, &req->resp_headers, list) {
		if (!strcasecmp(hdr->header, "x-request-id"))
			return (hdr->value);
	}

	return ("");
}

static void
accesslog_write(const char *line, int len)
{
	if (len <= 0 || len >= ACCESSLOG_LINE_MAX)
		return;
	/* A log line that cannot be written is not worth failing for. */
	(void)write(STDOUT_FILENO, line, len);
}

void
accesslog_request(struct http_request *req, const char *route)
{
	char		line[ACCESSLOG_LINE_MAX], when[40], user[24];
	char		addr[PEER_ADDR_MAX];

	accesslog_time(when, sizeof(when));
	peer_address(req, addr, sizeof(addr));
	if (req->user_id > 0)
		(void)snprintf(user, sizeof(user), "%lld",
		    (long long)req->user_id);
	else
		kore_strlcpy(user, "null", sizeof(user));

	accesslog_write(line, snprintf(line, sizeof(line),
	    "{\"time\":\"%s\",\"request_id\":\"%s\",\"method\":\"%s\","
	    "\"route\":\"%s\",\"status\":%d,\"duration_ms\":%llu,"
	    "\"user_id\":%s,\"client\":\"%s\"}\n", when,
	    accesslog_request_id(req), http_method_text(req->method), route,
	    req->status,
	    (unsigned long long)(kore_time_ms() - req->created), user, addr));
}

void
accesslog_kore_error(struct connection *c, int status, const char *id)
{
	char		line[ACCESSLOG_LINE_MAX], when[40];
	char		addr[PEER_ADDR_MAX];

	accesslog_time(when, sizeof(when));
	peer_connection_address(c, addr, sizeof(addr));
	accesslog_write(line, snprintf(line, sizeof(line),
	    "{\"time\":\"%s\",\"request_id\":\"%s\",\"method\":null,"
	    "\"route\":\"none\",\"status\":%d,\"duration_ms\":0,"
	    "\"user_id\":null,\"client\":\"%s\"}\n", when, id, status, addr));
}
