/*
 * Test fixtures. A screen gets two rows: A (3 standard seats at 1000)
 * and B (2 premium seats at 1500); a show gets one seat per seat of its
 * screen's rows, as the API makes them. fx_big_show() makes a hall of
 * any size straight in SQL, for tests of large answers.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "fixtures.h"

/* A name no other test (or earlier run) uses: prefix-<pid>-<counter>. */
char *
fx_unique(const char *prefix)
{
	static int	n;

	return (api_format("%s-%d-%d", prefix, (int)getpid(), ++n));
}

long long
fx_movie(const char *title, int minutes)
{
	char		*m;
	long long	id;

	m = api_format("%d", minutes);
	id = db_insert_id("INSERT INTO movies (title, description, "
	    "duration_minutes, rating, release_date) VALUES ($1, 'fixture', "
	    "$2, 'PG', '2026-01-02') RETURNING id", title, m, NULL);
	free(m);

	return (id);
}

long long
fx_theatre(const char *name, const char *city, const char *tz)
{
	return (db_insert_id("INSERT INTO theatres (name, city, address, "
	    "timezone) VALUES ($1, $2, 'Somewhere 1', $3) RETURNING id",
	    name, city, tz, NULL));
}

long long
fx_screen(long long theatre, const char *name)
{
	char		*t, *s;
	long long	id;

	t = api_format("%lld", theatre);
	id = db_insert_id("INSERT INTO screens (theatre_id, name) "
	    "VALUES ($1, $2) RETURNING id", t, name, NULL);
	s = api_format("%lld", id);
	db_exec("INSERT INTO screen_rows (screen_id, position, label, seats, "
	    "tier, price_cents) VALUES ($1, 0, 'A', 3, 'standard', 1000), "
	    "($1, 1, 'B', 2, 'premium', 1500)", s, NULL);
	free(t);
	free(s);

	return (id);
}

/* start is any timestamptz literal; the show lasts the movie's length. */
long long
fx_show(long long movie, long long screen, const char *start)
{
	char		*m, *s;
	long long	id;

	m = api_format("%lld", movie);
	s = api_format("%lld", screen);
	id = db_insert_id("WITH s AS ("
	    " INSERT INTO shows (movie_id, screen_id, start_time, end_time)"
	    " SELECT $1::bigint, $2::bigint, $3::timestamptz,"
	    "  $3::timestamptz + make_interval(mins => m.duration_minutes)"
	    " FROM movies m WHERE m.id = $1::bigint"
	    " RETURNING id, screen_id"
	    "), x AS ("
	    " INSERT INTO seats (show_id, row_label, number, tier, price_cents)"
	    " SELECT s.id, r.label, n, r.tier, r.price_cents"
	    " FROM s JOIN screen_rows r ON r.screen_id = s.screen_id"
	    " CROSS JOIN LATERAL generate_series(1, r.seats) n"
	    " ORDER BY r.position, n"
	    ") SELECT id FROM s", m, s, start, NULL);
	free(m);
	free(s);

	return (id);
}

/*
 * A show of `nseats` seats in rows of 100 (labels R1, R2, ...; the seat
 * number restarts in each row), starting at now() + `starts_in` (an SQL
 * interval), on a screen of its own. Seat ids ascend in seat order.
 */
long long
fx_big_show(int nseats, const char *starts_in)
{
	char		*n, *s;
	long long	m, t, sc, id;

	m = fx_movie("Big hall movie", 120);
	t = fx_theatre("Big hall", "Big City", "UTC");
	sc = db_insert_id("INSERT INTO screens (theatre_id, name)"
	    " VALUES ($1, 'Stadium') RETURNING id",
	    (s = api_format("%lld", t)), NULL);
	free(s);
	id = db_insert_id("INSERT INTO shows (movie_id, screen_id, start_time,"
	    " end_time) VALUES ($1, $2, now() + $3::interval,"
	    " now() + $3::interval + interval '2 hours') RETURNING id",
	    (n = api_format("%lld", m)), (s = api_format("%lld", sc)),
	    starts_in, NULL);
	free(n);
	free(s);

	s = api_format("%lld", id);
	n = api_format("%d", nseats);
	db_exec("INSERT INTO seats (show_id, row_label, number, tier,"
	    " price_cents)"
	    " SELECT $1, 'R' || (g / 100 + 1), g % 100 + 1,"
	    "  CASE WHEN g % 100 BETWEEN 30 AND 69 THEN 'premium'"
	    "  ELSE 'standard' END,"
	    "  CASE WHEN g % 100 BETWEEN 30 AND 69 THEN 1800 ELSE 1200 END"
	    " FROM generate_series(0, $2::int - 1) g ORDER BY g", s, n, NULL);
	free(s);
	free(n);

	return (id);
}
