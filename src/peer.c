/*
 * peer: the client address of a request.
 *
 * The TCP peer is the client unless it is one of TRUSTED_PROXIES
 * (comma-separated CIDRs, default none). Then X-Forwarded-For is read from
 * the right: each proxy appends the address it saw, so the rightmost entry
 * that is not itself a trusted proxy is the client; everything left of it
 * was written by the client and proves nothing. A malformed entry stops
 * the walk and the last trusted hop stands. The answer is always an
 * address this module formatted itself, never the header's bytes, so it
 * is safe in Redis keys and log lines.
 *
 * Per-address limits (login and registration throttles, live sockets)
 * count a client by peer_limit_address() or peer_ip_aggregate(): an IPv6
 * client by its /64, the smallest network a host is given (one machine
 * commonly holds a whole /64 and can pick any of its 2^64 addresses),
 * and an IPv4-mapped IPv6 address as the IPv4 address it is.
 *
 * peer_config() runs once in the parent; workers inherit the list.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "peer.h"

#define PEER_ENTRY_MAX		64

static struct peer_cidrs	peer_trusted;

static int	peer_cidr_parse(const char *, size_t, struct peer_cidr *);
static void	peer_tcp(struct connection *, struct peer_ip *);

int
peer_config(const char *trusted)
{
	memset(&peer_trusted, 0, sizeof(peer_trusted));
	if (trusted == NULL)
		return (KORE_RESULT_OK);

	return (peer_cidrs_parse(trusted, &peer_trusted));
}

/* One address, without surrounding blanks; 0 when it is not one. */
int
peer_ip_parse(const char *s, size_t len, struct peer_ip *ip)
{
	char		buf[PEER_ENTRY_MAX];

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return (0);

	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(ip, 0, sizeof(*ip));

	if (inet_pton(AF_INET, buf, ip->bytes) == 1) {
		ip->family = AF_INET;
		return (1);
	}
	if (inet_pton(AF_INET6, buf, ip->bytes) == 1) {
		ip->family = AF_INET6;
		return (1);
	}

	return (0);
}

void
peer_ip_format(const struct peer_ip *ip, char *out, size_t len)
{
	kore_strlcpy(out, "unknown", len);
	if (ip->family == AF_INET || ip->family == AF_INET6)
		(void)inet_ntop(ip->family, ip->bytes, out, len);
}

/* "a.b.c.d/n", "x::y/n" or a bare address (a host route). */
static int
peer_cidr_parse(const char *s, size_t len, struct peer_cidr *c)
{
	const char	*slash;
	char		num[8];
	size_t		alen, nlen;
	int		err, max;

	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	if (!peer_ip_parse(s, alen, &c->net))
		return (0);

	max = c->net.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		c->bits = max;
		return (1);
	}

	nlen = len - alen - 1;
	while (nlen > 0 && (slash[nlen] == ' ' || slash[nlen] == '\t'))
		nlen--;
	if (nlen == 0 || nlen >= sizeof(num))
		return (0);
	memcpy(num, slash + 1, nlen);
	num[nlen] = '\0';
	c->bits = kore_strtonum(num, 10, 0, max, &err);

	return (err == KORE_RESULT_OK);
}

/* Comma-separated CIDRs; an empty string is an empty list. */
int
peer_cidrs_parse(const char *s, struct peer_cidrs *out)
{
	const char	*p, *end;
	size_t		len;

	memset(out, 0, sizeof(*out));
	p = s;
	while (*p != '\0') {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = end - p;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len > 0) {
			if (out->count == PEER_CIDRS_MAX ||
			    !peer_cidr_parse(p, len, &out->list[out->count]))
				return (KORE_RESULT_ERROR);
			out->count++;
		}
		p = *end == ',' ? end + 1 : end;
	}

	return (KORE_RESULT_OK);
}

int
peer_cidrs_match(const struct peer_cidrs *set, const struct peer_ip *ip)
{
	const struct peer_cidr	*c;
	int			i, full, rest;

	for (i = 0; i < set->count; i++) {
		c = &set->list[i];
		if (c->net.family != ip->family)
			continue;
		full = c->bits / 8;
		rest = c->bits % 8;
		if (memcmp(c->net.bytes, ip->bytes, full))
			continue;
		if (rest != 0 && ((c->net.bytes[full] ^ ip->bytes[full]) &
		    (0xff << (8 - rest)) & 0xff))
			continue;
		return (1);
	}

	return (0);
}

/* The client, given the TCP peer and the X-Forwarded-For value (or NULL). */
void
peer_resolve(const struct peer_cidrs *trusted, const struct peer_ip *tcp,
    const char *xff, struct peer_ip *out)
{
	struct peer_ip	hop;
	const char	*end, *start;

	*out = *tcp;
	if (xff == NULL || !peer_cidrs_match(trusted, tcp))
		return;

	end = xff + strlen(xff);
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		if (!peer_ip_parse(start, end - start, &hop))
			return;
		*out = hop;
		if (!peer_cidrs_match(trusted, &hop))
			return;
		end = start > xff ? start - 1 : start;
	}
}

static void
peer_tcp(struct connection *c, struct peer_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (c == NULL)
		return;

	switch (c->family) {
	case AF_INET:
		ip->family = AF_INET;
		memcpy(ip->bytes, &c->addr.ipv4.sin_addr, 4);
		break;
	case AF_INET6:
		ip->family = AF_INET6;
		memcpy(ip->bytes, &c->addr.ipv6.sin6_addr, 16);
		break;
	}
}

/*
 * A proxy may add its own X-Forwarded-For line rather than extend the
 * client's (HAProxy's option forwardfor does): every line counts, in
 * order, as one list.
 */
void
peer_ip(struct http_request *req, struct peer_ip *ip)
{
	struct http_header	*hdr;
	struct peer_ip		tcp;
	struct kore_buf		xff;

	peer_tcp(req->owner, &tcp);
	if (peer_trusted.count == 0 || !peer_cidrs_match(&peer_trusted, &tcp)) {
		*ip = tcp;
		return;
	}

	kore_buf_init(&xff, 128);
	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		if (strcasecmp(hdr->header, "x-forwarded-for"))
			continue;
		kore_buf_appendf(&xff, "%s%s", xff.offset ? "," : "",
		    hdr->value);
	}
	peer_resolve(&peer_trusted, &tcp,
	    xff.offset ? kore_buf_stringify(&xff, NULL) : NULL, ip);
	kore_buf_cleanup(&xff);
}

/* The client address as text ("unknown" without a socket address). */
void
peer_address(struct http_request *req, char *out, size_t len)
{
	struct peer_ip	ip;

	peer_ip(req, &ip);
	peer_ip_format(&ip, out, len);
}

/* ip as per-address limits count it: IPv6 by /64, v4-mapped as IPv4. */
void
peer_ip_aggregate(struct peer_ip *ip)
{
	static const u_int8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	if (ip->family != AF_INET6)
		return;

	if (memcmp(ip->bytes, mapped, sizeof(mapped)) == 0) {
		memmove(ip->bytes, ip->bytes + 12, 4);
		memset(ip->bytes + 4, 0, 12);
		ip->family = AF_INET;
		return;
	}

	memset(ip->bytes + 8, 0, 8);
}

/* The client as per-address limits count it: "a.b.c.d" or "x:y::/64". */
void
peer_limit_address(struct http_request *req, char *out, size_t len)
{
	struct peer_ip	ip;
	char		addr[PEER_ADDR_MAX];

	peer_ip(req, &ip);
	peer_ip_aggregate(&ip);
	peer_ip_format(&ip, addr, sizeof(addr));
	(void)snprintf(out, len, "%s%s", addr,
	    ip.family == AF_INET6 ? "/64" : "");
}

/* The TCP peer of a connection, for answers given before any request. */
void
peer_connection_address(struct connection *c, char *out, size_t len)
{
	struct peer_ip	ip;

	peer_tcp(c, &ip);
	peer_ip_format(&ip, out, len);
}
