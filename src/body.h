/*
 * body: JSON request bodies. body_json() checks the content type and
 * parses; the body_get_*() functions read one member of an object with
 * its limits. Resource modules build their one validation function per
 * resource from these, and name the first offending field.
 */
#ifndef __H_BODY_H
#define __H_BODY_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#define BODY_REQUIRED		1
#define BODY_OPTIONAL		0

/* BODY_OPTIONAL accepts an empty body: json->root is then NULL. */
int	body_json(struct http_request *, struct kore_json *, int);
void	body_cleanup(struct kore_json *);
struct kore_json_item	*body_member(struct kore_json_item *,
			    const char *);
const char	*body_string(struct kore_json *, const char *);
int	body_get_string(struct kore_json_item *, const char *, int, size_t,
	    size_t, const char **);
int	body_get_int(struct kore_json_item *, const char *, int, int64_t,
	    int64_t, int64_t *);

/* Ids: positive integers, alone or as an array of at most max. */
#define BODY_ABSENT		0
#define BODY_OK			1
#define BODY_INVALID		2

int	body_id(struct kore_json *, const char *, int64_t *);
int	body_ids(struct kore_json *, const char *, int64_t *, size_t,
	    size_t *);

/* Pure checks, exposed for the resources and the tests. */
int	body_is_json_type(const char *);
ssize_t	body_utf8_chars(const char *);
int	body_date_valid(const char *);
int	body_rfc3339_valid(const char *);

#endif
