/*
 * Faults of the backing services and of the server's own processes,
 * injected for real into the stack the harness runs: PostgreSQL is
 * restarted or has the server's backends terminated under load, a worker
 * is killed. Workers must survive (no "exited" in the server log), no
 * dead connection may stay in a pool, and requests must succeed again
 * within seconds. Every load is bounded in count and time.
 */
#include <criterion/criterion.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"

/* Generous bounds: the machine is shared and timings are noisy. */
#define FAULT_RECOVERY_SECONDS	10.0
#define FAULT_ROUNDS		30
#define FAULT_CONCURRENCY	12

static double
now_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Lines of the main server's log that contain `what`. */
static int
log_count(const char *what)
{
	FILE	*fp;
	char	line[4096];
	int	n;

	fp = fopen(getenv("TEST_SERVER_LOG"), "r");
	cr_assert_not_null(fp, "cannot read the server log");
	n = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, what) != NULL)
			n++;
	}
	fclose(fp);

	return (n);
}

/* Runs a shell command with the test services' functions after delay. */
static pid_t
fault_later(int delay_ms, const char *cmd)
{
	char	*script;
	pid_t	pid;

	script = api_format(". '%s/scripts/services.sh' && %s",
	    getenv("TEST_ROOT"), cmd);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		usleep(delay_ms * 1000);
		execl("/bin/bash", "bash", "-c", script, (char *)NULL);
		_exit(127);
	}
	free(script);

	return (pid);
}

static void
fault_wait(pid_t pid)
{
	int	status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the fault command failed");
}

/*
 * Rounds of concurrent reads that need PostgreSQL; every answer is 200
 * or a 503 with Retry-After, never a 500 or a dropped connection after
 * the fault (curl errors are counted, not asserted: a worker may be
 * killed on purpose).
 */
static void
read_load(const char *path, int *ok, int *unavailable, int *other)
{
	struct multi_req	reqs[FAULT_CONCURRENCY];
	int			round, i;

	for (round = 0; round < FAULT_ROUNDS; round++) {
		memset(reqs, 0, sizeof(reqs));
		for (i = 0; i < FAULT_CONCURRENCY; i++) {
			reqs[i].base = getenv("BOOKING_URL");
			reqs[i].method = "GET";
			reqs[i].path = path;
		}
		fixture_multi(reqs, FAULT_CONCURRENCY, 10000);
		for (i = 0; i < FAULT_CONCURRENCY; i++) {
			if (reqs[i].status == 200)
				(*ok)++;
			else if (reqs[i].status == 503)
				(*unavailable)++;
			else
				(*other)++;
		}
		fixture_multi_free(reqs, FAULT_CONCURRENCY);
		usleep(50 * 1000);
	}
}

/*
 * Seconds until `path` answers 200 `streak` times in a row (one request
 * at a time, each on a new connection, so both workers take part);
 * fails past FAULT_RECOVERY_SECONDS.
 */
static double
recovery(const char *path, int streak)
{
	struct api_resp	*r;
	double		start, first_ok;
	int		run;

	start = now_seconds();
	first_ok = 0;
	run = 0;
	while (run < streak) {
		cr_assert_lt(now_seconds() - start, FAULT_RECOVERY_SECONDS,
		    "%s did not recover (%d in a row)", path, run);
		r = api("GET", path, NULL);
		if (r->status == 200) {
			if (run++ == 0)
				first_ok = now_seconds();
		} else {
			run = 0;
			usleep(50 * 1000);
		}
		api_free(r);
	}

	return (first_ok - start);
}

static char *
show_path(void)
{
	struct fixture_show	s;

	fixture_show(&s, 2, "1 day");
	return (api_format("/api/shows/%lld", s.id));
}

Test(faults, postgres_restart_under_load_keeps_every_worker)
{
	char	*path, *cmd;
	int	exited, badfd, ok, unavailable, other;
	pid_t	fault;

	path = show_path();
	exited = log_count("exited");
	badfd = log_count("Bad file descriptor");
	ok = unavailable = other = 0;

	cmd = api_format("pg_restart '%s'", getenv("TEST_PG_DIR"));
	fault = fault_later(300, cmd);
	read_load(path, &ok, &unavailable, &other);
	fault_wait(fault);
	cr_log_info("restart: %d ok, %d 503, %d other; recovered in %.2f s",
	    ok, unavailable, other, recovery(path, 40));

	cr_assert_eq(other, 0, "%d answers neither 200 nor 503", other);
	cr_assert_eq(log_count("exited"), exited, "a worker exited");
	cr_assert_eq(log_count("Bad file descriptor"), badfd);
	free(cmd);
	free(path);
}

Test(faults, terminated_backends_are_replaced_not_kept)
{
	char	*path, *cmd;
	int	exited, ok, unavailable, other, i;
	pid_t	fault;

	path = show_path();
	exited = log_count("exited");

	cmd = api_format("for i in 1 2 3; do psql -qAt '%s' -c "
	    "\"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	    " WHERE datname = 'booking_test' AND pid <> pg_backend_pid()\""
	    " >/dev/null || exit 1; sleep 0.4; done",
	    getenv("TEST_PG_ADMIN_URL"));
	for (i = 0; i < 2; i++) {
		ok = unavailable = other = 0;
		fault = fault_later(200, cmd);
		read_load(path, &ok, &unavailable, &other);
		fault_wait(fault);
		cr_assert_eq(other, 0, "%d answers neither 200 nor 503", other);
		cr_log_info("terminate: %d ok, %d 503; recovered in %.2f s",
		    ok, unavailable, recovery(path, 40));
	}

	/* Idle pooled connections were cut as well: none is handed out. */
	ok = unavailable = other = 0;
	fault = fault_later(0, cmd);
	fault_wait(fault);
	usleep(200 * 1000);
	read_load(path, &ok, &unavailable, &other);
	cr_assert_eq(unavailable + other, 0, "%d failed after idle cuts",
	    unavailable + other);

	cr_assert_eq(log_count("exited"), exited, "a worker exited");
	free(cmd);
	free(path);
}
