/*
 * live_sub: the Redis side of the live seat map (live.c). A change of a
 * show's seats is PUBLISHed on the show's channel; each worker keeps one
 * subscriber connection, subscribed to the channels of the shows its
 * sockets watch, and hears of every change and every (re)subscription
 * through the one callback live.c registers.
 */
#ifndef __H_LIVE_SUB_H
#define __H_LIVE_SUB_H

#include <stdint.h>

/* What the callback hears; LIVE_SUB_LOST comes with show id 0. */
#define LIVE_SUB_SUBSCRIBED	1	/* also after every reconnect */
#define LIVE_SUB_CHANGED	2
#define LIVE_SUB_UNSUBSCRIBED	3
#define LIVE_SUB_LOST		4	/* the connection went away */

void	live_sub_init(void (*)(int64_t, int));
int	live_sub_connect(u_int64_t);
void	live_sub_subscribe(int64_t);
void	live_sub_unsubscribe(int64_t);
void	live_sub_publish(int64_t);

#endif
