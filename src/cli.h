/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared bits of the command line: usage errors and small option parsers
 * that every command uses the same way, so errors read the same everywhere.
 */
#ifndef PODSCOPE_CLI_H
#define PODSCOPE_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
#define EXIT_USAGE 2

/*
 * cli_usage_error - print one line, "podscope: error: <cmd>: <message> (see
 * 'podscope <cmd> --help')", to stderr. Returns EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cli_bad_option - report what getopt_long() (run with opterr = 0) rejected:
 * an unknown option or one missing its value. @optind_after is optind at the
 * time getopt_long returned '?' or ':'. Returns EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, char **argv, int optind_after);

/*
 * cli_parse_duration_ns - parse "250ms", "10s", "2m", "1h", "1500us" or a bare
 * number of seconds. Returns 0 and stores nanoseconds, or -EINVAL.
 */
int cli_parse_duration_ns(const char *text, uint64_t *ns);

/* Parse a non-negative decimal integer within [min, max]. 0 or -EINVAL/-ERANGE. */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * cli_parse_size - parse a byte count: a decimal integer with an optional
 * K, M or G suffix (KiB, MiB, GiB). 0 and the bytes in *out, or -EINVAL
 * (garbage) / -ERANGE (above 2^40 bytes).
 */
int cli_parse_size(const char *text, uint64_t *out);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t cli_now_ns(void);

/*
 * cli_stop_on_signals - make SIGINT and SIGTERM set the flag cli_stopping()
 * reports (install before loading anything: scripts start background jobs
 * with SIGINT ignored, and a signal during start-up must not be lost).
 */
void cli_stop_on_signals(void);
bool cli_stopping(void);

/*
 * cli_add_pod / cli_add_pid - append a --pod NS/NAME or --pid PID argument
 * to @arr (of @max entries, *@n used). 0, or EXIT_USAGE after one error line.
 */
int cli_add_pod(const char *cmd, const char *arg, const char **arr, int *n, int max);
int cli_add_pid(const char *cmd, const char *arg, int *arr, int *n, int max);

/*
 * cli_otlp_endpoint - check an --otlp-endpoint argument (http:// or
 * https://) and store it in *@out. 0, or EXIT_USAGE after one error line.
 */
int cli_otlp_endpoint(const char *cmd, const char *arg, const char **out);

#endif /* PODSCOPE_CLI_H */
