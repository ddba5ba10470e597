/*
 * sessions: refresh tokens.
 *
 * A refresh token is 32 random bytes, base64url without padding (43
 * characters), shown to the client once. Only its SHA-256 in hex is
 * stored (refresh_tokens.token_hash), so a database dump holds nothing a
 * client could present; the token has 256 bits of entropy, so an unsalted
 * fast hash is enough. The SQL that rotates and revokes tokens lives in
 * accounts.c next to the handlers that run it.
 */
#include <sys/types.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <string.h>

#include "sessions.h"

static const char	sessions_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A new token and its hash, both NUL-terminated. */
int
sessions_new_token(char *token, size_t tlen, char *hash, size_t hlen)
{
	u_int8_t	raw[SESSIONS_TOKEN_BYTES + 1];
	u_int32_t	v;
	size_t		i, o;

	if (tlen <= SESSIONS_TOKEN_LEN)
		return (-1);

	memset(raw, 0, sizeof(raw));
	if (RAND_bytes(raw, SESSIONS_TOKEN_BYTES) != 1)
		return (-1);

	/* 32 bytes: ten groups of three, then two bytes (three chars). */
	o = 0;
	for (i = 0; i < SESSIONS_TOKEN_BYTES; i += 3) {
		v = (u_int32_t)raw[i] << 16 | (u_int32_t)raw[i + 1] << 8;
		if (i + 2 < SESSIONS_TOKEN_BYTES)
			v |= raw[i + 2];
		token[o++] = sessions_b64[(v >> 18) & 0x3f];
		token[o++] = sessions_b64[(v >> 12) & 0x3f];
		token[o++] = sessions_b64[(v >> 6) & 0x3f];
		if (i + 2 < SESSIONS_TOKEN_BYTES)
			token[o++] = sessions_b64[v & 0x3f];
	}
	token[o] = '\0';

	return (sessions_hash(token, hash, hlen));
}

/* Hex SHA-256 of a token as presented. */
int
sessions_hash(const char *token, char *hash, size_t hlen)
{
	u_int8_t	digest[SHA256_DIGEST_LENGTH];
	size_t		i;

	if (hlen <= SESSIONS_HASH_LEN)
		return (-1);

	if (SHA256((const u_int8_t *)token, strlen(token), digest) == NULL)
		return (-1);
	for (i = 0; i < sizeof(digest); i++)
		(void)snprintf(hash + i * 2, 3, "%02x", digest[i]);

	return (0);
}

/* Shape check before any lookup: 43 base64url characters. */
int
sessions_token_valid(const char *token)
{
	size_t		i;

	if (strlen(token) != SESSIONS_TOKEN_LEN)
		return (0);
	for (i = 0; i < SESSIONS_TOKEN_LEN; i++) {
		if (strchr(sessions_b64, token[i]) == NULL)
			return (0);
	}

	return (1);
}
