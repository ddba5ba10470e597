/*
 * Test support for holds and bookings: shows with seats made by SQL,
 * booking requests with an Idempotency-Key, a booking awaiting payment
 * (paying(), for the payment tests), and many requests at once
 * over curl_multi (one thread, so Criterion's assertions stay safe).
 */
#ifndef __H_TEST_BOOKING_FIXTURES_H
#define __H_TEST_BOOKING_FIXTURES_H

#include "client.h"

#define FIXTURE_SEATS_MAX	32

struct fixture_show {
	long long	id;
	long long	seats[FIXTURE_SEATS_MAX];
	int		nseats;
};

/* A show starting at now() + `starts_in` (an SQL interval), own screen. */
void	fixture_show(struct fixture_show *, int, const char *);

/* POST /api/holds with this body at base (NULL: $BOOKING_URL). */
struct api_resp	*hold(const char *, const char *, const char *);
/* POST /api/holds of one seat at base (NULL: $BOOKING_URL); asserts 201. */
struct api_resp	*hold_at(const char *, const char *, long long,
		    long long);
struct api_resp	*fixture_book(const char *, const char *, const char *,
		    const char *);
struct api_resp	*fixture_book_at(const char *, const char *, const char *,
		    const char *, const char *);
char		*fixture_key(void);
char		*fixture_seats_body(const struct fixture_show *, int, int);
long long	fixture_id(const struct api_resp *);
int		fixture_seat_ids(const struct api_resp *, const char *,
		    long long *, int);

/* A pending_payment booking of `nseats` seats (1 or 2), with its owner. */
struct paying {
	struct fixture_show	show;
	char			*token;
	long long		user;
	long long		booking;
	long long		total;
	char			*bid;	/* booking id as text */
};

void	paying(struct paying *, int);

struct multi_req {
	const char	*base;
	const char	*method;
	const char	*path;
	const char	*token;
	const char	*key;		/* Idempotency-Key, or NULL */
	const char	*body;
	const char	*header;	/* one more "Name: value", or NULL */
	/* Filled in: */
	long		status;
	int		curl_error;
	char		*resp;
	size_t		len;
	char		*headers;
};

void	fixture_multi(struct multi_req *, int, long);
void	fixture_multi_free(struct multi_req *, int);

#endif
