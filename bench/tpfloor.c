// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tpfloor: attach bpf/tpfloor.bpf.c's two empty programs for SECONDS (or
 * until SIGINT/SIGTERM), then detach. An agent for bench/overhead that
 * costs only the tracepoints' dispatch into BPF:
 *   bench/overhead --agent-cmd 'build/tpfloor {SECS}'
 * Nothing is pinned: the kernel frees both programs when the process ends,
 * by any signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tpfloor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct tpfloor_bpf *skel;
	char *end = NULL;
	long secs;

	if (argc != 2 || (secs = strtol(argv[1], &end, 10)) <= 0 || *end || secs > 3600) {
		fprintf(stderr, "usage: tpfloor SECONDS (1..3600)\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = tpfloor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "tpfloor: cannot load the programs: %s\n", strerror(errno));
		return 1;
	}
	if (tpfloor_bpf__attach(skel)) {
		fprintf(stderr, "tpfloor: cannot attach the programs: %s\n", strerror(errno));
		tpfloor_bpf__destroy(skel);
		return 1;
	}
	while (!stop && secs-- > 0)
		sleep(1);
	tpfloor_bpf__destroy(skel);
	return 0;
}
