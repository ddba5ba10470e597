/*
 * config: the service's runtime settings, read once from the environment
 * in the parent process before Kore parses its configuration.
 */
#ifndef __H_CONFIG_H
#define __H_CONFIG_H

#include <sys/types.h>

#define CONFIG_JWT_SECRET_MIN	32
#define CONFIG_WEBHOOK_SECRET_MIN	32

struct config {
	const char	*database_url;
	const char	*redis_url;
	const char	*bind_address;
	const char	*port;
	const char	*tls_cert;
	const char	*tls_key;
	const char	*migrations_dir;
	const char	*trusted_proxies;
	const char	*cors_origins;
	const char	*metrics_allow;
	char		jwt_secret[256];
	size_t		jwt_secret_len;
	char		webhook_secret[256];
	size_t		webhook_secret_len;
	int		dev_mode;
	int		workers;
	int		hold_ttl;
	int		hold_sweep;	/* seconds between clean-ups */
	int		access_ttl;
	int		refresh_ttl;
	int		login_max_failures;
	int		login_max_failures_address;
	int		login_window;
	int		password_cost;
	int		rate_limit_window;
	int		rate_limit_holds;
	int		rate_limit_bookings;
	int		rate_limit_payments;
	int		rate_limit_registrations;
	int		rate_limit_registrations_window;
	int		auto_migrate;
	int		live_max_sockets;
	int		live_max_per_address;
	int		live_ping;
	int		live_queue_max;
	int		payments;
	int		payment_window;
	int		drain_timeout;
	/* --- payment provider (config_provider() in config.c) --- */
	int		provider;	/* CONFIG_PROVIDER_* */
	const char	*stripe_secret_key;
	const char	*stripe_webhook_secret;
	const char	*stripe_api_base;
	int		provider_timeout_ms;
	int		outbox_backoff_ms;	/* first retry's delay */
	int		outbox_backoff_max_ms;
	int		outbox_max_attempts;
	int		outbox_lease_ms;	/* > provider_timeout_ms */
	/* --- end payment provider --- */
};

#define CONFIG_PROVIDER_MOCK	1
#define CONFIG_PROVIDER_STRIPE	2

extern struct config	config;

/* Returns NULL on success, or one line saying what is wrong. */
const char	*config_load(void);

#endif
