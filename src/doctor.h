/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `podscope doctor`: what this kernel offers and what podscope will use,
 * as a table or JSON, with a verdict. The verdict logic is separate from the
 * probing (features.c) so it can be unit-tested on made-up kernels.
 */
#ifndef PODSCOPE_DOCTOR_H
#define PODSCOPE_DOCTOR_H

#include <jansson.h>
#include <stdbool.h>

#include "features.h"

#define DOCTOR_MAX_ITEMS 48

struct doctor_item {
	char feature[64]; /* e.g. "hook:fentry", "tracepoint:sock:inet_sock_set_state" */
	char effect[160]; /* what the user loses, for degradations; why it is needed, for missing */
};

struct doctor_verdict {
	bool ready; /* minimum set present */
	int missing_count;
	struct doctor_item missing[DOCTOR_MAX_ITEMS];
	int degraded_count;
	struct doctor_item degraded[DOCTOR_MAX_ITEMS];
};

/* Decide readiness from probed features. Pure: no I/O. */
void doctor_evaluate(const struct kernel_features *kf, struct doctor_verdict *v);

/* The full report as a JSON object (caller owns the reference). NULL on ENOMEM. */
json_t *doctor_to_json(const struct kernel_features *kf, const struct doctor_verdict *v);

/* `podscope doctor [--json]` entry point; returns the process exit code. */
int cmd_doctor(int argc, char **argv);

#endif /* PODSCOPE_DOCTOR_H */
