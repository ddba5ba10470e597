/*
 * The invariant under real concurrency: two server instances on one
 * database and Redis, 200 booking requests from 50 users at the same 5
 * seats (single and multi-seat, seat ids in any order), all in flight at
 * once. Exactly one live booking per seat, everyone else 409
 * seat_unavailable, no 5xx, and the database agrees. Run with payments on
 * (bookings start pending_payment) and with PAYMENTS=off (confirmed).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"

#define RACE_USERS		50
#define RACE_REQUESTS		200
#define RACE_SEATS		5

static void	race(const char **, const char *);

Test(booking_race, two_servers_200_requests_one_live_booking_per_seat,
    .timeout = 60)
{
	race(NULL, "pending_payment");
}

Test(booking_race, payments_off_two_servers_one_live_booking_per_seat,
    .timeout = 90)
{
	const char	*env[] = { "PAYMENTS=off", NULL };

	race(env, "confirmed");
}

/*
 * env NULL: the harness's server and one more like it; otherwise two
 * servers started with env.
 */
static void
race(const char **env, const char *want_status)
{
	struct test_server	srv, srv2;
	const char		*base;
	struct fixture_show	s;
	struct multi_req	*reqs;
	char			*tokens[RACE_USERS], *keys[RACE_REQUESTS];
	char			*bodies[RACE_REQUESTS], *show, *seats;
	long long		uid, booked[RACE_SEATS];
	int			i, k, n, created, refused, seat_total;
	json_t			*j, *arr, *v;
	size_t			x;
	time_t			started;

	memset(&srv2, 0, sizeof(srv2));
	cr_assert(test_server_start(&srv, env), "second server did not start");
	if (env != NULL)
		cr_assert(test_server_start(&srv2, env), "third server did "
		    "not start");
	base = env != NULL ? srv2.url : getenv("BOOKING_URL");
	fixture_show(&s, RACE_SEATS, "1 day");
	for (i = 0; i < RACE_USERS; i++)
		tokens[i] = test_user_token("user", &uid);

	reqs = calloc(RACE_REQUESTS, sizeof(*reqs));
	cr_assert_not_null(reqs);
	for (i = 0; i < RACE_REQUESTS; i++) {
		k = i % RACE_SEATS;
		switch (i % 4) {
		case 0:
			bodies[i] = api_format("{\"show_id\": %lld, "
			    "\"seat_id\": %lld}", s.id, s.seats[k]);
			break;
		case 1:
			/* Descending ids: the server must sort its locks. */
			bodies[i] = api_format("{\"show_id\": %lld, "
			    "\"seat_ids\": [%lld, %lld]}", s.id,
			    s.seats[(k + 1) % RACE_SEATS], s.seats[k]);
			break;
		case 2:
			bodies[i] = api_format("{\"show_id\": %lld, "
			    "\"seat_ids\": [%lld, %lld, %lld]}", s.id,
			    s.seats[k], s.seats[(k + 2) % RACE_SEATS],
			    s.seats[(k + 4) % RACE_SEATS]);
			break;
		default:
			bodies[i] = api_format("{\"show_id\": %lld, "
			    "\"seat_ids\": [%lld]}", s.id, s.seats[k]);
			break;
		}
		keys[i] = fixture_key();
		reqs[i].base = i % 2 ? srv.url : base;
		reqs[i].path = "/api/bookings";
		reqs[i].token = tokens[i % RACE_USERS];
		reqs[i].key = keys[i];
		reqs[i].body = bodies[i];
	}

	started = time(NULL);
	fixture_multi(reqs, RACE_REQUESTS, 20000);
	cr_assert_leq(time(NULL) - started, 20);

	created = refused = seat_total = 0;
	memset(booked, 0, sizeof(booked));
	for (i = 0; i < RACE_REQUESTS; i++) {
		cr_assert_eq(reqs[i].curl_error, 0, "request %d: curl %d", i,
		    reqs[i].curl_error);
		cr_assert_lt(reqs[i].status, 500, "request %d: %ld %s", i,
		    reqs[i].status, reqs[i].resp);
		j = json_loads(reqs[i].resp, 0, NULL);
		cr_assert_not_null(j, "request %d: %s", i, reqs[i].resp);
		if (reqs[i].status == 201) {
			created++;
			cr_assert_str_eq(json_string_value(json_object_get(j,
			    "status")), want_status, "%s", reqs[i].resp);
			arr = json_object_get(j, "seats");
			json_array_foreach(arr, x, v) {
				seat_total++;
				for (k = 0; k < RACE_SEATS; k++) {
					if (json_integer_value(json_object_get(
					    v, "id")) == s.seats[k])
						booked[k]++;
				}
			}
		} else {
			cr_assert_eq(reqs[i].status, 409, "request %d: %ld %s",
			    i, reqs[i].status, reqs[i].resp);
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(j, "error"), "code")),
			    "seat_unavailable", "%s", reqs[i].resp);
			cr_assert_gt(json_array_size(json_object_get(
			    json_object_get(json_object_get(j, "error"),
			    "details"), "seat_ids")), 0);
			refused++;
		}
		json_decref(j);
	}

	cr_assert_eq(created + refused, RACE_REQUESTS);
	cr_assert_eq(seat_total, RACE_SEATS, "%d seats in 201s", seat_total);
	for (k = 0; k < RACE_SEATS; k++)
		cr_assert_eq(booked[k], 1, "seat %d booked %lld times", k,
		    booked[k]);

	/* The database's own view. */
	show = api_format("%lld", s.id);
	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " show_id = $1", show, NULL), created);
	cr_assert_eq(db_scalar("SELECT count(*) FROM (SELECT bs.seat_id"
	    " FROM booking_seats bs JOIN seats st ON st.id = bs.seat_id"
	    " WHERE st.show_id = $1 AND bs.live GROUP BY bs.seat_id"
	    " HAVING count(*) > 1) d", show, NULL), 0);
	cr_assert_eq(db_scalar("SELECT count(DISTINCT bs.seat_id) FROM"
	    " booking_seats bs JOIN seats st ON st.id = bs.seat_id"
	    " WHERE st.show_id = $1 AND bs.live", show, NULL), RACE_SEATS);
	seats = db_text("SELECT string_agg(status, ',') FROM seat_states ss"
	    " JOIN seats st ON st.id = ss.seat_id WHERE st.show_id = $1",
	    show, NULL);
	cr_assert_str_eq(seats, "booked,booked,booked,booked,booked");

	cr_assert_eq(db_scalar("SELECT count(*) FROM bookings WHERE"
	    " show_id = $1 AND status = $2", show, want_status, NULL),
	    created);

	test_server_stop(&srv);
	test_server_stop(&srv2);
	n = RACE_REQUESTS;
	fixture_multi_free(reqs, n);
	for (i = 0; i < RACE_REQUESTS; i++) {
		free(bodies[i]);
		free(keys[i]);
	}
	for (i = 0; i < RACE_USERS; i++)
		free(tokens[i]);
	free(reqs);
	free(show);
	free(seats);
}
