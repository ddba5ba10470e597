/*
 * Test support: an HTTPS client for the API (libcurl + jansson), direct
 * database checks (libpq), and control of Redis and extra servers.
 */
#ifndef __H_TEST_CLIENT_H
#define __H_TEST_CLIENT_H

#include <sys/types.h>

#include <jansson.h>

struct api_resp {
	long		status;
	char		*body;
	size_t		len;
	json_t		*json;		/* NULL when the body is not JSON */
	char		*headers;	/* raw response headers */
	double		seconds;	/* total time of the request */
};

/* Extra request options; every field may be left zero. */
struct api_opts {
	const char	*base;		/* default: $BOOKING_URL */
	const char	*token;		/* Authorization: Bearer */
	const char	*content_type;	/* default: application/json */
	const char	**headers;	/* NULL-terminated "Name: value" */
	long		tls_version;	/* CURL_SSLVERSION_*; 0 = default */
	long		tls_max;	/* CURL_SSLVERSION_MAX_*; 0 = default */
};

struct api_resp	*api(const char *, const char *, const char *);
struct api_resp	*api_auth(const char *, const char *, const char *,
		    const char *);
struct api_resp	*api_with(const char *, const char *, const char *,
		    const struct api_opts *);
const char	*api_header(const struct api_resp *, const char *, char *,
		    size_t);
const char	*api_error_code(const struct api_resp *);
void		api_free(struct api_resp *);
char		*api_format(const char *, ...);

/* Database checks against $DATABASE_URL. */
long long	db_scalar(const char *, ...);
char		*db_text(const char *, ...);
void		db_exec(const char *, ...);
long long	db_insert_id(const char *, ...);

/* Redis and servers. */
void		redis_down(void);
void		redis_up(void);
void		redis_flush(void);

struct test_server {
	int		pid;
	int		port;
	char		url[64];
};

/*
 * A test server on Redis database `db` (its own rate limits and caches),
 * with extra "NAME=value" settings ending with NULL; asserts it started.
 */
#define TEST_ENV_MAX	8

struct test_db_server {
	struct test_server	srv;
	char			*env[TEST_ENV_MAX];
	int			nenv;
};

void	test_db_server_start(struct test_db_server *, int, ...);
void	test_db_server_stop(struct test_db_server *);

int	test_server_start(struct test_server *, const char **);
void	test_server_spawn(struct test_server *, const char **);
void	test_server_stop(struct test_server *);
int	test_free_port(void);
int	test_worker_pids(pid_t *, int);
int	test_wait_health(const char *, int);
int	test_run(const char **, const char **);
int	test_run_output(const char **, const char **, char *, size_t);
char	*test_start_output(const char *, const char *, int *);

#endif
