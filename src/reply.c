/*
 * reply: response and error envelopes.
 *
 * Handlers never write headers or error JSON by hand. Every function here
 * completes the request: after it returns the handler must not answer
 * again. The request id is the client's X-Request-Id when it is sane
 * (1..128 characters of [A-Za-z0-9._:-]), otherwise a random one.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <openssl/rand.h>

#include <string.h>
#include <strings.h>

#include "cors.h"
#include "db.h"
#include "reply.h"

#define REPLY_REQUEST_ID_MAX	128
#define REPLY_JSON_TYPE		"application/json; charset=utf-8"

static void	reply_headers(struct http_request *);
static int	reply_has_header(struct http_request *, const char *);

int
reply_request_id_valid(const char *id)
{
	size_t		i, len;

	len = strlen(id);
	if (len == 0 || len > REPLY_REQUEST_ID_MAX)
		return (0);

	for (i = 0; i < len; i++) {
		if ((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    strchr("._:-", id[i]) != NULL)
			continue;
		return (0);
	}

	return (1);
}

static void
reply_headers(struct http_request *req)
{
	const char	*id;
	u_int8_t	raw[16];
	char		hex[sizeof(raw) * 2 + 1];
	size_t		i;

	if (http_request_header(req, "x-request-id", &id) &&
	    reply_request_id_valid(id)) {
		http_response_header(req, "x-request-id", id);
	} else {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			fatal("RAND_bytes failed");
		for (i = 0; i < sizeof(raw); i++)
			(void)snprintf(hex + i * 2, 3, "%02x", raw[i]);
		http_response_header(req, "x-request-id", hex);
	}

	if (!reply_has_header(req, "cache-control"))
		http_response_header(req, "cache-control", "no-store");
	http_response_header(req, "x-content-type-options", "nosniff");
	cors_headers(req);
}

static int
reply_has_header(struct http_request *req, const char *name)
{
	struct http_header	*hdr;

	TAILQ_FOREACH(hdr, &req->resp_headers, list) {
		if (!strcasecmp(hdr->header, name))
			return (1);
	}

	return (0);
}

void
reply_buf(struct http_request *req, int status, struct kore_buf *buf)
{
	reply_headers(req);
	http_response_header(req, "content-type", REPLY_JSON_TYPE);
	http_response(req, status, buf->data, buf->offset);
}

/* A body that is not JSON (the metrics exposition). */
void
reply_text(struct http_request *req, int status, const char *type,
    struct kore_buf *buf)
{
	reply_headers(req);
	http_response_header(req, "content-type", type);
	http_response(req, status, buf->data, buf->offset);
}

void
reply_json(struct http_request *req, int status, struct kore_json_item *root)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 1024);
	kore_json_item_tobuf(root, &buf);
	kore_json_item_free(root);
	reply_buf(req, status, &buf);
	kore_buf_cleanup(&buf);
}

/*
 * A file built into the binary (the API description, the docs pages):
 * revalidated by its ETag, so a browser fetches a bundle once per build.
 */
void
reply_file(struct http_request *req, const char *type, const void *data,
    size_t len, const char *etag)
{
	const char	*match;

	http_response_header(req, "cache-control", "no-cache");
	reply_headers(req);
	http_response_header(req, "etag", etag);
	if (http_request_header(req, "if-none-match", &match) &&
	    !strcmp(match, etag)) {
		http_response(req, HTTP_STATUS_NOT_MODIFIED, NULL, 0);
		return;
	}
	http_response_header(req, "content-type", type);
	http_response(req, HTTP_STATUS_OK, data, len);
}

void
reply_empty(struct http_request *req, int status)
{
	reply_headers(req);
	http_response(req, status, NULL, 0);
}

/*
 * The error envelope as a JSON item, for callers that keep the body (an
 * idempotent replay); adopts details.
 */
struct kore_json_item *
reply_error_json(const char *code, const char *message,
    struct kore_json_item *details)
{
	struct kore_json_item	*root, *err;

	root = kore_json_create_object(NULL, NULL);
	err = kore_json_create_object(root, "error");
	kore_json_create_string(err, "code", code);
	kore_json_create_string(err, "message", message);

	if (details != NULL) {
		/* Adopt the caller's object under the name "details". */
		kore_free(details->name);
		details->name = kore_strdup("details");
		details->parent = err;
		TAILQ_INSERT_TAIL(&err->data.items, details, list);
	}

	return (root);
}

void
reply_error_details(struct http_request *req, int status, const char *code,
    const char *message, struct kore_json_item *details)
{
	/* auth_unauthorized() sets a more precise challenge itself. */
	if (status == HTTP_STATUS_UNAUTHORIZED &&
	    !reply_has_header(req, "www-authenticate")) {
		http_response_header(req, "www-authenticate",
		    "Bearer realm=\"booking\"");
	}

	reply_json(req, status, reply_error_json(code, message, details));
}

void
reply_error(struct http_request *req, int status, const char *code,
    const char *message)
{
	reply_error_details(req, status, code, message, NULL);
}

void
reply_invalid(struct http_request *req, const char *field, const char *message)
{
	struct kore_json_item	*details;

	details = kore_json_create_object(NULL, NULL);
	kore_json_create_string(details, "field", field);
	reply_error_details(req, HTTP_STATUS_BAD_REQUEST, "invalid_request",
	    message, details);
}

void
reply_internal(struct http_request *req)
{
	reply_error(req, HTTP_STATUS_INTERNAL_ERROR, "internal_error",
	    REPLY_INTERNAL_MSG);
}

void
reply_unavailable(struct http_request *req)
{
	http_response_header(req, "retry-after", "1");
	reply_error(req, HTTP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
	    REPLY_UNAVAILABLE_MSG);
}

/*
 * The answer to a failed statement that its handler did not answer
 * itself, from db.c's table (db_errors[]): its status in *status, with
 * Retry-After set on a 503. A statement that kept losing races until
 * db_retry() gave up is 503 whatever its last SQLSTATE (a claim's 23505);
 * one that was run again once and then failed otherwise is answered for
 * what it failed with.
 */
struct kore_json_item *
reply_db_error(struct http_request *req, const struct db_call *call,
    int *status)
{
	struct kore_json_item	*details;
	int			action;

	action = db_error_action(call);
	if (call->retries + 1 >= DB_RETRY_MAX)
		action = DB_ERROR_UNAVAILABLE;

	switch (action) {
	case DB_ERROR_RETRY:
	case DB_ERROR_UNAVAILABLE:
		*status = HTTP_STATUS_SERVICE_UNAVAILABLE;
		http_response_header(req, "retry-after", "1");
		return (reply_error_json("unavailable", REPLY_UNAVAILABLE_MSG,
		    NULL));
	case DB_ERROR_INVALID:
		*status = HTTP_STATUS_BAD_REQUEST;
		details = kore_json_create_object(NULL, NULL);
		kore_json_create_string(details, "field",
		    req->method == HTTP_METHOD_GET ||
		    req->method == HTTP_METHOD_DELETE ? "query" : "body");
		return (reply_error_json("invalid_request", "A value is out "
		    "of range or malformed.", details));
	}

	kore_log(LOG_ERR, "db: SQLSTATE %s on %s answered 500",
	    call->sqlstate[0] != '\0' ? call->sqlstate : "(none)", req->path);
	*status = HTTP_STATUS_INTERNAL_ERROR;
	return (reply_error_json("internal_error", REPLY_INTERNAL_MSG, NULL));
}

/*
 * A handler's last word on a failed statement: run again when db.c's
 * table says so (HTTP_STATE_RETRY, the request sleeps until then), or
 * answered from it (HTTP_STATE_COMPLETE).
 */
int
reply_db_failed(struct http_request *req, struct db_call *call)
{
	struct kore_json_item	*root;
	int			status;

	if (db_retry(call, req))
		return (HTTP_STATE_RETRY);

	root = reply_db_error(req, call, &status);
	reply_json(req, status, root);

	return (HTTP_STATE_COMPLETE);
}

struct kore_json_item *
reply_list_new(struct kore_json_item **data)
{
	struct kore_json_item	*root;

	root = kore_json_create_object(NULL, NULL);
	*data = kore_json_create_array(root, "data");

	return (root);
}

void
reply_list_end(struct kore_json_item *root, int64_t limit, int64_t offset,
    int64_t total)
{
	kore_json_create_integer(root, "limit", limit);
	kore_json_create_integer(root, "offset", offset);
	kore_json_create_integer(root, "total", total);
}

/*
 * The list envelope of a list query's result. List queries answer one
 * row even for an empty page, with NULL item columns, so the total (in
 * column total_col) is always known; such a row makes no item.
 */
struct kore_json_item *
reply_list_rows(const struct db_call *call, reply_row_json build,
    int total_col, int64_t limit, int64_t offset)
{
	struct kore_json_item	*root, *data;
	int			i, rows;

	root = reply_list_new(&data);
	rows = db_rows(call);
	for (i = 0; i < rows; i++) {
		if (!db_isnull(call, i, REPLY_LIST_COL_ITEM))
			build(data, NULL, call, i, REPLY_LIST_COL_ITEM);
	}

	reply_list_end(root, limit, offset,
	    rows > 0 ? db_int(call, 0, total_col) : 0);

	return (root);
}

void
reply_list(struct http_request *req, struct kore_json_item *root,
    int64_t limit, int64_t offset, int64_t total)
{
	reply_list_end(root, limit, offset, total);
	reply_json(req, HTTP_STATUS_OK, root);
}
