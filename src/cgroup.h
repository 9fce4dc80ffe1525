/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup hierarchy facts: which layout the node uses (v1, v2 or hybrid), where
 * the v2 hierarchy is mounted, and the 64-bit id of a v2 cgroup (what
 * bpf_get_current_cgroup_id() returns in the kernel).
 */
#ifndef PODSCOPE_CGROUP_H
#define PODSCOPE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

enum cgroup_layout {
	CGROUP_LAYOUT_UNKNOWN = 0,
	CGROUP_LAYOUT_V1,     /* only v1 controllers */
	CGROUP_LAYOUT_V2,     /* unified: /sys/fs/cgroup is cgroup2 */
	CGROUP_LAYOUT_HYBRID, /* v1 controllers plus a cgroup2 mount (e.g. .../unified) */
};

struct cgroup_info {
	enum cgroup_layout layout;
	char v2_path[256];  /* mount point of the v2 hierarchy, "" if none */
	int v1_count;	    /* number of v1 hierarchies mounted */
	char v1_names[512]; /* comma-separated v1 mount options (controllers) */
};

const char *cgroup_layout_name(enum cgroup_layout layout);

/*
 * cgroup_info_from_mountinfo - parse a /proc/<pid>/mountinfo text.
 * Pure function (unit-tested). Returns 0, or -EINVAL on unparseable input.
 */
int cgroup_info_from_mountinfo(const char *text, struct cgroup_info *info);

/* Read /proc/self/mountinfo and fill @info. Returns 0 or negative errno. */
int cgroup_info_read(struct cgroup_info *info);

/* 64-bit cgroup v2 id of the directory @path, or 0 with errno set. */
uint64_t cgroup_id_of_path(const char *path);

#endif /* PODSCOPE_CGROUP_H */
