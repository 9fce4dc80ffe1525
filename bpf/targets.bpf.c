// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel-side target set and its live upkeep. target_cgroups holds the
 * cgroup v2 ids of watched containers and target_tgids the processes in
 * them, so any podscope program filters with one hash lookup. The sched
 * tracepoints below add processes that fork, exec or are moved into a
 * watched container, and drop the ones that exit, telling user space through
 * the ring buffer; a periodic rescan in user space is the safety net.
 *
 * Each program exists twice, for tp_btf (preferred) and raw_tp (fallback);
 * the loader picks one set. All task reads go through CO-RE so the same body
 * serves both.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "target_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TARGET_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct target_ref);
} target_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} target_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TSTAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} target_stats SEC(".maps");

/* On-CPU time of watched processes, per container, from sched_switch. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TARGET_MAX_CONTAINERS);
	__type(key, __u32);
	__type(value, __u64);
} oncpu_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oncpu_slot);
} oncpu_now SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&target_stats, &which);

	if (v)
		*v += 1;
}

/* @task: whose name to report (NULL: the current task). */
static __always_inline void emit(__u32 type, __u32 tgid, __u32 parent, __u64 cgid,
				 const struct target_ref *ref, struct task_struct *task)
{
	struct target_event *e;

	e = bpf_ringbuf_reserve(&target_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(TSTAT_RINGBUF_DROPS);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = cgid;
	e->type = type;
	e->tgid = tgid;
	e->parent_tgid = parent;
	e->container_idx = ref->container_idx;
	if (task)
		BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	else
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* Returns false (and counts it) when the map is full: no event is sent then,
 * so the process stays unknown and the next rescan picks it up. */
static __always_inline bool add_tgid(__u32 tgid, const struct target_ref *ref)
{
	__u32 zero = 0;
	__u64 *gen;

	if (bpf_map_update_elem(&target_tgids, &tgid, ref, BPF_ANY)) {
		stat_inc(TSTAT_MAP_FULL);
		return false;
	}
	/* after the update: a reader that sees the new generation sees the new entry */
	gen = bpf_map_lookup_elem(&target_gen, &zero);
	if (gen)
		__sync_fetch_and_add(gen, 1);
	return true;
}

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct target_ref *ref;

	if (ctgid == ptgid) /* a new thread: covered by its tgid */
		return 0;
	ref = bpf_map_lookup_elem(&target_tgids, &ptgid);
	if (!ref)
		return 0;
	if (add_tgid(ctgid, ref))
		emit(TEV_FORK, ctgid, ptgid, 0, ref, child);
	return 0;
}

static __always_inline int on_exec(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 cgid = bpf_get_current_cgroup_id();
	struct target_ref *ref;

	ref = bpf_map_lookup_elem(&target_cgroups, &cgid);
	if (!ref) {
		/* exec of a tracked process outside any tracked cgroup (tgid targets) */
		ref = bpf_map_lookup_elem(&target_tgids, &tgid);
		if (!ref)
			return 0;
	} else if (!add_tgid(tgid, ref)) {
		return 0;
	}
	emit(TEV_EXEC, tgid, 0, cgid, ref, NULL);
	return 0;
}

static __always_inline int on_exit(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct target_ref *ref, copy;

	/*
	 * A process is gone when its last thread exits (signal->live has been
	 * decremented before this tracepoint), not when the thread-group leader
	 * does: the leader may pthread_exit() while other threads run.
	 */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	ref = bpf_map_lookup_elem(&target_tgids, &tgid);
	if (!ref)
		return 0;
	copy = *ref;
	bpf_map_delete_elem(&target_tgids, &tgid);
	emit(TEV_EXIT, tgid, 0, 0, &copy, task);
	return 0;
}

static __always_inline int on_cgroup_attach(struct cgroup *dst, struct task_struct *task)
{
	__u64 cgid = BPF_CORE_READ(dst, kn, id);
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct target_ref *ref;

	/* ids are per hierarchy: only the v2 (default) hierarchy's are in the map */
	if (BPF_CORE_READ(dst, root, hierarchy_id) != 0)
		return 0;
	ref = bpf_map_lookup_elem(&target_cgroups, &cgid);
	if (!ref)
		return 0;
	if (add_tgid(tgid, ref))
		emit(TEV_ATTACH, tgid, 0, cgid, ref, task);
	return 0;
}

/*
 * sched_switch: close the running slot of @prev if it was a target, open one
 * for @next if it is. One array lookup and one hash lookup (the incoming
 * task) per switch; the clock is read only when a watched task is involved.
 */
static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0, ntgid = BPF_CORE_READ(next, tgid);
	struct oncpu_slot *slot = bpf_map_lookup_elem(&oncpu_now, &zero);
	struct target_ref *ref;
	__u64 now;

	if (!slot)
		return 0;
	ref = ntgid ? bpf_map_lookup_elem(&target_tgids, &ntgid) : NULL;
	if (!ref && !slot->since_ns)
		return 0; /* neither side watched: no clock read */
	now = bpf_ktime_get_ns();
	if (slot->since_ns) {
		__u32 idx = slot->container_idx;
		__u64 *acc = bpf_map_lookup_elem(&oncpu_ns, &idx);

		if (acc)
			*acc += now - slot->since_ns;
		slot->since_ns = 0;
	}
	if (ref) {
		slot->since_ns = now;
		slot->container_idx = ref->container_idx;
		slot->tgid = ntgid;
	}
	return 0;
}

/* One program per (tracepoint, mechanism); the loader enables one mechanism. */
#define TARGET_PROGS(mech, sec)                                                             \
	SEC(sec "/sched_process_fork")                                                      \
	int BPF_PROG(ps_fork_##mech, struct task_struct *parent, struct task_struct *child) \
	{                                                                                   \
		return on_fork(parent, child);                                              \
	}                                                                                   \
	SEC(sec "/sched_process_exec")                                                      \
	int BPF_PROG(ps_exec_##mech, struct task_struct *p, pid_t old_pid,                  \
		     struct linux_binprm *bprm)                                             \
	{                                                                                   \
		return on_exec();                                                           \
	}                                                                                   \
	SEC(sec "/sched_process_exit")                                                      \
	int BPF_PROG(ps_exit_##mech, struct task_struct *p)                                 \
	{                                                                                   \
		return on_exit(p);                                                          \
	}                                                                                   \
	SEC(sec "/cgroup_attach_task")                                                      \
	int BPF_PROG(ps_cgattach_##mech, struct cgroup *dst, const char *path,              \
		     struct task_struct *task, bool threadgroup)                            \
	{                                                                                   \
		return on_cgroup_attach(dst, task);                                         \
	}                                                                                   \
	SEC(sec "/sched_switch")                                                            \
	int BPF_PROG(ps_switch_##mech, bool preempt, struct task_struct *prev,              \
		     struct task_struct *next)                                              \
	{                                                                                   \
		return on_switch(prev, next);                                               \
	}

TARGET_PROGS(btf, "tp_btf")
TARGET_PROGS(raw, "raw_tp")

char LICENSE[] SEC("license") = "Dual BSD/GPL";
