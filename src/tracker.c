// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading the target programs with feature fallback: the tp_btf variants are
 * tried first (typed arguments, cheapest), then raw_tp. Only one variant is
 * ever loaded. Nothing is pinned: the programs live exactly as long as the
 * process that loaded them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "probe_select.h"
#include "tracker.h"
#include "targets.skel.h"

struct tracker {
	struct targets_bpf *skel;
	struct ring_buffer *rb;
	const char *mechanism;
	tracker_event_fn fn;
	void *ctx;
	bool oncpu;
	uint64_t *gen; /* target_gen, mmapped */
};

/* A change of target_tgids from user space: after the map update. */
static void bump_gen(struct tracker *t)
{
	if (t->gen)
		__atomic_fetch_add(t->gen, 1, __ATOMIC_SEQ_CST);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracker *t = ctx;

	if (size < sizeof(struct target_event))
		return 0;
	t->fn(t->ctx, data);
	return 0;
}

/* Open, load and attach the programs whose names end in @suffix. */
static struct targets_bpf *load_variant(const char *suffix, bool oncpu, int *errp)
{
	struct targets_bpf *skel;
	struct bpf_program *prog;
	size_t slen = strlen(suffix);
	int err;

	skel = targets_bpf__open();
	if (!skel) {
		*errp = -errno;
		return NULL;
	}
	bpf_object__for_each_program (prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		size_t len = strlen(name);

		bpf_program__set_autoload(prog, len > slen && !strcmp(name + len - slen, suffix) &&
							(oncpu || strncmp(name, "ps_switch_", 10)));
	}
	err = targets_bpf__load(skel);
	if (!err)
		err = targets_bpf__attach(skel); /* attaches the autoloaded ones only */
	if (err) {
		targets_bpf__destroy(skel);
		*errp = err;
		return NULL;
	}
	return skel;
}

struct tracker *tracker__new(tracker_event_fn fn, void *ctx, bool oncpu)
{
	struct tracker *t = calloc(1, sizeof(*t));
	int err = 0;

	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	t->oncpu = oncpu;
	t->skel = probe_force_raw_tp() ? NULL : load_variant("_btf", oncpu, &err);
	t->mechanism = "tp_btf";
	if (!t->skel) {
		if (err) /* else PODSCOPE_FORCE_RAW_TP asked for raw_tp */
			pr_warn("target tracker: tp_btf failed (%s), falling back to raw_tp",
				strerror(-err));
		t->skel = load_variant("_raw", oncpu, &err);
		t->mechanism = "raw_tp";
	}
	if (!t->skel) {
		pr_error("cannot load the target tracker (tp_btf and raw_tp failed: %s); "
			 "run 'podscope doctor'",
			 strerror(-err));
		free(t);
		errno = -err;
		return NULL;
	}
	t->gen = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		      bpf_map__fd(t->skel->maps.target_gen), 0);
	if (t->gen == MAP_FAILED) {
		err = -errno;
		pr_error("target tracker: cannot map the target generation: %s", strerror(-err));
		t->gen = NULL;
		tracker__free(t);
		errno = -err;
		return NULL;
	}
	pr_info("target tracker attached with %s", t->mechanism);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.target_events), handle_event, t, NULL);
	if (!t->rb) {
		err = -errno;
		pr_error("ring buffer for target events: %s", strerror(-err));
		tracker__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

const char *tracker__mechanism(const struct tracker *t)
{
	return t->mechanism;
}

int tracker__add_cgroup(struct tracker *t, uint64_t cgroup_id, uint32_t container_idx,
			uint32_t flags)
{
	struct target_ref ref = {.container_idx = container_idx, .flags = flags};

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.target_cgroups), &cgroup_id, &ref,
				BPF_ANY))
		return -errno;
	return 0;
}

int tracker__add_tgid(struct tracker *t, pid_t tgid, uint32_t container_idx, uint32_t flags)
{
	struct target_ref ref = {.container_idx = container_idx, .flags = flags};
	__u32 key = (__u32)tgid;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.target_tgids), &key, &ref, BPF_ANY))
		return -errno;
	bump_gen(t);
	return 0;
}

int tracker__remove_tgid(struct tracker *t, pid_t tgid)
{
	__u32 key = (__u32)tgid;

	if (bpf_map_delete_elem(bpf_map__fd(t->skel->maps.target_tgids), &key)) {
		if (errno != ENOENT)
			return -errno;
		return 0;
	}
	bump_gen(t);
	return 0;
}

int tracker__poll(struct tracker *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

int tracker__epoll_fd(const struct tracker *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int tracker__stats(struct tracker *t, uint64_t out[TSTAT__COUNT])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(t->skel->maps.target_stats);
	__u64 *vals;
	__u32 key;
	int cpu;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; key < TSTAT__COUNT; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			out[key] += vals[cpu];
	}
	free(vals);
	return 0;
}

int tracker__oncpu(struct tracker *t, uint64_t *out_ns, int n)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(t->skel->maps.oncpu_ns), cpu;
	__u64 *vals;
	__u32 key;

	if (!t->oncpu)
		return -ENODATA;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; (int)key < n && key < TARGET_MAX_CONTAINERS; key++) {
		out_ns[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			out_ns[key] += vals[cpu];
	}
	free(vals);
	return 0;
}

int tracker__cgroups_fd(const struct tracker *t)
{
	return bpf_map__fd(t->skel->maps.target_cgroups);
}

int tracker__tgids_fd(const struct tracker *t)
{
	return bpf_map__fd(t->skel->maps.target_tgids);
}

int tracker__gen_fd(const struct tracker *t)
{
	return bpf_map__fd(t->skel->maps.target_gen);
}

void tracker__free(struct tracker *t)
{
	if (!t)
		return;
	if (t->gen)
		munmap(t->gen, (size_t)sysconf(_SC_PAGESIZE));
	ring_buffer__free(t->rb);
	targets_bpf__destroy(t->skel);
	free(t);
}
