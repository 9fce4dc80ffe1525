// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Logging: one line per message, prefixed with "podscope: <level>: ".
 * Errors are meant to be read by an SRE, so callers say what failed and what
 * to do about it, once, at the level that knows.
 */
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum ps_log_level current_level = PS_LOG_WARN;

static const char *const level_names[] = {
	[PS_LOG_ERROR] = "error",
	[PS_LOG_WARN] = "warning",
	[PS_LOG_INFO] = "info",
	[PS_LOG_DEBUG] = "debug",
};

void log_set_level(enum ps_log_level level)
{
	current_level = level;
}

enum ps_log_level log_get_level(void)
{
	return current_level;
}

static void log_vmsg(enum ps_log_level level, const char *fmt, va_list ap)
{
	size_t len = strlen(fmt);

	if (level > current_level)
		return;
	fprintf(stderr, "podscope: %s: ", level_names[level]);
	vfprintf(stderr, fmt, ap);
	if (len == 0 || fmt[len - 1] != '\n')
		fputc('\n', stderr);
}

void log_msg(enum ps_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings are mostly expected probe failures: debug only. */
	(void)level;
	if (current_level < PS_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
