/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live target tracker: loads bpf/targets.bpf.c (tp_btf, falling back to
 * raw_tp), fills the kernel-side target set, and delivers process lifecycle
 * events of watched containers to a callback. Other podscope programs share
 * its maps to filter by target with one lookup.
 */
#ifndef PODSCOPE_TRACKER_H
#define PODSCOPE_TRACKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "target_events.h"

struct tracker;

typedef void (*tracker_event_fn)(void *ctx, const struct target_event *e);

/*
 * tracker__new - load and attach the target programs; with @oncpu also the
 * sched_switch program that measures on-CPU time per container (it runs on
 * every context switch of the node: opt-in).
 * Returns NULL with errno set when neither tp_btf nor raw_tp works; the
 * reason has been logged once.
 */
struct tracker *tracker__new(tracker_event_fn fn, void *ctx, bool oncpu);

/* "tp_btf" or "raw_tp": which mechanism was attached. */
const char *tracker__mechanism(const struct tracker *t);

int tracker__add_cgroup(struct tracker *t, uint64_t cgroup_id, uint32_t container_idx,
			uint32_t flags);
int tracker__add_tgid(struct tracker *t, pid_t tgid, uint32_t container_idx, uint32_t flags);
int tracker__remove_tgid(struct tracker *t, pid_t tgid);

/* Deliver pending events; wait at most @timeout_ms. Returns events handled or -errno. */
int tracker__poll(struct tracker *t, int timeout_ms);

/* The events ring's epoll fd (ring_wait.h), for one wait on several rings. */
int tracker__epoll_fd(const struct tracker *t);

/* Sum the per-CPU loss counters (TSTAT_*). */
int tracker__stats(struct tracker *t, uint64_t out[TSTAT__COUNT]);

/*
 * tracker__oncpu - on-CPU nanoseconds of watched containers 0..@n-1 (the
 * container_idx values given to the target maps), summed over CPUs.
 * Returns 0, -ENODATA when on-CPU time is not measured, or -errno.
 */
int tracker__oncpu(struct tracker *t, uint64_t *out_ns, int n);

/* Map fds for other programs' filters (bpf_map__reuse_fd). */
int tracker__cgroups_fd(const struct tracker *t);
int tracker__tgids_fd(const struct tracker *t);
int tracker__gen_fd(const struct tracker *t); /* target_gen: see target_events.h */

/* Detach and unload everything. NULL-safe. */
void tracker__free(struct tracker *t);

#endif /* PODSCOPE_TRACKER_H */
