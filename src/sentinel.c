/*
 * sentinel: the Sentinels' addresses and the parsing of their answer.
 *
 * The list is parsed and every name resolved once, in the parent
 * (hiredis would resolve with a blocking getaddrinfo() on a worker's
 * event loop); workers only read it. The master's address comes from
 * SENTINEL get-master-addr-by-name <name>, whose answer is a two-element
 * array (host, port) of bulk strings, or nil when the Sentinel does not
 * know the name: anything else is refused, so a confused Sentinel never
 * sends the service to a half-parsed address. The asking itself is in
 * redis.c, on its event adapter.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <kore/kore.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "sentinel.h"

static struct {
	struct sentinel_addr	addr[SENTINEL_MAX];
	int			count;
	char			name[SENTINEL_NAME_MAX];
} sentinel;

static int	sentinel_port(const char *, size_t, int *);
static int	sentinel_resolve(struct sentinel_addr *);

/* A decimal port, 1 to 65535, exactly len characters. */
static int
sentinel_port(const char *s, size_t len, int *port)
{
	size_t	i;
	long	v;

	if (len == 0 || len > 5)
		return (KORE_RESULT_ERROR);
	v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (KORE_RESULT_ERROR);
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return (KORE_RESULT_ERROR);

	*port = (int)v;
	return (KORE_RESULT_OK);
}

/*
 * "host[:port],host[:port],..." (spaces after commas allowed) into out;
 * the number of entries, or -1 when any is malformed or too many.
 */
int
sentinel_list_parse(const char *list, struct sentinel_addr *out, int max)
{
	const char	*p, *end, *colon;
	size_t		hlen;
	int		n;

	n = 0;
	p = list;
	for (;;) {
		while (*p == ' ')
			p++;
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p || n == max)
			return (-1);

		colon = memchr(p, ':', end - p);
		hlen = (colon != NULL ? colon : end) - p;
		if (hlen == 0 || hlen >= sizeof(out[n].host))
			return (-1);
		memcpy(out[n].host, p, hlen);
		out[n].host[hlen] = '\0';

		out[n].port = SENTINEL_DEFAULT_PORT;
		if (colon != NULL && !sentinel_port(colon + 1,
		    end - colon - 1, &out[n].port))
			return (-1);

		n++;
		if (*end == '\0')
			return (n);
		p = end + 1;
	}
}

/* The master's host and port from the Sentinel's reply. */
int
sentinel_master_reply(const redisReply *r, char *host, size_t hlen,
    int *port)
{
	const redisReply	*h, *p;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return (KORE_RESULT_ERROR);

	h = r->element[0];
	p = r->element[1];
	if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING ||
	    p->type != REDIS_REPLY_STRING)
		return (KORE_RESULT_ERROR);

	if (h->len == 0 || h->len >= hlen || memchr(h->str, '\0', h->len))
		return (KORE_RESULT_ERROR);
	if (!sentinel_port(p->str, p->len, port))
		return (KORE_RESULT_ERROR);

	memcpy(host, h->str, h->len);
	host[h->len] = '\0';

	return (KORE_RESULT_OK);
}

static int
sentinel_resolve(struct sentinel_addr *a)
{
	struct addrinfo		hints, *res;
	int			ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((ret = getaddrinfo(a->host, NULL, &hints, &res)) != 0) {
		hints.ai_family = AF_UNSPEC;
		ret = getaddrinfo(a->host, NULL, &hints, &res);
	}
	if (ret != 0) {
		fprintf(stderr, "booking: cannot resolve the sentinel %s: %s\n",
		    a->host, gai_strerror(ret));
		return (KORE_RESULT_ERROR);
	}
	ret = getnameinfo(res->ai_addr, res->ai_addrlen, a->host,
	    sizeof(a->host), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);

	return (ret == 0 ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

int
sentinel_config(const char *list, const char *name)
{
	int	i, n;

	if ((n = sentinel_list_parse(list, sentinel.addr, SENTINEL_MAX)) < 1)
		return (KORE_RESULT_ERROR);
	if (name == NULL || name[0] == '\0' ||
	    kore_strlcpy(sentinel.name, name, sizeof(sentinel.name)) >=
	    sizeof(sentinel.name))
		return (KORE_RESULT_ERROR);

	for (i = 0; i < n; i++) {
		if (!sentinel_resolve(&sentinel.addr[i]))
			return (KORE_RESULT_ERROR);
	}
	sentinel.count = n;

	return (KORE_RESULT_OK);
}

/* 0 when REDIS_SENTINELS is not set: Redis is REDIS_URL's host. */
int
sentinel_count(void)
{
	return (sentinel.count);
}

const struct sentinel_addr *
sentinel_get(int i)
{
	return (&sentinel.addr[i % sentinel.count]);
}

const char *
sentinel_master_name(void)
{
	return (sentinel.name);
}
