/*
 * live: the live seat map (GET /api/shows/{id}/seats/live, WebSocket).
 * After a commit that changes a show's seats, seatmap_changed() calls
 * live_publish(); live.c says how watchers of any worker hear of it.
 * live_upgrade.c answers the request that opens a socket.
 */
#ifndef __H_LIVE_H
#define __H_LIVE_H

#include <sys/types.h>

#include <stdint.h>

struct connection;
struct peer_ip;
struct token_claims;

void	live_worker_init(void);
void	live_publish(int64_t);

/* Between live_upgrade.c (the upgrade request) and live.c (the sockets). */
u_int32_t	live_sockets(void);
int		live_address_count(const struct peer_ip *);
void		live_attach(struct connection *, int64_t,
		    const struct peer_ip *, const struct token_claims *);

#endif
