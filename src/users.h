/*
 * users: a user as stored (the users table) and as answered, shared by
 * the endpoints that answer one: accounts.c (register, login, me) and
 * sessions.c (refresh).
 */
#ifndef __H_USERS_H
#define __H_USERS_H

#include <kore/kore.h>

#include "db.h"

#define USERS_NAME_MAX		100
#define USERS_EMAIL_MAX		254

/*
 * The select list users_read() reads, named in this order below; a
 * statement puts it first.
 */
#define USERS_COLUMNS							\
	"u.id, u.name, u.email, u.role, to_char(u.created_at AT TIME ZONE " \
	"'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum users_col {
	USERS_COL_ID,
	USERS_COL_NAME,
	USERS_COL_EMAIL,
	USERS_COL_ROLE,
	USERS_COL_CREATED_AT,
	USERS_NCOLUMNS
};

struct users_row {
	int64_t		id;
	int		role;
	char		name[USERS_NAME_MAX * 4 + 1];
	char		email[USERS_EMAIL_MAX + 1];
	char		created_at[32];
};

void	users_read(const struct db_call *, struct users_row *);
struct kore_json_item	*users_json(struct kore_json_item *, const char *,
			    const struct users_row *);

#endif
