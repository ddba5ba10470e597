/*
 * config: the twelve-factor settings of the service.
 *
 * Everything that differs between a laptop, CI and a container comes from
 * the environment; Kore's own file (conf/booking.conf) holds what does not.
 * config_load() runs once in the parent before workers fork, so workers
 * inherit a filled, read-only struct config.
 */
#include <sys/types.h>

#include <kore/kore.h>

#include <openssl/rand.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct config	config;

static const char	*config_env(const char *, const char *);
static int		config_int(const char *, int, int, int, int *);
static int		config_flag(const char *, int, int *);
static const char	*config_provider(void);

static const char *
config_env(const char *name, const char *def)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);

	return (v);
}

static int
config_int(const char *name, int def, int min, int max, int *out)
{
	const char	*v;
	int		err;

	if ((v = config_env(name, NULL)) == NULL) {
		*out = def;
		return (KORE_RESULT_OK);
	}

	*out = kore_strtonum(v, 10, min, max, &err);
	return (err);
}

/* on/off, 1/0, true/false, yes/no. */
static int
config_flag(const char *name, int def, int *out)
{
	const char	*v;

	*out = def;
	if ((v = config_env(name, NULL)) == NULL)
		return (KORE_RESULT_OK);

	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true") ||
	    !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "0") ||
	    !strcmp(v, "false") || !strcmp(v, "no"))
		*out = 0;
	else
		return (KORE_RESULT_ERROR);

	return (KORE_RESULT_OK);
}

const char *
config_load(void)
{
	const char	*secret;
	size_t		len;
	int		port;

	memset(&config, 0, sizeof(config));

	config.database_url = config_env("DATABASE_URL", NULL);
	config.redis_url = config_env("REDIS_URL", NULL);
	config.bind_address = config_env("BIND_ADDRESS", "127.0.0.1");
	config.port = config_env("PORT", "8888");
	config.tls_cert = config_env("TLS_CERT", NULL);
	config.tls_key = config_env("TLS_KEY", NULL);
	config.migrations_dir = config_env("MIGRATIONS_DIR", "migrations");
	config.trusted_proxies = config_env("TRUSTED_PROXIES", "");
	config.cors_origins = config_env("CORS_ORIGINS", "");
	config.metrics_allow = config_env("METRICS_ALLOW",
	    "127.0.0.0/8,::1/128");
	config.dev_mode = config_env("BOOKING_DEV_MODE", NULL) != NULL &&
	    strcmp(config_env("BOOKING_DEV_MODE", "0"), "0");
	config.auto_migrate =
	    strcmp(config_env("AUTO_MIGRATE", "1"), "0") != 0;

	/*
	 * Kore's pgsql connects with a blocking PQconnectdb() inside the
	 * worker: bound how long an unreachable database can stall it
	 * (libpq's own default is to wait for ever). Inherited by workers.
	 */
	if (setenv("PGCONNECT_TIMEOUT", config_env("PGCONNECT_TIMEOUT", "2"),
	    1) == -1)
		return ("cannot set PGCONNECT_TIMEOUT");

	if (config.database_url == NULL)
		return ("DATABASE_URL is not set (e.g. postgresql:///booking)");
	if (config.redis_url == NULL)
		return ("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)");
	if (strncmp(config.redis_url, "redis://", 8))
		return ("REDIS_URL must start with redis://");

	if (!config_int("WORKERS", 0, 0, 64, &config.workers))
		return ("WORKERS must be from 0 (Kore's default) to 64");
	if (!config_int("HOLD_TTL_SECONDS", 300, 1, 86400, &config.hold_ttl))
		return ("HOLD_TTL_SECONDS must be from 1 to 86400");
	if (!config_int("HOLD_SWEEP_SECONDS", 30, 1, 86400,
	    &config.hold_sweep))
		return ("HOLD_SWEEP_SECONDS must be from 1 to 86400");
	if (!config_int("ACCESS_TOKEN_TTL_SECONDS", 900, 1, 86400,
	    &config.access_ttl))
		return ("ACCESS_TOKEN_TTL_SECONDS must be from 1 to 86400");
	if (!config_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 86400, 60,
	    365 * 86400, &config.refresh_ttl))
		return ("REFRESH_TOKEN_TTL_SECONDS must be from 60 to "
		    "31536000");
	if (!config_int("LOGIN_MAX_FAILURES", 5, 1, 1000000,
	    &config.login_max_failures))
		return ("LOGIN_MAX_FAILURES must be from 1 to 1000000");
	if (!config_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1, 1000000,
	    &config.login_max_failures_address))
		return ("LOGIN_MAX_FAILURES_PER_ADDRESS must be from 1 to "
		    "1000000");
	if (!config_int("LOGIN_WINDOW_SECONDS", 900, 1, 86400,
	    &config.login_window))
		return ("LOGIN_WINDOW_SECONDS must be from 1 to 86400");
	if (!config_int("LIVE_MAX_SOCKETS", 1024, 1, 100000,
	    &config.live_max_sockets))
		return ("LIVE_MAX_SOCKETS must be from 1 to 100000");
	if (!config_int("LIVE_MAX_SOCKETS_PER_ADDRESS", 32, 1, 100000,
	    &config.live_max_per_address))
		return ("LIVE_MAX_SOCKETS_PER_ADDRESS must be from 1 to "
		    "100000");
	if (!config_int("LIVE_SEND_QUEUE_BYTES", 1024 * 1024, 4096,
	    64 * 1024 * 1024, &config.live_queue_max))
		return ("LIVE_SEND_QUEUE_BYTES must be from 4096 to 67108864");
	/* Below the config's websocket_timeout (65 s), or pongs come late. */
	if (!config_int("LIVE_PING_SECONDS", 20, 1, 60, &config.live_ping))
		return ("LIVE_PING_SECONDS must be from 1 to 60");
	if (!config_int("PASSWORD_HASH_COST", 5, 1, 11, &config.password_cost))
		return ("PASSWORD_HASH_COST must be from 1 to 11");
	if (!config_int("PAYMENT_WINDOW_SECONDS", 600, 1, 86400,
	    &config.payment_window))
		return ("PAYMENT_WINDOW_SECONDS must be from 1 to 86400");
	if (!config_flag("PAYMENTS", 1, &config.payments))
		return ("PAYMENTS must be on or off");
	if (!config_int("RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86400,
	    &config.rate_limit_window))
		return ("RATE_LIMIT_WINDOW_SECONDS must be from 1 to 86400");
	if (!config_int("RATE_LIMIT_HOLDS", 120, 1, 1000000,
	    &config.rate_limit_holds))
		return ("RATE_LIMIT_HOLDS must be from 1 to 1000000");
	if (!config_int("RATE_LIMIT_BOOKINGS", 120, 1, 1000000,
	    &config.rate_limit_bookings))
		return ("RATE_LIMIT_BOOKINGS must be from 1 to 1000000");
	if (!config_int("RATE_LIMIT_PAYMENTS", 120, 1, 1000000,
	    &config.rate_limit_payments))
		return ("RATE_LIMIT_PAYMENTS must be from 1 to 1000000");
	if (!config_int("RATE_LIMIT_REGISTRATIONS", 300, 1, 1000000,
	    &config.rate_limit_registrations))
		return ("RATE_LIMIT_REGISTRATIONS must be from 1 to 1000000");
	if (!config_int("RATE_LIMIT_REGISTRATIONS_WINDOW_SECONDS", 3600, 1,
	    86400, &config.rate_limit_registrations_window))
		return ("RATE_LIMIT_REGISTRATIONS_WINDOW_SECONDS must be from "
		    "1 to 86400");
	if (!config_int("DRAIN_TIMEOUT_SECONDS", 10, 0, 3600,
	    &config.drain_timeout))
		return ("DRAIN_TIMEOUT_SECONDS must be from 0 to 3600");
	if (!config_int("PORT", 8888, 1, USHRT_MAX, &port))
		return ("PORT must be a number from 1 to 65535");

	if ((secret = config_env("JWT_SECRET", NULL)) != NULL) {
		len = strlen(secret);
		if (len < CONFIG_JWT_SECRET_MIN)
			return ("JWT_SECRET must be at least 32 bytes");
		if (len >= sizeof(config.jwt_secret))
			return ("JWT_SECRET must be shorter than 256 bytes");
		memcpy(config.jwt_secret, secret, len);
		config.jwt_secret_len = len;
	} else if (config.dev_mode) {
		/* Development only: a random secret, lost on restart. */
		if (RAND_bytes((unsigned char *)config.jwt_secret, 48) != 1)
			return ("BOOKING_DEV_MODE: no randomness for a secret");
		config.jwt_secret_len = 48;
		kore_log(LOG_WARNING, "BOOKING_DEV_MODE: generated a random "
		    "JWT secret; tokens will not survive a restart");
	} else {
		return ("JWT_SECRET is not set (at least 32 bytes; or set "
		    "BOOKING_DEV_MODE=1 to generate one for development)");
	}

	/* Gateway events are signed with it (gateway_mock.c). */
	if ((secret = config_env("PAYMENT_WEBHOOK_SECRET", NULL)) != NULL) {
		len = strlen(secret);
		if (len < CONFIG_WEBHOOK_SECRET_MIN)
			return ("PAYMENT_WEBHOOK_SECRET must be at least 32 "
			    "bytes");
		if (len >= sizeof(config.webhook_secret))
			return ("PAYMENT_WEBHOOK_SECRET must be shorter than "
			    "256 bytes");
		memcpy(config.webhook_secret, secret, len);
		config.webhook_secret_len = len;
	} else if (config.dev_mode) {
		if (RAND_bytes((unsigned char *)config.webhook_secret, 48) !=
		    1)
			return ("BOOKING_DEV_MODE: no randomness for a secret");
		config.webhook_secret_len = 48;
		kore_log(LOG_WARNING, "BOOKING_DEV_MODE: generated a random "
		    "payment webhook secret; gateway events cannot be signed");
	} else {
		return ("PAYMENT_WEBHOOK_SECRET is not set (at least 32 "
		    "bytes; or set BOOKING_DEV_MODE=1 for development)");
	}

	return (config_provider());
}

/* --- payment provider: PAYMENT_PROVIDER and STRIPE_* --- */

/*
 * PAYMENT_PROVIDER is mock (the default) or stripe, nothing else; with
 * stripe its keys are required, and STRIPE_API_BASE (Stripe's API unless
 * a test points it at a stand-in) must be an http(s) URL.
 */
static const char *
config_provider(void)
{
	const char	*name;

	name = config_env("PAYMENT_PROVIDER", "mock");
	if (!strcmp(name, "mock"))
		config.provider = CONFIG_PROVIDER_MOCK;
	else if (!strcmp(name, "stripe"))
		config.provider = CONFIG_PROVIDER_STRIPE;
	else
		return ("PAYMENT_PROVIDER must be mock or stripe");

	if (!config_int("PROVIDER_TIMEOUT_MS", 10000, 100, 120000,
	    &config.provider_timeout_ms))
		return ("PROVIDER_TIMEOUT_MS must be from 100 to 120000");
	if (!config_int("OUTBOX_BACKOFF_MS", 1000, 10, 3600000,
	    &config.outbox_backoff_ms))
		return ("OUTBOX_BACKOFF_MS must be from 10 to 3600000");
	if (!config_int("OUTBOX_BACKOFF_MAX_MS", 300000, 10, 86400000,
	    &config.outbox_backoff_max_ms))
		return ("OUTBOX_BACKOFF_MAX_MS must be from 10 to 86400000");
	if (!config_int("OUTBOX_MAX_ATTEMPTS", 12, 1, 1000,
	    &config.outbox_max_attempts))
		return ("OUTBOX_MAX_ATTEMPTS must be from 1 to 1000");
	if (!config_int("OUTBOX_LEASE_MS", 60000, 200, 3600000,
	    &config.outbox_lease_ms))
		return ("OUTBOX_LEASE_MS must be from 200 to 3600000");
	if (config.outbox_lease_ms <= config.provider_timeout_ms)
		return ("OUTBOX_LEASE_MS must be longer than "
		    "PROVIDER_TIMEOUT_MS");

	config.stripe_secret_key = config_env("STRIPE_SECRET_KEY", NULL);
	config.stripe_webhook_secret = config_env("STRIPE_WEBHOOK_SECRET",
	    NULL);
	config.stripe_api_base = config_env("STRIPE_API_BASE",
	    "https://api.stripe.com");
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

/* --- end payment provider --- */
