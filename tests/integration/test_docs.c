/*
 * The API description and its viewers (src/docs.c): GET /openapi.json is
 * the description as JSON, /docs and /redoc load only files the server
 * itself serves, and every answer has the usual headers and envelope.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"

Test(docs, openapi_json_is_the_description)
{
	struct api_resp	*r;
	char		type[128], etag[128];
	json_t		*paths;

	r = api("GET", "/openapi.json", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(r->json, "not JSON: %.80s", r->body);
	cr_assert_str_eq(json_string_value(json_object_get(r->json,
	    "openapi")), "3.1.0");
	paths = json_object_get(r->json, "paths");
	cr_assert_not_null(json_object_get(paths, "/api/bookings"));
	cr_assert_not_null(json_object_get(json_object_get(paths,
	    "/api/movies/{id}"), "get"));
	cr_assert_not_null(api_header(r, "content-type", type, sizeof(type)));
	cr_assert(!strncmp(type, "application/json", 16));
	cr_assert_not_null(api_header(r, "etag", etag, sizeof(etag)));
	cr_assert_not_null(api_header(r, "x-request-id", type, sizeof(type)));
	api_free(r);
}

Test(docs, unchanged_description_is_304_by_etag)
{
	struct api_opts	o = { 0 };
	struct api_resp	*r;
	char		etag[128], *line;
	const char	*hdrs[2];

	r = api("GET", "/openapi.json", NULL);
	cr_assert_not_null(api_header(r, "etag", etag, sizeof(etag)));
	api_free(r);

	line = api_format("If-None-Match: %s", etag);
	hdrs[0] = line;
	hdrs[1] = NULL;
	o.headers = hdrs;
	r = api_with("GET", "/openapi.json", NULL, &o);
	cr_assert_eq(r->status, 304);
	cr_assert_eq(r->len, 0);
	api_free(r);
	free(line);
}

/* The pages name only their own server's files: no CDN, no internet. */
static void
assert_page(const char *path, const char *needle)
{
	struct api_resp	*r;
	char		type[128];

	r = api("GET", path, NULL);
	if (r->status == 404) {
		cr_assert_str_eq(api_error_code(r), "docs_not_built");
		cr_skip_test("built without the docs pages");
	}
	cr_assert_eq(r->status, 200, "%s: %ld %s", path, r->status, r->body);
	cr_assert_not_null(api_header(r, "content-type", type, sizeof(type)));
	cr_assert(!strncmp(type, "text/html", 9), "%s", type);
	cr_assert_not_null(strstr(r->body, needle), "%s", r->body);
	cr_assert_null(strstr(r->body, "http://"), "%s", r->body);
	cr_assert_null(strstr(r->body, "https://"), "%s", r->body);
	cr_assert_null(strstr(r->body, "//cdn"), "%s", r->body);
	api_free(r);
}

Test(docs, swagger_ui_page_loads_local_files)
{
	assert_page("/docs", "src=\"/docs/swagger-ui-bundle.js\"");
}

Test(docs, redoc_page_loads_local_files)
{
	assert_page("/redoc", "src=\"/docs/redoc.standalone.js\"");
}

Test(docs, bundles_are_served)
{
	static const char	*files[] = { "/docs/swagger-ui-bundle.js",
				    "/docs/swagger-ui.css",
				    "/docs/swagger-init.js",
				    "/docs/redoc.standalone.js" };
	struct api_resp		*r;
	size_t			i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		r = api("GET", files[i], NULL);
		if (r->status == 404 &&
		    !strcmp(api_error_code(r), "docs_not_built"))
			cr_skip_test("built without the docs pages");
		cr_assert_eq(r->status, 200, "%s: %ld", files[i], r->status);
		cr_assert_gt(r->len, 100, "%s", files[i]);
		api_free(r);
	}
}

Test(docs, unknown_file_and_other_methods_are_json_errors)
{
	struct api_resp	*r;
	char		allow[64];

	r = api("GET", "/docs/index.html", NULL);
	cr_assert_eq(r->status, 404);
	cr_assert_not_null(api_error_code(r));
	api_free(r);

	r = api("POST", "/openapi.json", "{}");
	cr_assert_eq(r->status, 405);
	cr_assert_str_eq(api_error_code(r), "method_not_allowed");
	cr_assert_str_eq(api_header(r, "allow", allow, sizeof(allow)), "GET");
	api_free(r);
}
