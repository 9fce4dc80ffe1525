/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container resources as cAdvisor reports them: CPU, memory and block I/O
 * read from a container's cgroup files (v1 controllers and the v2 unified
 * hierarchy, whichever holds the controller on this node), and network
 * device counters of a pod's network namespace (/proc/<pid>/net/dev of a
 * process inside it). The agent samples them into a resource_sample that the
 * model holds and the Prometheus view renders under cAdvisor's metric names.
 */
#ifndef PODSCOPE_CADVISOR_H
#define PODSCOPE_CADVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

/* Where each controller's hierarchy is mounted ("" when absent). */
struct cgroup_roots {
	char v2[256];
	char cpuacct[256];
	char memory[256];
	char blkio[256];
};

struct cgroup_usage {
	bool has_cpu, has_memory, has_io;
	uint64_t cpu_ns;		/* cumulative CPU time of the cgroup */
	uint64_t mem_usage_bytes;	/* usage_in_bytes (v1) or memory.current (v2) */
	uint64_t mem_working_set_bytes; /* usage - inactive_file, as cAdvisor computes it */
	uint64_t mem_rss_bytes;		/* total_rss (v1) or anon (v2) */
	uint64_t mem_cache_bytes;	/* total_cache (v1) or file (v2) */
	uint64_t fs_read_bytes, fs_write_bytes;
	uint64_t fs_reads, fs_writes;
};

struct netdev_counters {
	char iface[32];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

#define NETDEV_MAX 8

/* One container's row of a sample. */
struct resource_container {
	char ns[POD_NAME_MAX];
	char pod[POD_NAME_MAX];
	char container[POD_NAME_MAX];
	struct cgroup_usage u;
};

/* One pod's network namespace. */
struct resource_pod_net {
	char ns[POD_NAME_MAX];
	char pod[POD_NAME_MAX];
	int ndevs;
	struct netdev_counters devs[NETDEV_MAX];
};

/* Everything sampled at one time; owned by whoever sampled it. */
struct resource_sample {
	int ncontainers;
	struct resource_container *containers;
	int npods;
	struct resource_pod_net *pods;
};

/*
 * cgroup_roots_from_mounts - fill @r from the text of /proc/self/mounts.
 * Prefers the v1 controller hierarchies when both exist (on a hybrid node
 * the controllers live there). Pure; returns 0 or -EINVAL.
 */
int cgroup_roots_from_mounts(const char *text, struct cgroup_roots *r);

/* Read /proc/self/mounts into @r. 0 or negative errno. */
int cgroup_roots_detect(struct cgroup_roots *r);

/*
 * cgroup_usage_read - read the usage of the cgroup at @path (relative to
 * each hierarchy, e.g. "/kubepods/burstable/pod<uid>/<id>"). Each group of
 * numbers comes from the v1 controller when it is mounted and has the
 * directory, else from the v2 hierarchy; has_* say which groups were found.
 * Returns 0 when anything was read, -ENOENT otherwise.
 */
int cgroup_usage_read(const struct cgroup_roots *r, const char *path, struct cgroup_usage *u);

/*
 * netdev_parse - parse /proc/net/dev text into at most @max devices,
 * skipping "lo". Returns the number of devices, or -EINVAL.
 */
int netdev_parse(const char *text, struct netdev_counters *out, int max);

/*
 * resource_sample__fill - sample every container of the pods of @set
 * marked in @keep (cgroup usage), and the network devices of each pod
 * (through the first live process of the pod, under @proc_root). Rows with
 * nothing readable are left out. Returns 0 or -ENOMEM.
 */
int resource_sample__fill(struct resource_sample *s, const struct cgroup_roots *r,
			  const char *proc_root, const struct target_set *set, const bool *keep);

/* Free the rows (not @s itself). NULL-safe. */
void resource_sample__clear(struct resource_sample *s);

#endif /* PODSCOPE_CADVISOR_H */
