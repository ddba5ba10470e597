/*
 * booking: the application's entry points for Kore.
 *
 * kore_parent_configure() runs in the parent before Kore reads its
 * embedded configuration: it handles the command-line subcommands, loads
 * the environment (config.c), migrates the database, creates the "tls"
 * server from BIND_ADDRESS and PORT, then has Kore parse the config and
 * applies the settings that the environment overrides (certificate, key,
 * worker count, drain timeout). kore_worker_configure() runs in every
 * worker.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/seccomp.h>

#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog.h"
#include "commands.h"
#include "assets.h"
#include "config.h"
#include "cors.h"
#include "db.h"
#include "metrics.h"
#include "live.h"
#include "auth.h"
#include "migrate.h"
#include "password.h"
#include "peer.h"
#include "redis.h"
#include "outbox.h"
#include "sentinel.h"
#include "sweep.h"
#include "route.h"

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);
void	kore_seccomp_hook(void);

/*
 * The sanitizer build (scripts/build.sh asan): ASan's runtime names each
 * new thread (gettid) and sizes it (sched_getaffinity) when a task
 * thread starts, and may yield while it writes a report.
 */
#if defined(BOOKING_SANITIZE)
#define BOOKING_SANITIZER_SYSCALLS		\
	KORE_SYSCALL_ALLOW(gettid),		\
	KORE_SYSCALL_ALLOW(sched_getaffinity),	\
	KORE_SYSCALL_ALLOW(sched_yield),
#else
#define BOOKING_SANITIZER_SYSCALLS
#endif

/*
 * What the workers need beyond Kore's own filter: libpq and glibc stat and
 * list files when a connection is made; hiredis opens and tunes a TCP
 * socket; name resolution for REDIS_URL/DATABASE_URL host names. Task
 * threads (password hashing): glibc 2.36 creates threads with clone3 and
 * registers rseq in each, which Kore's task filter (clone only) predates.
 */
KORE_SECCOMP_FILTER("booking",
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(getdents64),
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(sendto),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(getrandom),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	BOOKING_SANITIZER_SYSCALLS
);

static void	booking_usage(void);
static int	booking_subcommand(int, char **);
static void	booking_load_dhparam(void);
static void	booking_request_done(struct http_request *);
static void	booking_kore_error(struct connection *, int, const char *);

/* Every answered request: its metrics and its access log line. */
static void
booking_request_done(struct http_request *req)
{
	int	route;

	route = route_index(req);
	metrics_request(req, route);
	accesslog_request(req, route_label(route));
}

/* An error Kore answered before any handler (413, 408, a bad line). */
static void
booking_kore_error(struct connection *c, int status, const char *id)
{
	metrics_kore_error(status);
	accesslog_kore_error(c, status, id);
}

static void
booking_usage(void)
{
	fprintf(stderr,
	    "usage: booking [-fnqr]            serve (settings from the "
	    "environment)\n"
	    "       booking migrate            apply pending migrations\n"
	    "       booking rollback           roll back the last migration\n"
	    "       booking migrations         list applied migrations\n"
	    "       booking admin EMAIL        make an existing user an "
	    "admin\n"
	    "       booking hash-password      hash a password read from "
	    "stdin\n");
	exit(1);
}

/* Returns -1 when argv holds no subcommand; otherwise exits. */
static int
booking_subcommand(int argc, char **argv)
{
	const char	*url, *dir;
	int		ret;

	if (argc < 2 || argv[1][0] == '-')
		return (-1);

	if (!strcmp(argv[1], "hash-password"))
		exit(commands_hash_password() == 0 ? 0 : 1);

	if ((url = getenv("DATABASE_URL")) == NULL || *url == '\0') {
		fprintf(stderr, "booking: DATABASE_URL is not set\n");
		exit(1);
	}
	if ((dir = getenv("MIGRATIONS_DIR")) == NULL || *dir == '\0')
		dir = "migrations";

	if (!strcmp(argv[1], "migrate"))
		ret = migrate_up(url, dir);
	else if (!strcmp(argv[1], "rollback"))
		ret = migrate_down(url, dir);
	else if (!strcmp(argv[1], "migrations"))
		ret = migrate_status(url, dir);
	else if (!strcmp(argv[1], "admin") && argc == 3)
		ret = commands_promote(url, argv[2]);
	else
		booking_usage();

	exit(ret == 0 ? 0 : 1);
}

/* RFC 7919 ffdhe2048, embedded from assets/ unless TLS_DHPARAM is set. */
static void
booking_load_dhparam(void)
{
	BIO		*bio;
	const char	*path;

	if ((path = getenv("TLS_DHPARAM")) != NULL && *path != '\0')
		bio = BIO_new_file(path, "r");
	else
		bio = BIO_new_mem_buf(asset_ffdhe2048_pem,
		    asset_len_ffdhe2048_pem);
	if (bio == NULL)
		fatal("cannot open DH parameters");

	tls_dhparam = PEM_read_bio_DHparams(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (tls_dhparam == NULL)
		fatal("cannot read DH parameters");
}

void
kore_parent_configure(int argc, char **argv)
{
	struct kore_server	*srv;
	struct kore_domain	*dom;
	const char		*err;

	/*
	 * In the foreground Kore logs with printf(): line-buffer stdout so
	 * a log file (make run, the test harness) gets each line at once,
	 * not a block at exit or nothing when a worker dies.
	 */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);

	(void)booking_subcommand(argc, argv);
	kore_default_getopt(argc, argv);

	if ((err = config_load()) != NULL) {
		fprintf(stderr, "booking: %s\n", err);
		exit(1);
	}
	if (redis_config(config.redis_url) != KORE_RESULT_OK) {
		fprintf(stderr, "booking: REDIS_URL is not a valid redis:// "
		    "URL\n");
		exit(1);
	}
	if (config.redis_sentinels != NULL &&
	    sentinel_config(config.redis_sentinels,
	    config.redis_master_name) != KORE_RESULT_OK) {
		fprintf(stderr, "booking: REDIS_SENTINELS must be host:port,... "
		    "(at most %d) and REDIS_MASTER_NAME a name\n", SENTINEL_MAX);
		exit(1);
	}

	if (peer_config(config.trusted_proxies) != KORE_RESULT_OK) {
		fprintf(stderr, "booking: TRUSTED_PROXIES must be "
		    "comma-separated CIDRs (at most %d)\n", PEER_CIDRS_MAX);
		exit(1);
	}

	if (metrics_config(config.metrics_allow) != KORE_RESULT_OK) {
		fprintf(stderr, "booking: METRICS_ALLOW must be "
		    "comma-separated CIDRs (at most %d)\n", PEER_CIDRS_MAX);
		exit(1);
	}

	if (cors_config(config.cors_origins) != KORE_RESULT_OK) {
		fprintf(stderr, "booking: CORS_ORIGINS must be comma-separated "
		    "origins like https://app.example.com (at most %d)\n",
		    CORS_ORIGINS_MAX);
		exit(1);
	}

	if (password_init(config.password_cost) == -1) {
		fprintf(stderr, "booking: cannot hash passwords (libcrypt)\n");
		exit(1);
	}

	if (config.auto_migrate &&
	    migrate_up(config.database_url, config.migrations_dir) == -1) {
		fprintf(stderr, "booking: migrations failed\n");
		exit(1);
	}
	auth_denylist_prime();

	srv = kore_server_create("tls");
	if (!kore_server_bind(srv, config.bind_address, config.port, NULL)) {
		fprintf(stderr, "booking: cannot listen on %s:%s\n",
		    config.bind_address, config.port);
		exit(1);
	}
	kore_server_finalize(srv);

	kore_parse_config();

	if ((dom = kore_domain_lookup(srv, "*")) == NULL)
		fatal("config has no domain '*'");
	route_table_init(dom);
	metrics_init();
	http_request_done_hook = booking_request_done;
	http_error_hook = booking_kore_error;
	if (config.tls_cert != NULL) {
		kore_free(dom->certfile);
		dom->certfile = kore_strdup(config.tls_cert);
	}
	if (config.tls_key != NULL) {
		kore_free(dom->certkey);
		dom->certkey = kore_strdup(config.tls_key);
	}
	if (access(dom->certfile, R_OK) == -1 ||
	    access(dom->certkey, R_OK) == -1) {
		fprintf(stderr, "booking: cannot read TLS certificate %s or "
		    "key %s (set TLS_CERT and TLS_KEY)\n", dom->certfile,
		    dom->certkey);
		exit(1);
	}

	if (tls_dhparam == NULL)
		booking_load_dhparam();
	if (config.workers > 0)
		worker_count = config.workers;

	/* SIGTERM drains (patches/kore-worker-drain.patch). */
	worker_drain_timeout = (u_int64_t)config.drain_timeout * 1000;

	db_register(config.database_url);
}

void
kore_worker_configure(void)
{
	metrics_worker_init();
	redis_worker_init();
	auth_worker_init();
	sweep_worker_init();
	outbox_worker_init();
	live_worker_init();
}
