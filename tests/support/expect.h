/*
 * What tests say about answers, and how they wait: the one home of the
 * asserts and waits the test files share.
 *
 *   assert_error(r, 409, "seat_unavailable");
 *   assert_error(r, 400, "validation_failed", "seat_ids");
 *	an error answer: this status, a JSON envelope {"error": {"code",
 *	"message"}} with this code, and, when a field is given (not NULL),
 *	error.details.field naming it.
 *
 *   wait_until(cond, arg, seconds, what)
 *	polls cond(arg) every 20 ms until it returns non-zero, for at most
 *	seconds; the test fails naming what if it never does. Returns the
 *	seconds it waited. Use it instead of a fixed sleep: a test waits for
 *	the condition it needs, however slow the machine.
 *
 *   wait_for(cond, seconds, what)
 *	the same for an expression: cond is evaluated again every 20 ms
 *	until it is true, for at most seconds, else the test fails naming
 *	what. For conditions that need no function of their own:
 *	    wait_for(sx_stat("calls", "refund") > 0, 10, "a refund call");
 *
 *   wait_step(start, seconds, what), wait_step_ms(..., ms)
 *	one step of a poll written as a loop: fails naming what once
 *	seconds have gone by since start (a now_seconds() value), else
 *	sleeps 20 ms (or ms: a poll that sends requests a rate limit
 *	counts waits longer between them).
 *
 *   wait_more(start, seconds)
 *	one step of a poll that must not fail the test (support code that
 *	returns an error instead): sleeps 20 ms and answers whether less
 *	than seconds have gone by since start (a now_seconds() value).
 *
 *   redis_restore()
 *	Redis started again (redis_up()) and the main server healthy on
 *	four answers in a row, so every worker has reconnected; bounded.
 *
 *   now_seconds()	Unix time in seconds, with microseconds.
 *
 *   jint(o, name), jstr(o, name)
 *	member `name` of the JSON object o; the test fails unless it is an
 *	integer (a string).
 *   str(o, name)	member `name` of o if it is a string, else NULL.
 *   cmp_double(a, b)	qsort()'s order of doubles (for percentiles).
 *
 *   file_contains(path, needle)     a condition for wait_until: the file
 *	(e.g. a server's log) has a line containing needle.
 */
#ifndef __H_TEST_EXPECT_H
#define __H_TEST_EXPECT_H

#include "client.h"

#define assert_error(r, status, ...)					\
	expect_error_answer((r), (status), __VA_ARGS__, NULL)

void	expect_error_answer(const struct api_resp *, long, const char *,
	    const char *, ...);

double	wait_until(int (*)(void *), void *, double, const char *);
void	wait_step(double, double, const char *);
void	wait_step_ms(double, double, const char *, int);
int	wait_more(double, double);
double	now_seconds(void);

#define wait_for(cond, seconds, what) do {				\
	double	wait_for_start_ = now_seconds();			\
	while (!(cond))							\
		wait_step(wait_for_start_, (seconds), (what));		\
} while (0)

long long	jint(json_t *, const char *);
const char	*jstr(json_t *, const char *);
const char	*str(const json_t *, const char *);
int		cmp_double(const void *, const void *);

struct file_needle {
	const char	*path;
	const char	*needle;
};
int	file_contains(void *);

void	redis_restore(void);

#endif
