/*
 * gateway_stripe: Stripe's Payment Intents as a struct payment_provider,
 * over Kore's asynchronous HTTP client (kore_curl, libcurl): the request
 * sleeps while Stripe answers and wakes on the answer, on a timeout
 * (PROVIDER_TIMEOUT_MS) or on a connection error.
 *
 * Every call is a form-encoded POST (or GET) to STRIPE_API_BASE with
 * the secret key as Bearer, a pinned Stripe-Version, and an
 * Idempotency-Key derived from our payment id and the kind of call (and
 * for a confirm, from the client's own key): a call retried after an
 * unknown outcome is the same call at Stripe, so a retried initiate finds
 * the intent the first attempt made and a retried refund refunds once.
 *
 * What Stripe answered is mapped here, and only here, to
 * PAYMENT_RESULT_*: no answer, a 5xx, a 409 (the same key still in
 * flight at Stripe), 429 or a key Stripe refuses (401) are UNAVAILABLE;
 * a 402 card_error is DECLINED; confirming an intent that has already
 * succeeded is SUCCEEDED (another confirm got there first).
 *
 * Webhook signatures (Stripe-Signature) are checked by
 * stripe_signature.c; events are applied by payments.c.
 */
#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "provider.h"
#include "stripe_signature.h"

/* The API version this code was written against. */
#define STRIPE_VERSION		"2024-06-20"

struct stripe_call {
	struct kore_curl	curl;
	int			inited;
};

static int	stripe_start(struct payment_call *, struct http_request *);
static int	stripe_finish(struct payment_call *, struct http_request *);
static void	stripe_cleanup(struct payment_call *);
static int	stripe_verify_event(const char *, const void *, size_t,
		    time_t);
static void	stripe_done(struct kore_curl *, void *);
static int	stripe_request(struct payment_call *, struct kore_buf *,
		    struct kore_buf *);
static void	stripe_form(struct kore_buf *, const char *, const char *);
static void	stripe_answer(struct payment_call *, long,
		    struct kore_json_item *);
static const char	*stripe_string(struct kore_json_item *,
			    const char *);

const struct payment_provider gateway_stripe = {
	"stripe",
	1,
	stripe_start,
	stripe_finish,
	stripe_cleanup,
	stripe_verify_event,
};

static int
stripe_start(struct payment_call *call, struct http_request *req)
{
	struct stripe_call	*sc;
	struct kore_buf		url, form, auth;
	int			ret;

	sc = kore_calloc(1, sizeof(*sc));
	kore_buf_init(&auth, 128);
	call->priv = sc;
	kore_buf_init(&url, 128);
	kore_buf_init(&form, 256);

	if (call->idem_key[0] == '\0') {
		(void)snprintf(call->idem_key, sizeof(call->idem_key),
		    "booking-pay-%lld-%s", (long long)call->payment_id,
		    call->kind == PAYMENT_CALL_CREATE ? "intent" :
		    call->kind == PAYMENT_CALL_REFUND ? "refund" :
		    call->kind == PAYMENT_CALL_CANCEL ? "cancel" : "confirm");
	}

	ret = stripe_request(call, &url, &form);
	if (ret == KORE_RESULT_OK) {
		if (!kore_curl_init(&sc->curl, kore_buf_stringify(&url, NULL),
		    KORE_CURL_ASYNC)) {
			(void)kore_strlcpy(call->error, sc->curl.errbuf,
			    sizeof(call->error));
			ret = KORE_RESULT_ERROR;
		}
	}
	if (ret != KORE_RESULT_OK) {
		kore_buf_cleanup(&url);
		kore_buf_cleanup(&form);
		kore_buf_cleanup(&auth);
		call->result = PAYMENT_RESULT_UNAVAILABLE;
		return (PAYMENT_CALL_DONE);
	}
	sc->inited = 1;

	curl_easy_setopt(sc->curl.handle, CURLOPT_TIMEOUT_MS,
	    (long)config.provider_timeout_ms);
	curl_easy_setopt(sc->curl.handle, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)config.provider_timeout_ms);
	kore_curl_http_setup(&sc->curl, HTTP_METHOD_POST, form.data,
	    form.offset);
	kore_buf_cleanup(&url);
	kore_buf_cleanup(&form);

	kore_buf_appendf(&auth, "Bearer %s", config.stripe_secret_key);
	kore_curl_http_set_header(&sc->curl, "Authorization",
	    kore_buf_stringify(&auth, NULL));
	kore_buf_cleanup(&auth);
	kore_curl_http_set_header(&sc->curl, "Stripe-Version",
	    STRIPE_VERSION);
	kore_curl_http_set_header(&sc->curl, "Idempotency-Key",
	    call->idem_key);
	kore_curl_http_set_header(&sc->curl, "Content-Type",
	    "application/x-www-form-urlencoded");

	if (req != NULL)
		kore_curl_bind_request(&sc->curl, req);
	else
		kore_curl_bind_callback(&sc->curl, stripe_done, call);
	kore_curl_run(&sc->curl);

	return (PAYMENT_CALL_PENDING);
}

/* Without a request: the transfer ended, the caller reads it. */
static void
stripe_done(struct kore_curl *curl, void *arg)
{
	struct payment_call	*call = arg;

	if (call->done != NULL)
		call->done(call, call->arg);
}

/* The URL and form of a call; KORE_RESULT_ERROR if it cannot be made. */
static int
stripe_request(struct payment_call *call, struct kore_buf *url,
    struct kore_buf *form)
{
	char		n[32], lower[4];
	size_t		i;

	kore_buf_appendf(url, "%s", config.stripe_api_base);
	if (call->kind != PAYMENT_CALL_CREATE && call->kind !=
	    PAYMENT_CALL_REFUND && call->reference[0] == '\0') {
		(void)snprintf(call->error, sizeof(call->error),
		    "payment %lld has no intent", (long long)call->payment_id);
		return (KORE_RESULT_ERROR);
	}

	switch (call->kind) {
	case PAYMENT_CALL_CREATE:
		kore_buf_appendf(url, "/v1/payment_intents");
		(void)snprintf(n, sizeof(n), "%lld",
		    (long long)call->amount_cents);
		stripe_form(form, "amount", n);
		for (i = 0; i < 3 && call->currency[i] != '\0'; i++) {
			lower[i] = call->currency[i] >= 'A' &&
			    call->currency[i] <= 'Z' ?
			    call->currency[i] + 32 : call->currency[i];
		}
		lower[i] = '\0';
		stripe_form(form, "currency", lower);
		stripe_form(form, "automatic_payment_methods[enabled]",
		    "true");
		stripe_form(form, "automatic_payment_methods"
		    "[allow_redirects]", "never");
		(void)snprintf(n, sizeof(n), "%lld",
		    (long long)call->booking_id);
		stripe_form(form, "metadata[booking_id]", n);
		(void)snprintf(n, sizeof(n), "%lld",
		    (long long)call->payment_id);
		stripe_form(form, "metadata[payment_id]", n);
		break;
	case PAYMENT_CALL_CHARGE:
		kore_buf_appendf(url, "/v1/payment_intents/%s/confirm",
		    call->reference);
		stripe_form(form, "payment_method", call->method);
		break;
	case PAYMENT_CALL_REFUND:
		kore_buf_appendf(url, "/v1/refunds");
		if (call->reference[0] == '\0') {
			(void)snprintf(call->error, sizeof(call->error),
			    "payment %lld has no intent to refund",
			    (long long)call->payment_id);
			return (KORE_RESULT_ERROR);
		}
		stripe_form(form, "payment_intent", call->reference);
		(void)snprintf(n, sizeof(n), "%lld",
		    (long long)call->payment_id);
		stripe_form(form, "metadata[payment_id]", n);
		break;
	case PAYMENT_CALL_CANCEL:
		kore_buf_appendf(url, "/v1/payment_intents/%s/cancel",
		    call->reference);
		stripe_form(form, "cancellation_reason", "abandoned");
		break;
	default:
		fatal("stripe_request: unknown call %d", call->kind);
	}

	return (KORE_RESULT_OK);
}

/* One name=value pair of a form, the value percent-encoded. */
static void
stripe_form(struct kore_buf *form, const char *name, const char *value)
{
	char	*esc;

	if ((esc = curl_easy_escape(NULL, value, 0)) == NULL)
		fatal("stripe_form: curl_easy_escape failed");
	kore_buf_appendf(form, "%s%s=%s", form->offset > 0 ? "&" : "",
	    name, esc);
	curl_free(esc);
}

static int
stripe_finish(struct payment_call *call, struct http_request *req)
{
	struct stripe_call	*sc = call->priv;
	struct kore_json	json;
	const u_int8_t		*body;
	size_t			len;

	if (sc == NULL || !sc->inited)
		return (PAYMENT_CALL_DONE);

	if (sc->curl.handle != NULL) {
		/* Woken before the transfer ended. */
		if (req != NULL)
			http_request_sleep(req);
		return (PAYMENT_CALL_PENDING);
	}

	call->result = PAYMENT_RESULT_UNAVAILABLE;
	if (!kore_curl_success(&sc->curl)) {
		(void)snprintf(call->error, sizeof(call->error), "%s",
		    kore_curl_strerror(&sc->curl));
		return (PAYMENT_CALL_DONE);
	}

	call->http_status = (int)sc->curl.http.status;
	kore_curl_response_as_bytes(&sc->curl, &body, &len);
	kore_json_init(&json, body, len);
	if (!kore_json_parse(&json) || json.root == NULL ||
	    json.root->type != KORE_JSON_TYPE_OBJECT) {
		(void)snprintf(call->error, sizeof(call->error),
		    "HTTP %d with a body that is not JSON", call->http_status);
		kore_json_cleanup(&json);
		return (PAYMENT_CALL_DONE);
	}

	stripe_answer(call, sc->curl.http.status, json.root);
	kore_json_cleanup(&json);

	return (PAYMENT_CALL_DONE);
}

/* A string member at `path`, or NULL. */
static const char *
stripe_string(struct kore_json_item *root, const char *path)
{
	struct kore_json_item	*item;

	if ((item = kore_json_find_string(root, path)) == NULL)
		return (NULL);

	return (item->data.string);
}

/* Stripe's answer (status, JSON object) as a PAYMENT_RESULT_*. */
static void
stripe_answer(struct payment_call *call, long status,
    struct kore_json_item *root)
{
	struct kore_json_item	*item;
	const char		*s, *code;

	if (status >= 500 || status == 409 || status == 429 ||
	    status == 401 || status == 403) {
		s = stripe_string(root, "error/message");
		(void)snprintf(call->error, sizeof(call->error),
		    "HTTP %ld: %s", status, s != NULL ? s : "no message");
		call->result = PAYMENT_RESULT_UNAVAILABLE;
		return;
	}

	if (status != 200) {
		code = stripe_string(root, "error/code");
		s = stripe_string(root, "error/payment_intent/status");
		(void)snprintf(call->error, sizeof(call->error),
		    "HTTP %ld: %s", status, code != NULL ? code : "error");
		if (status == 402) {
			call->result = PAYMENT_RESULT_DECLINED;
		} else if (code != NULL && call->kind == PAYMENT_CALL_CHARGE &&
		    !strcmp(code, "payment_intent_unexpected_state") &&
		    s != NULL && !strcmp(s, "succeeded")) {
			call->result = PAYMENT_RESULT_SUCCEEDED;
		} else if (code != NULL && call->kind == PAYMENT_CALL_REFUND &&
		    !strcmp(code, "charge_already_refunded")) {
			call->result = PAYMENT_RESULT_SUCCEEDED;
		} else {
			call->result = PAYMENT_RESULT_INVALID;
		}
		return;
	}

	s = stripe_string(root, "status");
	switch (call->kind) {
	case PAYMENT_CALL_CREATE:
		if ((s = stripe_string(root, "id")) == NULL ||
		    kore_strlcpy(call->reference, s,
		    sizeof(call->reference)) >= sizeof(call->reference)) {
			(void)snprintf(call->error, sizeof(call->error),
			    "an intent without a usable id");
			call->result = PAYMENT_RESULT_UNAVAILABLE;
			return;
		}
		if ((s = stripe_string(root, "client_secret")) != NULL)
			(void)kore_strlcpy(call->client_secret, s,
			    sizeof(call->client_secret));
		call->result = PAYMENT_RESULT_SUCCEEDED;
		break;
	case PAYMENT_CALL_CHARGE:
		if (s != NULL && !strcmp(s, "succeeded")) {
			call->result = PAYMENT_RESULT_SUCCEEDED;
		} else if (s != NULL && !strcmp(s, "requires_action")) {
			call->result = PAYMENT_RESULT_ACTION;
			item = kore_json_find_object(root, "next_action");
			if (item != NULL) {
				call->next_action = kore_buf_alloc(256);
				kore_json_item_tobuf(item, call->next_action);
			}
		} else if (s != NULL &&
		    !strcmp(s, "requires_payment_method")) {
			call->result = PAYMENT_RESULT_DECLINED;
		} else if (s != NULL && !strcmp(s, "canceled")) {
			call->result = PAYMENT_RESULT_INVALID;
		} else {
			/* processing: not known yet; a webhook will say. */
			call->result = PAYMENT_RESULT_UNAVAILABLE;
		}
		break;
	case PAYMENT_CALL_REFUND:
		if (s != NULL && (!strcmp(s, "succeeded") ||
		    !strcmp(s, "pending")))
			call->result = PAYMENT_RESULT_SUCCEEDED;
		else
			call->result = PAYMENT_RESULT_DECLINED;
		break;
	default:
		call->result = PAYMENT_RESULT_SUCCEEDED;
		break;
	}
}

static void
stripe_cleanup(struct payment_call *call)
{
	struct stripe_call	*sc = call->priv;

	if (sc == NULL)
		return;
	if (sc->inited)
		kore_curl_cleanup(&sc->curl);
	kore_free(sc);
	call->priv = NULL;
}

static int
stripe_verify_event(const char *header, const void *body, size_t len,
    time_t now)
{
	const char	*secret = config.stripe_webhook_secret;

	if (header == NULL || secret == NULL)
		return (PAYMENT_EVENT_INVALID);

	if (stripe_signature_verify(secret, strlen(secret), header,
	    strlen(header), body, len, (int64_t)now,
	    STRIPE_SIGNATURE_TOLERANCE) != STRIPE_SIGNATURE_OK)
		return (PAYMENT_EVENT_INVALID);

	return (PAYMENT_EVENT_VALID);
}
