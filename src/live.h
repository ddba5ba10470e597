/*
 * live: the live seat map (GET /api/shows/{id}/seats/live, WebSocket).
 * After a commit that changes a show's seats, seatmap_changed() calls
 * live_publish(); live.c says how watchers of any worker hear of it.
 */
#ifndef __H_LIVE_H
#define __H_LIVE_H

#include <stdint.h>

void	live_worker_init(void);
void	live_publish(int64_t);

#endif
