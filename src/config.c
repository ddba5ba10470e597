/*
 * config: the twelve-factor settings of the service.
 *
 * Everything that differs between a laptop, CI and a container comes from
 * the environment; Kore's own file (conf/booking.conf) holds what does not.
 * config_load() runs once in the parent before workers fork, so workers
 * inherit a filled, read-only struct config.
 *
 * Every setting is one line of config_settings[]: its variable, its type,
 * its default (as text, read by the same parser as a value from the
 * environment), its range and the field it fills. A value that does not
 * parse, or is out of range, stops start-up with one line naming the
 * variable and what it accepts; nothing falls back to a default silently.
 * An empty variable counts as unset. Flags accept 1/0, true/false, on/off
 * and yes/no (any case) and nothing else (config_parse_flag()).
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* How much a development secret has (BOOKING_DEV_MODE). */
#define CONFIG_DEV_SECRET_LEN	48

#define AT(f)		offsetof(struct config, f)
#define STR(n, f, d)	{ n, CONFIG_STR, d, 0, 0, AT(f), 0, NULL }
#define NEED(n, f, eg)	{ n, CONFIG_STR, NULL, 0, 0, AT(f), 0, eg }
#define NUMSTR(n, f, d, lo, hi)	\
			{ n, CONFIG_STR, d, lo, hi, AT(f), 0, NULL }
#define INT(n, f, d, lo, hi)	\
			{ n, CONFIG_INT, #d, lo, hi, AT(f), 0, NULL }
#define FLAG(n, f, d)	{ n, CONFIG_FLAG, d, 0, 1, AT(f), 0, NULL }
#define SECRET(n, f)	{ n, CONFIG_SECRET, NULL, CONFIG_SECRET_MIN, \
			    sizeof(config.f) - 1, AT(f), AT(f##_len), NULL }

struct config	config;

/*
 * Adding a knob: a field in struct config and one line here. Kept in the
 * order of the operations guide (docs/), not alphabetically.
 */
static const struct config_setting	config_settings[] = {
	NEED("DATABASE_URL", database_url, "e.g. postgresql:///booking"),
	NEED("REDIS_URL", redis_url, "e.g. redis://127.0.0.1:6379/0"),
	STR("REDIS_SENTINELS", redis_sentinels, NULL),
	STR("REDIS_MASTER_NAME", redis_master_name, "booking"),
	STR("BIND_ADDRESS", bind_address, "127.0.0.1"),
	NUMSTR("PORT", port, "8888", 1, USHRT_MAX),
	STR("TLS_CERT", tls_cert, NULL),
	STR("TLS_KEY", tls_key, NULL),
	STR("MIGRATIONS_DIR", migrations_dir, "migrations"),
	FLAG("AUTO_MIGRATE", auto_migrate, "on"),
	FLAG("BOOKING_DEV_MODE", dev_mode, "off"),
	NUMSTR("PGCONNECT_TIMEOUT", pgconnect_timeout, "2", 1, 3600),
	STR("TRUSTED_PROXIES", trusted_proxies, ""),
	STR("CORS_ORIGINS", cors_origins, ""),
	STR("METRICS_ALLOW", metrics_allow, "127.0.0.0/8,::1/128"),
	SECRET("JWT_SECRET", jwt_secret),
	SECRET("PAYMENT_WEBHOOK_SECRET", webhook_secret),
	INT("WORKERS", workers, 0, 0, 64),
	INT("DRAIN_TIMEOUT_SECONDS", drain_timeout, 10, 0, 3600),
	INT("HOLD_TTL_SECONDS", hold_ttl, 300, 1, 86400),
	INT("HOLD_SWEEP_SECONDS", hold_sweep, 30, 1, 86400),
	INT("ACCESS_TOKEN_TTL_SECONDS", access_ttl, 900, 1, 86400),
	INT("REFRESH_TOKEN_TTL_SECONDS", refresh_ttl, 2592000, 60, 31536000),
	INT("PASSWORD_HASH_COST", password_cost, 5, 1, 11),
	INT("LOGIN_MAX_FAILURES", login_max_failures, 5, 1, 1000000),
	INT("LOGIN_MAX_FAILURES_PER_ADDRESS", login_max_failures_address, 50,
	    1, 1000000),
	INT("LOGIN_MAX_FAILURES_PER_EMAIL", login_max_failures_email, 100, 1,
	    1000000),
	INT("LOGIN_MAX_PER_ACCOUNT", login_max_per_account, 30, 1, 1000000),
	INT("LOGIN_WINDOW_SECONDS", login_window, 900, 1, 86400),
	INT("RATE_LIMIT_WINDOW_SECONDS", rate_limit_window, 60, 1, 86400),
	INT("RATE_LIMIT_READS", rate_limit_reads, 1200, 1, 1000000),
	INT("RATE_LIMIT_REFRESH", rate_limit_refresh, 120, 1, 1000000),
	INT("RATE_LIMIT_HOLDS", rate_limit_holds, 120, 1, 1000000),
	INT("RATE_LIMIT_BOOKINGS", rate_limit_bookings, 120, 1, 1000000),
	INT("RATE_LIMIT_PAYMENTS", rate_limit_payments, 120, 1, 1000000),
	INT("RATE_LIMIT_REGISTRATIONS", rate_limit_registrations, 300, 1,
	    1000000),
	INT("RATE_LIMIT_REGISTRATIONS_WINDOW_SECONDS",
	    rate_limit_registrations_window, 3600, 1, 86400),
	INT("RATE_LIMIT_WEBHOOKS", rate_limit_webhooks, 600, 1, 1000000),
	INT("CACHE_SLOTS", cache_slots, 512, 1, 65536),
	INT("CACHE_BODY_MAX_BYTES", cache_body_max, 32768, 1024, 1048576),
	FLAG("PAYMENTS", payments, "on"),
	INT("PAYMENT_WINDOW_SECONDS", payment_window, 600, 1, 86400),
	INT("LIVE_MAX_SOCKETS", live_max_sockets, 1024, 1, 100000),
	INT("LIVE_MAX_SOCKETS_PER_ADDRESS", live_max_per_address, 32, 1,
	    100000),
	INT("LIVE_SEND_QUEUE_BYTES", live_queue_max, 1048576, 4096, 67108864),
	/* Below the config's websocket_timeout (65 s), or pongs come late. */
	INT("LIVE_PING_SECONDS", live_ping, 20, 1, 60),
	/* The payment provider; checked further by config_provider(). */
	STR("PAYMENT_PROVIDER", payment_provider, "mock"),
	STR("STRIPE_SECRET_KEY", stripe_secret_key, NULL),
	STR("STRIPE_WEBHOOK_SECRET", stripe_webhook_secret, NULL),
	STR("STRIPE_API_BASE", stripe_api_base, "https://api.stripe.com"),
	STR("STRIPE_PUBLISHABLE_KEY", stripe_publishable_key, NULL),
	INT("PROVIDER_TIMEOUT_MS", provider_timeout_ms, 10000, 100, 120000),
	INT("OUTBOX_BACKOFF_MS", outbox_backoff_ms, 1000, 10, 3600000),
	INT("OUTBOX_BACKOFF_MAX_MS", outbox_backoff_max_ms, 300000, 10,
	    86400000),
	INT("OUTBOX_MAX_ATTEMPTS", outbox_max_attempts, 12, 1, 1000),
	INT("OUTBOX_LEASE_MS", outbox_lease_ms, 60000, 200, 3600000),
};

static char	config_error[256];

static const char	*config_fail(const char *, ...)
			    __attribute__((format(printf, 1, 2)));
static const char	*config_apply(const struct config_setting *,
			    const char *);
static const char	*config_secrets(void);
static const char	*config_provider(void);

const struct config_setting *
config_table(size_t *n)
{
	*n = sizeof(config_settings) / sizeof(config_settings[0]);
	return (config_settings);
}

/* 1/0, true/false, on/off, yes/no, in any case; anything else fails. */
int
config_parse_flag(const char *v, int *out)
{
	static const char	*on[] = { "1", "true", "on", "yes" };
	static const char	*off[] = { "0", "false", "off", "no" };
	size_t			i;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (!strcasecmp(v, on[i])) {
			*out = 1;
			return (KORE_RESULT_OK);
		}
		if (!strcasecmp(v, off[i])) {
			*out = 0;
			return (KORE_RESULT_OK);
		}
	}

	return (KORE_RESULT_ERROR);
}

/* A decimal integer from min to max: digits, an optional '-', no more. */
int
config_parse_int(const char *v, long long min, long long max,
    long long *out)
{
	char		*end;
	long long	n;

	if (!isdigit((unsigned char)v[0]) &&
	    !(v[0] == '-' && isdigit((unsigned char)v[1])))
		return (KORE_RESULT_ERROR);

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return (KORE_RESULT_ERROR);

	*out = n;
	return (KORE_RESULT_OK);
}

static const char *
config_fail(const char *fmt, ...)
{
	va_list		args;

	va_start(args, fmt);
	(void)vsnprintf(config_error, sizeof(config_error), fmt, args);
	va_end(args);

	return (config_error);
}

/* One setting from v (the environment's, or the default when NULL). */
static const char *
config_apply(const struct config_setting *s, const char *v)
{
	char		*base = (char *)&config;
	long long	n;
	int		flag;
	size_t		len;

	switch (s->type) {
	case CONFIG_STR:
		if (v == NULL && s->hint != NULL)
			return (config_fail("%s is not set (%s)", s->name,
			    s->hint));
		if (v != NULL && s->max != 0 &&
		    !config_parse_int(v, s->min, s->max, &n))
			return (config_fail("%s must be a number from %lld "
			    "to %lld (got \"%.40s\")", s->name, s->min, s->max,
			    v));
		*(const char **)(base + s->offset) = v;
		break;
	case CONFIG_INT:
		if (!config_parse_int(v, s->min, s->max, &n))
			return (config_fail("%s must be from %lld to %lld "
			    "(got \"%.40s\")", s->name, s->min, s->max, v));
		*(int *)(base + s->offset) = (int)n;
		break;
	case CONFIG_FLAG:
		if (!config_parse_flag(v, &flag))
			return (config_fail("%s must be on or off (also "
			    "1/0, true/false, yes/no; got \"%.40s\")", s->name,
			    v));
		*(int *)(base + s->offset) = flag;
		break;
	case CONFIG_SECRET:
		if (v == NULL)
			break;
		len = strlen(v);
		if (len < (size_t)s->min)
			return (config_fail("%s must be at least %lld bytes",
			    s->name, s->min));
		if (len > (size_t)s->max)
			return (config_fail("%s must be shorter than %lld "
			    "bytes", s->name, s->max + 1));
		memcpy(base + s->offset, v, len);
		*(size_t *)(base + s->len_offset) = len;
		break;
	default:
		fatal("config: %s has no type", s->name);
	}

	return (NULL);
}

/*
 * A secret that is not set stops start-up, unless in development mode:
 * then it is random, and lost on restart.
 */
static const char *
config_secrets(void)
{
	const struct config_setting	*s;
	char				*base = (char *)&config;
	size_t				i, n;

	s = config_table(&n);
	for (i = 0; i < n; i++) {
		if (s[i].type != CONFIG_SECRET ||
		    *(size_t *)(base + s[i].len_offset) != 0)
			continue;
		if (!config.dev_mode)
			return (config_fail("%s is not set (at least %lld "
			    "bytes; or set BOOKING_DEV_MODE=1 to generate one "
			    "for development)", s[i].name, s[i].min));
		if (RAND_bytes((unsigned char *)base + s[i].offset,
		    CONFIG_DEV_SECRET_LEN) != 1)
			return ("BOOKING_DEV_MODE: no randomness for a secret");
		*(size_t *)(base + s[i].len_offset) = CONFIG_DEV_SECRET_LEN;
		kore_log(LOG_WARNING, "BOOKING_DEV_MODE: generated a random "
		    "%s; it will not survive a restart", s[i].name);
	}

	return (NULL);
}

const char *
config_load(void)
{
	const struct config_setting	*s;
	const char			*v, *err;
	size_t				i, n;

	memset(&config, 0, sizeof(config));

	s = config_table(&n);
	for (i = 0; i < n; i++) {
		if ((v = getenv(s[i].name)) == NULL || *v == '\0')
			v = s[i].def;
		if ((err = config_apply(&s[i], v)) != NULL)
			return (err);
	}

	if (strncmp(config.redis_url, "redis://", 8))
		return ("REDIS_URL must start with redis://");

	/*
	 * Kore's pgsql connects with a blocking PQconnectdb() inside the
	 * worker: bound how long an unreachable database can stall it
	 * (libpq's own default is to wait for ever). Inherited by workers.
	 */
	if (setenv("PGCONNECT_TIMEOUT", config.pgconnect_timeout, 1) == -1)
		return ("cannot set PGCONNECT_TIMEOUT");

	if ((err = config_secrets()) != NULL)
		return (err);

	return (config_provider());
}

/*
 * PAYMENT_PROVIDER is mock (the default) or stripe, nothing else; with
 * stripe its keys are required, and STRIPE_API_BASE (Stripe's API unless
 * a test points it at a stand-in) must be an http(s) URL. The outbox's
 * lease outlasts a provider call, or a row could be delivered twice at
 * once.
 */
static const char *
config_provider(void)
{
	if (!strcmp(config.payment_provider, "mock"))
		config.provider = CONFIG_PROVIDER_MOCK;
	else if (!strcmp(config.payment_provider, "stripe"))
		config.provider = CONFIG_PROVIDER_STRIPE;
	else
		return (config_fail("PAYMENT_PROVIDER must be mock or stripe "
		    "(got \"%.40s\")", config.payment_provider));

	if (config.outbox_lease_ms <= config.provider_timeout_ms)
		return ("OUTBOX_LEASE_MS must be longer than "
		    "PROVIDER_TIMEOUT_MS");
	if (config.provider != CONFIG_PROVIDER_STRIPE)
		return (NULL);

	if (config.stripe_secret_key == NULL)
		return ("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY");
	if (config.stripe_webhook_secret == NULL)
		return ("PAYMENT_PROVIDER=stripe needs STRIPE_WEBHOOK_SECRET");
	if (strncmp(config.stripe_api_base, "https://", 8) &&
	    strncmp(config.stripe_api_base, "http://", 7))
		return ("STRIPE_API_BASE must be an http(s) URL");

	return (NULL);
}
