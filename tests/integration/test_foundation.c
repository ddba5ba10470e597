/*
 * Foundation: TLS, health with Redis going down and back, movies, the
 * error envelope, request ids, method and body-size handling, migrations.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "expect.h"

static long long
make_movie(const char *title)
{
	return (db_insert_id("INSERT INTO movies (title, description, "
	    "duration_minutes, rating, release_date) VALUES ($1, 'd', 100, "
	    "'PG', '2026-01-02') RETURNING id", title, NULL));
}

Test(foundation, tls12_handshake_succeeds)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;

	o.tls_version = CURL_SSLVERSION_TLSv1_2;
	o.tls_max = CURL_SSLVERSION_MAX_TLSv1_2;
	r = api_with("GET", "/api/health", NULL, &o);
	cr_assert_eq(r->status, 200);
	api_free(r);
}

Test(foundation, tls13_handshake_succeeds)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;

	o.tls_version = CURL_SSLVERSION_TLSv1_3;
	o.tls_max = CURL_SSLVERSION_MAX_TLSv1_3;
	r = api_with("GET", "/api/health", NULL, &o);
	cr_assert_eq(r->status, 200);
	api_free(r);
}

Test(foundation, tls11_is_refused)
{
	CURL		*curl;
	CURLcode	rc;
	char		*url;

	url = api_format("%s/api/health", getenv("BOOKING_URL"));
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION,
	    CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1);
	curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	rc = curl_easy_perform(curl);
	cr_assert_neq(rc, CURLE_OK);
	curl_easy_cleanup(curl);
	free(url);
}

Test(foundation, health_reports_redis_down_then_recovers)
{
	struct api_resp	*r;
	int		i;

	r = api("GET", "/api/health", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r->json, "status")),
	    "ok");
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "postgres")), "ok");
	cr_assert_str_eq(json_string_value(json_object_get(r->json, "redis")),
	    "ok");
	api_free(r);

	redis_down();
	/* Every worker must notice, whichever one answers. */
	for (i = 0; i < 4; i++) {
		r = api("GET", "/api/health", NULL);
		cr_assert_eq(r->status, 503, "body %s", r->body);
		cr_assert_str_eq(json_string_value(json_object_get(r->json,
		    "redis")), "down");
		cr_assert_str_eq(json_string_value(json_object_get(r->json,
		    "postgres")), "ok");
		api_free(r);
	}

	redis_restore();
	for (i = 0; i < 4; i++) {
		r = api("GET", "/api/health", NULL);
		cr_assert_eq(r->status, 200);
		api_free(r);
	}
}

Test(foundation, movie_list_has_list_envelope_and_our_movie)
{
	struct api_resp	*r;
	json_t		*data, *m;
	long long	id, total;
	size_t		i;
	int		found;
	char		*path;

	id = make_movie("Envelope \"Quoted\" Title");
	total = db_scalar("SELECT count(*) FROM movies", NULL);

	path = api_format("/api/movies?limit=100");
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(r->json, "not JSON: %s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "limit")), 100);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "offset")), 0);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")),
	    total);

	data = json_object_get(r->json, "data");
	cr_assert(json_is_array(data));
	found = 0;
	json_array_foreach(data, i, m) {
		if (json_integer_value(json_object_get(m, "id")) != id)
			continue;
		found = 1;
		cr_assert_str_eq(json_string_value(json_object_get(m, "title")),
		    "Envelope \"Quoted\" Title");
		cr_assert_eq(json_integer_value(json_object_get(m,
		    "duration_minutes")), 100);
		cr_assert_str_eq(json_string_value(json_object_get(m,
		    "release_date")), "2026-01-02");
		cr_assert(json_is_null(json_object_get(m, "poster_url")));
	}
	cr_assert(found, "movie %lld not in the list", id);
	api_free(r);
	free(path);
}

Test(foundation, movie_list_pages_and_searches)
{
	struct api_resp	*r;

	make_movie("Zyxwv Pagination One");
	make_movie("Zyxwv Pagination Two");

	r = api("GET", "/api/movies?q=zyxwv&limit=1&offset=1", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 2);
	cr_assert_eq(json_array_size(json_object_get(r->json, "data")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(r->json, "data"), 0), "title")),
	    "Zyxwv Pagination Two");
	api_free(r);

	/* Past the end: an empty page that still knows the total. */
	r = api("GET", "/api/movies?q=zyxwv&offset=50", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(json_array_size(json_object_get(r->json, "data")), 0);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 2);
	api_free(r);

	/* LIKE wildcards in q are literal. */
	r = api("GET", "/api/movies?q=%25", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")), 0);
	api_free(r);
}

Test(foundation, movie_list_rejects_bad_paging)
{
	struct api_resp	*r;

	r = api("GET", "/api/movies?limit=0", NULL);
	assert_error(r, 400, "invalid_request");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r->json, "error"), "details"), "field")), "limit");
	api_free(r);

	r = api("GET", "/api/movies?limit=101", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api("GET", "/api/movies?offset=-1", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api("GET", "/api/movies?date=2026-13-01", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api("GET", "/api/movies?date=2026-02-31", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);
}

Test(foundation, movie_detail_found)
{
	struct api_resp	*r;
	long long	id;
	char		*path;

	id = make_movie("Detail Movie");
	path = api_format("/api/movies/%lld", id);
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "id")), id);
	cr_assert_str_eq(json_string_value(json_object_get(r->json, "title")),
	    "Detail Movie");
	cr_assert_str_eq(json_string_value(json_object_get(r->json, "rating")),
	    "PG");
	api_free(r);
	free(path);
}

Test(foundation, unknown_movie_is_404)
{
	struct api_resp	*r;

	r = api("GET", "/api/movies/987654321", NULL);
	assert_error(r, 404, "not_found");
	api_free(r);
}

Test(foundation, non_numeric_movie_id_is_400)
{
	struct api_resp	*r;

	r = api("GET", "/api/movies/abc", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api("GET", "/api/movies/0", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);

	r = api("GET", "/api/movies/99999999999999999999999", NULL);
	assert_error(r, 400, "invalid_request");
	api_free(r);
}

Test(foundation, unknown_route_is_json_404)
{
	struct api_resp	*r;

	r = api("GET", "/api/nothing-here", NULL);
	assert_error(r, 404, "not_found");
	api_free(r);

	/* "/" is the booking page (test_boxoffice.c); nothing else is. */
	r = api("GET", "/nothing-here", NULL);
	assert_error(r, 404, "not_found");
	api_free(r);
}

Test(foundation, wrong_method_is_405_with_allow)
{
	struct api_resp	*r;
	char		allow[64];

	r = api("DELETE", "/api/health", NULL);
	assert_error(r, 405, "method_not_allowed");
	cr_assert_not_null(api_header(r, "allow", allow, sizeof(allow)));
	cr_assert_str_eq(allow, "GET");
	api_free(r);
}

Test(foundation, oversized_body_is_json_413)
{
	struct api_resp	*r;
	char		*body;
	size_t		len = 200 * 1024;
	struct api_opts		o = { 0 };
	const char		*hdrs[] = { "Expect: 100-continue", NULL };

	/* The client waits for the verdict instead of racing the close. */
	o.headers = hdrs;
	body = malloc(len + 1);
	memset(body, 'x', len);
	body[len] = '\0';
	r = api_with("POST", "/api/movies", body, &o);
	assert_error(r, 413, "payload_too_large");
	api_free(r);
	free(body);
}

Test(foundation, request_id_is_echoed_or_generated)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[] = { "X-Request-Id: trace-42.a", NULL };
	const char		*bad[] = { "X-Request-Id: no spaces allowed", NULL };
	struct api_resp		*r;
	char			id[160];

	o.headers = hdrs;
	r = api_with("GET", "/api/health", NULL, &o);
	cr_assert_str_eq(api_header(r, "x-request-id", id, sizeof(id)),
	    "trace-42.a");
	api_free(r);

	o.headers = bad;
	r = api_with("GET", "/api/movies/1", NULL, &o);
	cr_assert_not_null(api_header(r, "x-request-id", id, sizeof(id)));
	cr_assert_eq(strlen(id), 32);
	cr_assert_str_neq(id, "no spaces allowed");
	api_free(r);

	r = api("GET", "/nowhere", NULL);
	cr_assert_not_null(api_header(r, "x-request-id", id, sizeof(id)));
	api_free(r);
}

Test(foundation, migrations_twice_in_parallel_apply_once)
{
	const char	*argv[] = { getenv("TEST_BIN"), "migrate", NULL };
	char		*url, *env[2];
	const char	*cenv[2];
	pid_t		pids[2];
	int		i, status, files;

	db_exec("DROP DATABASE IF EXISTS migrate_race", NULL);
	(void)status;

	/* A fresh database, so both runs race over every migration. */
	{
		const char *args[] = { "psql", getenv("TEST_PG_ADMIN_URL"),
		    "-q", "-c", "CREATE DATABASE migrate_race", NULL };
		cr_assert_eq(test_run(args, NULL), 0);
	}

	url = api_format("DATABASE_URL=%s", getenv("DATABASE_URL"));
	*strrchr(url, '/') = '\0';
	env[0] = api_format("%s/migrate_race", url);
	env[1] = NULL;
	cenv[0] = env[0];
	cenv[1] = NULL;

	for (i = 0; i < 2; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0)
			_exit(test_run(argv, cenv));
	}
	for (i = 0; i < 2; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "migrate run %d failed", i);
	}

	{
		const char *args[] = { "bash", "-c",
		    "ls \"$MIGRATIONS_DIR\"/[0-9][0-9][0-9]_*.up.sql | wc -l "
		    "> \"$TEST_TMP/nfiles\"", NULL };
		FILE *fp;
		cr_assert_eq(test_run(args, NULL), 0);
		fp = fopen(api_format("%s/nfiles", getenv("TEST_TMP")), "r");
		cr_assert_not_null(fp);
		cr_assert_eq(fscanf(fp, "%d", &files), 1);
		fclose(fp);
	}

	{
		const char *args[] = { "psql", env[0] + strlen("DATABASE_URL="),
		    "-tA", "-o", api_format("%s/napplied", getenv("TEST_TMP")),
		    "-c", "SELECT count(*) || ' ' || count(DISTINCT version) "
		    "FROM schema_migrations", NULL };
		FILE *fp;
		int n, d;
		cr_assert_eq(test_run(args, NULL), 0);
		fp = fopen(api_format("%s/napplied", getenv("TEST_TMP")), "r");
		cr_assert_not_null(fp);
		cr_assert_eq(fscanf(fp, "%d %d", &n, &d), 2);
		fclose(fp);
		cr_assert_eq(n, files, "%d rows for %d files", n, files);
		cr_assert_eq(d, files);
	}

	/* Rolling back the last one and migrating again works too. */
	{
		const char *down[] = { getenv("TEST_BIN"), "rollback", NULL };
		cr_assert_eq(test_run(down, cenv), 0);
		cr_assert_eq(test_run(argv, cenv), 0);
	}

	db_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE datname = 'migrate_race'", NULL);
	free(url);
}

/* The integer a shell command prints. */
static long long
shell_number(const char *cmd)
{
	FILE		*fp;
	long long	n;

	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	cr_assert_eq(fscanf(fp, "%lld", &n), 1, "no number from: %s", cmd);
	cr_assert_eq(pclose(fp), 0, "failed: %s", cmd);

	return (n);
}

/*
 * Three servers start at the same moment against one empty database, each
 * migrating at start-up (AUTO_MIGRATE=1): the advisory lock in migrate.c
 * lets one apply every file while the others wait, so every file is
 * applied exactly once (one "applied" log line each, across all three
 * logs) and all three come up healthy.
 */
Test(foundation, three_servers_starting_at_once_migrate_once,
    .timeout = 90)
{
	struct test_server	srv[3];
	char			*url, *dburl, *env[3], *cmd;
	const char		*cenv[3];
	long long		files, rows, distinct, applied;
	int			i;

	db_exec("DROP DATABASE IF EXISTS migrate_three WITH (FORCE)", NULL);
	{
		const char *args[] = { "psql", getenv("TEST_PG_ADMIN_URL"),
		    "-q", "-c", "CREATE DATABASE migrate_three", NULL };
		cr_assert_eq(test_run(args, NULL), 0);
	}

	url = api_format("%s", getenv("DATABASE_URL"));
	*strrchr(url, '/') = '\0';
	dburl = api_format("%s/migrate_three", url);
	env[0] = api_format("DATABASE_URL=%s", dburl);
	env[1] = api_format("AUTO_MIGRATE=1");
	env[2] = NULL;
	for (i = 0; i < 3; i++)
		cenv[i] = env[i];

	for (i = 0; i < 3; i++)
		test_server_spawn(&srv[i], cenv);
	for (i = 0; i < 3; i++)
		cr_assert(test_wait_health(srv[i].url, 60),
		    "server %d did not become healthy", i);

	files = shell_number("ls \"$MIGRATIONS_DIR\"/[0-9][0-9][0-9]_*.up.sql"
	    " | wc -l");
	cmd = api_format("psql '%s' -tAc 'SELECT count(*) FROM "
	    "schema_migrations'", dburl);
	rows = shell_number(cmd);
	free(cmd);
	cmd = api_format("psql '%s' -tAc 'SELECT count(DISTINCT version) "
	    "FROM schema_migrations'", dburl);
	distinct = shell_number(cmd);
	free(cmd);
	cmd = api_format("cat \"$TEST_TMP\"/server-%d.log "
	    "\"$TEST_TMP\"/server-%d.log \"$TEST_TMP\"/server-%d.log | "
	    "grep -c '^migrate: applied '", srv[0].port, srv[1].port,
	    srv[2].port);
	applied = shell_number(cmd);
	free(cmd);

	cr_assert_gt(files, 0);
	cr_assert_eq(rows, files, "%lld rows for %lld files", rows, files);
	cr_assert_eq(distinct, files);
	cr_assert_eq(applied, files, "%lld files applied for %lld files",
	    applied, files);

	for (i = 0; i < 3; i++)
		test_server_stop(&srv[i]);
	db_exec("DROP DATABASE IF EXISTS migrate_three WITH (FORCE)", NULL);
	for (i = 0; i < 2; i++)
		free(env[i]);
	free(dburl);
	free(url);
}

Test(foundation, missing_settings_stop_startup_with_one_line,
    .timeout = 120)
{
	static const struct {
		const char	*unset;
		const char	*set;
		const char	*says;
	} cases[] = {
		{ "DATABASE_URL", NULL, "DATABASE_URL is not set" },
		{ "REDIS_URL", NULL, "REDIS_URL is not set" },
		{ "JWT_SECRET", NULL, "JWT_SECRET is not set" },
		{ NULL, "JWT_SECRET=short", "at least 32 bytes" },
		{ NULL, "REDIS_URL=http://x", "REDIS_URL must start with" },
		{ NULL, "TLS_CERT=/nonexistent.pem", "cannot read TLS" },
		/* A flag is on only when it says so. */
		{ "JWT_SECRET", "BOOKING_DEV_MODE=false",
		    "JWT_SECRET is not set" },
		{ "JWT_SECRET", "BOOKING_DEV_MODE=Off",
		    "JWT_SECRET is not set" },
		{ NULL, "BOOKING_DEV_MODE=maybe", "BOOKING_DEV_MODE must be" },
		{ NULL, "PAYMENTS=2", "PAYMENTS must be on or off" },
		{ NULL, "WORKERS=2x", "WORKERS must be from 0 to 64" },
		{ NULL, "HOLD_TTL_SECONDS=", NULL },
	};
	size_t	i;
	int	status;
	char	*out, *nl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = test_start_output(cases[i].unset, cases[i].set, &status);
		if (cases[i].says == NULL) {
			/* Empty is unset: it starts, until timeout stops it. */
			cr_assert(WIFEXITED(status) &&
			    WEXITSTATUS(status) == 124, "case %zu: status %d, "
			    "output %s", i, status, out);
			free(out);
			continue;
		}
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "case %zu: status %d, output %s", i, status, out);
		cr_assert_not_null(strstr(out, cases[i].says),
		    "case %zu said: %s", i, out);
		nl = strchr(out, '\n');
		cr_assert(nl != NULL && nl[1] == '\0',
		    "case %zu: not one line: %s", i, out);
		free(out);
	}
}

/* AUTO_MIGRATE=off (or false, no, 0) leaves a fresh database alone. */
Test(foundation, auto_migrate_off_does_not_migrate, .timeout = 90)
{
	static const char	*offs[] = { "off", "false", "no", "0" };
	struct test_server	srv;
	char			*url, *dburl, *cmd, *env[3];
	const char		*cenv[3];
	size_t			i;

	url = api_format("%s", getenv("DATABASE_URL"));
	*strrchr(url, '/') = '\0';
	dburl = api_format("%s/migrate_off", url);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		db_exec("DROP DATABASE IF EXISTS migrate_off WITH (FORCE)",
		    NULL);
		db_exec("CREATE DATABASE migrate_off", NULL);
		env[0] = api_format("DATABASE_URL=%s", dburl);
		env[1] = api_format("AUTO_MIGRATE=%s", offs[i]);
		env[2] = NULL;
		cenv[0] = env[0];
		cenv[1] = env[1];
		cenv[2] = NULL;
		cr_assert(test_server_start(&srv, cenv), "AUTO_MIGRATE=%s",
		    offs[i]);
		cmd = api_format("psql '%s' -tAc \"SELECT count(*) FROM "
		    "pg_tables WHERE tablename = 'schema_migrations'\"", dburl);
		cr_assert_eq(shell_number(cmd), 0,
		    "AUTO_MIGRATE=%s migrated", offs[i]);
		test_server_stop(&srv);
		free(cmd);
		free(env[0]);
		free(env[1]);
	}
	db_exec("DROP DATABASE IF EXISTS migrate_off WITH (FORCE)", NULL);
	free(dburl);
	free(url);
}
