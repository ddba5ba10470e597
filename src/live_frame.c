/*
 * live_frame: the live seat map's frames. A seat's status comes from the
 * seat_states view as a word ("available", "held", "booked"); it is kept
 * as a code so a re-read compares cheaply, and an unknown word reads as
 * available. Frames are built by appending into one buffer (kore_buf
 * grows geometrically): a snapshot of a 10,000-seat show is one pass.
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <string.h>

#include "live_frame.h"

int
live_status_code(const char *status)
{
	if (!strcmp(status, "held"))
		return (LIVE_HELD);
	if (!strcmp(status, "booked"))
		return (LIVE_BOOKED);

	return (LIVE_AVAILABLE);
}

const char *
live_status_name(int code)
{
	switch (code) {
	case LIVE_HELD:
		return ("held");
	case LIVE_BOOKED:
		return ("booked");
	default:
		return ("available");
	}
}

/*
 * {"type", "show_id", "seats": [{"id", "status"}]}: every seat, or those
 * at the indexes in `which` (n of them). Statuses are fixed words, so
 * nothing needs escaping.
 */
void
live_frame(struct kore_buf *buf, const char *type, int64_t show,
    const struct live_seat *seats, size_t n, const int *which)
{
	const struct live_seat	*seat;
	size_t			i;

	kore_buf_appendf(buf, "{\"type\":\"%s\",\"show_id\":%lld,\"seats\":[",
	    type, (long long)show);
	for (i = 0; i < n; i++) {
		seat = which != NULL ? &seats[which[i]] : &seats[i];
		kore_buf_appendf(buf, "%s{\"id\":%lld,\"status\":\"%s\"}",
		    i ? "," : "", (long long)seat->id,
		    live_status_name(seat->status));
	}
	kore_buf_append(buf, "]}", 2);
}
