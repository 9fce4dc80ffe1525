// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * podscope: where time and resources go inside sidecar-pattern pods.
 * This file only dispatches `podscope <command> [options]` to the command
 * modules; each command owns its options, its --help and its exit status.
 */
#include <stdio.h>
#include <string.h>

#include "accel_cmd.h"
#include "agent.h"
#include "cli.h"
#include "doctor.h"
#include "log.h"
#include "pods_cmd.h"
#include "trace_cmd.h"
#include "tracefs.h"
#include "watch_cmd.h"

#ifndef PODSCOPE_VERSION
#define PODSCOPE_VERSION "unknown"
#endif

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"doctor", cmd_doctor, "what this kernel offers and what podscope will use"},
	{"pods", cmd_pods, "pods on this node: containers, sidecar/app roles, processes"},
	{"watch", cmd_watch, "connections and socket metrics per edge, live or as JSON/CSV"},
	{"trace", cmd_trace, "packet path of pods' connections through the network stack, per hop"},
	{"accel", cmd_accel, "socket-redirect acceleration for pod-local traffic"},
	{"run", cmd_run, "the agent: Prometheus metrics, JSON API, web UI, run-time targets"},
	{"target", cmd_target, "add, remove or list a running agent's targets"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "this text, or a command's help"},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: podscope [-v] <command> [options]\n\n"
		     "podscope shows where time and resources go inside Kubernetes pods built\n"
		     "on the sidecar pattern, using eBPF.\n\nCommands:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nGlobal options:\n"
		     "  -v, --verbose  debug output, including libbpf's\n"
		     "  -h, --help     this text\n\n"
		     "Run 'podscope <command> --help' for a command's options.\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
	printf("podscope %s\n", PODSCOPE_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;
	char *help_argv[] = {NULL, "--help", NULL};

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd || cmd->run == cmd_help) {
		fprintf(stderr, "podscope: error: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	help_argv[0] = argv[1];
	return cmd->run(2, help_argv);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	int i = 1, rc;

	log_hook_libbpf();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_set_level(PS_LOG_DEBUG);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			return cmd_version(1, argv);
		} else {
			fprintf(stderr,
				"podscope: error: unknown option '%s' (see 'podscope --help')\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "podscope: error: no command given (see 'podscope --help')\n");
		return EXIT_USAGE;
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "podscope: error: unknown command '%s' (see 'podscope --help')\n",
			argv[i]);
		return EXIT_USAGE;
	}
	rc = cmd->run(argc - i, argv + i);
	tracefs_release();
	return rc;
}
