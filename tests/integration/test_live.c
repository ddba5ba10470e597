/*
 * Live seat map over WSS: GET /api/shows/{id}/seats/live upgrades, sends a
 * snapshot of every seat, then an update within a second of any change to
 * them, whichever worker or instance made it (holds, bookings, releases),
 * and when a hold or an unpaid booking lapses with nobody touching it. The
 * caps per worker and per client address refuse the upgrade; sockets are
 * pinged; a Redis restart ends in a fresh snapshot. Update latencies are
 * printed (indicative only: the machine is shared).
 */
#include <sys/resource.h>

#include <criterion/criterion.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "ws.h"
#include "expect.h"

/* Generous: the contract's second, times a slow shared machine. */
#define WAIT_MS		8000

/* A signed-in watcher (the live seat map wants a Bearer token). */
static const char *
watcher(void)
{
	static char	*token;
	long long	uid;

	if (token == NULL)
		token = test_user_token("user", &uid);
	return (token);
}

static char *
live_path(long long show)
{
	return (api_format("/api/shows/%lld/seats/live", show));
}

static void
open_live(struct ws_client *ws, const char *base, long long show,
    const char *src)
{
	char	*path = live_path(show), *body;
	int	status;

	status = ws_open(ws, base != NULL ? base : getenv("BOOKING_URL"), path,
	    src, 0, watcher(), &body);
	cr_assert_eq(status, 101, "upgrade answered %d: %s", status,
	    body != NULL ? body : "");
	free(path);
}

/* The next message, which must be of this type. */
static json_t *
expect_msg(struct ws_client *ws, const char *type, long long show,
    int timeout_ms)
{
	json_t	*j;
	char	*msg;

	msg = ws_recv(ws, timeout_ms);
	cr_assert_not_null(msg, "no %s within %d ms", type, timeout_ms);
	j = json_loads(msg, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", msg);
	cr_assert_str_eq(json_string_value(json_object_get(j, "type")), type,
	    "%s", msg);
	cr_assert_eq(json_integer_value(json_object_get(j, "show_id")), show,
	    "%s", msg);
	cr_assert(json_is_array(json_object_get(j, "seats")), "%s", msg);
	free(msg);

	return (j);
}

static const char *
status_of(json_t *msg, long long seat)
{
	json_t	*v;
	size_t	i;

	json_array_foreach(json_object_get(msg, "seats"), i, v) {
		if (json_integer_value(json_object_get(v, "id")) == seat)
			return (json_string_value(json_object_get(v,
			    "status")));
	}

	return (NULL);
}

static void
expect_snapshot(struct ws_client *ws, const struct fixture_show *s)
{
	json_t	*j;
	int	i;

	j = expect_msg(ws, "snapshot", s->id, WAIT_MS);
	cr_assert_eq(json_array_size(json_object_get(j, "seats")),
	    (size_t)s->nseats);
	for (i = 0; i < s->nseats; i++)
		cr_assert_str_eq(status_of(j, s->seats[i]), "available");
	json_decref(j);
}

/* An update naming exactly this seat with this status. */
static void
expect_update(struct ws_client *ws, long long show, long long seat,
    const char *status)
{
	json_t	*j;

	j = expect_msg(ws, "update", show, WAIT_MS);
	cr_assert_eq(json_array_size(json_object_get(j, "seats")), 1);
	cr_assert_str_eq(status_of(j, seat), status);
	json_decref(j);
}

Test(live, snapshot_then_updates_from_any_worker_and_instance,
    .timeout = 120)
{
	enum { SOCKETS = 6 };
	struct ws_client	ws[SOCKETS];
	struct fixture_show	s;
	struct test_server	srv;
	struct api_resp		*h, *r;
	long long		uid;
	char			*a, *body, *path;
	int			i;

	fixture_show(&s, 4, "1 day");
	a = test_user_token("user", &uid);
	cr_assert(test_server_start(&srv, NULL), "second server");

	/* Several sockets, so both workers of the server hold some. */
	for (i = 0; i < SOCKETS; i++) {
		open_live(&ws[i], NULL, s.id, NULL);
		expect_snapshot(&ws[i], &s);
	}

	/* A hold through the other instance. */
	h = hold_at(srv.url, a, s.id, s.seats[0]);
	for (i = 0; i < SOCKETS; i++)
		expect_update(&ws[i], s.id, s.seats[0], "held");

	/* A booking through this one. */
	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", s.id,
	    s.seats[1]);
	r = fixture_book(a, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	for (i = 0; i < SOCKETS; i++)
		expect_update(&ws[i], s.id, s.seats[1], "booked");

	/* Cancelling it and releasing the hold free both seats again. */
	path = api_format("/api/bookings/%lld/cancel", fixture_id(r));
	api_free(r);
	r = api_auth("POST", path, a, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	for (i = 0; i < SOCKETS; i++)
		expect_update(&ws[i], s.id, s.seats[1], "available");
	free(path);

	path = api_format("/api/holds/%lld", fixture_id(h));
	r = api_auth("DELETE", path, a, NULL);
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);
	for (i = 0; i < SOCKETS; i++)
		expect_update(&ws[i], s.id, s.seats[0], "available");

	/* Nothing else was sent. */
	for (i = 0; i < SOCKETS; i++) {
		char *extra = ws_recv(&ws[i], i == 0 ? 500 : 0);
		cr_assert_null(extra, "unexpected: %s", extra);
		ws_close(&ws[i]);
	}

	test_server_stop(&srv);
	api_free(h);
	free(path);
	free(body);
}

Test(live, update_latency_is_reported, .timeout = 120)
{
	enum { SOCKETS = 4, ROUNDS = 20 };
	struct ws_client	ws[SOCKETS];
	struct fixture_show	s;
	struct api_resp		*h, *r;
	double			lat[SOCKETS * ROUNDS * 2], t0;
	long long		uid;
	char			*a, *path;
	int			i, k, n;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &uid);
	for (i = 0; i < SOCKETS; i++) {
		open_live(&ws[i], NULL, s.id, NULL);
		expect_snapshot(&ws[i], &s);
	}

	n = 0;
	for (k = 0; k < ROUNDS; k++) {
		t0 = ws_now_ms();
		h = hold_at(NULL, a, s.id, s.seats[0]);
		for (i = 0; i < SOCKETS; i++) {
			expect_update(&ws[i], s.id, s.seats[0], "held");
			lat[n++] = ws_now_ms() - t0;
		}

		path = api_format("/api/holds/%lld", fixture_id(h));
		t0 = ws_now_ms();
		r = api_auth("DELETE", path, a, NULL);
		cr_assert_eq(r->status, 204, "%s", r->body);
		for (i = 0; i < SOCKETS; i++) {
			expect_update(&ws[i], s.id, s.seats[0], "available");
			lat[n++] = ws_now_ms() - t0;
		}
		api_free(r);
		api_free(h);
		free(path);
	}

	qsort(lat, n, sizeof(lat[0]), cmp_double);
	fprintf(stderr, "live: update latency from request start over %d "
	    "updates: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", n,
	    lat[n / 2], lat[(n * 99) / 100], lat[n - 1]);
	cr_assert_lt(lat[(n * 99) / 100], WAIT_MS);

	for (i = 0; i < SOCKETS; i++)
		ws_close(&ws[i]);
}

Test(live, lapses_of_holds_and_unpaid_bookings_are_sent, .timeout = 120)
{
	struct test_server	srv;
	const char		*env[] = { "HOLD_TTL_SECONDS=1",
				    "PAYMENTS=on", "PAYMENT_WINDOW_SECONDS=2",
				    NULL };
	struct ws_client	ws;
	struct fixture_show	s;
	struct api_resp		*h, *r;
	long long		uid;
	char			*a, *body;
	double			t0, dt;

	cr_assert(test_server_start(&srv, env), "short-hold server");
	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &uid);

	/* Watching through the main server; claims through the other. */
	open_live(&ws, NULL, s.id, NULL);
	expect_snapshot(&ws, &s);

	h = hold_at(srv.url, a, s.id, s.seats[0]);
	t0 = ws_now_ms();
	expect_update(&ws, s.id, s.seats[0], "held");
	expect_update(&ws, s.id, s.seats[0], "available");
	dt = ws_now_ms() - t0;
	fprintf(stderr, "live: a 1 s hold was reported lapsed %.0f ms after "
	    "its answer\n", dt);
	cr_assert_gt(dt, 500, "lapsed too early: %.0f ms", dt);
	cr_assert_eq(db_scalar("SELECT count(*) FROM holds WHERE id = $1 AND"
	    " released_at IS NULL AND expires_at <= now()", api_format("%lld",
	    fixture_id(h)), NULL), 1);

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", s.id,
	    s.seats[1]);
	r = fixture_book(a, fixture_key(), body, srv.url);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "status")), "pending_payment");
	t0 = ws_now_ms();
	expect_update(&ws, s.id, s.seats[1], "booked");
	expect_update(&ws, s.id, s.seats[1], "available");
	dt = ws_now_ms() - t0;
	cr_assert_gt(dt, 1000, "unpaid booking lapsed too early: %.0f ms", dt);

	ws_close(&ws);
	test_server_stop(&srv);
	api_free(h);
	api_free(r);
	free(body);
}

Test(live, sockets_are_capped_per_address_and_per_worker, .timeout = 180)
{
	enum { PER_ADDRESS = 20, PER_WORKER = 500 };
	static struct ws_client	ws[PER_WORKER + 1];
	struct test_server	srv;
	const char		*env[] = { "WORKERS=1",
				    "LIVE_MAX_SOCKETS=500",
				    "LIVE_MAX_SOCKETS_PER_ADDRESS=20",
				    "LIVE_PING_SECONDS=1", NULL };
	struct fixture_show	s;
	struct ws_client	extra;
	struct rlimit		rl;
	char			src[32], *path, *body;
	json_t			*j;
	int			i, status, opened;
	double			t0, start;

	/* Room for every socket in this process. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < PER_WORKER + 256 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	cr_assert(test_server_start(&srv, env), "capped server");
	fixture_show(&s, 8, "1 day");
	path = live_path(s.id);

	/* Per address: the 21st from 127.0.0.1 is refused. */
	t0 = ws_now_ms();
	opened = 0;
	for (i = 0; i < PER_ADDRESS; i++) {
		open_live(&ws[opened], srv.url, s.id, "127.0.0.1");
		expect_snapshot(&ws[opened++], &s);
	}
	status = ws_open(&extra, srv.url, path, "127.0.0.1", 0, watcher(),
	    &body);
	cr_assert_eq(status, 429, "%d %s", status, body ? body : "");
	j = json_loads(body, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "error"), "code")), "rate_limited", "%s", body);
	json_decref(j);
	free(body);
	ws_close(&extra);

	/* Per worker: other loopback addresses fill the worker up. */
	for (i = 1; opened < PER_WORKER; i++) {
		(void)snprintf(src, sizeof(src), "127.0.%d.%d", 1 + i / 200,
		    1 + i % 200);
		while (opened < PER_WORKER && opened < PER_ADDRESS * (i + 1)) {
			open_live(&ws[opened], srv.url, s.id, src);
			expect_snapshot(&ws[opened++], &s);
		}
	}
	status = ws_open(&extra, srv.url, path, "127.0.9.9", 0, watcher(),
	    &body);
	cr_assert_eq(status, 503, "%d %s", status, body ? body : "");
	cr_assert_not_null(strstr(body, "\"unavailable\""), "%s", body);
	free(body);
	ws_close(&extra);
	fprintf(stderr, "live: one worker held %d idle sockets (upgrades and "
	    "snapshots took %.0f ms); the next was answered 503 as meant\n",
	    opened, ws_now_ms() - t0);

	/* Every socket is still served: pings, and an update for all. */
	{
		long long	uid;
		char		*a = test_user_token("user", &uid);
		struct api_resp	*h = hold_at(srv.url, a, s.id, s.seats[3]);

		for (i = 0; i < opened; i++)
			expect_update(&ws[i], s.id, s.seats[3], "held");
		api_free(h);
	}
	(void)ws_recv(&ws[0], 1500);
	cr_assert_gt(ws[0].pings, 0, "no ping within 1.5 s");

	/* A closed socket frees its place. */
	ws_close(&ws[opened - 1]);
	opened--;
	start = now_seconds();
	for (;;) {
		status = ws_open(&extra, srv.url, path, "127.0.9.9", 0,
		    watcher(), NULL);
		if (status == 101)
			break;
		ws_close(&extra);
		wait_step(start, 10, "the closed socket's place");
	}
	cr_assert_eq(status, 101);
	j = expect_msg(&extra, "snapshot", s.id, WAIT_MS);
	cr_assert_str_eq(status_of(j, s.seats[3]), "held");
	cr_assert_str_eq(status_of(j, s.seats[0]), "available");
	json_decref(j);
	ws_close(&extra);

	for (i = 0; i < opened; i++)
		ws_close(&ws[i]);
	test_server_stop(&srv);
	free(path);
}

Test(live, slow_readers_are_dropped, .timeout = 120)
{
	struct test_server	srv;
	const char		*env[] = { "WORKERS=1",
				    "LIVE_SEND_QUEUE_BYTES=65536",
				    "LIVE_MAX_SOCKETS_PER_ADDRESS=1", NULL };
	struct ws_client	slow, fast, again;
	struct api_resp		*h;
	long long		show, seat, uid;
	char			*path, *a, *msg;
	json_t			*j;
	double			start;
	int			status;

	/* 10,000 seats: a snapshot of about 360 KB. */
	show = db_insert_id(
	    "WITH m AS (INSERT INTO movies (title, duration_minutes)"
	    "  VALUES ('Big movie', 90) RETURNING id),"
	    " t AS (INSERT INTO theatres (name, city, timezone)"
	    "  VALUES ('Big theatre', 'Bigville', 'UTC') RETURNING id),"
	    " sc AS (INSERT INTO screens (theatre_id, name)"
	    "  SELECT id, 'Big' FROM t RETURNING id),"
	    " sh AS (INSERT INTO shows (movie_id, screen_id, start_time,"
	    "  end_time) SELECT m.id, sc.id, now() + interval '1 day',"
	    "  now() + interval '1 day 2 hours' FROM m, sc RETURNING id),"
	    " x AS (INSERT INTO seats (show_id, row_label, number, tier,"
	    "  price_cents) SELECT sh.id, 'R' || (n / 100), n % 100 + 1, 's',"
	    "  1000 FROM sh, generate_series(0, 9999) n)"
	    " SELECT id FROM sh", NULL);
	seat = db_scalar("SELECT min(id) FROM seats WHERE show_id = $1",
	    api_format("%lld", show), NULL);
	cr_assert(test_server_start(&srv, env), "server");
	path = live_path(show);

	/* A reader with a tiny window that never reads. */
	status = ws_open(&slow, srv.url, path, "127.0.5.5", 4096, watcher(),
	    NULL);
	cr_assert_eq(status, 101);
	open_live(&fast, srv.url, show, "127.0.5.6");
	j = expect_msg(&fast, "snapshot", show, WAIT_MS);
	cr_assert_eq(json_array_size(json_object_get(j, "seats")), 10000);
	json_decref(j);

	/* Its place is taken while it lingers. */
	status = ws_open(&again, srv.url, path, "127.0.5.5", 0, watcher(),
	    NULL);
	cr_assert_eq(status, 429);
	ws_close(&again);

	/* The next frame finds its queue over the limit: it is dropped. */
	a = test_user_token("user", &uid);
	h = hold_at(srv.url, a, show, seat);
	expect_update(&fast, show, seat, "held");
	start = now_seconds();
	for (;;) {
		status = ws_open(&again, srv.url, path, "127.0.5.5", 0,
		    watcher(), NULL);
		if (status == 101)
			break;
		ws_close(&again);
		wait_step(start, 10, "the slow reader to be dropped");
	}
	cr_assert_eq(status, 101, "the slow reader was not dropped");
	j = expect_msg(&again, "snapshot", show, WAIT_MS);
	json_decref(j);

	/* What the slow reader gets is cut short: it never sees an update. */
	while ((msg = ws_recv(&slow, 2000)) != NULL) {
		cr_assert_null(strstr(msg, "\"update\""), "slow got an update");
		free(msg);
	}

	ws_close(&again);
	ws_close(&fast);
	ws_close(&slow);
	test_server_stop(&srv);
	api_free(h);
	free(path);
}

Test(live, redis_restart_ends_in_a_fresh_snapshot, .timeout = 120)
{
	struct ws_client	ws;
	struct fixture_show	s;
	struct api_resp		*h;
	long long		uid;
	char			*a;
	json_t			*j;

	fixture_show(&s, 2, "1 day");
	a = test_user_token("user", &uid);
	open_live(&ws, NULL, s.id, NULL);
	expect_snapshot(&ws, &s);

	redis_down();
	/* A change while Redis is away, that nobody could publish. */
	db_exec("WITH h AS (INSERT INTO holds (user_id, show_id, expires_at)"
	    " VALUES ($1, $2, now() + interval '5 min') RETURNING id)"
	    " INSERT INTO hold_seats (hold_id, seat_id) SELECT id, $3 FROM h",
	    api_format("%lld", uid), api_format("%lld", s.id),
	    api_format("%lld", s.seats[1]), NULL);
	redis_up();

	j = expect_msg(&ws, "snapshot", s.id, 15000);
	cr_assert_str_eq(status_of(j, s.seats[1]), "held");
	cr_assert_str_eq(status_of(j, s.seats[0]), "available");
	json_decref(j);

	/* And updates flow again. */
	h = hold_at(NULL, a, s.id, s.seats[0]);
	for (;;) {
		j = expect_msg(&ws, "update", s.id, WAIT_MS);
		if (status_of(j, s.seats[0]) != NULL)
			break;
		json_decref(j);
	}
	cr_assert_str_eq(status_of(j, s.seats[0]), "held");
	json_decref(j);
	api_free(h);
	ws_close(&ws);
}

Test(live, bad_requests_are_refused)
{
	struct fixture_show	s;
	struct ws_client	ws;
	struct api_resp		*r;
	char			*path, *body;
	int			status;

	fixture_show(&s, 1, "1 day");
	path = live_path(s.id);

	r = api_auth("GET", path, watcher(), NULL);
	cr_assert_eq(r->status, 400, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "invalid_request");
	api_free(r);

	r = api_auth("POST", path, watcher(), "{}");
	cr_assert_eq(r->status, 405, "%s", r->body);
	api_free(r);

	status = ws_open(&ws, getenv("BOOKING_URL"),
	    "/api/shows/987654321/seats/live", NULL, 0, watcher(), &body);
	cr_assert_eq(status, 404, "%d %s", status, body ? body : "");
	cr_assert_not_null(strstr(body, "\"not_found\""), "%s", body);
	free(body);
	ws_close(&ws);

	status = ws_open(&ws, getenv("BOOKING_URL"),
	    "/api/shows/abc/seats/live", NULL, 0, watcher(), &body);
	cr_assert_eq(status, 400, "%d %s", status, body ? body : "");
	free(body);
	ws_close(&ws);
	free(path);
}

/*
 * A socket lives no longer than the token it was opened with: at the
 * token's expiry the server sends a close frame, 1008 "token expired",
 * and no more frames; a socket with a longer token is still served.
 */
Test(live, socket_closes_when_its_token_expires, .timeout = 60)
{
	struct fixture_show	s;
	struct ws_client	brief, lasting;
	char			*path, *body, *token, *msg;
	long long		uid;
	double			opened, closed;
	json_t			*j;
	int			status;

	fixture_show(&s, 4, "1 day");
	path = live_path(s.id);
	uid = test_user("user");
	token = test_token(uid, "user", 3);

	status = ws_open(&brief, getenv("BOOKING_URL"), path, NULL, 0, token,
	    &body);
	cr_assert_eq(status, 101, "%d %s", status, body ? body : "");
	opened = ws_now_ms();
	j = expect_msg(&brief, "snapshot", s.id, WAIT_MS);
	json_decref(j);
	open_live(&lasting, NULL, s.id, NULL);
	j = expect_msg(&lasting, "snapshot", s.id, WAIT_MS);
	json_decref(j);

	/* Only a close arrives, within the token's life plus the wait. */
	msg = ws_recv(&brief, 3000 + WAIT_MS);
	closed = ws_now_ms();
	cr_assert_null(msg, "a frame after expiry: %s", msg);
	cr_assert(brief.closed, "the socket stayed open %.0f ms",
	    closed - opened);
	cr_assert_eq(brief.close_code, 1008, "close code %d",
	    brief.close_code);
	cr_assert_str_eq(brief.close_reason, "token expired");
	/* The token had at least one whole second left at the upgrade. */
	cr_assert_geq(closed - opened, 900.0, "closed after %.0f ms",
	    closed - opened);
	cr_log_info("live: a 3 s token's socket closed %.0f ms after its "
	    "upgrade", closed - opened);

	/* The other watcher is still served. */
	api_free(hold_at(NULL, watcher(), s.id, s.seats[0]));
	expect_update(&lasting, s.id, s.seats[0], "held");
	cr_assert_not(lasting.closed);

	ws_close(&brief);
	ws_close(&lasting);
	free(token);
	free(path);
}

/* Resident kilobytes of the server's processes (parent and workers). */
static long
server_rss_kb(int parent)
{
	DIR		*d;
	struct dirent	*e;
	FILE		*f;
	char		path[64], line[256], comm[64], state;
	long		total, kb;
	int		pid, ppid;

	total = 0;
	d = opendir("/proc");
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		if ((pid = atoi(e->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		ppid = -1;
		if (fscanf(f, "%*d (%63[^)]) %c %d", comm, &state, &ppid) != 3)
			ppid = -1;
		fclose(f);
		if (pid != parent && ppid != parent)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
				total += kb;
		}
		fclose(f);
	}
	closedir(d);

	return (total);
}

/*
 * A client that sends pings and never reads: Kore answers each with a
 * pong, and the socket's queue cap counts those too. The socket is
 * closed and the worker does not grow; a watcher that reads is served.
 */
Test(live, ping_flood_without_reading_closes_the_socket, .timeout = 180)
{
	enum { PINGS = 200000 };
	struct test_server	srv;
	const char		*env[] = { "WORKERS=1",
				    "LIVE_SEND_QUEUE_BYTES=65536", NULL };
	struct fixture_show	s;
	struct ws_client	flood, good;
	char			*path, *msg;
	long			sent, before, after;
	int			status;

	signal(SIGPIPE, SIG_IGN);
	fixture_show(&s, 4, "1 day");
	cr_assert(test_server_start(&srv, env), "server");
	path = live_path(s.id);

	open_live(&good, srv.url, s.id, "127.0.6.1");
	expect_snapshot(&good, &s);
	before = server_rss_kb(srv.pid);

	status = ws_open(&flood, srv.url, path, "127.0.6.2", 4096, watcher(),
	    NULL);
	cr_assert_eq(status, 101);
	sent = ws_ping_flood(&flood, PINGS, 10000);
	after = server_rss_kb(srv.pid);
	fprintf(stderr, "live: %ld of %d pings went out before the server "
	    "closed; server RSS %ld kB -> %ld kB\n", sent, PINGS, before,
	    after);

	/* 64 KB queued at most, against ~25 MB of pongs without the cap. */
	cr_assert_lt(after - before, 16 * 1024, "server grew %ld kB",
	    after - before);
	cr_assert_lt(sent, PINGS, "all %d pings were taken", PINGS);
	while ((msg = ws_recv(&flood, 10000)) != NULL)
		free(msg);
	cr_assert(flood.closed, "the flooding socket stayed open");

	api_free(hold_at(srv.url, watcher(), s.id, s.seats[0]));
	expect_update(&good, s.id, s.seats[0], "held");
	cr_assert_not(good.closed);
	ws_close(&flood);
	ws_close(&good);
	test_server_stop(&srv);
	free(path);
}

/* A new account's session: its access token and refresh token. */
static void
live_session(char **access, char **refresh)
{
	struct api_resp	*r;
	char		*email, *body;

	email = api_format("live-revoked-%d-%ld@example.com", getpid(),
	    (long)ws_now_ms());
	body = api_format("{\"name\": \"Live\", \"email\": \"%s\","
	    " \"password\": \"correct horse battery\"}", email);
	r = api("POST", "/api/auth/register", body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	*access = strdup(json_string_value(json_object_get(r->json,
	    "access_token")));
	*refresh = strdup(json_string_value(json_object_get(r->json,
	    "refresh_token")));
	api_free(r);
	free(body);
	free(email);
}

/* Only a close frame arrives: 1008 "session revoked", within the wait. */
static void
expect_revoked_close(struct ws_client *ws, double since)
{
	char	*msg;

	msg = ws_recv(ws, WAIT_MS);
	cr_assert_null(msg, "a frame after the revocation: %s", msg);
	cr_assert(ws->closed, "the socket stayed open %.0f ms after the "
	    "revocation", ws_now_ms() - since);
	cr_assert_eq(ws->close_code, 1008, "close code %d", ws->close_code);
	cr_assert_str_eq(ws->close_reason, "session revoked");
	cr_log_info("live: closed %.0f ms after the revocation",
	    ws_now_ms() - since);
}

/*
 * A revoked session's sockets close (1008 "session revoked") soon after
 * the revocation, long before their tokens expire: a logout, and a
 * refresh token used twice (a replay revokes the whole session). Another
 * session's socket of the same show is still served.
 */
Test(live, sockets_of_a_revoked_session_close, .timeout = 90)
{
	struct fixture_show	s;
	struct ws_client	out, replayed, other;
	struct api_resp		*r;
	char			*path, *body, *a1, *r1, *a2, *r2, *rbody;
	double			since;
	json_t			*j;
	int			status;

	fixture_show(&s, 4, "1 day");
	path = live_path(s.id);
	live_session(&a1, &r1);
	live_session(&a2, &r2);

	status = ws_open(&out, getenv("BOOKING_URL"), path, NULL, 0, a1,
	    &body);
	cr_assert_eq(status, 101, "%d %s", status, body ? body : "");
	j = expect_msg(&out, "snapshot", s.id, WAIT_MS);
	json_decref(j);
	status = ws_open(&replayed, getenv("BOOKING_URL"), path, NULL, 0, a2,
	    &body);
	cr_assert_eq(status, 101, "%d %s", status, body ? body : "");
	j = expect_msg(&replayed, "snapshot", s.id, WAIT_MS);
	json_decref(j);
	open_live(&other, NULL, s.id, NULL);
	j = expect_msg(&other, "snapshot", s.id, WAIT_MS);
	json_decref(j);

	/* A logout ends the first session. */
	r = api_auth("POST", "/api/auth/logout", a1, "");
	cr_assert_eq(r->status, 204, "%s", r->body);
	api_free(r);
	since = ws_now_ms();
	expect_revoked_close(&out, since);

	/* The second session's refresh token, used twice. */
	rbody = api_format("{\"refresh_token\": \"%s\"}", r2);
	r = api("POST", "/api/auth/refresh", rbody);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);
	r = api("POST", "/api/auth/refresh", rbody);
	cr_assert_eq(r->status, 401, "%s", r->body);
	api_free(r);
	since = ws_now_ms();
	expect_revoked_close(&replayed, since);

	/* The other session's socket is still served. */
	api_free(hold_at(NULL, watcher(), s.id, s.seats[0]));
	expect_update(&other, s.id, s.seats[0], "held");
	cr_assert_not(other.closed);

	ws_close(&out);
	ws_close(&replayed);
	ws_close(&other);
	free(rbody);
	free(a1);
	free(r1);
	free(a2);
	free(r2);
	free(path);
}
