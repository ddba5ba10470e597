/*
 * body: reading a JSON request body (content type, parsing, fields).
 */
#ifndef __H_BODY_H
#define __H_BODY_H

#include <kore/kore.h>
#include <kore/http.h>

#define BODY_REQUIRED		0
#define BODY_OPTIONAL		1

int	body_json(struct http_request *, struct kore_json *, int);
const char	*body_string(struct kore_json *, const char *);
struct kore_json_item	*body_member(struct kore_json *, const char *);
ssize_t	body_utf8_chars(const char *);
int	body_is_json_type(const char *);

#endif
