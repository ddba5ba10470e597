/*
 * admin: what every catalog write shares. admin_authorize() is the first
 * state's check (role admin); admin_db_failed() answers what a failed
 * write statement means for the catalog (overlap, in use, name taken,
 * bad date) and leaves the rest to db.c's table.
 */
#ifndef __H_ADMIN_H
#define __H_ADMIN_H

#include <kore/kore.h>
#include <kore/http.h>

#include "auth.h"
#include "db.h"

int	admin_authorize(struct http_request *, struct auth *);
int	admin_db_failed(struct http_request *, struct db_call *,
	    const char *);
void	admin_created(struct http_request *, const char *, int64_t,
	    struct kore_json_item *);

#endif
