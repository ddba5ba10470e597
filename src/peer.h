/*
 * peer: who is on the other end of a request. The TCP peer, or the client
 * a trusted proxy (TRUSTED_PROXIES) names in X-Forwarded-For; throttles,
 * rate limits, access logs and METRICS_ALLOW all ask here.
 */
#ifndef __H_PEER_H
#define __H_PEER_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#define PEER_CIDRS_MAX		32
#define PEER_ADDR_MAX		46	/* INET6_ADDRSTRLEN */
/* An address as per-address limits count it: PEER_ADDR_MAX plus "/64". */
#define PEER_LIMIT_ADDR_MAX	(PEER_ADDR_MAX + 4)

/* An address: family AF_INET (4 bytes used) or AF_INET6. */
struct peer_ip {
	int		family;
	u_int8_t	bytes[16];
};

struct peer_cidr {
	struct peer_ip	net;
	int		bits;
};

struct peer_cidrs {
	struct peer_cidr	list[PEER_CIDRS_MAX];
	int			count;
};

int	peer_config(const char *);
void	peer_address(struct http_request *, char *, size_t);
void	peer_limit_address(struct http_request *, char *, size_t);
void	peer_ip_aggregate(struct peer_ip *);
void	peer_ip(struct http_request *, struct peer_ip *);
void	peer_connection_address(struct connection *, char *, size_t);

int	peer_cidrs_parse(const char *, struct peer_cidrs *);
int	peer_cidrs_match(const struct peer_cidrs *, const struct peer_ip *);
int	peer_ip_parse(const char *, size_t, struct peer_ip *);
void	peer_ip_format(const struct peer_ip *, char *, size_t);
void	peer_resolve(const struct peer_cidrs *, const struct peer_ip *,
	    const char *, struct peer_ip *);

#endif
