/*
 * live_frame: what a live seat map socket is sent (live.c): a seat's
 * state as a small code, and the JSON text frames built from them.
 */
#ifndef __H_LIVE_FRAME_H
#define __H_LIVE_FRAME_H

#include <kore/kore.h>

#define LIVE_AVAILABLE		0
#define LIVE_HELD		1
#define LIVE_BOOKED		2

struct live_seat {
	int64_t		id;
	int		status;		/* LIVE_* */
};

int		live_status_code(const char *);
const char	*live_status_name(int);
void		live_frame(struct kore_buf *, const char *, int64_t,
		    const struct live_seat *, size_t, const int *);

#endif
