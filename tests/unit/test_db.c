/* Unit tests for db.c: the one table of what a failed statement means. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "db.h"

static int
action(const char *sqlstate)
{
	return (db_error_lookup(sqlstate)->action);
}

Test(db, races_lost_are_run_again_quietly)
{
	cr_assert_eq(action("40001"), DB_ERROR_RETRY);
	cr_assert_eq(action("40P01"), DB_ERROR_RETRY);
	cr_assert_not(db_error_lookup("40001")->log);
	/* Other class 40 states are not a lost race. */
	cr_assert_eq(action("40002"), DB_ERROR_INTERNAL);
}

Test(db, a_connection_that_failed_is_503_and_logged)
{
	const char	*lost[] = { "", "08000", "08006", "08P01", "57P01",
			    "57P02", "57P03", "53300", "53100", "57014",
			    "55P03" };
	size_t		i;

	for (i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		cr_assert_eq(action(lost[i]), DB_ERROR_UNAVAILABLE,
		    "SQLSTATE '%s'", lost[i]);
		cr_assert(db_error_lookup(lost[i])->log);
	}
}

Test(db, data_errors_are_the_clients_400)
{
	cr_assert_eq(action("22008"), DB_ERROR_INVALID);
	cr_assert_eq(action("22P02"), DB_ERROR_INVALID);
	cr_assert_eq(action("22003"), DB_ERROR_INVALID);
	cr_assert_not(db_error_lookup("22007")->log);
}

Test(db, anything_else_is_logged_and_500)
{
	const char	*unknown[] = { "42883", "42P01", "XX000", "P0001",
			    "23514", "0A000", "57000" };
	size_t		i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_assert_eq(action(unknown[i]), DB_ERROR_INTERNAL,
		    "SQLSTATE '%s'", unknown[i]);
	}
	cr_assert(db_error_lookup("42883")->log);
	cr_assert(db_error_lookup("XX000")->log);
	/* A handler answers its own 23s; the table only backs it up. */
	cr_assert_not(db_error_lookup("23505")->log);
}

Test(db, the_action_is_read_from_the_calls_sqlstate)
{
	struct db_call	call;

	memset(&call, 0, sizeof(call));
	cr_assert_eq(db_error_action(&call), DB_ERROR_UNAVAILABLE);
	memcpy(call.sqlstate, "40P01", 6);
	cr_assert_eq(db_error_action(&call), DB_ERROR_RETRY);
	memcpy(call.sqlstate, "22008", 6);
	cr_assert_eq(db_error_action(&call), DB_ERROR_INVALID);
	cr_assert(db_sqlstate_is(&call, "22008"));
	cr_assert_not(db_connection_lost(&call));
	memcpy(call.sqlstate, "57P01", 6);
	cr_assert(db_connection_lost(&call));
}

Test(db, retries_back_off_doubling_with_jitter_and_a_cap)
{
	u_int64_t	d, prev_min, seed;
	int		r;

	prev_min = 0;
	for (r = 0; r < DB_RETRY_MAX; r++) {
		u_int64_t	lo, hi;

		lo = (u_int64_t)DB_RETRY_MS << (r < DB_RETRY_SHIFT_MAX ? r :
		    DB_RETRY_SHIFT_MAX);
		hi = 2 * lo;
		cr_assert_geq(lo, prev_min);
		for (seed = 0; seed < 1000; seed += 7) {
			d = db_retry_delay(r, seed * 2654435761ULL);
			cr_assert_geq(d, lo, "retry %d: %llu ms", r,
			    (unsigned long long)d);
			cr_assert_leq(d, hi, "retry %d: %llu ms", r,
			    (unsigned long long)d);
		}
		prev_min = lo;
	}
	/* Every run waited for is bounded: well under a second in all. */
	for (d = 0, r = 0; r < DB_RETRY_MAX - 1; r++)
		d += db_retry_delay(r, ~0ULL);
	cr_assert_lt(d, 1000);
}
