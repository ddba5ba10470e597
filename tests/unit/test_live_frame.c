/* Unit tests for live_frame.c: seat status codes and the frames. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "live_frame.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(live_frame, .init = setup);

Test(live_frame, status_words_round_trip_and_unknown_is_available)
{
	cr_assert_eq(live_status_code("held"), LIVE_HELD);
	cr_assert_eq(live_status_code("booked"), LIVE_BOOKED);
	cr_assert_eq(live_status_code("available"), LIVE_AVAILABLE);
	cr_assert_eq(live_status_code("lost"), LIVE_AVAILABLE);
	cr_assert_str_eq(live_status_name(LIVE_HELD), "held");
	cr_assert_str_eq(live_status_name(LIVE_BOOKED), "booked");
	cr_assert_str_eq(live_status_name(LIVE_AVAILABLE), "available");
}

Test(live_frame, snapshot_has_every_seat_update_only_the_changed)
{
	struct live_seat	seats[] = {
		{ 11, LIVE_AVAILABLE }, { 12, LIVE_HELD }, { 13, LIVE_BOOKED },
	};
	int			which[] = { 2 };
	struct kore_buf		buf;

	kore_buf_init(&buf, 16);
	live_frame(&buf, "snapshot", 7, seats, 3, NULL);
	cr_assert_str_eq(kore_buf_stringify(&buf, NULL),
	    "{\"type\":\"snapshot\",\"show_id\":7,\"seats\":["
	    "{\"id\":11,\"status\":\"available\"},"
	    "{\"id\":12,\"status\":\"held\"},"
	    "{\"id\":13,\"status\":\"booked\"}]}");

	kore_buf_reset(&buf);
	live_frame(&buf, "update", 7, seats, 1, which);
	cr_assert_str_eq(kore_buf_stringify(&buf, NULL),
	    "{\"type\":\"update\",\"show_id\":7,\"seats\":["
	    "{\"id\":13,\"status\":\"booked\"}]}");

	kore_buf_reset(&buf);
	live_frame(&buf, "update", 7, seats, 0, which);
	cr_assert_str_eq(kore_buf_stringify(&buf, NULL),
	    "{\"type\":\"update\",\"show_id\":7,\"seats\":[]}");
	kore_buf_cleanup(&buf);
}
