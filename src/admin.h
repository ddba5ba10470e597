/*
 * admin: what every catalog write shares. admin_authorize() is the first
 * state's check (role admin); admin_db_failed() is the one mapping of a
 * failed write statement to a response.
 */
#ifndef __H_ADMIN_H
#define __H_ADMIN_H

#include <kore/kore.h>
#include <kore/http.h>

#include "auth.h"
#include "db.h"

int	admin_authorize(struct http_request *, struct auth *);
void	admin_db_failed(struct http_request *, const struct db_call *,
	    const char *);
void	admin_created(struct http_request *, const char *, int64_t,
	    struct kore_json_item *);

#endif
