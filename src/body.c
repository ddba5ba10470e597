/*
 * body: the JSON request body, read the same way by every handler.
 *
 * body_json() checks the content type (415 unless application/json),
 * parses req->http_body with Kore's JSON parser and insists on an object
 * at the top (400 otherwise); on failure it has answered the request.
 * The handler then reads its fields with body_string() and friends in its
 * one validation function and cleans up with kore_json_cleanup().
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>
#include <strings.h>

#include "body.h"
#include "reply.h"

#define BODY_JSON_TYPE		"application/json"

/* "application/json", optionally followed by parameters. */
int
body_is_json_type(const char *type)
{
	size_t		len = sizeof(BODY_JSON_TYPE) - 1;

	if (type == NULL || strncasecmp(type, BODY_JSON_TYPE, len))
		return (0);

	return (type[len] == '\0' || type[len] == ';' || type[len] == ' ');
}

/*
 * BODY_OPTIONAL accepts an empty body (json->root stays NULL). On
 * KORE_RESULT_ERROR the 400 or 415 has been sent; either way the caller
 * calls kore_json_cleanup(json) later.
 */
int
body_json(struct http_request *req, struct kore_json *json, int optional)
{
	const char	*type;
	const void	*data;
	size_t		len;

	data = "";
	len = 0;
	/* Kore rewinds the buffer once the body is in: offset is 0. */
	if (req->http_body != NULL) {
		data = req->http_body->data;
		len = req->http_body_length;
	}
	kore_json_init(json, data, len);

	if (len == 0 && optional == BODY_OPTIONAL)
		return (KORE_RESULT_OK);

	if (!http_request_header(req, "content-type", &type) ||
	    !body_is_json_type(type)) {
		reply_error(req, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
		    "unsupported_media_type",
		    "The request body must be application/json.");
		return (KORE_RESULT_ERROR);
	}

	if (!kore_json_parse(json)) {
		reply_invalid(req, "body", "The request body is not valid "
		    "JSON.");
		return (KORE_RESULT_ERROR);
	}

	if (json->root == NULL || json->root->type != KORE_JSON_TYPE_OBJECT) {
		reply_invalid(req, "body", "The request body must be a JSON "
		    "object.");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

/* The string member `name` of the top object, or NULL (absent, not a
 * string, or no body at all). */
const char *
body_string(struct kore_json *json, const char *name)
{
	struct kore_json_item	*item;

	if (json->root == NULL || strchr(name, '/') != NULL)
		return (NULL);
	if ((item = kore_json_find_string(json->root, name)) == NULL)
		return (NULL);

	return (item->data.string);
}

/* The member `name` of the top object, of any type, or NULL. */
struct kore_json_item *
body_member(struct kore_json *json, const char *name)
{
	struct kore_json_item	*item;

	if (json->root == NULL || json->root->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);

	TAILQ_FOREACH(item, &json->root->data.items, list) {
		if (item->name != NULL && !strcmp(item->name, name))
			return (item);
	}

	return (NULL);
}

/* Characters (code points) of a UTF-8 string, or -1 if it is not UTF-8. */
ssize_t
body_utf8_chars(const char *s)
{
	const u_int8_t	*p = (const u_int8_t *)s;
	ssize_t		n;
	int		more, i;
	u_int32_t	cp;

	for (n = 0; *p != '\0'; n++) {
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			more = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			more = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			more = 3;
			cp = *p & 0x07;
		} else {
			return (-1);
		}
		p++;
		for (i = 0; i < more; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return (-1);
			cp = (cp << 6) | (*p & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (-1);
	}

	return (n);
}
