/*
 * Test support implementation. Every helper fails the current test (via
 * Criterion's assertions) when the test environment itself is broken, so
 * a test never passes on a request that was not made.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "expect.h"

#define TEST_PARAMS_MAX		16

struct sink {
	char		*data;
	size_t		len;
};

static size_t
sink_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		len = size * n;

	s->data = realloc(s->data, s->len + len + 1);
	cr_assert_not_null(s->data);
	memcpy(s->data + s->len, ptr, len);
	s->len += len;
	s->data[s->len] = '\0';

	return (len);
}

/*
 * With $OPENAPI_RECORD set, every response is appended to that file as one
 * JSON line {method, path, status, headers, body}; `make test` validates
 * them all against the API description (tests/openapi/validate.mjs).
 */
static void
api_record(const char *method, const char *path, const struct api_resp *r)
{
	const char	*file, *p, *end, *colon;
	json_t		*line, *hdrs, *body;
	char		*name, *text;
	size_t		i, nlen;
	int		fd;

	if ((file = getenv("OPENAPI_RECORD")) == NULL || *file == '\0')
		return;

	hdrs = json_object();
	for (p = r->headers; *p != '\0'; p = end + (*end != '\0')) {
		if ((end = strchr(p, '\n')) == NULL)
			end = p + strlen(p);
		if ((colon = memchr(p, ':', end - p)) == NULL)
			continue;
		nlen = colon - p;
		name = strndup(p, nlen);
		cr_assert_not_null(name);
		for (i = 0; i < nlen; i++)
			name[i] = tolower((unsigned char)name[i]);
		for (colon++; *colon == ' '; colon++)
			;
		nlen = end - colon;
		if (nlen > 0 && colon[nlen - 1] == '\r')
			nlen--;
		json_object_set_new(hdrs, name, json_stringn(colon, nlen));
		free(name);
	}

	/* A body that is not UTF-8 is recorded as null: JSON it is not. */
	body = json_stringn(r->body, r->len);
	line = json_pack("{s:s, s:s, s:i, s:o, s:o}", "method", method,
	    "path", path, "status", (int)r->status, "headers", hdrs,
	    "body", body != NULL ? body : json_null());
	cr_assert_not_null(line);
	text = json_dumps(line, JSON_COMPACT);
	cr_assert_not_null(text);
	json_decref(line);

	fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	cr_assert_neq(fd, -1, "OPENAPI_RECORD: %s", file);
	nlen = strlen(text);
	text[nlen] = '\n';
	cr_assert_eq(write(fd, text, nlen + 1), (ssize_t)(nlen + 1));
	close(fd);
	free(text);
}

char *
api_format(const char *fmt, ...)
{
	va_list		args;
	char		*out;

	va_start(args, fmt);
	cr_assert(vasprintf(&out, fmt, args) != -1);
	va_end(args);

	return (out);
}

struct api_resp *
api_with(const char *method, const char *path, const char *body,
    const struct api_opts *opts)
{
	CURL			*curl;
	CURLcode		rc;
	struct curl_slist	*hdrs;
	struct sink		b, h;
	struct api_resp		*r;
	const char		*base;
	char			*url, *line;
	int			i, expect;

	base = opts->base != NULL ? opts->base : getenv("BOOKING_URL");
	cr_assert_not_null(base, "BOOKING_URL is not set");
	url = api_format("%s%s", base, path);

	memset(&b, 0, sizeof(b));
	memset(&h, 0, sizeof(h));
	hdrs = NULL;

	curl = curl_easy_init();
	cr_assert_not_null(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
	if (opts->tls_version || opts->tls_max) {
		curl_easy_setopt(curl, CURLOPT_SSLVERSION,
		    opts->tls_version | opts->tls_max);
	}
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		line = api_format("Content-Type: %s", opts->content_type ?
		    opts->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (opts->token != NULL) {
		line = api_format("Authorization: Bearer %s", opts->token);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	expect = 0;
	for (i = 0; opts->headers != NULL && opts->headers[i] != NULL; i++) {
		hdrs = curl_slist_append(hdrs, opts->headers[i]);
		if (!strncasecmp(opts->headers[i], "expect:", 7))
			expect = 1;
	}
	if (!expect)
		hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(curl);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path,
	    curl_easy_strerror(rc));

	r = calloc(1, sizeof(*r));
	cr_assert_not_null(r);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &r->seconds);
	r->body = b.data != NULL ? b.data : strdup("");
	r->len = b.len;
	r->headers = h.data != NULL ? h.data : strdup("");
	r->json = r->len > 0 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	api_record(method, path, r);

	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(url);

	return (r);
}

struct api_resp *
api(const char *method, const char *path, const char *body)
{
	struct api_opts		opts = { 0 };

	return (api_with(method, path, body, &opts));
}

struct api_resp *
api_auth(const char *method, const char *path, const char *token,
    const char *body)
{
	struct api_opts		opts = { 0 };

	opts.token = token;
	return (api_with(method, path, body, &opts));
}

/* The value of the last header called `name`, or NULL. */
const char *
api_header(const struct api_resp *r, const char *name, char *out, size_t len)
{
	const char	*p, *end, *v;
	size_t		nlen, vlen;
	const char	*found;

	found = NULL;
	nlen = strlen(name);
	for (p = r->headers; *p != '\0'; p = end + (*end != '\0')) {
		if ((end = strchr(p, '\n')) == NULL)
			end = p + strlen(p);
		if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
			v = p + nlen + 1;
			while (*v == ' ')
				v++;
			vlen = end - v;
			if (vlen > 0 && v[vlen - 1] == '\r')
				vlen--;
			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			found = out;
		}
	}

	return (found);
}

const char *
api_error_code(const struct api_resp *r)
{
	json_t	*code;

	code = json_object_get(json_object_get(r->json, "error"), "code");
	return (json_is_string(code) ? json_string_value(code) : NULL);
}

void
api_free(struct api_resp *r)
{
	if (r == NULL)
		return;
	json_decref(r->json);
	free(r->body);
	free(r->headers);
	free(r);
}

/*
 * PostgreSQL's notices ("database ... does not exist, skipping" from a
 * DROP ... IF EXISTS) are not the tests' output.
 */
static void
db_notice_quiet(void *arg, const char *message)
{
}

static PGresult *
db_run_params(const char *sql, va_list args)
{
	static PGconn	*db;
	PGresult	*res;
	const char	*params[TEST_PARAMS_MAX], *p;
	int		n;

	if (db == NULL || PQstatus(db) != CONNECTION_OK) {
		db = PQconnectdb(getenv("DATABASE_URL"));
		PQsetNoticeProcessor(db, db_notice_quiet, NULL);
		cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s",
		    PQerrorMessage(db));
	}

	n = 0;
	while ((p = va_arg(args, const char *)) != NULL) {
		cr_assert_lt(n, TEST_PARAMS_MAX);
		params[n++] = p;
	}

	res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	if (PQstatus(db) != CONNECTION_OK) {
		/* Cut by a fault test (a restart, pg_terminate_backend). */
		PQclear(res);
		PQfinish(db);
		db = PQconnectdb(getenv("DATABASE_URL"));
		PQsetNoticeProcessor(db, db_notice_quiet, NULL);
		cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s",
		    PQerrorMessage(db));
		res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	}
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(db));

	return (res);
}

/* The first column of the first row as a number; params end with NULL. */
long long
db_scalar(const char *sql, ...)
{
	PGresult	*res;
	va_list		args;
	long long	v;

	va_start(args, sql);
	res = db_run_params(sql, args);
	va_end(args);

	cr_assert_gt(PQntuples(res), 0, "no row from: %s", sql);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	return (v);
}

long long
db_insert_id(const char *sql, ...)
{
	PGresult	*res;
	va_list		args;
	long long	v;

	va_start(args, sql);
	res = db_run_params(sql, args);
	va_end(args);

	cr_assert_eq(PQntuples(res), 1, "expected one row from: %s", sql);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	return (v);
}

/* The first column of the first row as a string (NULL if none). */
char *
db_text(const char *sql, ...)
{
	PGresult	*res;
	va_list		args;
	char		*v;

	va_start(args, sql);
	res = db_run_params(sql, args);
	va_end(args);

	v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ?
	    strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);

	return (v);
}

void
db_exec(const char *sql, ...)
{
	PGresult	*res;
	va_list		args;

	va_start(args, sql);
	res = db_run_params(sql, args);
	va_end(args);
	PQclear(res);
}

/*
 * Runs argv with extra environment, returns its exit status. Its stdout
 * (redis-cli's "OK", psql's rows) is discarded: a passing run's log holds
 * only what tests print; its stderr still reaches the log.
 */
int
test_run(const char **argv, const char **env)
{
	pid_t	pid;
	int	status, i, null;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if ((null = open("/dev/null", O_WRONLY)) != -1) {
			dup2(null, 1);
			close(null);
		}
		for (i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)(uintptr_t)env[i]);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * Runs argv with extra environment, its stdout and stderr read into out
 * (NUL-terminated, cut at size - 1 bytes) instead of the test's output;
 * returns its exit status.
 */
int
test_run_output(const char **argv, const char **env, char *out, size_t size)
{
	pid_t	pid;
	int	status, i, fds[2];
	size_t	len;
	ssize_t	n;
	char	discard[256];

	cr_assert_gt(size, 0);
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)(uintptr_t)env[i]);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fds[1]);
	len = 0;
	for (;;) {
		if (len < size - 1)
			n = read(fds[0], out + len, size - 1 - len);
		else
			n = read(fds[0], discard, sizeof(discard));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < size - 1)
			len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * Starts the server binary with one setting unset and/or one set
 * ("NAME=value"), for a start-up that must be refused: returns what it
 * wrote on standard error (the caller frees it), its exit status in
 * *status (pclose()'s; it is killed after 10 s if it does start).
 */
char *
test_start_output(const char *unset, const char *set, int *status)
{
	FILE	*fp;
	char	*cmd, *out;
	size_t	n;

	cmd = api_format("cd \"$TEST_TMP\" && env %s%s %s PORT=%d "
	    "AUTO_MIGRATE=0 timeout 10 \"$TEST_BIN\" -f -n -r 2>&1 >/dev/null",
	    unset ? "-u " : "", unset ? unset : "", set ? set : "",
	    test_free_port());
	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	out = calloc(1, 4096);
	cr_assert_not_null(out);
	n = fread(out, 1, 4095, fp);
	out[n] = '\0';
	*status = pclose(fp);
	free(cmd);

	return (out);
}

static void
redis_control(const char *fn)
{
	char		*cmd;
	const char	*argv[4];

	cmd = api_format(". '%s/scripts/services.sh' && %s '%s' %s",
	    getenv("TEST_ROOT"), fn, getenv("TEST_REDIS_DIR"),
	    getenv("TEST_REDIS_PORT"));
	argv[0] = "bash";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	cr_assert_eq(test_run(argv, NULL), 0, "%s failed", fn);
	free(cmd);
}

void
redis_down(void)
{
	redis_control("redis_stop");
}

void
redis_up(void)
{
	redis_control("redis_start");
}

void
redis_flush(void)
{
	const char	*argv[] = { "redis-cli", "-p", getenv("TEST_REDIS_PORT"),
			    "FLUSHALL", NULL };

	cr_assert_eq(test_run(argv, NULL), 0);
}

/*
 * A loopback port nothing is bound to and nobody else was handed, below
 * the kernel's ephemeral range: a port from inside it can be taken as some
 * connection's source port before the server binds it. The reservation is
 * free_port's in scripts/services.sh (one file per port under
 * PORT_RESERVE_DIR naming its holder's PID, written under an flock), so
 * neither picker hands out a port the other holds; this process holds
 * what it picked until it exits.
 */
static int
port_reserved(const char *dir, int port)
{
	char		path[PATH_MAX];
	FILE		*fp;
	int		holder;

	(void)snprintf(path, sizeof(path), "%s/%d", dir, port);
	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	if (fscanf(fp, "%d", &holder) != 1)
		holder = 0;
	fclose(fp);

	/* EPERM: alive, another user's. */
	return (holder > 0 && (kill((pid_t)holder, 0) == 0 || errno == EPERM));
}

static int
port_bindable(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_neq(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);

	return (ok);
}

int
test_free_port(void)
{
	char		path[PATH_MAX];
	const char	*dir;
	FILE		*fp;
	int		lock, port, lo, tries;
	static int	seeded;

	if (!seeded) {
		srandom((unsigned int)(getpid() ^ time(NULL)));
		seeded = 1;
	}
	lo = 32768;
	if ((fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) !=
	    NULL) {
		if (fscanf(fp, "%d", &lo) != 1 || lo <= 11024)
			lo = 32768;
		fclose(fp);
	}

	if ((dir = getenv("PORT_RESERVE_DIR")) == NULL)
		dir = "/tmp/booking-ports";
	if (mkdir(dir, 0777) == 0)
		(void)chmod(dir, 01777);
	(void)snprintf(path, sizeof(path), "%s/lock", dir);
	if ((lock = open(path, O_RDONLY)) == -1) {
		lock = open(path, O_RDONLY | O_CREAT, 0666);
		(void)chmod(path, 0666);
	}
	cr_assert_neq(lock, -1, "%s: %s", path, strerror(errno));
	cr_assert_eq(flock(lock, LOCK_EX), 0);

	for (tries = 0; tries < 1000; tries++) {
		port = 10000 + (int)(random() % (lo - 10000));
		if (port_reserved(dir, port) || !port_bindable(port))
			continue;
		(void)snprintf(path, sizeof(path), "%s/%d", dir, port);
		if ((fp = fopen(path, "w")) == NULL)
			continue;
		fprintf(fp, "%d\n", (int)getpid());
		fclose(fp);
		(void)chmod(path, 0666);
		close(lock);
		return (port);
	}
	close(lock);
	cr_assert_fail("no free port below %d", lo);
	return (-1);
}

int
test_wait_health(const char *base, int seconds)
{
	CURL			*curl;
	char			*url;
	double			start;
	long			status;

	url = api_format("%s/api/health", base);
	start = now_seconds();
	do {
		curl = curl_easy_init();
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 2L);
		status = 0;
		if (curl_easy_perform(curl) == CURLE_OK)
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(curl);
		if (status == 200) {
			free(url);
			return (1);
		}
	} while (wait_more(start, seconds));
	free(url);

	return (0);
}

/*
 * Another server instance on the same database and Redis, with extra
 * environment (e.g. "ACCESS_TOKEN_TTL_SECONDS=2"). Its PID is recorded
 * under $TEST_TMP/pids so the harness stops it even if the test dies.
 */
int
test_server_start(struct test_server *srv, const char **env)
{
	test_server_spawn(srv, env);

	/*
	 * A bound, not a pause: on a busy machine a start that migrates a
	 * fresh database took over 20 s.
	 */
	return (test_wait_health(srv->url, 60));
}

/* Like test_server_start() but returns at once, without waiting. */
void
test_server_spawn(struct test_server *srv, const char **env)
{
	char		*pidfile, *log, port[16];
	pid_t		pid;
	int		fd, i;
	FILE		*fp;

	srv->port = test_free_port();
	(void)snprintf(port, sizeof(port), "%d", srv->port);
	(void)snprintf(srv->url, sizeof(srv->url), "https://127.0.0.1:%d",
	    srv->port);
	log = api_format("%s/server-%d.log", getenv("TEST_TMP"), srv->port);

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		setenv("PORT", port, 1);
		setenv("AUTO_MIGRATE", "0", 1);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)(uintptr_t)env[i]);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir(getenv("TEST_TMP")) == -1)
			_exit(127);
		execl(getenv("TEST_BIN"), "booking", "-f", "-n", "-r",
		    (char *)NULL);
		_exit(127);
	}

	srv->pid = pid;
	pidfile = api_format("%s/pids/%d", getenv("TEST_TMP"), (int)pid);
	if ((fp = fopen(pidfile, "w")) != NULL) {
		fprintf(fp, "%d\n", (int)pid);
		fclose(fp);
	}
	free(pidfile);
	free(log);
}

/* SIGKILL to the children of pid (its Kore workers). */
static void
kill_children(pid_t pid)
{
	FILE	*fp;
	char	path[64];
	int	child;

	(void)snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
	    (int)pid, (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fscanf(fp, "%d", &child) == 1)
		kill((pid_t)child, SIGKILL);
	fclose(fp);
}

void
test_db_server_start(struct test_db_server *s, int db, ...)
{
	va_list		ap;
	const char	*e;
	char		*redis;

	memset(s, 0, sizeof(*s));
	redis = api_format("REDIS_URL=%s", getenv("REDIS_URL"));
	*strrchr(redis, '/') = '\0';
	s->env[s->nenv++] = api_format("%s/%d", redis, db);
	free(redis);

	va_start(ap, db);
	while ((e = va_arg(ap, const char *)) != NULL) {
		cr_assert_lt(s->nenv, TEST_ENV_MAX - 1);
		s->env[s->nenv++] = strdup(e);
	}
	va_end(ap);
	s->env[s->nenv] = NULL;

	cr_assert(test_server_start(&s->srv, (const char **)s->env),
	    "test server did not start");
}

void
test_db_server_stop(struct test_db_server *s)
{
	int	i;

	test_server_stop(&s->srv);
	for (i = 0; i < s->nenv; i++)
		free(s->env[i]);
}

void
test_server_stop(struct test_server *srv)
{
	char	*pidfile;
	double	start;
	int	status, gone;

	if (srv->pid <= 0)
		return;

	kill(srv->pid, SIGTERM);
	start = now_seconds();
	do {
		gone = waitpid(srv->pid, &status, WNOHANG) == srv->pid;
	} while (!gone && wait_more(start, 10));
	if (!gone) {
		/*
		 * Its workers too: Kore's workers do not notice their
		 * parent's death, and would go on serving the port.
		 */
		kill_children(srv->pid);
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, &status, 0);
	}

	pidfile = api_format("%s/pids/%d", getenv("TEST_TMP"), srv->pid);
	unlink(pidfile);
	free(pidfile);
	srv->pid = 0;
}

/*
 * The pids of the test server's Kore workers (TEST_SERVER_PID's children
 * whose command line says "[wrk"; not its key manager), at most max.
 */
int
test_worker_pids(pid_t *pids, int max)
{
	FILE	*fp, *c;
	char	*path, cmd[256];
	int	n, pid;
	size_t	len;

	path = api_format("/proc/%s/task/%s/children",
	    getenv("TEST_SERVER_PID"), getenv("TEST_SERVER_PID"));
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "cannot read %s", path);
	free(path);

	n = 0;
	while (n < max && fscanf(fp, "%d", &pid) == 1) {
		path = api_format("/proc/%d/cmdline", pid);
		c = fopen(path, "r");
		free(path);
		if (c == NULL)
			continue;
		len = fread(cmd, 1, sizeof(cmd) - 1, c);
		fclose(c);
		cmd[len] = '\0';
		while (len-- > 0) {
			if (cmd[len] == '\0')
				cmd[len] = ' ';
		}
		if (strstr(cmd, "[wrk") != NULL)
			pids[n++] = pid;
	}
	fclose(fp);

	return (n);
}
