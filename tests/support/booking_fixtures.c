/*
 * Test support for holds and bookings (see booking_fixtures.h).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"

void
fixture_show(struct fixture_show *f, int nseats, const char *starts_in)
{
	char		n[16], num[16], id[24];
	int		i;

	cr_assert_leq(nseats, FIXTURE_SEATS_MAX);
	f->id = db_insert_id(
	    "WITH m AS (INSERT INTO movies (title, duration_minutes)"
	    "  VALUES ('Fixture movie', 90) RETURNING id),"
	    " t AS (INSERT INTO theatres (name, city, timezone)"
	    "  VALUES ('Fixture theatre', 'Testville', 'UTC') RETURNING id),"
	    " sc AS (INSERT INTO screens (theatre_id, name)"
	    "  SELECT id, 'Screen' FROM t RETURNING id)"
	    " INSERT INTO shows (movie_id, screen_id, start_time, end_time,"
	    "  currency)"
	    " SELECT m.id, sc.id, now() + $1::interval,"
	    "  now() + $1::interval + interval '2 hours', 'EUR' FROM m, sc"
	    " RETURNING id", starts_in, NULL);

	(void)snprintf(id, sizeof(id), "%lld", f->id);
	(void)snprintf(n, sizeof(n), "%d", nseats);
	db_exec("INSERT INTO seats (show_id, row_label, number, tier,"
	    " price_cents) SELECT $1, 'A', g, CASE WHEN g % 2 = 0 THEN"
	    " 'premium' ELSE 'standard' END, 1000 + (g % 2) * 500"
	    " FROM generate_series(1, $2::int) g", id, n, NULL);

	for (i = 0; i < nseats; i++) {
		(void)snprintf(num, sizeof(num), "%d", i + 1);
		f->seats[i] = db_scalar("SELECT id FROM seats WHERE"
		    " show_id = $1 AND number = $2", id, num, NULL);
	}
	f->nseats = nseats;
}

/* A fresh Idempotency-Key. */
char *
fixture_key(void)
{
	static int	n;

	return (api_format("key-%d-%ld-%d-%d", (int)getpid(),
	    (long)time(NULL), n++, rand()));
}

struct api_resp *
fixture_book_at(const char *base, const char *token, const char *key,
    const char *body, const char *path)
{
	struct api_opts		o = { 0 };
	const char		*hdrs[2] = { NULL, NULL };
	char			*line;
	struct api_resp		*r;

	line = NULL;
	if (key != NULL) {
		line = api_format("Idempotency-Key: %s", key);
		hdrs[0] = line;
	}
	o.base = base;
	o.token = token;
	o.headers = hdrs;
	r = api_with("POST", path != NULL ? path : "/api/bookings", body, &o);
	free(line);

	return (r);
}

void
paying(struct paying *p, int nseats)
{
	struct api_resp	*r;
	char		*body;

	fixture_show(&p->show, nseats, "1 day");
	p->token = test_user_token("user", &p->user);
	body = nseats == 1 ?
	    api_format("{\"show_id\": %lld, \"seat_id\": %lld}", p->show.id,
	    p->show.seats[0]) :
	    api_format("{\"show_id\": %lld, \"seat_ids\": [%lld, %lld]}",
	    p->show.id, p->show.seats[0], p->show.seats[1]);
	r = fixture_book(p->token, fixture_key(), body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "status")), "pending_payment");
	p->booking = fixture_id(r);
	p->total = json_integer_value(json_object_get(r->json,
	    "total_cents"));
	p->bid = api_format("%lld", p->booking);
	api_free(r);
	free(body);
}

struct api_resp *
hold(const char *base, const char *token, const char *body)
{
	struct api_opts		o = { 0 };

	o.base = base;
	o.token = token;
	return (api_with("POST", "/api/holds", body, &o));
}

struct api_resp *
hold_at(const char *base, const char *token, long long show,
    long long seat)
{
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	char			*body;

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [%lld]}", show,
	    seat);
	o.base = base;
	o.token = token;
	r = api_with("POST", "/api/holds", body, &o);
	cr_assert_eq(r->status, 201, "%s", r->body);
	free(body);

	return (r);
}

struct api_resp *
fixture_book(const char *token, const char *key, const char *body,
    const char *base)
{
	return (fixture_book_at(base, token, key, body, NULL));
}

long long
fixture_id(const struct api_resp *r)
{
	return (json_integer_value(json_object_get(r->json, "id")));
}

/*
 * Seat ids from a booking ("seats": [{id}]) or a hold ("seat_ids") or an
 * error's details.seat_ids; returns how many.
 */
int
fixture_seat_ids(const struct api_resp *r, const char *what, long long *out,
    int max)
{
	json_t		*arr, *v;
	size_t		i;
	int		n;

	if (!strcmp(what, "seats"))
		arr = json_object_get(r->json, "seats");
	else if (!strcmp(what, "details"))
		arr = json_object_get(json_object_get(json_object_get(r->json,
		    "error"), "details"), "seat_ids");
	else
		arr = json_object_get(r->json, what);

	n = 0;
	json_array_foreach(arr, i, v) {
		if (n == max)
			break;
		if (json_is_object(v))
			v = json_object_get(v, "id");
		out[n++] = json_integer_value(v);
	}

	return (n);
}

struct multi_sink {
	char	**data;
	size_t	*len;
};

static size_t
multi_write(char *ptr, size_t size, size_t n, void *arg)
{
	char		**data = arg;
	size_t		len = size * n, old;

	old = *data != NULL ? strlen(*data) : 0;
	*data = realloc(*data, old + len + 1);
	cr_assert_not_null(*data);
	memcpy(*data + old, ptr, len);
	(*data)[old + len] = '\0';

	return (len);
}

/* All of reqs at once, each answered or failed within timeout_ms. */
void
fixture_multi(struct multi_req *reqs, int n, long timeout_ms)
{
	CURLM			*multi;
	CURL			**easy;
	struct curl_slist	**hdrs;
	CURLMsg			*msg;
	char			*url, *line;
	int			i, running, left;

	multi = curl_multi_init();
	cr_assert_not_null(multi);
	easy = calloc(n, sizeof(*easy));
	hdrs = calloc(n, sizeof(*hdrs));
	cr_assert(easy != NULL && hdrs != NULL);

	for (i = 0; i < n; i++) {
		easy[i] = curl_easy_init();
		cr_assert_not_null(easy[i]);
		url = api_format("%s%s", reqs[i].base, reqs[i].path);
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		free(url);
		curl_easy_setopt(easy[i], CURLOPT_CUSTOMREQUEST,
		    reqs[i].method != NULL ? reqs[i].method : "POST");
		curl_easy_setopt(easy[i], CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy[i], CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, multi_write);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &reqs[i].resp);
		curl_easy_setopt(easy[i], CURLOPT_HEADERFUNCTION, multi_write);
		curl_easy_setopt(easy[i], CURLOPT_HEADERDATA,
		    &reqs[i].headers);
		curl_easy_setopt(easy[i], CURLOPT_PRIVATE, &reqs[i]);
		if (reqs[i].body != NULL) {
			curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS,
			    reqs[i].body);
			hdrs[i] = curl_slist_append(hdrs[i],
			    "Content-Type: application/json");
		}
		if (reqs[i].token != NULL) {
			line = api_format("Authorization: Bearer %s",
			    reqs[i].token);
			hdrs[i] = curl_slist_append(hdrs[i], line);
			free(line);
		}
		if (reqs[i].key != NULL) {
			line = api_format("Idempotency-Key: %s", reqs[i].key);
			hdrs[i] = curl_slist_append(hdrs[i], line);
			free(line);
		}
		if (reqs[i].header != NULL)
			hdrs[i] = curl_slist_append(hdrs[i], reqs[i].header);
		hdrs[i] = curl_slist_append(hdrs[i], "Expect:");
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs[i]);
		cr_assert_eq(curl_multi_add_handle(multi, easy[i]), CURLM_OK);
	}

	do {
		cr_assert_eq(curl_multi_perform(multi, &running), CURLM_OK);
		if (running > 0)
			(void)curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running > 0);

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		struct multi_req	*r;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		r->curl_error = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &r->status);
	}

	for (i = 0; i < n; i++) {
		if (reqs[i].resp == NULL)
			reqs[i].resp = strdup("");
		if (reqs[i].headers == NULL)
			reqs[i].headers = strdup("");
		reqs[i].len = strlen(reqs[i].resp);
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
		curl_slist_free_all(hdrs[i]);
	}
	free(easy);
	free(hdrs);
	curl_multi_cleanup(multi);
}

void
fixture_multi_free(struct multi_req *reqs, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		free(reqs[i].resp);
		free(reqs[i].headers);
		reqs[i].resp = NULL;
		reqs[i].headers = NULL;
	}
}

/* {"show_id": s, "seat_ids": [count seats of s from index from]}. */
char *
fixture_seats_body(const struct fixture_show *s, int from, int count)
{
	char	*body, *next;
	int	i;

	body = api_format("{\"show_id\": %lld, \"seat_ids\": [", s->id);
	for (i = 0; i < count; i++) {
		next = api_format("%s%s%lld", body, i ? "," : "",
		    s->seats[from + i]);
		free(body);
		body = next;
	}
	next = api_format("%s]}", body);
	free(body);

	return (next);
}
