/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel feature probing. Every hook type podscope may use is tested by
 * loading and attaching a tiny program (bpf/doctor.bpf.c), never inferred
 * from version numbers. The result drives two things: `podscope doctor`, and
 * the probe loader's choice among fallbacks (tp_btf -> raw_tp -> tracepoint,
 * fentry -> kprobe).
 */
#ifndef PODSCOPE_FEATURES_H
#define PODSCOPE_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"

enum hook_type {
	HOOK_TP_BTF = 0,
	HOOK_RAW_TP,
	HOOK_TRACEPOINT,
	HOOK_FENTRY,
	HOOK_KPROBE,
	HOOK_UPROBE,
	HOOK_SOCKOPS,
	HOOK_SK_MSG,
	HOOK_TC,
	HOOK__COUNT,
};

/* Where a probe failed: useful to tell "kernel refuses" from "not built in". */
enum probe_stage {
	PROBE_STAGE_NONE = 0, /* succeeded */
	PROBE_STAGE_OPEN,
	PROBE_STAGE_LOAD,
	PROBE_STAGE_ATTACH,
	PROBE_STAGE_FIRE, /* attached but never ran when triggered */
};

struct feature_status {
	bool available;
	int err;		/* positive errno when !available, 0 otherwise */
	enum probe_stage stage; /* where it failed */
	char detail[192];	/* what was tried / what was seen */
};

/* A kernel tracepoint podscope consumes, and how it can be reached. */
struct tracepoint_status {
	const char *category;
	const char *name;
	const char *used_for;
	bool required;
	bool in_tracefs; /* classic tracepoint: events/<cat>/<name> */
	bool in_btf;	 /* btf_trace_<name> typedef: reachable by tp_btf/raw_tp */
	int nargs;	 /* arguments it passes to tp_btf/raw_tp programs; -1: unknown */
};

enum map_feature {
	MAPF_RINGBUF = 0,
	MAPF_LRU_HASH,
	MAPF_PERCPU_ARRAY,
	MAPF_SOCKHASH,
	MAPF_SK_STORAGE, /* per-socket state for the connection tracer (optional) */
	MAPF__COUNT,
};

struct kernel_features {
	char release[65];
	char machine[65];
	struct feature_status btf;
	struct feature_status tracefs;
	bool tracefs_mounted_now;
	struct feature_status hooks[HOOK__COUNT];
	struct feature_status maps[MAPF__COUNT];
	struct feature_status msg_redirect_hash;     /* helper used by socket redirect */
	struct feature_status tracing_socket_cookie; /* bpf_get_socket_cookie from tp_btf */
	struct tracepoint_status *tracepoints;
	int tracepoint_count;
	struct cgroup_info cgroup;
	int bpf_stats_enabled; /* kernel.bpf_stats_enabled, -1 if unreadable */
	int unprivileged_bpf_disabled;
	uint64_t memlock_cur, memlock_max; /* RLIM_INFINITY as UINT64_MAX */
	bool memcg_accounting; /* BPF memory charged to memcg (>= 5.11): memlock unused */
};

const char *hook_type_name(enum hook_type type);
const char *map_feature_name(enum map_feature map);
const char *probe_stage_name(enum probe_stage stage);

struct btf;
/*
 * The arguments tracepoint @name passes to tp_btf and raw_tp programs (its
 * btf_trace_<name> typedef in @btf, less the leading context pointer), or
 * -1 when @btf does not say.
 */
int features_tracepoint_nargs(const struct btf *btf, const char *name);

/*
 * For a tracepoint whose arguments grew over kernel versions, which variant
 * this kernel has and what that means for podscope; NULL for the others.
 */
const char *tracepoint_variant(const struct tracepoint_status *tp);

/*
 * features_probe - probe everything listed in struct kernel_features.
 * Mounts tracefs when absent (recorded in tracefs_mounted_now). Needs root
 * or CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN+CAP_SYS_ADMIN for the full picture;
 * what cannot be probed is reported as unavailable with its errno.
 * Returns 0; the only failure is -ENOMEM.
 */
int features_probe(struct kernel_features *kf);

/* The function the uprobe probe attaches to (exported so it is not inlined). */
int features_uprobe_target(int x);

#endif /* PODSCOPE_FEATURES_H */
