/*
 * The seat map of large halls: its answer is linear in its size, so a
 * 10,000-seat stadium answers well within a second (a generous bound on
 * a shared machine, not a benchmark: `make bench` measures).
 */
#include <criterion/criterion.h>

#include <stdlib.h>

#include "client.h"
#include "fixtures.h"

#define SEATMAP_BIG		10000
#define SEATMAP_BOUND_SECONDS	1.0

static void
setup(void)
{
	redis_flush();
}

TestSuite(seatmap, .init = setup, .timeout = 120);

static long long
jint(json_t *o, const char *name)
{
	return (json_integer_value(json_object_get(o, name)));
}

Test(seatmap, ten_thousand_seat_map_answers_well_within_a_second)
{
	struct api_resp	*r;
	json_t		*seats, *seat;
	long long	show, first, prev;
	double		best;
	char		*path, *id;
	size_t		i;
	int		attempt;

	show = fx_big_show(SEATMAP_BIG, "30 days");
	id = api_format("%lld", show);
	first = db_scalar("SELECT min(id) FROM seats WHERE show_id = $1", id,
	    NULL);
	path = api_format("/api/shows/%lld/seats", show);

	/* The best of three, so one stall of a busy machine does not count. */
	best = 1e9;
	for (attempt = 0; attempt < 3; attempt++) {
		r = api("GET", path, NULL);
		cr_assert_eq(r->status, 200, "%ld %.200s", r->status, r->body);
		cr_assert_not_null(r->json);
		cr_assert_eq(jint(r->json, "show_id"), show);
		seats = json_object_get(r->json, "seats");
		cr_assert_eq(json_array_size(seats), SEATMAP_BIG);

		prev = first - 1;
		json_array_foreach(seats, i, seat) {
			cr_assert_eq(jint(seat, "id"), prev + 1);
			prev = jint(seat, "id");
		}
		seat = json_array_get(seats, SEATMAP_BIG - 1);
		cr_assert_str_eq(json_string_value(json_object_get(seat,
		    "row")), "R100");
		cr_assert_eq(jint(seat, "number"), 100);
		cr_assert_str_eq(json_string_value(json_object_get(seat,
		    "status")), "available");
		if (r->seconds < best)
			best = r->seconds;
		api_free(r);
	}
	cr_assert_lt(best, SEATMAP_BOUND_SECONDS,
	    "a %d-seat map took %.3f s at best", SEATMAP_BIG, best);

	free(path);

	path = api_format("/api/shows/%lld", show);
	r = api("GET", path, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(jint(r->json, "seats_available"), SEATMAP_BIG);
	api_free(r);
	free(path);
	free(id);
}
