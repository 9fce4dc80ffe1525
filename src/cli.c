// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Command-line helpers shared by all commands (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "podscope: error: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'podscope %s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int optind_after)
{
	const char *arg = optind_after > 0 ? argv[optind_after - 1] : "?";

	if (optopt && optopt != '?' && arg[0] == '-' && arg[1] != '-')
		return cli_usage_error(cmd, "invalid option '-%c' or missing value", optopt);
	return cli_usage_error(cmd, "unknown option or missing value: '%s'", arg);
}

int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_size(const char *text, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (*end) {
		switch (*end) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > (1ULL << 40) >> shift)
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_duration_ns(const char *text, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{"ns", 1ULL},	      {"us", 1000ULL},	     {"ms", 1000000ULL},
		{"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
		{"", 1000000000ULL},
	};
	char *end;
	double v;
	size_t i;

	if (!text || !(isdigit((unsigned char)text[0]) || text[0] == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v * (double)units[i].mult > 1e18)
			return -ERANGE;
		*ns = (uint64_t)(v * (double)units[i].mult + 0.5);
		return 0;
	}
	return -EINVAL;
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t stopping;

static void on_stop_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

void cli_stop_on_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool cli_stopping(void)
{
	return stopping;
}

int cli_add_pod(const char *cmd, const char *arg, const char **arr, int *n, int max)
{
	if (*n == max)
		return cli_usage_error(cmd, "too many --pod (max %d)", max);
	if (!arg[0] || arg[strlen(arg) - 1] == '/')
		return cli_usage_error(cmd, "bad --pod '%s': want NAMESPACE/NAME", arg);
	arr[(*n)++] = arg;
	return 0;
}

int cli_add_pid(const char *cmd, const char *arg, int *arr, int *n, int max)
{
	uint64_t v;

	if (cli_parse_u64(arg, 1, 0x3fffffff, &v))
		return cli_usage_error(cmd, "bad --pid '%s'", arg);
	if (*n == max)
		return cli_usage_error(cmd, "too many --pid (max %d)", max);
	arr[(*n)++] = (int)v;
	return 0;
}

int cli_otlp_endpoint(const char *cmd, const char *arg, const char **out)
{
	if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
		return cli_usage_error(cmd, "bad --otlp-endpoint '%s' (http://HOST:PORT)", arg);
	*out = arg;
	return 0;
}
