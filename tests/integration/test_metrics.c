/*
 * GET /metrics: refused (404) outside METRICS_ALLOW; from loopback the
 * Prometheus text format with the expected series after a booking, a
 * replay and a throttled call; checked by a small exposition parser (and
 * by promtool when it is installed). Also: JSON access log lines, and
 * X-Request-Id on Kore's own pre-handler errors.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "expect.h"

/* The value of the sample `series` (name with labels, exact), or -1. */
static double
metric(const char *body, const char *series)
{
	const char	*p;
	size_t		len;

	len = strlen(series);
	for (p = body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, series, len) && p[len] == ' ')
			return (strtod(p + len + 1, NULL));
	}

	return (-1);
}

static int
metric_name_char(int c, int first)
{
	return (isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c)));
}

/*
 * Text format 0.0.4, strictly enough to catch what we could get wrong:
 * every sample's family has a TYPE line before it, names and labels are
 * well formed, values parse, histogram buckets never decrease and the
 * +Inf bucket equals _count.
 */
static void
exposition_check(const char *body)
{
	char		*copy, *line, *save, *p, *end, typed[64][96];
	char		family[96], lastbucket[160], *brace;
	double		v, last;
	size_t		n;
	int		ntyped, i, found, samples;

	ntyped = samples = 0;
	last = -1;
	lastbucket[0] = '\0';
	copy = strdup(body);
	cr_assert(strlen(body) > 0 && body[strlen(body) - 1] == '\n');

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# TYPE ", 7)) {
			cr_assert_lt(ntyped, 64);
			cr_assert_eq(sscanf(line + 7, "%95s", typed[ntyped]),
			    1);
			p = line + 7 + strlen(typed[ntyped]) + 1;
			cr_assert(!strcmp(p, "counter") || !strcmp(p, "gauge")
			    || !strcmp(p, "histogram"), "%s", line);
			ntyped++;
			continue;
		}
		if (!strncmp(line, "# HELP ", 7))
			continue;
		cr_assert_neq(line[0], '#', "stray comment %s", line);

		for (n = 0; metric_name_char(line[n], n == 0); n++)
			;
		cr_assert_gt(n, 0, "bad name in %s", line);
		cr_assert(line[n] == '{' || line[n] == ' ', "%s", line);
		cr_assert_lt(n, sizeof(family));
		memcpy(family, line, n);
		family[n] = '\0';

		p = line + n;
		if (*p == '{') {
			p++;
			while (*p != '}') {
				for (n = 0; metric_name_char(p[n], n == 0);
				    n++)
					;
				cr_assert(n > 0 && p[n] == '=' &&
				    p[n + 1] == '"', "labels of %s", line);
				p += n + 2;
				while (*p != '"') {
					cr_assert(*p != '\0' && *p != '\\',
					    "%s", line);
					p++;
				}
				p++;
				if (*p == ',')
					p++;
				else
					cr_assert_eq(*p, '}', "%s", line);
			}
			p++;
		}
		cr_assert_eq(*p, ' ', "%s", line);
		v = strtod(p + 1, &end);
		cr_assert(end != p + 1 && *end == '\0' && v >= 0, "%s", line);
		samples++;

		found = 0;
		for (i = 0; i < ntyped && !found; i++) {
			n = strlen(typed[i]);
			found = !strcmp(family, typed[i]) ||
			    (!strncmp(family, typed[i], n) &&
			    (!strcmp(family + n, "_bucket") ||
			    !strcmp(family + n, "_sum") ||
			    !strcmp(family + n, "_count")));
		}
		cr_assert(found, "no TYPE for %s", line);

		if (strstr(family, "_bucket") != NULL) {
			brace = strstr(line, ",le=");
			cr_assert_not_null(brace, "%s", line);
			n = brace - line;
			if (strlen(lastbucket) == n &&
			    !strncmp(lastbucket, line, n))
				cr_assert_geq(v, last, "%s", line);
			memcpy(lastbucket, line, n);
			lastbucket[n] = '\0';
			last = v;
		}
	}
	cr_assert_gt(samples, 20);
	free(copy);
}

Test(metrics, refused_outside_metrics_allow)
{
	struct test_server	srv;
	struct api_resp		*r;
	const char		*env[] = { "METRICS_ALLOW=127.0.0.2/32", NULL };
	struct api_opts		o = { 0 };

	cr_assert(test_server_start(&srv, env), "server did not start");
	o.base = srv.url;
	r = api_with("GET", "/metrics", NULL, &o);
	cr_assert_eq(r->status, 404, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "not_found");
	cr_assert_null(strstr(r->body, "booking_"));
	api_free(r);
	test_server_stop(&srv);
}

Test(metrics, served_with_the_expected_series_after_a_booking)
{
	struct fixture_show	s;
	struct api_resp		*r;
	char			*tok, *key, *body, *path, ctype[96];
	const char		*inf, *cnt;
	double			created, replays, before;
	long long		uid;
	FILE			*fp;
	const char		*argv[4];

	r = api("GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	before = metric(r->body,
	    "booking_bookings_total{outcome=\"created\"}");
	cr_assert_geq(before, 0, "%s", r->body);
	api_free(r);

	fixture_show(&s, 2, "1 day");
	tok = test_user_token("user", &uid);
	key = fixture_key();
	body = api_format("{\"show_id\": %lld, \"seat_id\": %lld}", s.id,
	    s.seats[0]);
	r = fixture_book(tok, key, body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);
	r = fixture_book(tok, key, body, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	api_free(r);

	r = api("GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(api_header(r, "content-type", ctype,
	    sizeof(ctype)));
	cr_assert(!strncmp(ctype, "text/plain; version=0.0.4", 25), "%s",
	    ctype);
	cr_assert_not_null(api_header(r, "x-request-id", ctype,
	    sizeof(ctype)));

	created = metric(r->body,
	    "booking_bookings_total{outcome=\"created\"}");
	cr_assert_geq(created, before + 1, "%s", r->body);
	replays = metric(r->body, "booking_idempotent_replays_total");
	cr_assert_geq(replays, 1);
	cr_assert_geq(metric(r->body,
	    "booking_bookings_total{outcome=\"replayed\"}"), 1);
	cr_assert_geq(metric(r->body, "booking_http_requests_total"
	    "{route=\"/api/bookings\",code=\"2xx\"}"), 2);
	inf = "booking_http_request_duration_seconds_bucket"
	    "{route=\"/api/bookings\",le=\"+Inf\"}";
	cnt = "booking_http_request_duration_seconds_count"
	    "{route=\"/api/bookings\"}";
	cr_assert_geq(metric(r->body, inf), 2);
	cr_assert_eq(metric(r->body, inf), metric(r->body, cnt));
	cr_assert_geq(metric(r->body, "booking_http_requests_total"
	    "{route=\"/api/movies/{id}\",code=\"2xx\"}"), 0);
	cr_assert_geq(metric(r->body, "booking_open_connections"), 1);
	cr_assert_geq(metric(r->body,
	    "booking_redis_errors_total{kind=\"connect\"}"), 0);
	cr_assert_geq(metric(r->body,
	    "booking_pgsql_errors_total{class=\"none\"}"), 0);
	cr_assert_geq(metric(r->body,
	    "booking_holds_total{outcome=\"created\"}"), 0);
	cr_assert_geq(metric(r->body,
	    "booking_payments_total{outcome=\"ok\"}"), 0);
	exposition_check(r->body);

	/* promtool, when the machine has it, must agree. */
	if (access("/usr/bin/promtool", X_OK) == 0) {
		path = api_format("%s/metrics.txt", getenv("TEST_TMP"));
		fp = fopen(path, "w");
		cr_assert_not_null(fp);
		fputs(r->body, fp);
		fclose(fp);
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = api_format("promtool check metrics < '%s'", path);
		argv[3] = NULL;
		cr_assert_eq(test_run(argv, NULL), 0, "promtool refused it");
		free(path);
	}
	api_free(r);

	free(tok);
	free(key);
	free(body);
}

/* Access log: one JSON line per answer, with the request id and no token. */
Test(metrics, access_log_has_one_json_line_without_secrets)
{
	struct test_server	srv;
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	const char		*hdrs[] = { "X-Request-Id: acclog-test-1",
				    NULL };
	char			*tok, *log, buf[4096], *line;
	long long		uid;
	FILE			*fp;
	json_t			*j;
	int			found;

	cr_assert(test_server_start(&srv, NULL), "server did not start");
	tok = test_user_token("user", &uid);
	o.base = srv.url;
	o.token = tok;
	o.headers = hdrs;
	r = api_with("GET", "/api/bookings?limit=5", NULL, &o);
	cr_assert_eq(r->status, 200, "%s", r->body);
	api_free(r);

	log = api_format("%s/server-%d.log", getenv("TEST_TMP"), srv.port);
	wait_until(file_contains, &(struct file_needle){ log,
	    "acclog-test-1" }, 10, "the access log line");
	fp = fopen(log, "r");
	cr_assert_not_null(fp);
	found = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		cr_assert_null(strstr(buf, tok), "token in the log: %s", buf);
		if (strstr(buf, "acclog-test-1") == NULL)
			continue;
		line = buf;
		j = json_loads(line, 0, NULL);
		cr_assert_not_null(j, "not JSON: %s", line);
		cr_assert_str_eq(json_string_value(json_object_get(j,
		    "route")), "/api/bookings");
		cr_assert_str_eq(json_string_value(json_object_get(j,
		    "method")), "GET");
		cr_assert_eq(json_integer_value(json_object_get(j, "status")),
		    200);
		cr_assert_eq(json_integer_value(json_object_get(j, "user_id")),
		    uid);
		cr_assert_str_eq(json_string_value(json_object_get(j,
		    "client")), "127.0.0.1");
		cr_assert(json_is_integer(json_object_get(j, "duration_ms")));
		cr_assert_not_null(json_string_value(json_object_get(j,
		    "time")));
		cr_assert_null(strstr(line, "limit=5"), "query logged");
		json_decref(j);
		found++;
	}
	fclose(fp);
	cr_assert_eq(found, 1, "%d lines for the request", found);

	free(log);
	free(tok);
	test_server_stop(&srv);
}

/* Kore's own 413 (before any handler) has a request id, logged too. */
Test(metrics, kore_pre_handler_error_has_a_request_id)
{
	struct test_server	srv;
	struct api_opts		o = { 0 };
	struct api_resp		*r;
	const char		*hdrs[] = { "Expect: 100-continue", NULL };
	char			id[64], *body, *log, buf[4096];
	size_t			len = 200 * 1024, i;
	FILE			*fp;
	int			found;

	cr_assert(test_server_start(&srv, NULL), "server did not start");
	o.base = srv.url;
	o.headers = hdrs;
	body = malloc(len + 1);
	memset(body, 'x', len);
	body[len] = '\0';
	r = api_with("POST", "/api/movies", body, &o);
	cr_assert_eq(r->status, 413, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "payload_too_large");
	cr_assert_not_null(api_header(r, "x-request-id", id, sizeof(id)));
	cr_assert_eq(strlen(id), 32, "%s", id);
	for (i = 0; i < 32; i++)
		cr_assert(isxdigit((unsigned char)id[i]), "%s", id);
	api_free(r);
	free(body);

	log = api_format("%s/server-%d.log", getenv("TEST_TMP"), srv.port);
	wait_until(file_contains, &(struct file_needle){ log, id }, 10,
	    "the access log line of the 413");
	fp = fopen(log, "r");
	cr_assert_not_null(fp);
	found = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		if (strstr(buf, id) != NULL && strstr(buf, "\"status\":413") &&
		    strstr(buf, "\"route\":\"none\""))
			found++;
	}
	fclose(fp);
	cr_assert_eq(found, 1, "no access log line for %s", id);

	r = api_with("GET", "/metrics", NULL, &o);
	cr_assert_geq(metric(r->body, "booking_http_requests_total"
	    "{route=\"none\",code=\"4xx\"}"), 1, "%s", r->body);
	api_free(r);

	free(log);
	test_server_stop(&srv);
}
