/*
 * commands: what an operator does from a shell.
 *
 * `booking admin EMAIL` gives an existing user the admin role (there is
 * no API to do that: a role is granted by whoever runs the server).
 * `booking hash-password` reads one password from standard input and
 * prints its crypt(3) hash, so scripts can create users without the API
 * (scripts/run.sh seeds the demo admin this way). Both run from the
 * command line, never in a worker, so blocking libpq and crypt are fine.
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "body.h"
#include "password.h"

static const char *sql_promote =
    "UPDATE users SET role = 'admin', updated_at = now()"
    " WHERE lower(email) = lower($1) RETURNING id";

enum commands_promote_col {
	COMMANDS_PROMOTE_COL_ID,
};

int
commands_promote(const char *url, const char *email)
{
	PGconn		*db;
	PGresult	*res;
	const char	*params[1];
	int		ret;

	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "booking: %s", PQerrorMessage(db));
		PQfinish(db);
		return (-1);
	}

	params[0] = email;
	res = PQexecParams(db, sql_promote, 1, NULL, params, NULL, NULL, 0);
	ret = -1;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "booking: %s", PQerrorMessage(db));
	} else if (PQntuples(res) == 0) {
		fprintf(stderr, "booking: no user with email %s\n", email);
	} else {
		printf("%s (user %s) is now an admin\n", email,
		    PQgetvalue(res, 0, COMMANDS_PROMOTE_COL_ID));
		ret = 0;
	}

	PQclear(res);
	PQfinish(db);
	return (ret);
}

/* One line from stdin, 8..128 characters; the hash on stdout. */
int
commands_hash_password(void)
{
	char		line[PASSWORD_MAX_BYTES + 2];
	char		hash[PASSWORD_HASH_MAX];
	const char	*v;
	size_t		len;
	ssize_t		n;
	int		cost, err;

	cost = PASSWORD_COST_DEFAULT;
	if ((v = getenv("PASSWORD_HASH_COST")) != NULL && *v != '\0') {
		cost = kore_strtonum(v, 10, 1, 11, &err);
		if (err != KORE_RESULT_OK) {
			fprintf(stderr, "booking: PASSWORD_HASH_COST must be "
			    "from 1 to 11\n");
			return (-1);
		}
	}

	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "booking: no password on standard input\n");
		return (-1);
	}
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';

	n = body_utf8_chars(line);
	if (n < PASSWORD_MIN_CHARS || n > PASSWORD_MAX_CHARS) {
		fprintf(stderr, "booking: a password has 8 to 128 "
		    "characters\n");
		OPENSSL_cleanse(line, sizeof(line));
		return (-1);
	}

	err = password_hash_now(line, cost, hash, sizeof(hash));
	OPENSSL_cleanse(line, sizeof(line));
	if (err == -1) {
		fprintf(stderr, "booking: hashing failed\n");
		return (-1);
	}

	printf("%s\n", hash);
	return (0);
}
