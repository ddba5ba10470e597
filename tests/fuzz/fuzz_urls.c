/*
 * Fuzz target: the REDIS_URL parser (src/redis.c) and libpq's parser of
 * DATABASE_URL (the service hands the URL to libpq as it is).
 */
#include <kore/kore.h>

#include <libpq-fe.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

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
	PQconninfoOption	*opts;
	char			*url, host[256], password[256], *err;
	int			port, db;

	if (len > 4096)
		return (0);

	url = malloc(len + 1);
	memcpy(url, data, len);
	url[len] = '\0';

	(void)redis_url_parse(url, host, sizeof(host), &port, &db, password,
	    sizeof(password));

	err = NULL;
	if ((opts = PQconninfoParse(url, &err)) != NULL)
		PQconninfoFree(opts);
	PQfreemem(err);

	free(url);
	return (0);
}
