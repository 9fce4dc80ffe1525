/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Levelled logging to stderr, in one place. Everything podscope says about
 * itself goes through here; libbpf's own output is routed here too and shown
 * only with -v, so a normal run prints results, not loader chatter.
 */
#ifndef PODSCOPE_LOG_H
#define PODSCOPE_LOG_H

#include <stdarg.h>

enum ps_log_level {
	PS_LOG_ERROR = 0,
	PS_LOG_WARN,
	PS_LOG_INFO,
	PS_LOG_DEBUG,
};

/* Messages above @level are discarded. Default: PS_LOG_WARN. */
void log_set_level(enum ps_log_level level);
enum ps_log_level log_get_level(void);

/* Route libbpf's print callback through log_msg (debug unless -v). */
void log_hook_libbpf(void);

void log_msg(enum ps_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_error(...) log_msg(PS_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(PS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(PS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(PS_LOG_DEBUG, __VA_ARGS__)

#endif /* PODSCOPE_LOG_H */
