/*
 * The shared asserts and the bounded wait (expect.h says how to use
 * them).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "expect.h"

/* The trailing arguments are the NULL assert_error() adds. */
void
expect_error_answer(const struct api_resp *r, long status, const char *code,
    const char *field, ...)
{
	json_t	*err;

	cr_assert_eq(r->status, status, "status %ld, body %s", r->status,
	    r->body);
	cr_assert_not_null(r->json, "error body is not JSON: %s", r->body);
	cr_assert_str_eq(api_error_code(r), code, "body %s", r->body);
	err = json_object_get(r->json, "error");
	cr_assert(json_is_string(json_object_get(err, "message")),
	    "no error.message: %s", r->body);
	if (field != NULL) {
		cr_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(err, "details"), "field")), field,
		    "body %s", r->body);
	}
}

/* Unix time: tests compare it with deadlines the server computed. */
double
now_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* One step of a bounded poll: fails past `seconds`, else sleeps. */
void
wait_step_ms(double start, double seconds, const char *what, int ms)
{
	double	waited;

	waited = now_seconds() - start;
	cr_assert_lt(waited, seconds, "waited %.1f s for %s", waited, what);
	usleep(ms * 1000);
}

void
wait_step(double start, double seconds, const char *what)
{
	wait_step_ms(start, seconds, what, 20);
}

int
wait_more(double start, double seconds)
{
	if (now_seconds() - start >= seconds)
		return (0);
	usleep(20 * 1000);
	return (1);
}

double
wait_until(int (*cond)(void *), void *arg, double seconds, const char *what)
{
	double	start;

	start = now_seconds();
	while (!cond(arg))
		wait_step(start, seconds, what);

	return (now_seconds() - start);
}

long long
jint(json_t *o, const char *name)
{
	json_t	*v = json_object_get(o, name);

	cr_assert(json_is_integer(v), "%s is not an integer", name);
	return (json_integer_value(v));
}

const char *
jstr(json_t *o, const char *name)
{
	json_t	*v = json_object_get(o, name);

	cr_assert(json_is_string(v), "%s is not a string", name);
	return (json_string_value(v));
}

const char *
str(const json_t *o, const char *name)
{
	return (json_string_value(json_object_get(o, name)));
}

int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

int
file_contains(void *arg)
{
	const struct file_needle	*fn = arg;
	FILE				*fp;
	char				line[8192];
	int				found;

	if ((fp = fopen(fn->path, "r")) == NULL)
		return (0);
	found = 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, fn->needle) != NULL;
	fclose(fp);

	return (found);
}

static int
healthy_four_times(void *arg)
{
	struct api_resp	*r;
	int		*ok = arg;

	r = api("GET", "/api/health", NULL);
	*ok = r->status == 200 ? *ok + 1 : 0;
	api_free(r);

	return (*ok >= 4);
}

void
redis_restore(void)
{
	int	ok = 0;

	redis_up();
	wait_until(healthy_four_times, &ok, 10,
	    "Redis to come back (four healthy answers in a row)");
}
