/*
 * The booking page (src/boxoffice.c): GET / and its files under /app/
 * with a Content-Security-Policy naming only this origin (and its wss://
 * origin), the page's settings in /app/config.json, and the live seat map
 * taking a browser's token as the WebSocket subprotocols "bearer, <token>"
 * (only on an upgrade). The page itself is driven in Chromium by
 * tests/boxoffice/browser.mjs.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "booking_fixtures.h"
#include "client.h"
#include "tokens.h"
#include "ws.h"

static struct api_resp *
get_with_header(const char *path, const char *header)
{
	struct api_opts	o = { 0 };
	const char	*hdrs[2] = { header, NULL };

	o.headers = hdrs;
	return (api_with("GET", path, NULL, &o));
}

Test(boxoffice, page_is_served_with_a_csp_of_this_origin_only)
{
	struct api_resp	*r;
	char		csp[1024], type[128], *wss;
	const char	*port;

	r = api("GET", "/", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_not_null(api_header(r, "content-type", type, sizeof(type)));
	cr_assert(!strncmp(type, "text/html", 9), "%s", type);
	cr_assert_not_null(strstr(r->body, "/app/main.js"));
	cr_assert_not_null(api_header(r, "content-security-policy", csp,
	    sizeof(csp)));
	cr_assert_not_null(strstr(csp, "default-src 'self'"), "%s", csp);
	cr_assert_not_null(strstr(csp, "script-src 'self';"), "%s", csp);
	port = strrchr(getenv("BOOKING_URL"), ':');
	wss = api_format("connect-src 'self' wss://127.0.0.1%s", port);
	cr_assert_not_null(strstr(csp, wss), "%s", csp);
	cr_assert_null(strstr(csp, "stripe"), "%s", csp);
	cr_assert_null(strstr(csp, "unsafe"), "%s", csp);
	free(wss);
	api_free(r);

	r = api("POST", "/", "{}");
	cr_assert_eq(r->status, 405, "%s", r->body);
	api_free(r);
}

/* A Host header is named in the CSP only when it is a plain host[:port]. */
Test(boxoffice, odd_host_headers_never_reach_the_csp)
{
	struct api_resp	*r;
	char		csp[1024];

	r = get_with_header("/", "Host: x; script-src *");
	if (r->status == 200) {
		cr_assert_not_null(api_header(r, "content-security-policy",
		    csp, sizeof(csp)));
		cr_assert_null(strstr(csp, "script-src *"), "%s", csp);
		cr_assert_null(strstr(csp, "wss://"), "%s", csp);
	} else {
		cr_assert_eq(r->status, 400, "%ld", r->status);
	}
	api_free(r);
}

Test(boxoffice, files_settings_and_unknown_files)
{
	struct api_resp	*r;
	char		type[128];

	r = api("GET", "/app/main.js", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(api_header(r, "content-type", type, sizeof(type)));
	cr_assert(!strncmp(type, "application/javascript", 22), "%s", type);
	api_free(r);

	r = api("GET", "/app/style.css", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(api_header(r, "content-type", type, sizeof(type)));
	cr_assert(!strncmp(type, "text/css", 8), "%s", type);
	api_free(r);

	r = api("GET", "/app/config.json", NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "payment_provider")), "mock");
	cr_assert(json_is_null(json_object_get(r->json,
	    "stripe_publishable_key")), "%s", r->body);
	api_free(r);

	r = api("GET", "/app/../booking.conf", NULL);
	cr_assert_eq(r->status, 404, "%s", r->body);
	api_free(r);
	r = api("GET", "/app/nope.js", NULL);
	cr_assert_eq(r->status, 404, "%s", r->body);
	cr_assert_str_eq(api_error_code(r), "not_found");
	api_free(r);
}

Test(boxoffice, live_map_takes_a_browsers_token_as_a_subprotocol)
{
	struct fixture_show	s;
	struct ws_client	ws;
	struct api_resp		*r;
	long long		uid;
	char			*path, *body, *frame, *line;
	char			*token;

	token = test_user_token("user", &uid);
	fixture_show(&s, 2, "1 day");
	path = api_format("/api/shows/%lld/seats/live", s.id);

	cr_assert_eq(ws_open_browser(&ws, getenv("BOOKING_URL"), path, token,
	    &body), 101, "%s", body != NULL ? body : "");
	cr_assert(ws.protocol_bearer, "the 101 did not choose bearer");
	frame = ws_recv(&ws, 8000);
	cr_assert_not_null(frame);
	cr_assert_not_null(strstr(frame, "\"snapshot\""), "%s", frame);
	free(frame);
	ws_close(&ws);

	cr_assert_eq(ws_open_browser(&ws, getenv("BOOKING_URL"), path,
	    "not.a.token", &body), 401, "%s", body != NULL ? body : "");
	free(body);
	ws_close(&ws);

	/* Outside an upgrade the subprotocol header is no credential. */
	line = api_format("Sec-WebSocket-Protocol: bearer, %s", token);
	r = get_with_header("/api/users/me", line);
	cr_assert_eq(r->status, 401, "%s", r->body);
	api_free(r);
	free(line);
	free(path);
	free(token);
}
