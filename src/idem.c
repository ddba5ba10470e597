/*
 * idem: Idempotency-Key (IETF draft semantics) for unsafe requests.
 *
 * Keys are scoped to the user: the Redis key is idem:<user id>:<key>.
 * Its value is a record, "I <fingerprint>\n<owner>" while the first
 * request runs and "D <fingerprint>\n<status>\n<body>" once it has
 * answered. The fingerprint is "<method> <path> <sha256>" where the hash
 * covers the whole request: method, path, query string, Content-Type and
 * the body's SHA-256. The owner is 128 random bits per request.
 *
 * - The first request claims the key with one SET NX GET PX, so exactly
 *   one request wins. The in-flight record is a lease: it lives
 *   IDEM_LEASE_MS and a timer renews it every IDEM_RENEW_MS while its
 *   request runs, so when the worker dies (or the request is dropped)
 *   the key is usable again within seconds, not a minute.
 * - A 2xx or 4xx answer replaces it for IDEM_TTL_SECONDS and is replayed
 *   byte for byte with Idempotent-Replayed: true; a 5xx deletes it so a
 *   retry runs again; so does any answer with Retry-After (a 409
 *   payment_in_progress): it invites the retry, so it is not the key's
 *   final answer, and the retry with the same key gets the real one.
 *   Both are compare-and-set (a Lua script): they act only while the key
 *   still holds this request's own in-flight record, never over a newer
 *   owner that took the key after the lease lapsed.
 * - Another request under the same key is 422; the same one while the
 *   first runs is 409 with Retry-After.
 * - When Redis cannot be reached the request simply proceeds: Redis is an
 *   optimisation and a convenience here, never the guarantee. Exactly-once
 *   is the database's job (bookings' UNIQUE (user_id, idempotency_key)).
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "idem.h"
#include "redis.h"
#include "reply.h"

#define IDEM_TTL_SECONDS	"86400"
#define IDEM_LEASE_MS		"5000"
#define IDEM_RENEW_MS		1500
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
static void	idem_renew(void *, u_int64_t);
static void	idem_store_logged(struct idem *);
static void	idem_lease_end(struct idem *);
static void	idem_fingerprint(struct http_request *, const char *,
		    char *, size_t);
static void	idem_hex(const u_int8_t *, size_t, char *);
static int	idem_temporary(struct http_request *, int);

/* KEYS[1] the key, ARGV[1] our in-flight record; the rest per script. */
static const char *idem_lua_store =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then"
    " redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end"
    " return 0";
static const char *idem_lua_release =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then"
    " return redis.call('DEL', KEYS[1]) end return 0";
static const char *idem_lua_renew =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then"
    " return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

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

	idem_fingerprint(req, digest, id->fingerprint,
	    sizeof(id->fingerprint));
}

/* "<method> <path> <sha256 of the whole request>" (see the top). */
static void
idem_fingerprint(struct http_request *req, const char *body_digest,
    char *out, size_t outlen)
{
	struct kore_buf		buf;
	const char		*ctype;
	u_int8_t		md[SHA256_DIGEST_LENGTH];
	char			hex[SHA256_DIGEST_LENGTH * 2 + 1];
	int			len;

	if (!http_request_header(req, "content-type", &ctype))
		ctype = "";

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "%s\n%s\n%s\n%s\n%s",
	    http_method_text(req->method), req->path,
	    req->query_string != NULL ? req->query_string : "", ctype,
	    body_digest);
	(void)SHA256(buf.data, buf.offset, md);
	kore_buf_cleanup(&buf);

	idem_hex(md, sizeof(md), hex);

	len = snprintf(out, outlen, "%s %s %s",
	    http_method_text(req->method), req->path, hex);
	if (len < 0 || (size_t)len >= outlen) {
		/* A long path: the hash still covers all of it. */
		out[outlen - 1] = '\0';
	}
}

/* len bytes as 2 * len lowercase hex digits and a NUL. */
static void
idem_hex(const u_int8_t *in, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[i * 2] = digits[in[i] >> 4];
		out[i * 2 + 1] = digits[in[i] & 0x0f];
	}
	out[len * 2] = '\0';
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
		/* "I <fingerprint>\n<owner>"; older records had no owner. */
		nl = memchr(rec->fingerprint, '\n', end - rec->fingerprint);
		rec->fingerprint_len = (nl != NULL ? nl : end) -
		    rec->fingerprint;
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
	u_int8_t			owner[IDEM_OWNER_BYTES];
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
			id->renew = kore_timer_add(idem_renew, IDEM_RENEW_MS,
			    id, 0);
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

	if (RAND_bytes(owner, sizeof(owner)) != 1)
		fatal("idem_begin: RAND_bytes failed");
	len = snprintf(id->inflight, sizeof(id->inflight), "%c %s\n",
	    IDEM_RECORD_INFLIGHT, id->fingerprint);
	if (len < 0 || (size_t)len + sizeof(owner) * 2 + 1 >
	    sizeof(id->inflight))
		fatal("idem_begin: record too long");
	idem_hex(owner, sizeof(owner), id->inflight + len);

	argv[0] = "SET";
	argv[1] = id->key;
	argv[2] = id->inflight;
	argv[3] = "NX";
	argv[4] = "GET";
	argv[5] = "PX";
	argv[6] = IDEM_LEASE_MS;
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
 * A 5xx, or an answer that asks to be retried (its handler set
 * Retry-After), is temporary: never stored as the key's answer.
 */
static int
idem_temporary(struct http_request *req, int status)
{
	struct http_header	*hdr;

	if (status >= 500)
		return (1);

	TAILQ_FOREACH(hdr, &req->resp_headers, list) {
		if (!strcasecmp(hdr->header, "retry-after"))
			return (1);
	}

	return (0);
}

/*
 * Records the final answer (or releases the key after a temporary one,
 * see idem_temporary); the caller sends it once this says IDEM_DONE. A
 * failure to store is only logged: a retry then runs again and the
 * database finds the original.
 */
int
idem_finish(struct http_request *req, struct idem *id, int status,
    const struct kore_buf *body)
{
	struct kore_buf		value;
	const char		*argv[7];
	size_t			argvlen[7];
	int			argc, i, ret;

	switch (id->state) {
	case IDEM_STATE_RUNNING:
		break;
	case IDEM_STATE_STORING:
		if (redis_wait(id->ticket) == REDIS_PENDING)
			return (IDEM_PENDING);
		idem_store_logged(id);
		id->state = IDEM_STATE_DONE;
		return (IDEM_DONE);
	case IDEM_STATE_DONE:
		return (IDEM_DONE);
	default:
		fatal("idem_finish: called in state %d", id->state);
	}

	idem_lease_end(id);
	if (!id->reserved) {
		id->state = IDEM_STATE_DONE;
		return (IDEM_DONE);
	}

	redis_ticket_release(&id->ticket);
	kore_buf_init(&value, body->offset + 512);
	argv[0] = "EVAL";
	argv[2] = "1";
	argv[3] = id->key;
	argv[4] = id->inflight;
	if (idem_temporary(req, status)) {
		argc = 5;
		argv[1] = idem_lua_release;
	} else {
		kore_buf_appendf(&value, "%c %s\n%d\n", IDEM_RECORD_DONE,
		    id->fingerprint, status);
		kore_buf_append(&value, body->data, body->offset);
		argc = 7;
		argv[1] = idem_lua_store;
		argv[5] = (const char *)value.data;
		argv[6] = IDEM_TTL_SECONDS;
	}
	for (i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	if (argc == 7)
		argvlen[5] = value.offset;

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

/* How the compare-and-set store went; only logged. */
static void
idem_store_logged(struct idem *id)
{
	const struct redis_result	*r;

	r = redis_result(id->ticket);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		kore_log(LOG_NOTICE, "idem: could not store %s%s%s", id->key,
		    r != NULL ? ": " : "", r != NULL ? r->str : "");
	else if (r->type != REDIS_REPLY_INTEGER)
		kore_log(LOG_NOTICE, "idem: unexpected reply storing %s",
		    id->key);
	else if (r->integer == 0)
		kore_log(LOG_NOTICE, "idem: %s has a newer owner; not stored",
		    id->key);
}

/*
 * Timer: the request still runs, so its lease is extended, if the key is
 * still its own. Fire and forget: a lost renewal only shortens the lease.
 */
static void
idem_renew(void *arg, u_int64_t now)
{
	struct idem		*id = arg;
	struct redis_ticket	*t;
	const char		*argv[6];
	size_t			argvlen[6];
	int			i;

	argv[0] = "EVAL";
	argv[1] = idem_lua_renew;
	argv[2] = "1";
	argv[3] = id->key;
	argv[4] = id->inflight;
	argv[5] = IDEM_LEASE_MS;
	for (i = 0; i < 6; i++)
		argvlen[i] = strlen(argv[i]);

	if (redis_commandargv(NULL, &t, 6, argv, argvlen) == KORE_RESULT_OK)
		redis_ticket_release(&t);
}

static void
idem_lease_end(struct idem *id)
{
	if (id->renew != NULL) {
		kore_timer_remove(id->renew);
		id->renew = NULL;
	}
}

void
idem_cleanup(struct idem *id)
{
	idem_lease_end(id);
	redis_ticket_release(&id->ticket);
}
