/*
 * migrate: schema migrations.
 *
 * migrations/NNN_name.up.sql moves the schema forward, NNN_name.down.sql
 * back. Applied versions are rows of schema_migrations. Every run holds a
 * session advisory lock (MIGRATE_LOCK_KEY) from before it reads
 * schema_migrations until it is done, so several instances starting at
 * once apply each migration exactly once: the others wait, then find
 * nothing left to do. Each file runs in its own transaction together with
 * its schema_migrations row, so a failing file leaves no trace.
 *
 * This runs in the parent process before any worker exists, or from the
 * command line, so blocking libpq calls are fine here and nowhere else.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "migrate.h"

#define MIGRATE_LOCK_KEY	"7316001"
#define MIGRATE_FILE_MAX	(4 * 1024 * 1024)
#define MIGRATE_VERSION_LEN	3

static const char *sql_create_table =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char *sql_lock = "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")";
static const char *sql_unlock =
    "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")";
static const char *sql_applied =
    "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char *sql_record =
    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
static const char *sql_latest =
    "SELECT version, name FROM schema_migrations"
    " ORDER BY version DESC LIMIT 1";

enum migrate_latest_col {
	MIGRATE_LATEST_COL_VERSION,
	MIGRATE_LATEST_COL_NAME,
};

static const char *sql_forget =
    "DELETE FROM schema_migrations WHERE version = $1";
static const char *sql_status =
    "SELECT version, name, applied_at FROM schema_migrations"
    " ORDER BY version";

enum migrate_status_col {
	MIGRATE_STATUS_COL_VERSION,
	MIGRATE_STATUS_COL_NAME,
	MIGRATE_STATUS_COL_APPLIED_AT,
};

static PGconn	*migrate_connect(const char *);
static int	migrate_exec(PGconn *, const char *);
static int	migrate_params(PGconn *, const char *, int, const char **,
		    int *);
static char	*migrate_read(const char *, const char *);
static int	migrate_apply(PGconn *, const char *, const char *,
		    const char *, int);
static int	migrate_filter(const struct dirent *);
static int	migrate_compare(const struct dirent **,
		    const struct dirent **);

int
migrate_file_version(const char *file, const char *suffix, char *version,
    size_t len)
{
	size_t		flen, slen, i;

	flen = strlen(file);
	slen = strlen(suffix);

	if (flen <= MIGRATE_VERSION_LEN + 1 + slen ||
	    len <= MIGRATE_VERSION_LEN)
		return (-1);
	for (i = 0; i < MIGRATE_VERSION_LEN; i++) {
		if (file[i] < '0' || file[i] > '9')
			return (-1);
	}
	if (file[MIGRATE_VERSION_LEN] != '_')
		return (-1);
	if (strcmp(file + flen - slen, suffix))
		return (-1);

	memcpy(version, file, MIGRATE_VERSION_LEN);
	version[MIGRATE_VERSION_LEN] = '\0';

	return (0);
}

static int
migrate_filter(const struct dirent *dp)
{
	char	v[8];

	return (migrate_file_version(dp->d_name, ".up.sql", v, sizeof(v)) == 0);
}

static int
migrate_compare(const struct dirent **a, const struct dirent **b)
{
	return (strcmp((*a)->d_name, (*b)->d_name));
}

static PGconn *
migrate_connect(const char *url)
{
	PGconn		*db;

	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect: %s",
		    PQerrorMessage(db));
		PQfinish(db);
		return (NULL);
	}

	/* Quiet NOTICEs such as "relation already exists, skipping". */
	(void)migrate_exec(db, "SET client_min_messages = warning");

	return (db);
}

static int
migrate_exec(PGconn *db, const char *sql)
{
	PGresult	*res;
	int		ok;

	res = PQexec(db, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
	PQclear(res);

	return (ok ? 0 : -1);
}

/* Runs a parameterised statement; *rows gets the row count. */
static int
migrate_params(PGconn *db, const char *sql, int n, const char **params,
    int *rows)
{
	PGresult	*res;
	int		ok;

	res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
	if (rows != NULL)
		*rows = ok ? PQntuples(res) : 0;
	PQclear(res);

	return (ok ? 0 : -1);
}

static char *
migrate_read(const char *dir, const char *file)
{
	char		path[1024], *buf;
	FILE		*fp;
	size_t		n;
	int		len;

	len = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (len < 0 || (size_t)len >= sizeof(path))
		return (NULL);

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "migrate: %s: %s\n", path, strerror(errno));
		return (NULL);
	}

	if ((buf = malloc(MIGRATE_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		return (NULL);
	}

	n = fread(buf, 1, MIGRATE_FILE_MAX, fp);
	if (ferror(fp) || !feof(fp)) {
		fprintf(stderr, "migrate: %s: unreadable or too large\n", path);
		free(buf);
		fclose(fp);
		return (NULL);
	}
	fclose(fp);
	buf[n] = '\0';

	return (buf);
}

/* One file and its schema_migrations change in one transaction. */
static int
migrate_apply(PGconn *db, const char *dir, const char *file,
    const char *version, int up)
{
	const char	*params[2];
	char		*sql;

	if ((sql = migrate_read(dir, file)) == NULL)
		return (-1);

	params[0] = version;
	params[1] = file;

	if (migrate_exec(db, "BEGIN") == -1)
		goto fail;
	if (migrate_exec(db, sql) == -1)
		goto rollback;
	if (migrate_params(db, up ? sql_record : sql_forget, up ? 2 : 1,
	    params, NULL) == -1)
		goto rollback;
	if (migrate_exec(db, "COMMIT") == -1)
		goto fail;

	free(sql);
	printf("migrate: %s %s\n", up ? "applied" : "rolled back", file);
	return (0);

rollback:
	(void)migrate_exec(db, "ROLLBACK");
fail:
	fprintf(stderr, "migrate: %s failed\n", file);
	free(sql);
	return (-1);
}

int
migrate_up(const char *url, const char *dir)
{
	struct dirent	**list;
	PGconn		*db;
	const char	*params[1];
	char		version[8];
	int		i, n, rows, ret, applied;

	if ((db = migrate_connect(url)) == NULL)
		return (-1);

	n = scandir(dir, &list, migrate_filter, migrate_compare);
	if (n == -1) {
		fprintf(stderr, "migrate: %s: %s\n", dir, strerror(errno));
		PQfinish(db);
		return (-1);
	}

	ret = -1;
	applied = 0;
	if (migrate_exec(db, sql_lock) == -1)
		goto done;
	if (migrate_exec(db, sql_create_table) == -1)
		goto unlock;

	for (i = 0; i < n; i++) {
		(void)migrate_file_version(list[i]->d_name, ".up.sql",
		    version, sizeof(version));
		params[0] = version;
		if (migrate_params(db, sql_applied, 1, params, &rows) == -1)
			goto unlock;
		if (rows > 0)
			continue;
		if (migrate_apply(db, dir, list[i]->d_name, version, 1) == -1)
			goto unlock;
		applied++;
	}

	ret = 0;
	if (applied == 0)
		printf("migrate: schema is up to date\n");

unlock:
	(void)migrate_exec(db, sql_unlock);
done:
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	PQfinish(db);

	return (ret);
}

int
migrate_down(const char *url, const char *dir)
{
	PGconn		*db;
	PGresult	*res;
	char		version[8], file[512];
	const char	*name;
	size_t		len;
	int		ret;

	if ((db = migrate_connect(url)) == NULL)
		return (-1);

	ret = -1;
	if (migrate_exec(db, sql_lock) == -1)
		goto done;
	if (migrate_exec(db, sql_create_table) == -1)
		goto unlock;

	res = PQexec(db, sql_latest);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		PQclear(res);
		goto unlock;
	}
	if (PQntuples(res) == 0) {
		printf("migrate: nothing to roll back\n");
		PQclear(res);
		ret = 0;
		goto unlock;
	}

	(void)snprintf(version, sizeof(version), "%s",
	    PQgetvalue(res, 0, MIGRATE_LATEST_COL_VERSION));
	name = PQgetvalue(res, 0, MIGRATE_LATEST_COL_NAME);
	len = strlen(name);
	if (len <= 7 || len >= sizeof(file) ||
	    strcmp(name + len - 7, ".up.sql")) {
		fprintf(stderr, "migrate: odd migration name %s\n", name);
		PQclear(res);
		goto unlock;
	}
	(void)snprintf(file, sizeof(file), "%.*s.down.sql", (int)(len - 7),
	    name);
	PQclear(res);

	ret = migrate_apply(db, dir, file, version, 0);

unlock:
	(void)migrate_exec(db, sql_unlock);
done:
	PQfinish(db);
	return (ret);
}

int
migrate_status(const char *url, const char *dir)
{
	PGconn		*db;
	PGresult	*res;
	int		i;

	(void)dir;
	if ((db = migrate_connect(url)) == NULL)
		return (-1);

	res = PQexec(db, sql_status);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
		return (-1);
	}
	for (i = 0; i < PQntuples(res); i++) {
		printf("%s %s %s\n",
		    PQgetvalue(res, i, MIGRATE_STATUS_COL_VERSION),
		    PQgetvalue(res, i, MIGRATE_STATUS_COL_NAME),
		    PQgetvalue(res, i, MIGRATE_STATUS_COL_APPLIED_AT));
	}
	PQclear(res);
	PQfinish(db);

	return (0);
}
