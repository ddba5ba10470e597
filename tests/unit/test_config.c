/*
 * Unit tests for config.c: the one flag parser, the integer parser, the
 * table of settings, and config_load() over a test's own environment
 * (Criterion runs each test in its own process).
 */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* A complete, valid environment. */
static void
env_defaults(void)
{
	setenv("DATABASE_URL", "postgresql:///booking", 1);
	setenv("REDIS_URL", "redis://127.0.0.1:6379/0", 1);
	setenv("JWT_SECRET", "unit-tests-secret-0123456789abcdef", 1);
	setenv("PAYMENT_WEBHOOK_SECRET", "unit-webhook-secret-0123456789abc",
	    1);
	unsetenv("BOOKING_DEV_MODE");
	unsetenv("AUTO_MIGRATE");
	unsetenv("PAYMENTS");
	unsetenv("WORKERS");
}

static void
setup(void)
{
	kore_mem_init();
	env_defaults();
}

TestSuite(config, .init = setup);

Test(config, flag_parser_accepts_the_eight_words_in_any_case)
{
	static const char	*on[] = { "1", "true", "on", "yes", "TRUE",
				    "On", "YES" };
	static const char	*off[] = { "0", "false", "off", "no", "FALSE",
				    "Off", "NO" };
	size_t			i;
	int			v;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		v = -1;
		cr_assert(config_parse_flag(on[i], &v), "%s", on[i]);
		cr_assert_eq(v, 1, "%s", on[i]);
	}
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		v = -1;
		cr_assert(config_parse_flag(off[i], &v), "%s", off[i]);
		cr_assert_eq(v, 0, "%s", off[i]);
	}
}

Test(config, flag_parser_refuses_anything_else)
{
	static const char	*bad[] = { "", "2", "-1", "y", "n", "t", "f",
				    "enabled", "disabled", " on", "off ",
				    "01", "truee", "nope", "0x1" };
	size_t			i;
	int			v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		cr_assert_not(config_parse_flag(bad[i], &v), "'%s'", bad[i]);
		cr_assert_eq(v, 7, "'%s' changed the value", bad[i]);
	}
}

Test(config, int_parser_takes_decimal_in_range_only)
{
	long long	n;

	cr_assert(config_parse_int("0", 0, 10, &n));
	cr_assert_eq(n, 0);
	cr_assert(config_parse_int("10", 0, 10, &n));
	cr_assert_eq(n, 10);
	cr_assert(config_parse_int("-5", -10, 10, &n));
	cr_assert_eq(n, -5);
	cr_assert_not(config_parse_int("11", 0, 10, &n));
	cr_assert_not(config_parse_int("-1", 0, 10, &n));
	cr_assert_not(config_parse_int("", 0, 10, &n));
	cr_assert_not(config_parse_int(" 5", 0, 10, &n));
	cr_assert_not(config_parse_int("5 ", 0, 10, &n));
	cr_assert_not(config_parse_int("5s", 0, 10, &n));
	cr_assert_not(config_parse_int("0x5", 0, 10, &n));
	cr_assert_not(config_parse_int("+5", 0, 10, &n));
	cr_assert_not(config_parse_int("-", 0, 10, &n));
	cr_assert_not(config_parse_int("99999999999999999999", 0, LLONG_MAX,
	    &n));
}

/* Every line of the table is well formed and its default is valid. */
Test(config, every_setting_has_a_valid_default_and_a_unique_name)
{
	const struct config_setting	*s;
	size_t				i, j, n;
	long long			v;
	int				flag;

	s = config_table(&n);
	cr_assert_gt(n, 30);
	for (i = 0; i < n; i++) {
		cr_assert_not_null(s[i].name);
		cr_assert_lt(s[i].offset, sizeof(struct config), "%s",
		    s[i].name);
		for (j = i + 1; j < n; j++)
			cr_assert_str_neq(s[i].name, s[j].name);
		switch (s[i].type) {
		case CONFIG_INT:
			cr_assert_not_null(s[i].def, "%s", s[i].name);
			cr_assert_leq(s[i].min, s[i].max, "%s", s[i].name);
			cr_assert(s[i].min >= INT_MIN && s[i].max <= INT_MAX,
			    "%s", s[i].name);
			cr_assert(config_parse_int(s[i].def, s[i].min,
			    s[i].max, &v), "%s default %s", s[i].name,
			    s[i].def);
			break;
		case CONFIG_FLAG:
			cr_assert(config_parse_flag(s[i].def, &flag),
			    "%s default %s", s[i].name, s[i].def);
			break;
		case CONFIG_STR:
			if (s[i].hint != NULL)
				cr_assert_null(s[i].def, "%s", s[i].name);
			if (s[i].max != 0 && s[i].def != NULL)
				cr_assert(config_parse_int(s[i].def, s[i].min,
				    s[i].max, &v), "%s", s[i].name);
			break;
		case CONFIG_SECRET:
			cr_assert_null(s[i].def, "%s", s[i].name);
			cr_assert_geq(s[i].min, CONFIG_SECRET_MIN);
			cr_assert_gt(s[i].max, s[i].min);
			cr_assert_lt(s[i].len_offset, sizeof(struct config));
			break;
		default:
			cr_assert_fail("%s: unknown type", s[i].name);
		}
	}
}

Test(config, defaults_fill_the_struct)
{
	cr_assert_null(config_load());
	cr_assert_eq(config.dev_mode, 0);
	cr_assert_eq(config.auto_migrate, 1);
	cr_assert_eq(config.payments, 1);
	cr_assert_eq(config.hold_ttl, 300);
	cr_assert_eq(config.live_queue_max, 1048576);
	cr_assert_str_eq(config.port, "8888");
	cr_assert_str_eq(config.bind_address, "127.0.0.1");
	cr_assert_eq(config.jwt_secret_len, strlen(getenv("JWT_SECRET")));
}

/* The defect: any value but "0" turned development mode on. */
Test(config, dev_mode_false_is_off_and_a_secret_is_required)
{
	static const char	*offs[] = { "false", "off", "no", "0",
				    "FALSE" };
	const char		*err;
	size_t			i;

	unsetenv("JWT_SECRET");
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		setenv("BOOKING_DEV_MODE", offs[i], 1);
		err = config_load();
		cr_assert_not_null(err, "BOOKING_DEV_MODE=%s started", offs[i]);
		cr_assert_not_null(strstr(err, "JWT_SECRET is not set"),
		    "%s: %s", offs[i], err);
		cr_assert_eq(config.dev_mode, 0);
	}

	setenv("BOOKING_DEV_MODE", "true", 1);
	cr_assert_null(config_load());
	cr_assert_eq(config.dev_mode, 1);
	cr_assert_eq(config.jwt_secret_len, 48);
}

Test(config, auto_migrate_off_is_off)
{
	static const char	*offs[] = { "off", "false", "no", "0" };
	size_t			i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		setenv("AUTO_MIGRATE", offs[i], 1);
		cr_assert_null(config_load());
		cr_assert_eq(config.auto_migrate, 0, "AUTO_MIGRATE=%s",
		    offs[i]);
	}
}

Test(config, bad_values_stop_with_a_line_naming_the_variable)
{
	static const struct {
		const char	*name, *value, *says;
	} cases[] = {
		{ "BOOKING_DEV_MODE", "maybe", "BOOKING_DEV_MODE must be on or "
		    "off" },
		{ "AUTO_MIGRATE", "2", "AUTO_MIGRATE must be on or off" },
		{ "PAYMENTS", "enabled", "PAYMENTS must be on or off" },
		{ "WORKERS", "65", "WORKERS must be from 0 to 64" },
		{ "WORKERS", "two", "WORKERS must be from 0 to 64" },
		{ "PORT", "70000", "PORT must be a number from 1 to 65535" },
		{ "JWT_SECRET", "short", "JWT_SECRET must be at least 32" },
		{ "REDIS_URL", "http://x", "REDIS_URL must start with" },
		{ "PGCONNECT_TIMEOUT", "soon", "PGCONNECT_TIMEOUT must be" },
	};
	const char	*err;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_defaults();
		setenv(cases[i].name, cases[i].value, 1);
		err = config_load();
		cr_assert_not_null(err, "%s=%s", cases[i].name,
		    cases[i].value);
		cr_assert_not_null(strstr(err, cases[i].says), "%s=%s: %s",
		    cases[i].name, cases[i].value, err);
		cr_assert_null(strchr(err, '\n'));
		unsetenv(cases[i].name);
	}
}

Test(config, empty_is_unset)
{
	setenv("HOLD_TTL_SECONDS", "", 1);
	setenv("BOOKING_DEV_MODE", "", 1);
	cr_assert_null(config_load());
	cr_assert_eq(config.hold_ttl, 300);
	cr_assert_eq(config.dev_mode, 0);
}
