/*
 * body: JSON request bodies for the write endpoints.
 *
 * body_json() answers 415 for a content type other than application/json
 * and 400 (field "body") for a body that is empty, not JSON or not an
 * object; after it succeeded the caller owns the parsed document and
 * frees it with kore_json_cleanup(). The getters never answer: they say
 * whether the member is acceptable and the caller names the field.
 *
 * Lengths are in characters (UTF-8 code points), as PostgreSQL's length()
 * counts them in the schema's CHECKs. Times are RFC 3339 date-times,
 * checked here completely (calendar included) before PostgreSQL sees
 * them; a date is YYYY-MM-DD with a real day.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>
#include <strings.h>

#include "body.h"
#include "reply.h"

#define BODY_JSON_TYPE		"application/json"

static int	body_digits(const char *, int, int *);
static int	body_item_id(const struct kore_json_item *, int64_t *);
static int	body_days_in_month(int, int);

int
body_is_json_type(const char *type)
{
	size_t		len = strlen(BODY_JSON_TYPE);

	if (type == NULL || strncasecmp(type, BODY_JSON_TYPE, len))
		return (0);

	type += len;
	while (*type == ' ' || *type == '\t')
		type++;

	return (*type == '\0' || *type == ';');
}

int
body_json(struct http_request *req, struct kore_json *json, int mode)
{
	const char	*type;

	memset(json, 0, sizeof(*json));

	/* Kore keeps bodies up to http_body_max in memory, rewound. */
	if (req->http_body == NULL || req->http_body_length == 0) {
		if (mode == BODY_OPTIONAL)
			return (KORE_RESULT_OK);
		if (!http_request_header(req, "content-type", &type) ||
		    !body_is_json_type(type))
			goto unsupported;
		reply_invalid(req, "body", "A JSON object body is required.");
		return (KORE_RESULT_ERROR);
	}

	if (!http_request_header(req, "content-type", &type) ||
	    !body_is_json_type(type))
		goto unsupported;

	kore_json_init(json, req->http_body->data, req->http_body_length);
	if (!kore_json_parse(json) ||
	    json->root->type != KORE_JSON_TYPE_OBJECT) {
		body_cleanup(json);
		reply_invalid(req, "body", "The body must be a JSON object.");
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);

unsupported:
	reply_error(req, HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE,
	    "unsupported_media_type", "The body must be application/json.");
	return (KORE_RESULT_ERROR);
}

/* Frees a document body_json() parsed; safe twice and on a zeroed one. */
void
body_cleanup(struct kore_json *json)
{
	if (json->tmpbuf.data != NULL || json->root != NULL)
		kore_json_cleanup(json);
	memset(json, 0, sizeof(*json));
}

/* The member called name of an object (the first, if repeated). */
struct kore_json_item *
body_member(struct kore_json_item *obj, const char *name)
{
	struct kore_json_item	*item;

	if (obj == NULL || obj->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);

	TAILQ_FOREACH(item, &obj->data.items, list) {
		if (item->name != NULL && !strcmp(item->name, name))
			return (item);
	}

	return (NULL);
}

/* The string member `name` of the top object, or NULL. */
const char *
body_string(struct kore_json *json, const char *name)
{
	struct kore_json_item	*item;

	if ((item = body_member(json->root, name)) == NULL ||
	    item->type != KORE_JSON_TYPE_STRING)
		return (NULL);

	return (item->data.string);
}

/*
 * Characters (code points) of a UTF-8 string, or -1 when it is not UTF-8:
 * overlong forms, surrogates and code points past U+10FFFF included.
 */
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
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (-1);
	}

	return (n);
}

/*
 * A string member of min..max characters. An optional member that is
 * absent or null gives *out = NULL.
 */
int
body_get_string(struct kore_json_item *obj, const char *name, int required,
    size_t min, size_t max, const char **out)
{
	struct kore_json_item	*item;
	ssize_t			n;

	*out = NULL;
	if ((item = body_member(obj, name)) == NULL)
		return (!required);

	if (item->type == KORE_JSON_TYPE_LITERAL &&
	    item->data.literal == KORE_JSON_NULL)
		return (!required);

	if (item->type != KORE_JSON_TYPE_STRING)
		return (0);
	n = body_utf8_chars(item->data.string);
	if (n < 0 || (size_t)n < min || (size_t)n > max)
		return (0);

	*out = item->data.string;
	return (1);
}

/* An integer member within min..max; an absent optional one is left. */
int
body_get_int(struct kore_json_item *obj, const char *name, int required,
    int64_t min, int64_t max, int64_t *out)
{
	struct kore_json_item	*item;
	int64_t			v;

	if ((item = body_member(obj, name)) == NULL)
		return (!required);

	switch (item->type) {
	case KORE_JSON_TYPE_INTEGER:
		v = item->data.s64;
		break;
	case KORE_JSON_TYPE_INTEGER_U64:
		if (item->data.u64 > INT64_MAX)
			return (0);
		v = (int64_t)item->data.u64;
		break;
	default:
		return (0);
	}

	if (v < min || v > max)
		return (0);

	*out = v;
	return (1);
}

/* n decimal digits at s, as a number. */
static int
body_digits(const char *s, int n, int *out)
{
	int	i, v;

	v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (0);
		v = v * 10 + (s[i] - '0');
	}

	*out = v;
	return (1);
}

static int
body_days_in_month(int year, int month)
{
	static const int	days[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (month == 2 && year % 4 == 0 &&
	    (year % 100 != 0 || year % 400 == 0))
		return (29);

	return (days[month - 1]);
}

/* YYYY-MM-DD, a real day of years 0001 to 9999. */
int
body_date_valid(const char *s)
{
	int	y, m, d;

	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return (0);
	if (!body_digits(s, 4, &y) || !body_digits(s + 5, 2, &m) ||
	    !body_digits(s + 8, 2, &d))
		return (0);
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > body_days_in_month(y, m))
		return (0);

	return (s[10] == '\0');
}

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM),
 * T and Z in either case, at most 9 fraction digits. Leap seconds (:60)
 * are refused: PostgreSQL would silently move them to the next minute.
 */
int
body_rfc3339_valid(const char *s)
{
	char	date[11];
	int	h, mi, sec, oh, om, digits;

	if (strlen(s) < 20)
		return (0);

	memcpy(date, s, 10);
	date[10] = '\0';
	if (!body_date_valid(date))
		return (0);

	s += 10;
	if (*s != 'T' && *s != 't')
		return (0);
	s++;

	if (!body_digits(s, 2, &h) || s[2] != ':' ||
	    !body_digits(s + 3, 2, &mi) || s[5] != ':' ||
	    !body_digits(s + 6, 2, &sec))
		return (0);
	if (h > 23 || mi > 59 || sec > 59)
		return (0);
	s += 8;

	if (*s == '.') {
		s++;
		for (digits = 0; *s >= '0' && *s <= '9'; digits++)
			s++;
		if (digits < 1 || digits > 9)
			return (0);
	}

	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return (1);

	if (*s != '+' && *s != '-')
		return (0);
	if (!body_digits(s + 1, 2, &oh) || s[3] != ':' ||
	    !body_digits(s + 4, 2, &om))
		return (0);
	if (oh > 23 || om > 59)
		return (0);

	return (s[6] == '\0');
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

	if ((item = body_member(json->root, name)) == NULL)
		return (BODY_ABSENT);

	return (body_item_id(item, out));
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
	if ((item = body_member(json->root, name)) == NULL)
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
