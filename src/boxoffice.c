/*
 * boxoffice: the booking page, GET / and its files GET /app/<file>, a
 * client of the public API only (assets/app/: TypeScript compiled by
 * scripts/build.sh with tsc, the generated OpenAPI client as its data
 * layer). Everything is built into the binary; nothing is fetched from
 * another origin unless Stripe is the payment provider, and then only
 * Stripe.js and its frames.
 *
 * Every answer carries a Content-Security-Policy: 'self', plus this
 * host's wss:// origin for the live seat map (named explicitly for
 * browsers whose 'self' does not cover WebSocket schemes), plus Stripe's
 * origins only when PAYMENT_PROVIDER is stripe. GET /app/config.json
 * tells the page which provider that is. A binary built without tsc and the
 * npm packages (an image built without the dev packages) answers 404
 * app_not_built.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "config.h"
#include "reply.h"
#include "route.h"

#define BOXOFFICE_HTML		"text/html; charset=utf-8"
#define BOXOFFICE_JS		"application/javascript; charset=utf-8"
#define BOXOFFICE_CSS		"text/css; charset=utf-8"
#define BOXOFFICE_PREFIX	"/app/"
#define BOXOFFICE_HOST_MAX	255

#define BOXOFFICE_CSP_BASE						\
	"default-src 'self'; img-src 'self' data:; object-src 'none'; "	\
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define BOXOFFICE_CSP_STRIPE_SCRIPT	" https://js.stripe.com"
#define BOXOFFICE_CSP_STRIPE_CONNECT	" https://api.stripe.com"
#define BOXOFFICE_CSP_STRIPE_FRAME					\
	"; frame-src https://js.stripe.com https://hooks.stripe.com"

int	boxoffice_page(struct http_request *);
int	boxoffice_file(struct http_request *);
int	boxoffice_config(struct http_request *);

static int	boxoffice_page_get(struct http_request *);
static int	boxoffice_file_get(struct http_request *);
static int	boxoffice_stripe(void);
static int	boxoffice_host_sane(const char *);
static void	boxoffice_csp(struct http_request *);
static int	boxoffice_config_get(struct http_request *);

#if defined(BOOKING_BOXOFFICE)
struct boxoffice_file {
	const char	*name;		/* under BOXOFFICE_PREFIX */
	const char	*type;
	const u_int8_t	*data;
	const u_int32_t	*len;
	const char	**etag;
};

static const struct boxoffice_file boxoffice_index = {
	"", BOXOFFICE_HTML, asset_boxoffice_html, &asset_len_boxoffice_html,
	&asset_sha256_boxoffice_html
};

static const struct boxoffice_file boxoffice_files[] = {
	{ "main.js", BOXOFFICE_JS, asset_app_main_js,
	    &asset_len_app_main_js, &asset_sha256_app_main_js },
	{ "session.js", BOXOFFICE_JS, asset_app_session_js,
	    &asset_len_app_session_js, &asset_sha256_app_session_js },
	{ "seatmap.js", BOXOFFICE_JS, asset_app_seatmap_js,
	    &asset_len_app_seatmap_js, &asset_sha256_app_seatmap_js },
	{ "openapi-fetch.js", BOXOFFICE_JS, asset_app_openapi_fetch_js,
	    &asset_len_app_openapi_fetch_js,
	    &asset_sha256_app_openapi_fetch_js },
	{ "style.css", BOXOFFICE_CSS, asset_boxoffice_css,
	    &asset_len_boxoffice_css, &asset_sha256_boxoffice_css },
};
#endif

static const struct route_method boxoffice_page_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, boxoffice_page_get),
};

static const struct route_method boxoffice_file_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, boxoffice_file_get),
};

static const struct route_method boxoffice_config_methods[] = {
	ROUTE_HANDLER(HTTP_METHOD_GET, boxoffice_config_get),
};

int
boxoffice_page(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, boxoffice_page_methods));
}

int
boxoffice_file(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, boxoffice_file_methods));
}

int
boxoffice_config(struct http_request *req)
{
	return (ROUTE_DISPATCH(req, boxoffice_config_methods));
}

static int
boxoffice_stripe(void)
{
	return (config.provider == CONFIG_PROVIDER_STRIPE);
}

/* A Host header fit to be named in a header: a name or address, a port. */
static int
boxoffice_host_sane(const char *host)
{
	size_t		i, len;

	len = strlen(host);
	if (len == 0 || len > BOXOFFICE_HOST_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if ((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') ||
		    strchr(".-:[]", host[i]) != NULL)
			continue;
		return (0);
	}
	return (1);
}

static void
boxoffice_csp(struct http_request *req)
{
	struct kore_buf		csp;
	int			stripe;

	stripe = boxoffice_stripe();
	kore_buf_init(&csp, 512);
	kore_buf_appendf(&csp, "%s; script-src 'self'%s; connect-src 'self'",
	    BOXOFFICE_CSP_BASE, stripe ? BOXOFFICE_CSP_STRIPE_SCRIPT : "");
	if (req->host != NULL && boxoffice_host_sane(req->host))
		kore_buf_appendf(&csp, " wss://%s", req->host);
	kore_buf_appendf(&csp, "%s%s",
	    stripe ? BOXOFFICE_CSP_STRIPE_CONNECT : "",
	    stripe ? BOXOFFICE_CSP_STRIPE_FRAME : "");
	http_response_header(req, "content-security-policy",
	    kore_buf_stringify(&csp, NULL));
	http_response_header(req, "referrer-policy", "no-referrer");
	kore_buf_cleanup(&csp);
}

/* Which payment provider the page pays with (and Stripe's public key). */
static int
boxoffice_config_get(struct http_request *req)
{
	struct kore_json_item	*root;
	const char		*key;

	root = kore_json_create_object(NULL, NULL);
	kore_json_create_string(root, "payment_provider",
	    boxoffice_stripe() ? "stripe" : "mock");
	key = config.stripe_publishable_key;
	if (boxoffice_stripe() && key != NULL)
		kore_json_create_string(root, "stripe_publishable_key", key);
	else
		kore_json_create_literal(root, "stripe_publishable_key",
		    KORE_JSON_NULL);
	boxoffice_csp(req);
	reply_json(req, HTTP_STATUS_OK, root);
	return (KORE_RESULT_OK);
}

static int
boxoffice_page_get(struct http_request *req)
{
#if defined(BOOKING_BOXOFFICE)
	boxoffice_csp(req);
	reply_file(req, boxoffice_index.type, boxoffice_index.data,
	    *boxoffice_index.len, *boxoffice_index.etag);
#else
	reply_error(req, HTTP_STATUS_NOT_FOUND, "app_not_built",
	    "This server was built without the booking page; build it with "
	    "node and the npm dev packages installed (make build).");
#endif
	return (KORE_RESULT_OK);
}

static int
boxoffice_file_get(struct http_request *req)
{
#if defined(BOOKING_BOXOFFICE)
	const char	*name;
	size_t		i;

	name = req->path + strlen(BOXOFFICE_PREFIX);
	for (i = 0; i < sizeof(boxoffice_files) / sizeof(boxoffice_files[0]);
	    i++) {
		if (strcmp(boxoffice_files[i].name, name))
			continue;
		boxoffice_csp(req);
		reply_file(req, boxoffice_files[i].type,
		    boxoffice_files[i].data, *boxoffice_files[i].len,
		    *boxoffice_files[i].etag);
		return (KORE_RESULT_OK);
	}
#endif
	return (route_not_found(req));
}
