// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the kernel-side aggregates into the model (see collect.h). Called
 * once per refresh interval by `watch` and by the agent.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "collect.h"

static void collect_side(void *ctx, const struct side_key *k, const struct side_metrics *m)
{
	model__add_side(ctx, k, m);
}

static void collect_drop(void *ctx, const struct side_key *k, uint32_t reason, uint64_t n)
{
	model__add_drop(ctx, k, reason, n);
}

/*
 * Up to @max of podscope's own programs into @out: how many, or -errno when
 * the process's descriptors cannot be listed (whole).
 */
static int own_progs(struct bpf_prog_stat *out, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while (n < max) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		char path[300], target[64];
		ssize_t l;
		int fd, i;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		if (strcmp(target, "anon_inode:bpf-prog") ||
		    bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		for (i = 0; i < n; i++)
			if (out[i].id == info.id)
				break;
		if (i < n)
			continue; /* another descriptor of a program already listed */
		snprintf(out[n].name, sizeof(out[n].name), "%s", info.name);
		out[n].id = info.id;
		out[n].run_time_ns = info.run_time_ns;
		out[n].run_count = info.run_cnt;
		out[n].recursion_misses = info.recursion_misses;
		n++;
	}
	if (n < max && errno) { /* readdir failed part-way: the list is not whole */
		int err = -errno;

		closedir(d);
		return err;
	}
	closedir(d);
	return n;
}

uint64_t collect__tally_misses(struct prog_miss_tally *t, const struct bpf_prog_stat *progs, int n)
{
	uint64_t total;
	int i, j;

	/* not read, or maybe cut short (AGENT_MAX_PROGS): nothing is known to be gone */
	if (n < 0 || n >= AGENT_MAX_PROGS) {
		for (total = t->retired, i = 0; i < t->nseen; i++)
			total += t->seen[i].misses;
		return total;
	}
	for (i = 0; i < t->nseen; i++) {
		for (j = 0; j < n && progs[j].id != t->seen[i].id; j++)
			;
		if (j == n)
			t->retired += t->seen[i].misses;
	}
	total = t->retired;
	for (j = 0; j < n; j++) {
		t->seen[j].id = progs[j].id;
		t->seen[j].misses = progs[j].recursion_misses;
		total += progs[j].recursion_misses;
	}
	t->nseen = n;
	return total;
}

/* One per process: program ids are unique, so every tracer it loads can share it. */
static struct prog_miss_tally own_misses;

int collect__refresh(struct model *m, struct watchset *ws, struct conn_tracer *ct,
		     struct bpf_prog_stat *progs, int *nprogs)
{
	struct bpf_prog_stat buf[AGENT_MAX_PROGS];
	struct model_lost lost = {0};
	struct tracker *t = watchset__tracker(ws);
	int n = watchset__ncontainers(ws), rc, np;
	uint64_t *oncpu;

	if (!progs)
		progs = buf;
	np = own_progs(progs, AGENT_MAX_PROGS);
	if (nprogs)
		*nprogs = np > 0 ? np : 0;
	lost.recursion_misses = collect__tally_misses(&own_misses, progs, np);
	model__begin_sides(m);
	rc = conn_tracer__for_each_side(ct, collect_side, m);
	if (rc < 0)
		return rc;
	conn_tracer__for_each_drop(ct, collect_drop, m);
	tracker__stats(t, lost.target);
	conn_tracer__stats(ct, lost.conn);
	model__set_lost(m, &lost);
	oncpu = calloc((size_t)n + 1, sizeof(*oncpu));
	if (oncpu && !tracker__oncpu(t, oncpu, n))
		model__set_oncpu(m, oncpu, n);
	free(oncpu);
	rc = model__build_edges(m);
	return rc < 0 ? rc : 0;
}

void collect__requests(struct model *m, struct req_tracker *rt)
{
	struct req_tracker_stats st;

	if (!rt)
		return;
	req_tracker__expire(rt, cli_now_ns(), COLLECT_REQUEST_MAX_AGE_NS);
	req_tracker__stats(rt, &st);
	model__set_request_lost(m, &st);
}
