/*
 * body: the JSON request body. body_parse() checks the content type and
 * parses an object; the accessors read typed members of it and say
 * whether a member is absent, well-formed or of the wrong type.
 */
#ifndef __H_BODY_H
#define __H_BODY_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#define BODY_ABSENT		0
#define BODY_OK			1
#define BODY_INVALID		2

int	body_parse(struct http_request *, struct kore_json *);
int	body_id(struct kore_json *, const char *, int64_t *);
int	body_ids(struct kore_json *, const char *, int64_t *, size_t,
	    size_t *);

#endif
