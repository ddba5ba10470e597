/*
 * accounts: registration, login and users/me. The body validators are
 * pure functions of the parsed JSON, exposed for tests.
 */
#ifndef __H_ACCOUNTS_H
#define __H_ACCOUNTS_H

#include <kore/kore.h>

#include "password.h"
#include "users.h"

#define ACCOUNTS_NAME_MAX	USERS_NAME_MAX
#define ACCOUNTS_EMAIL_MAX	USERS_EMAIL_MAX

/* What the account endpoints accept, copied out of the request body. */
struct accounts_input {
	char		name[ACCOUNTS_NAME_MAX * 4 + 1];
	char		email[ACCOUNTS_EMAIL_MAX + 1];
	char		password[PASSWORD_MAX_BYTES + 1];
};

/* NULL with *in filled, or the first bad field with *why set. */
const char	*accounts_input_register(struct kore_json *,
		    struct accounts_input *, const char **);
const char	*accounts_input_login(struct kore_json *,
		    struct accounts_input *, const char **);

int	accounts_email_valid(const char *);
int	accounts_name_valid(const char *);

#endif
