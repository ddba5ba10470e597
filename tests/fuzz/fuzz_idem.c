/*
 * Fuzz target: Idempotency-Key checks and the stored idempotency record
 * parser (src/idem.c).
 */
#include <kore/kore.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"

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
	struct idem_record	rec;
	char			*s;

	if (len > 65536)
		return (0);

	s = malloc(len + 1);
	memcpy(s, data, len);
	s[len] = '\0';
	(void)idem_key_valid(s);
	free(s);

	/* Records are read by length, not NUL: no terminator given. */
	s = malloc(len ? len : 1);
	memcpy(s, data, len);
	(void)idem_record_parse(s, len, &rec);
	free(s);

	return (0);
}
