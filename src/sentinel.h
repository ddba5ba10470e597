/*
 * sentinel: where the Redis master is, according to Redis Sentinel.
 *
 * REDIS_SENTINELS=host:port,... names the Sentinels and REDIS_MASTER_NAME
 * the master they watch. sentinel_config() parses the list once in the
 * parent and resolves the names there; redis.c asks the Sentinels (one
 * after another) with SENTINEL get-master-addr-by-name over its own
 * asynchronous adapter, at start and after every connection error, and
 * reads the answer with sentinel_master_reply().
 */
#ifndef __H_SENTINEL_H
#define __H_SENTINEL_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

#define SENTINEL_MAX		8
#define SENTINEL_HOST_MAX	64
#define SENTINEL_NAME_MAX	128
#define SENTINEL_DEFAULT_PORT	26379

struct sentinel_addr {
	char	host[SENTINEL_HOST_MAX];
	int	port;
};

int	sentinel_config(const char *, const char *);
int	sentinel_count(void);
const struct sentinel_addr	*sentinel_get(int);
const char	*sentinel_master_name(void);

/* Pure parsers, exposed for tests. */
int	sentinel_list_parse(const char *, struct sentinel_addr *, int);
int	sentinel_master_reply(const redisReply *, char *, size_t, int *);

#endif
