/*
 * users: a user row (USERS_COLUMNS of the first result row) copied out of
 * a result, and its JSON {id, name, email, role, created_at}. The role is
 * read in the tokens' vocabulary (token.c).
 */
#include <sys/types.h>

#include <kore/kore.h>

#include "token.h"
#include "users.h"

void
users_read(const struct db_call *db, struct users_row *u)
{
	u->id = db_int(db, 0, USERS_COL_ID);
	kore_strlcpy(u->name, db_value(db, 0, USERS_COL_NAME),
	    sizeof(u->name));
	kore_strlcpy(u->email, db_value(db, 0, USERS_COL_EMAIL),
	    sizeof(u->email));
	u->role = token_role_parse(db_value(db, 0, USERS_COL_ROLE));
	kore_strlcpy(u->created_at, db_value(db, 0, USERS_COL_CREATED_AT),
	    sizeof(u->created_at));
}

struct kore_json_item *
users_json(struct kore_json_item *parent, const char *name,
    const struct users_row *u)
{
	struct kore_json_item	*o;

	o = kore_json_create_object(parent, name);
	kore_json_create_integer(o, "id", (int64_t)u->id);
	kore_json_create_string(o, "name", u->name);
	kore_json_create_string(o, "email", u->email);
	kore_json_create_string(o, "role", token_role_name(u->role));
	kore_json_create_string(o, "created_at", u->created_at);

	return (o);
}
