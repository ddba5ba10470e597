/*
 * live: the live seat map (GET /api/shows/{id}/seats/live, WebSocket).
 * Every commit that changes a show's seats calls live_publish() after it
 * has committed; live.c says how watchers of any worker hear of it.
 */
#ifndef __H_LIVE_H
#define __H_LIVE_H

#include <stdint.h>

void	live_worker_init(void);
void	live_publish(int64_t);

#endif
