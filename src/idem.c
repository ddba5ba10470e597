/*
 * idem: Idempotency-Key (IETF draft semantics) for unsafe requests.
 *
 * Keys are scoped to the user: the Redis key is idem:<user id>:<key>.
 * Its value is a record, "I <fingerprint>" while the first request runs
 * and "D <fingerprint>\n<status>\n<body>" once it has answered; the
 * fingerprint is "<method> <path> <sha256 of the body>".
 *
 * - The first request claims the key with one SET NX GET EX, so exactly
 *   one request wins; the in-flight record lapses by itself
 *   (IDEM_INFLIGHT_SECONDS) if its server dies.
 * - A 2xx or 4xx answer replaces it for IDEM_TTL_SECONDS and is replayed
 *   byte for byte with Idempotent-Replayed: true; a 5xx deletes it so a
 *   retry runs again.
 * - Another request under the same key is 422; the same one while the
 *   first runs is 409 with Retry-After.
 * - When Redis cannot be reached the request simply proceeds: Redis is an
 *   optimisation and a convenience here, never the guarantee. Exactly-once
 *   is the database's job (bookings' UNIQUE (user_id, idempotency_key)).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <string.h>

#include "idem.h"
#include "redis.h"
#include "reply.h"

#define IDEM_TTL_SECONDS	"86400"
#define IDEM_INFLIGHT_SECONDS	"60"
#define IDEM_STATUS_REUSED	422

#define IDEM_STATE_NEW		0
#define IDEM_STATE_CLAIMING	1
#define IDEM_STATE_RUNNING	2
#define IDEM_STATE_STORING	3
#define IDEM_STATE_DONE		4

static int	idem_claimed(struct http_request *, struct idem *,
		    const struct redis_result *);
static void	idem_replay(struct http_request *,
		    const struct idem_record *);
static void	idem_bypass(struct idem *, const char *);

/* 1 to IDEM_KEY_MAX visible ASCII characters. */
int
idem_key_valid(const char *key)
{
	size_t		i;

	for (i = 0; key[i] != '\0'; i++) {
		if (i == IDEM_KEY_MAX || key[i] < 0x21 || key[i] > 0x7e)
			return (0);
	}

	return (i > 0);
}

/* The request's key, or a 400 has been sent. */
int
idem_header(struct http_request *req, const char **key)
{
	if (!http_request_header(req, "idempotency-key", key)) {
		reply_error(req, HTTP_STATUS_BAD_REQUEST,
		    "idempotency_key_missing",
		    "This request needs an Idempotency-Key header.");
		return (KORE_RESULT_ERROR);
	}

	if (!idem_key_valid(*key)) {
		reply_invalid(req, "Idempotency-Key", "Idempotency-Key must "
		    "be 1 to 255 visible ASCII characters.");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

void
idem_init(struct idem *id, struct http_request *req, int64_t user,
    const char *key)
{
	char		digest[HTTP_BODY_DIGEST_STRLEN];
	int		len;

	memset(id, 0, sizeof(*id));
	if (!http_body_digest(req, digest, sizeof(digest)))
		fatal("idem_init: request body is not complete");

	len = snprintf(id->key, sizeof(id->key), "idem:%lld:%s",
	    (long long)user, key);
	if (len < 0 || (size_t)len >= sizeof(id->key))
		fatal("idem_init: key too long");

	len = snprintf(id->fingerprint, sizeof(id->fingerprint), "%s %s %s",
	    http_method_text(req->method), req->path, digest);
	if (len < 0 || (size_t)len >= sizeof(id->fingerprint)) {
		/* A long path: the fingerprint stays unique by its prefix. */
		id->fingerprint[sizeof(id->fingerprint) - 1] = '\0';
	}
}

int
idem_record_parse(const char *data, size_t len, struct idem_record *rec)
{
	const char	*nl, *end, *p;
	int		status;

	memset(rec, 0, sizeof(*rec));
	if (len < 2 || data[1] != ' ')
		return (KORE_RESULT_ERROR);

	end = data + len;
	rec->type = (unsigned char)data[0];
	rec->fingerprint = data + 2;

	switch (rec->type) {
	case IDEM_RECORD_INFLIGHT:
		rec->fingerprint_len = len - 2;
		return (KORE_RESULT_OK);
	case IDEM_RECORD_DONE:
		break;
	default:
		return (KORE_RESULT_ERROR);
	}

	if ((nl = memchr(rec->fingerprint, '\n', end - rec->fingerprint)) ==
	    NULL)
		return (KORE_RESULT_ERROR);
	rec->fingerprint_len = nl - rec->fingerprint;

	status = 0;
	for (p = nl + 1; p < end && *p != '\n'; p++) {
		if (*p < '0' || *p > '9' || status > 999)
			return (KORE_RESULT_ERROR);
		status = status * 10 + (*p - '0');
	}
	if (p == end || status < 100 || status > 599)
		return (KORE_RESULT_ERROR);

	rec->status = status;
	rec->body = p + 1;
	rec->body_len = end - rec->body;

	return (KORE_RESULT_OK);
}

static void
idem_bypass(struct idem *id, const char *why)
{
	kore_log(LOG_NOTICE, "idem: %s; relying on the database", why);
	id->reserved = 0;
	id->state = IDEM_STATE_RUNNING;
}

static void
idem_replay(struct http_request *req, const struct idem_record *rec)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, rec->body_len + 1);
	kore_buf_append(&buf, rec->body, rec->body_len);
	http_response_header(req, "idempotent-replayed", "true");
	reply_buf(req, rec->status, &buf);
	kore_buf_cleanup(&buf);
}

/* The key was there already: replay, or refuse. */
static int
idem_claimed(struct http_request *req, struct idem *id,
    const struct redis_result *r)
{
	struct idem_record	rec;

	if (!idem_record_parse(r->str, r->len, &rec)) {
		idem_bypass(id, "unreadable record");
		return (IDEM_PROCEED);
	}

	id->state = IDEM_STATE_DONE;
	if (rec.fingerprint_len != strlen(id->fingerprint) ||
	    memcmp(rec.fingerprint, id->fingerprint, rec.fingerprint_len)) {
		reply_error(req, IDEM_STATUS_REUSED,
		    "idempotency_key_reused", "This Idempotency-Key was used "
		    "for a different request.");
		return (IDEM_ANSWERED);
	}

	if (rec.type == IDEM_RECORD_INFLIGHT) {
		http_response_header(req, "retry-after", "1");
		reply_error(req, HTTP_STATUS_CONFLICT, "idempotency_in_flight",
		    "A request with this Idempotency-Key is still running.");
		return (IDEM_ANSWERED);
	}

	idem_replay(req, &rec);
	return (IDEM_ANSWERED);
}

int
idem_begin(struct http_request *req, struct idem *id)
{
	const struct redis_result	*r;
	const char			*argv[7];
	size_t				argvlen[7];
	char				value[IDEM_FINGERPRINT_MAX + 2];
	int				i, len;

	switch (id->state) {
	case IDEM_STATE_NEW:
		break;
	case IDEM_STATE_CLAIMING:
		switch (redis_wait(id->ticket)) {
		case REDIS_PENDING:
			return (IDEM_PENDING);
		case REDIS_READY:
			break;
		default:
			idem_bypass(id, "redis unavailable");
			return (IDEM_PROCEED);
		}
		r = redis_result(id->ticket);
		if (r->type == REDIS_REPLY_NIL) {
			id->reserved = 1;
			id->state = IDEM_STATE_RUNNING;
			return (IDEM_PROCEED);
		}
		if (r->type != REDIS_REPLY_STRING) {
			idem_bypass(id, "unexpected reply to SET");
			return (IDEM_PROCEED);
		}
		return (idem_claimed(req, id, r));
	default:
		fatal("idem_begin: called in state %d", id->state);
	}

	len = snprintf(value, sizeof(value), "%c %s", IDEM_RECORD_INFLIGHT,
	    id->fingerprint);
	if (len < 0 || (size_t)len >= sizeof(value))
		fatal("idem_begin: record too long");

	argv[0] = "SET";
	argv[1] = id->key;
	argv[2] = value;
	argv[3] = "NX";
	argv[4] = "GET";
	argv[5] = "EX";
	argv[6] = IDEM_INFLIGHT_SECONDS;
	for (i = 0; i < 7; i++)
		argvlen[i] = strlen(argv[i]);

	if (redis_commandargv(req, &id->ticket, 7, argv, argvlen) !=
	    KORE_RESULT_OK) {
		idem_bypass(id, "redis unavailable");
		return (IDEM_PROCEED);
	}

	id->state = IDEM_STATE_CLAIMING;
	return (IDEM_PENDING);
}

/*
 * Records the final answer (or releases the key after a 5xx); the caller
 * sends it once this says IDEM_DONE. A failure to store is only logged:
 * a retry then runs again and the database finds the original.
 */
int
idem_finish(struct http_request *req, struct idem *id, int status,
    const struct kore_buf *body)
{
	struct kore_buf		value;
	const char		*argv[5];
	size_t			argvlen[5];
	int			argc, i, ret;

	switch (id->state) {
	case IDEM_STATE_RUNNING:
		break;
	case IDEM_STATE_STORING:
		if (redis_wait(id->ticket) == REDIS_PENDING)
			return (IDEM_PENDING);
		if (redis_result(id->ticket) == NULL)
			kore_log(LOG_NOTICE, "idem: could not store %s",
			    id->key);
		id->state = IDEM_STATE_DONE;
		return (IDEM_DONE);
	case IDEM_STATE_DONE:
		return (IDEM_DONE);
	default:
		fatal("idem_finish: called in state %d", id->state);
	}

	if (!id->reserved) {
		id->state = IDEM_STATE_DONE;
		return (IDEM_DONE);
	}

	redis_ticket_release(&id->ticket);
	kore_buf_init(&value, body->offset + 512);
	if (status >= 500) {
		argc = 2;
		argv[0] = "DEL";
	} else {
		kore_buf_appendf(&value, "%c %s\n%d\n", IDEM_RECORD_DONE,
		    id->fingerprint, status);
		kore_buf_append(&value, body->data, body->offset);
		argc = 5;
		argv[0] = "SET";
		argv[2] = (const char *)value.data;
		argvlen[2] = value.offset;
		argv[3] = "EX";
		argv[4] = IDEM_TTL_SECONDS;
	}
	argv[1] = id->key;
	for (i = 0; i < argc; i++) {
		if (i != 2 || argc == 2)
			argvlen[i] = strlen(argv[i]);
	}

	/* hiredis copies the arguments into its output buffer. */
	ret = redis_commandargv(req, &id->ticket, argc, argv, argvlen);
	kore_buf_cleanup(&value);
	if (ret != KORE_RESULT_OK) {
		kore_log(LOG_NOTICE, "idem: could not store %s", id->key);
		id->state = IDEM_STATE_DONE;
		return (IDEM_DONE);
	}

	id->state = IDEM_STATE_STORING;
	return (IDEM_PENDING);
}

void
idem_cleanup(struct idem *id)
{
	redis_ticket_release(&id->ticket);
}
