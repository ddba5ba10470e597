/*
 * admin: the shared parts of the catalog's write endpoints (POST, PUT and
 * DELETE on movies, theatres, screens and shows).
 *
 * Every write is one SQL statement, so it commits or fails as a whole.
 * Failures are told apart by SQLSTATE only: an overlapping show violates
 * shows_no_overlap (23P01); deleting a row that others still reference
 * violates a foreign key (23503), which is "in use"; a duplicate name is
 * a unique violation (23505). Anything else is the database being
 * unavailable, never a detail the client sees.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>

#include "admin.h"
#include "reply.h"

/* Returns the auth_check() answer; the 401/403 is sent on AUTH_DENIED. */
int
admin_authorize(struct http_request *req, struct auth *a)
{
	return (auth_check(req, a, AUTH_ROLE_ADMIN));
}

/*
 * field names the body member a bad date-time came from. Returns the
 * request's next state: what is not an admin write's own answer goes to
 * db.c's table (reply_db_failed()).
 */
int
admin_db_failed(struct http_request *req, struct db_call *call,
    const char *field)
{
	if (db_sqlstate_is(call, DB_EXCLUSION)) {
		reply_error(req, HTTP_STATUS_CONFLICT, "show_overlap",
		    "Another show overlaps this time on the same screen.");
	} else if (db_sqlstate_is(call, DB_FOREIGN_KEY)) {
		reply_error(req, HTTP_STATUS_CONFLICT, "in_use",
		    "Other records depend on this one; remove them first.");
	} else if (db_sqlstate_is(call, DB_UNIQUE_VIOLATION)) {
		reply_error(req, HTTP_STATUS_CONFLICT, "name_taken",
		    "This name is already used here.");
	} else if (db_sqlstate_is(call, "22008") ||
	    db_sqlstate_is(call, "22007")) {
		reply_invalid(req, field != NULL ? field : "body",
		    "A date or time is out of range.");
	} else if (db_sqlstate_is(call, DB_CHECK_VIOLATION)) {
		reply_invalid(req, "body", "A value is out of range.");
	} else {
		return (reply_db_failed(req, call));
	}

	return (HTTP_STATE_COMPLETE);
}

/* 201 with root (freed) and Location: <collection>/<id>. */
void
admin_created(struct http_request *req, const char *collection, int64_t id,
    struct kore_json_item *root)
{
	char	location[128];
	int	len;

	len = snprintf(location, sizeof(location), "%s/%lld", collection,
	    (long long)id);
	if (len < 0 || (size_t)len >= sizeof(location))
		fatal("admin_created: location too long");

	http_response_header(req, "location", location);
	reply_json(req, HTTP_STATUS_CREATED, root);
}
