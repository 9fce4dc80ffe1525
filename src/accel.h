/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Socket-redirect acceleration (M9): loads bpf/accel.bpf.c, attaches its
 * sockops program to pod cgroups through bpf_links and its sk_msg program to
 * the sockhash, and reports what was redirected. Redirection lives exactly as
 * long as this object (nothing pinned).
 */
#ifndef PODSCOPE_ACCEL_H
#define PODSCOPE_ACCEL_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "accel_events.h"

struct accel;

/* Load the programs and attach sk_msg to the sockhash. NULL with errno set (logged). */
struct accel *accel__new(bool pod_to_pod);

/*
 * accel__enable - redirect for new connections of the processes in the
 * cgroup v2 directory @cgroup_dir (a pod's cgroup), named @label.
 * Connections opened before stay on the normal path. Returns 0, -EEXIST
 * (already enabled), or a negative errno (logged).
 */
int accel__enable(struct accel *a, const char *label, const char *cgroup_dir);

/*
 * accel__disable - stop adding new connections of @label. Connections
 * already redirected keep being redirected until they close (removing
 * them mid-stream could drop data queued for the peer); they are counted in
 * the status. Returns 0 or -ENOENT.
 */
int accel__disable(struct accel *a, const char *label);

int accel__nenabled(const struct accel *a);
const char *accel__enabled_label(const struct accel *a, int i);

/* Counters (ASTAT_*) summed over CPUs, and sockets currently in the sockhash. */
int accel__stats(struct accel *a, uint64_t out[ASTAT__COUNT], uint64_t *sockets_now);

/* The status document (schema podscope.accel/v1); caller owns it. NULL on error. */
json_t *accel__status_json(struct accel *a, double seconds);

/* Detach everything and unload. NULL-safe. */
void accel__free(struct accel *a);

#endif /* PODSCOPE_ACCEL_H */
