/*
 * docs: the API description (GET /openapi.json) and its two viewers,
 * Swagger UI (GET /docs) and ReDoc (GET /redoc), with the files they load
 * (GET /docs/<file>). Everything is built into the binary: scripts/build.sh
 * converts assets/openapi.yaml to JSON and, when scripts/npm.sh has
 * installed the swagger-ui-dist and redoc packages, embeds their bundles
 * and defines BOOKING_DOCS. A binary built without them (an image built
 * without node) answers the pages with 404 docs_not_built; the description
 * itself is always there. Nothing is fetched from the internet.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <string.h>

#include "assets.h"
#include "reply.h"
#include "route.h"

#define DOCS_JSON	"application/json; charset=utf-8"
#define DOCS_HTML	"text/html; charset=utf-8"
#define DOCS_JS		"application/javascript; charset=utf-8"
#define DOCS_CSS	"text/css; charset=utf-8"
#define DOCS_PREFIX	"/docs/"

int	docs_openapi(struct http_request *);
int	docs_swagger(struct http_request *);
int	docs_redoc(struct http_request *);
int	docs_file(struct http_request *);

struct docs_file {
	const char	*name;		/* the path under DOCS_PREFIX */
	const char	*type;
	const u_int8_t	*data;
	const u_int32_t	*len;
	const char	**etag;
};

static int	docs_openapi_get(struct http_request *);
static int	docs_swagger_get(struct http_request *);
static int	docs_redoc_get(struct http_request *);
static int	docs_file_get(struct http_request *);
static int	docs_serve(struct http_request *, const struct docs_file *);

static const struct docs_file docs_description = {
	"openapi.json", DOCS_JSON, asset_openapi_json, &asset_len_openapi_json,
	&asset_sha256_openapi_json
};

#if defined(BOOKING_DOCS)
static const struct docs_file docs_swagger_page = {
	"", DOCS_HTML, asset_docs_swagger_html, &asset_len_docs_swagger_html,
	&asset_sha256_docs_swagger_html
};

static const struct docs_file docs_redoc_page = {
	"", DOCS_HTML, asset_docs_redoc_html, &asset_len_docs_redoc_html,
	&asset_sha256_docs_redoc_html
};

static const struct docs_file docs_files[] = {
	{ "swagger-ui-bundle.js", DOCS_JS, asset_swagger_ui_bundle_js,
	    &asset_len_swagger_ui_bundle_js, &asset_sha256_swagger_ui_bundle_js },
	{ "swagger-ui.css", DOCS_CSS, asset_swagger_ui_css,
	    &asset_len_swagger_ui_css, &asset_sha256_swagger_ui_css },
	{ "swagger-init.js", DOCS_JS, asset_swagger_init_js,
	    &asset_len_swagger_init_js, &asset_sha256_swagger_init_js },
	{ "redoc.standalone.js", DOCS_JS, asset_redoc_standalone_js,
	    &asset_len_redoc_standalone_js,
	    &asset_sha256_redoc_standalone_js },
};
#endif

static const struct route_method docs_openapi_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, docs_openapi_get),
};

static const struct route_method docs_swagger_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, docs_swagger_get),
};

static const struct route_method docs_redoc_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, docs_redoc_get),
};

static const struct route_method docs_file_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, docs_file_get),
};

int
docs_openapi(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, docs_openapi_methods));
}

int
docs_swagger(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, docs_swagger_methods));
}

int
docs_redoc(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, docs_redoc_methods));
}

int
docs_file(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, docs_file_methods));
}

static int
docs_serve(struct http_request *req, const struct docs_file *f)
{
	if (f == NULL) {
		reply_error(req, HTTP_STATUS_NOT_FOUND, "docs_not_built",
		    "This server was built without the docs pages; build it "
		    "with node and npm installed (make build).");
		return (KORE_RESULT_OK);
	}

	reply_file(req, f->type, f->data, *f->len, *f->etag);
	return (KORE_RESULT_OK);
}

static int
docs_openapi_get(struct http_request *req)
{
	return (docs_serve(req, &docs_description));
}

static int
docs_swagger_get(struct http_request *req)
{
#if defined(BOOKING_DOCS)
	return (docs_serve(req, &docs_swagger_page));
#else
	return (docs_serve(req, NULL));
#endif
}

static int
docs_redoc_get(struct http_request *req)
{
#if defined(BOOKING_DOCS)
	return (docs_serve(req, &docs_redoc_page));
#else
	return (docs_serve(req, NULL));
#endif
}

static int
docs_file_get(struct http_request *req)
{
#if defined(BOOKING_DOCS)
	const char	*name;
	size_t		i;

	name = req->path + strlen(DOCS_PREFIX);
	for (i = 0; i < sizeof(docs_files) / sizeof(docs_files[0]); i++) {
		if (!strcmp(docs_files[i].name, name))
			return (docs_serve(req, &docs_files[i]));
	}
	return (route_not_found(req));
#else
	return (docs_serve(req, NULL));
#endif
}
