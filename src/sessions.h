/*
 * sessions: refresh tokens, POST /api/auth/refresh and /logout, and the
 * session answer of register and login. The token helpers and the body
 * validators are pure functions, exposed for tests.
 */
#ifndef __H_SESSIONS_H
#define __H_SESSIONS_H

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "token.h"
#include "users.h"

#define SESSIONS_TOKEN_BYTES	32
/* base64url without padding of 32 bytes, and hex SHA-256. */
#define SESSIONS_TOKEN_LEN	43
#define SESSIONS_HASH_LEN	64

/*
 * A new refresh token, its stored form and its lifetime in seconds, and
 * the session (family) it belongs to, once the database has said.
 */
struct sessions_fresh {
	char	token[SESSIONS_TOKEN_LEN + 1];
	char	hash[SESSIONS_HASH_LEN + 1];
	char	ttl[24];
	char	sid[TOKEN_SID_LEN + 1];
};

/* What /refresh and /logout accept: a token of the right shape, or "". */
struct sessions_input {
	char	refresh[SESSIONS_TOKEN_LEN + 1];
};

int	sessions_new_token(char *, size_t, char *, size_t);
int	sessions_hash(const char *, char *, size_t);
int	sessions_token_valid(const char *);

int	sessions_fresh(struct http_request *, struct sessions_fresh *);
void	sessions_bind_new(struct db_call *, int64_t,
	    const struct sessions_fresh *);
int	sessions_read_sid(const struct db_call *, int,
	    struct sessions_fresh *);
int	sessions_read_new(const struct db_call *, struct sessions_fresh *);
void	sessions_reply(struct http_request *, int, const struct users_row *,
	    struct sessions_fresh *);

/* NULL with *in filled, or the first bad field with *why set. */
const char	*sessions_input_refresh(struct kore_json *,
		    struct sessions_input *, const char **);
const char	*sessions_input_logout(struct kore_json *,
		    struct sessions_input *, const char **);

#endif
