/*
 * Fuzz target: other client bytes that reach our parsers: query strings
 * (route_param()'s counting, cache_param()'s key normalisation), the
 * X-Forwarded-For walk and CIDR lists (src/peer.c), CORS origins
 * (src/cors.c), dates and timestamps (src/body.c).
 *
 * Input: up to four NUL-separated fields.
 */
#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "cache.h"
#include "cors.h"
#include "peer.h"
#include "route.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kore_mem_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct http_request	req;
	struct cache_entry	c;
	struct peer_cidrs	set, trusted;
	struct peer_ip		tcp, out;
	char			*buf, *f[4], addr[PEER_ADDR_MAX];
	const char		*v;
	size_t			i;
	int			n;

	if (len > 16384)
		return (0);

	buf = malloc(len + 1);
	memcpy(buf, data, len);
	buf[len] = '\0';
	n = 0;
	f[n++] = buf;
	for (i = 0; i < len && n < 4; i++) {
		if (buf[i] == '\0')
			f[n++] = buf + i + 1;
	}
	while (n < 4)
		f[n++] = "";

	memset(&req, 0, sizeof(req));
	TAILQ_INIT(&req.arguments);
	req.query_string = f[0];
	(void)route_param(&req, "limit", &v);
	(void)route_param(&req, "q", &v);

	memset(&c, 0, sizeof(c));
	cache_param(&c, "q", f[0]);
	cache_param(&c, "city", f[1]);
	cache_cleanup(&c);

	(void)peer_cidrs_parse(f[2], &set);
	(void)peer_cidrs_parse("127.0.0.0/8,10.0.0.0/8,::1/128", &trusted);
	memset(&tcp, 0, sizeof(tcp));
	tcp.family = 2;		/* AF_INET */
	tcp.bytes[0] = 127;
	tcp.bytes[3] = 1;
	peer_resolve(&trusted, &tcp, f[1], &out);
	peer_ip_format(&out, addr, sizeof(addr));

	if (cors_config(f[3]))
		(void)cors_origin_allowed(f[1]);

	(void)body_date_valid(f[0]);
	(void)body_rfc3339_valid(f[0]);
	(void)body_utf8_chars(f[1]);
	(void)body_is_json_type(f[3]);

	free(buf);
	return (0);
}
