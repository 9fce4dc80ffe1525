/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The watched set: which containers and processes podscope watches right
 * now, kept current from the BPF target tracker (fork, exec, exit, cgroup
 * moves) and a periodic re-resolution as a safety net. Every command that
 * runs over time (pods --follow, watch, run) builds on it.
 */
#ifndef PODSCOPE_WATCHSET_H
#define PODSCOPE_WATCHSET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "resolve.h"
#include "target.h"
#include "tracker.h"

/* A watched container; its index is the container_idx the BPF side reports. */
struct watch_container {
	char pod_uid[POD_UID_MAX];
	char id[CONTAINER_ID_MAX];
	char pod[POD_NAME_MAX * 2 + 2]; /* "namespace/name" or "?/pod<uid8>" */
	char ns[POD_NAME_MAX];
	char pod_name[POD_NAME_MAX];
	char name[POD_NAME_MAX];
	enum container_role role;
};

struct watch_process {
	pid_t pid;
	uint32_t idx; /* watch_container index */
	char comm[16];
	uint64_t gen; /* rescan generation when it was added */
};

/* Copy a task name keeping printable ASCII only ('?' for other bytes). */
void comm_sanitize(char dst[16], const char *src);

/* @event: "start" or "exit"; @why: fork, exec, exit, cgroup-attach, rescan. */
typedef void (*watchset_proc_fn)(void *ctx, const char *event, const char *why,
				 const struct watch_process *p, pid_t parent);

struct watchset;

/* watchset__new flags */
#define WATCHSET_ONCPU 0x1 /* measure on-CPU time per container (sched_switch) */

/*
 * watchset__new - watch the pods of @set marked in @keep: load the target
 * tracker, put their cgroups and processes in the kernel-side target set.
 * @ro is kept (not copied) for rescans every @rescan_ns (0: never).
 * @flags: WATCHSET_*. Returns NULL with errno set (the reason was logged).
 */
struct watchset *watchset__new(const struct resolve_opts *ro, const struct target_set *set,
			       const bool *keep, uint64_t rescan_ns, watchset_proc_fn fn, void *ctx,
			       unsigned flags);

/*
 * watchset__new_offline - the same tables from @set and @keep, with no BPF
 * and no updates: for tests and for rendering saved data.
 */
struct watchset *watchset__new_offline(const struct target_set *set, const bool *keep);

/* Deliver tracker events (wait at most @timeout_ms) and rescan when due. 0 or -errno. */
int watchset__poll(struct watchset *ws, int timeout_ms);

/* The tracker's ring epoll fd (ringwait.h); -1 without a tracker. */
int watchset__epoll_fd(const struct watchset *ws);

struct tracker *watchset__tracker(struct watchset *ws);
int watchset__ncontainers(const struct watchset *ws);
const struct watch_container *watchset__container(const struct watchset *ws, uint32_t idx);
int watchset__nprocesses(const struct watchset *ws);
const struct watch_process *watchset__process(const struct watchset *ws, int i);
const struct watch_process *watchset__find_pid(const struct watchset *ws, pid_t pid);

/* Pods being watched, by uid (for output). */
int watchset__npods(const struct watchset *ws);
const char *watchset__pod_uid(const struct watchset *ws, int i);

/*
 * watchset__add_pod - start watching pod @i of @set (a fresh resolution) at
 * run time: its cgroups and processes go into the kernel-side target set,
 * each process is announced as a "start" (why "rescan"), and later rescans
 * keep it. Returns 0, -EEXIST when the pod is watched already, or -errno.
 */
int watchset__add_pod(struct watchset *ws, const struct target_set *set, int i);

/*
 * watchset__remove_pod - stop watching the pod with uid @uid at run time:
 * its processes leave the kernel-side set (each announced as an "exit", why
 * "removed"), and the cgroup ids of @pod's containers (@pod may be NULL)
 * leave the cgroup map so that new processes there are not picked up.
 * Returns 0 or -ENOENT when the pod is not watched.
 */
int watchset__remove_pod(struct watchset *ws, const char *uid, const struct target_pod *pod);

/* NULL-safe. */
void watchset__free(struct watchset *ws);

#endif /* PODSCOPE_WATCHSET_H */
