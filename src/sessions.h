/*
 * sessions: opaque refresh tokens and their stored form.
 */
#ifndef __H_SESSIONS_H
#define __H_SESSIONS_H

#define SESSIONS_TOKEN_BYTES	32
/* base64url without padding of 32 bytes, and hex SHA-256. */
#define SESSIONS_TOKEN_LEN	43
#define SESSIONS_HASH_LEN	64

int	sessions_new_token(char *, size_t, char *, size_t);
int	sessions_hash(const char *, char *, size_t);
int	sessions_token_valid(const char *);

#endif
