/*
 * migrate: versioned SQL migrations from a directory, applied in order,
 * each in its own transaction, under an advisory lock.
 */
#ifndef __H_MIGRATE_H
#define __H_MIGRATE_H

int	migrate_up(const char *, const char *);
int	migrate_down(const char *, const char *);
int	migrate_status(const char *, const char *);

/* Exposed for tests: "001_name.up.sql" -> version "001". */
int	migrate_file_version(const char *, const char *, char *, size_t);

#endif
