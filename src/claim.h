/*
 * claim: what holds and bookings share about claiming seats: the request
 * body, the SQL functions' outcomes and their one mapping to HTTP.
 */
#ifndef __H_CLAIM_H
#define __H_CLAIM_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#include "db.h"

/* At most this many seats held or booked per user per show. */
#define CLAIM_SEATS_MAX		10
/* The longest tier name (screen_rows.tier), in characters. */
#define CLAIM_TIER_MAX		32

#define CLAIM_BODY_SEATS	0x01	/* {show_id, seat_ids or seat_id} */
#define CLAIM_BODY_HOLD		0x02	/* {hold_id} */
#define CLAIM_BODY_COUNT	0x04	/* {show_id, count, tier?} */

struct claim_body {
	int64_t		show_id;	/* 0 when absent */
	int64_t		hold_id;	/* 0 when absent */
	int64_t		seats[CLAIM_SEATS_MAX];
	size_t		nseats;
	int64_t		count;		/* 0 unless best available */
	/* The same as SQL parameters. */
	char		show[24];
	char		hold[24];
	char		count_text[24];
	char		tier[CLAIM_TIER_MAX * 4 + 1];	/* "" when absent */
	char		seat_array[CLAIM_SEATS_MAX * 21 + 3];
};

int	claim_body_parse(struct http_request *, struct claim_body *, int);
const char	*claim_param(const char *);
int	claim_retry(struct db_call *, struct http_request *);
int	claim_ok(const struct db_call *);
int	claim_existing(const struct db_call *);
struct kore_json_item	*claim_error(const struct db_call *, int *);
struct kore_json_item	*claim_error_as(const struct db_call *, const char *,
			    int *);

/* Exposed for tests. */
int	claim_seats_check(const int64_t *, size_t, const char **);
void	claim_seat_array(const int64_t *, size_t, char *, size_t);
size_t	claim_parse_ids(const char *, int64_t *, size_t);

#endif
