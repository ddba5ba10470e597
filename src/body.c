/*
 * body: JSON request bodies.
 *
 * body_parse() answers 415 for a content type other than
 * application/json and 400 invalid_request for a body that is not a JSON
 * object. Whatever it answers, the caller owns the document and must
 * kore_json_cleanup() it.
 * Identifiers are JSON integers from 1 to 2^63-1.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>
#include <strings.h>

#include "body.h"
#include "reply.h"

#define BODY_JSON_TYPE		"application/json"

static int	body_item_id(const struct kore_json_item *, int64_t *);

int
body_parse(struct http_request *req, struct kore_json *json)
{
	const char	*type;
	size_t		len;

	kore_json_init(json, NULL, 0);

	len = strlen(BODY_JSON_TYPE);
	if (!http_request_header(req, "content-type", &type) ||
	    strncasecmp(type, BODY_JSON_TYPE, len) ||
	    (type[len] != '\0' && type[len] != ';' && type[len] != ' ')) {
		reply_error(req, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
		    "unsupported_media_type",
		    "The body must be application/json.");
		return (KORE_RESULT_ERROR);
	}

	/* Kore keeps a complete body in memory (no disk offload here). */
	if (req->http_body == NULL || req->content_length == 0) {
		reply_invalid(req, "body", "A JSON object body is required.");
		return (KORE_RESULT_ERROR);
	}

	json->data = req->http_body->data;
	json->length = req->content_length;
	if (!kore_json_parse(json) ||
	    json->root->type != KORE_JSON_TYPE_OBJECT) {
		reply_invalid(req, "body", "The body is not a JSON object.");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* Kore types a non-negative integer INTEGER_U64, a negative one INTEGER. */
static int
body_item_id(const struct kore_json_item *item, int64_t *out)
{
	if (item->type != KORE_JSON_TYPE_INTEGER_U64 || item->data.u64 < 1 ||
	    item->data.u64 > INT64_MAX)
		return (BODY_INVALID);

	*out = (int64_t)item->data.u64;
	return (BODY_OK);
}

/* A top-level member that must be a positive integer id. */
int
body_id(struct kore_json *json, const char *name, int64_t *out)
{
	struct kore_json_item	*item;

	TAILQ_FOREACH(item, &json->root->data.items, list) {
		if (item->name != NULL && !strcmp(item->name, name))
			return (body_item_id(item, out));
	}

	return (BODY_ABSENT);
}

/*
 * A top-level member that must be an array of ids; *n gets the length,
 * and an array longer than max is BODY_INVALID with *n = max + 1.
 */
int
body_ids(struct kore_json *json, const char *name, int64_t *out, size_t max,
    size_t *n)
{
	struct kore_json_item	*item, *elem;

	*n = 0;
	TAILQ_FOREACH(item, &json->root->data.items, list) {
		if (item->name != NULL && !strcmp(item->name, name))
			break;
	}
	if (item == NULL)
		return (BODY_ABSENT);
	if (item->type != KORE_JSON_TYPE_ARRAY)
		return (BODY_INVALID);

	TAILQ_FOREACH(elem, &item->data.items, list) {
		if (*n == max) {
			*n = max + 1;
			return (BODY_INVALID);
		}
		if (body_item_id(elem, &out[*n]) != BODY_OK)
			return (BODY_INVALID);
		(*n)++;
	}

	return (BODY_OK);
}
