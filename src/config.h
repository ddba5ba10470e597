/*
 * config: the service's runtime settings, read once from the environment
 * in the parent process before Kore parses its configuration.
 */
#ifndef __H_CONFIG_H
#define __H_CONFIG_H

#include <sys/types.h>

#define CONFIG_JWT_SECRET_MIN	32
#define CONFIG_WEBHOOK_SECRET_MIN	32
/* The least a secret setting may have, in bytes. */
#define CONFIG_SECRET_MIN	32

enum config_type {
	CONFIG_STR,		/* a string; numeric when max != 0 */
	CONFIG_INT,		/* an int from min to max */
	CONFIG_FLAG,		/* config_parse_flag() */
	CONFIG_SECRET,		/* min..max bytes, into char[] and a length */
};

/* One environment variable (config.c, config_settings[]). */
struct config_setting {
	const char		*name;
	enum config_type	type;
	const char		*def;		/* as text; NULL: unset */
	long long		min;
	long long		max;
	size_t			offset;		/* its field in config */
	size_t			len_offset;	/* a secret's length */
	const char		*hint;		/* set: required */
};

struct config {
	const char	*database_url;
	const char	*redis_url;
	/* Redis Sentinel: host:port,... (NULL: none) and the master's name. */
	const char	*redis_sentinels;
	const char	*redis_master_name;
	const char	*bind_address;
	const char	*port;
	const char	*tls_cert;
	const char	*tls_key;
	const char	*migrations_dir;
	const char	*trusted_proxies;
	const char	*cors_origins;
	const char	*metrics_allow;
	const char	*pgconnect_timeout;
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
	int		login_max_failures;	/* per (email, address) */
	int		login_max_failures_address;
	/* sessions (issue 20): per-email ceiling, successes per account */
	int		login_max_failures_email;
	int		login_max_per_account;
	int		rate_limit_refresh;	/* per address and window */
	int		login_window;
	int		password_cost;
	int		rate_limit_window;
	int		rate_limit_reads;
	int		rate_limit_holds;
	int		rate_limit_bookings;
	int		rate_limit_payments;
	int		rate_limit_registrations;
	int		rate_limit_registrations_window;
	int		rate_limit_webhooks;	/* per address and window */
	int		auto_migrate;
	int		live_max_sockets;
	int		live_max_per_address;
	int		live_ping;
	int		live_queue_max;
	int		payments;
	int		payment_window;
	int		drain_timeout;
	int		cache_slots;
	int		cache_body_max;
	/* --- payment provider (config_provider() in config.c) --- */
	const char	*payment_provider;	/* mock or stripe */
	int		provider;	/* CONFIG_PROVIDER_* */
	const char	*stripe_publishable_key;	/* the page's */
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

const struct config_setting	*config_table(size_t *);
int	config_parse_flag(const char *, int *);
int	config_parse_int(const char *, long long, long long, long long *);

#endif
