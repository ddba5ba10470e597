/*
 * password: crypt(3) password hashes (yescrypt), computed in a Kore task
 * so a worker's event loop never runs the hash itself.
 */
#ifndef __H_PASSWORD_H
#define __H_PASSWORD_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include <crypt.h>

#define PASSWORD_MIN_CHARS	8
#define PASSWORD_MAX_CHARS	128
#define PASSWORD_MAX_BYTES	(PASSWORD_MAX_CHARS * 4)
#define PASSWORD_HASH_MAX	CRYPT_OUTPUT_SIZE
#define PASSWORD_COST_DEFAULT	5

/* password_wait() answers. */
#define PASSWORD_PENDING	1
#define PASSWORD_DONE		2
#define PASSWORD_FAILED		3

/*
 * One hash or verification on behalf of a request. Lives in the request's
 * state; see password_release() for when that memory may be freed.
 */
struct password_task {
	struct kore_task	task;
	int			state;
	int			match;
	char			hash[PASSWORD_HASH_MAX];
};

int	password_init(int);
void	password_hash(struct http_request *, struct password_task *,
	    const char *);
void	password_verify(struct http_request *, struct password_task *,
	    const char *, const char *);
int	password_wait(struct http_request *, struct password_task *);
int	password_release(struct password_task *);

/* Synchronous, for task threads, the command line and tests only. */
int	password_hash_now(const char *, int, char *, size_t);
int	password_verify_now(const char *, const char *);

#endif
