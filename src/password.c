/*
 * password: hashing and verifying passwords off the event loop.
 *
 * Hashes are yescrypt ("$y$") crypt(3) strings from libxcrypt, with a
 * random salt from crypt_gensalt_rn(). They cost tens of milliseconds of
 * CPU by design, so requests never compute them: password_hash() and
 * password_verify() start a Kore task (a thread of the worker), hand it
 * the job over the task's channel, and put the request to sleep; the task
 * writes its answer back and finishes, which wakes the request, and
 * password_wait() reads the answer once Kore marks the task finished.
 *
 * Verifying for an unknown user (hash NULL) checks the password against a
 * dummy hash made once in the parent process with the same cost, so an
 * unknown email costs the same work as a wrong password.
 *
 * Lifetime: while a task runs, its thread uses the struct kore_task, so
 * the memory holding a struct password_task must outlive the thread.
 * Kore calls a request's onfree first and, if a task is unfinished, skips
 * the rest of the free and calls onfree again on a later pass; the onfree
 * of a request using this module must call password_release() first and
 * return without freeing anything while it answers 0.
 *
 * Task threads only call the *_now() functions and the channel, never
 * Kore's allocator (it is not thread-safe).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

#define PASSWORD_OP_HASH	1
#define PASSWORD_OP_VERIFY	2

/* struct password_task's state. */
#define PASSWORD_IDLE		0
#define PASSWORD_RUNNING	1
#define PASSWORD_ANSWERED	2
#define PASSWORD_BROKEN		3

/* What a request sends its task, and what the task answers. */
struct password_job {
	int		op;
	int		cost;
	char		password[PASSWORD_MAX_BYTES + 1];
	char		hash[PASSWORD_HASH_MAX];
};

struct password_answer {
	int		ok;
	int		match;
	char		hash[PASSWORD_HASH_MAX];
};

static int	password_run(struct kore_task *);
static void	password_start(struct http_request *, struct password_task *,
		    struct password_job *);

static int	password_cost = PASSWORD_COST_DEFAULT;
static char	password_dummy[PASSWORD_HASH_MAX];

/* Parent process, before workers fork: the cost and the dummy hash. */
int
password_init(int cost)
{
	u_int8_t	raw[24];
	char		secret[sizeof(raw) * 2 + 1];
	size_t		i;
	int		ret;

	password_cost = cost;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return (-1);
	for (i = 0; i < sizeof(raw); i++)
		(void)snprintf(secret + i * 2, 3, "%02x", raw[i]);

	ret = password_hash_now(secret, cost, password_dummy,
	    sizeof(password_dummy));
	OPENSSL_cleanse(secret, sizeof(secret));

	return (ret);
}

int
password_hash_now(const char *password, int cost, char *out, size_t len)
{
	struct crypt_data	*data;
	char			salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			ret;

	if (crypt_gensalt_rn("$y$", cost, NULL, 0, salt, sizeof(salt)) == NULL)
		return (-1);
	if ((data = calloc(1, sizeof(*data))) == NULL)
		return (-1);

	ret = -1;
	h = crypt_rn(password, salt, data, sizeof(*data));
	if (h != NULL && h[0] != '*' && strlen(h) < len) {
		memcpy(out, h, strlen(h) + 1);
		ret = 0;
	}

	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return (ret);
}

/* 1 when password matches hash; 0 otherwise, also for a broken hash. */
int
password_verify_now(const char *password, const char *hash)
{
	struct crypt_data	*data;
	const char		*h;
	size_t			len;
	int			match;

	if ((data = calloc(1, sizeof(*data))) == NULL)
		return (0);

	match = 0;
	len = strlen(hash);
	h = crypt_rn(password, hash, data, sizeof(*data));
	if (h != NULL && h[0] != '*' && strlen(h) == len)
		match = CRYPTO_memcmp(h, hash, len) == 0;

	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return (match);
}

/* The task thread: one job in, one answer out. */
static int
password_run(struct kore_task *t)
{
	struct password_job	job;
	struct password_answer	ans;

	memset(&ans, 0, sizeof(ans));
	if (kore_task_channel_read(t, &job, sizeof(job)) != sizeof(job)) {
		kore_task_channel_write(t, &ans, sizeof(ans));
		return (KORE_RESULT_ERROR);
	}
	job.password[sizeof(job.password) - 1] = '\0';
	job.hash[sizeof(job.hash) - 1] = '\0';

	switch (job.op) {
	case PASSWORD_OP_HASH:
		ans.ok = password_hash_now(job.password, job.cost, ans.hash,
		    sizeof(ans.hash)) == 0;
		break;
	case PASSWORD_OP_VERIFY:
		ans.match = password_verify_now(job.password, job.hash);
		ans.ok = 1;
		break;
	}

	OPENSSL_cleanse(&job, sizeof(job));
	kore_task_channel_write(t, &ans, sizeof(ans));
	return (KORE_RESULT_OK);
}

static void
password_start(struct http_request *req, struct password_task *pt,
    struct password_job *job)
{
	if (pt->state != PASSWORD_IDLE)
		fatal("password: task already started");

	kore_task_create(&pt->task, password_run);
	kore_task_bind_request(&pt->task, req);
	kore_task_run(&pt->task);
	pt->state = PASSWORD_RUNNING;

	/* A few hundred bytes: fits the socket buffer, never blocks. */
	kore_task_channel_write(&pt->task, job, sizeof(*job));
	OPENSSL_cleanse(job, sizeof(*job));
}

/* The caller checked the length (PASSWORD_MAX_BYTES at most). */
void
password_hash(struct http_request *req, struct password_task *pt,
    const char *password)
{
	struct password_job	job;

	memset(&job, 0, sizeof(job));
	job.op = PASSWORD_OP_HASH;
	job.cost = password_cost;
	kore_strlcpy(job.password, password, sizeof(job.password));
	password_start(req, pt, &job);
}

/* hash NULL: an unknown user, checked against the dummy hash. */
void
password_verify(struct http_request *req, struct password_task *pt,
    const char *password, const char *hash)
{
	struct password_job	job;

	memset(&job, 0, sizeof(job));
	job.op = PASSWORD_OP_VERIFY;
	kore_strlcpy(job.password, password, sizeof(job.password));
	kore_strlcpy(job.hash, hash != NULL ? hash : password_dummy,
	    sizeof(job.hash));
	password_start(req, pt, &job);
}

/*
 * PASSWORD_PENDING (the request sleeps until the task wakes it), or
 * PASSWORD_DONE with pt->hash (hashing) or pt->match (verifying) filled,
 * or PASSWORD_FAILED.
 */
int
password_wait(struct http_request *req, struct password_task *pt)
{
	struct password_answer	ans;
	u_int32_t		len;

	switch (pt->state) {
	case PASSWORD_RUNNING:
		break;
	case PASSWORD_ANSWERED:
		return (PASSWORD_DONE);
	default:
		return (PASSWORD_FAILED);
	}

	if (kore_task_state(&pt->task) != KORE_TASK_STATE_FINISHED) {
		http_request_sleep(req);
		return (PASSWORD_PENDING);
	}

	/* The answer was written before the task finished. */
	len = kore_task_channel_read(&pt->task, &ans, sizeof(ans));
	kore_task_destroy(&pt->task);

	if (len != sizeof(ans) || !ans.ok) {
		pt->state = PASSWORD_BROKEN;
		return (PASSWORD_FAILED);
	}

	pt->state = PASSWORD_ANSWERED;
	pt->match = ans.match;
	kore_strlcpy(pt->hash, ans.hash, sizeof(pt->hash));
	return (PASSWORD_DONE);
}

/*
 * For the request's onfree: 0 while the task's thread may still use pt
 * (free nothing, Kore calls onfree again later), 1 once pt may be freed.
 */
int
password_release(struct password_task *pt)
{
	if (pt->state != PASSWORD_RUNNING)
		return (1);

	/* Kore destroyed the task itself when it finished after the
	 * request was deleted (kore_task_handle()); req is then NULL. */
	if (pt->task.req != NULL) {
		if (!kore_task_finished(&pt->task))
			return (0);
		kore_task_destroy(&pt->task);
	}

	pt->state = PASSWORD_IDLE;
	return (1);
}
