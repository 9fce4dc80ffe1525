/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structures shared by bpf/targets.bpf.c and src/tracker.c: the kernel-side
 * target set (which cgroups and processes podscope watches) and the
 * lifecycle events that keep the user-side model current. Fixed-width types,
 * explicit padding, no pointers.
 */
#ifndef PODSCOPE_TARGET_EVENTS_H
#define PODSCOPE_TARGET_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TARGET_MAX_CGROUPS 4096
#define TARGET_MAX_TGIDS   65536

/* Value of the target maps: which container (user-side index) it belongs to. */
struct target_ref {
	__u32 container_idx;
	__u32 flags; /* TARGET_F_* */
};

#define TARGET_F_SIDECAR 0x1

/*
 * Generation of the target set (target_gen map, one __u64, mmapable): bumped
 * on every change of target_tgids except a process exit. The connection
 * programs cache a connection owner's target check under this generation
 * and repeat it only when the set has changed.
 */

enum target_event_type {
	TEV_FORK = 1, /* a target process forked a new process */
	TEV_EXEC,     /* a process in a target cgroup ran exec() */
	TEV_EXIT,     /* a target process exited (thread-group leader) */
	TEV_ATTACH,   /* a process was moved into a target cgroup */
};

struct target_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 type;
	__u32 tgid;	   /* root-namespace */
	__u32 parent_tgid; /* for TEV_FORK */
	__u32 container_idx;
	char comm[16];
};

/* On-CPU time is accumulated per watched container (user-side index). */
#define TARGET_MAX_CONTAINERS 4096

/* What runs on a CPU now, if it is a target (per-CPU slot). */
struct oncpu_slot {
	__u64 since_ns; /* 0: not a target */
	__u32 container_idx;
	__u32 tgid;
};

/* Per-CPU counters of what the target programs could not do. */
enum target_stat {
	TSTAT_RINGBUF_DROPS = 0, /* events lost: ring buffer full */
	TSTAT_MAP_FULL,		 /* tgid could not be added: target_tgids full */
	TSTAT__COUNT,
};

#endif /* PODSCOPE_TARGET_EVENTS_H */
