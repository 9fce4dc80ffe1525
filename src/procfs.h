/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's own view of containers: parsers for /proc/<pid>/cgroup lines
 * (kubelet's cgroupfs and systemd drivers; containerd, CRI-O and Docker;
 * cgroup v1 and v2; nested under a node container as kind and minikube do)
 * and for the NSpid line of /proc/<pid>/status. Pure functions, unit-tested;
 * the /proc walking itself lives in target.c.
 */
#ifndef PODSCOPE_PROCFS_H
#define PODSCOPE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "podmeta.h"

struct cgroup_match {
	char pod_uid[POD_UID_MAX];	     /* normalized with dashes */
	char container_id[CONTAINER_ID_MAX]; /* lowercase hex, "" when the path ends at the pod */
	char runtime[16];		     /* "containerd", "cri-o", "docker" or "" (cgroupfs) */
	char qos[16];			     /* "guaranteed", "burstable", "besteffort" */
	bool systemd;			     /* systemd driver (.slice/.scope) */
	bool conmon;			     /* CRI-O's monitor, not the container itself */
};

/*
 * cgpath_parse - match one cgroup path against kubelet's layouts.
 * Returns 0 when @path is inside a pod's cgroup (container_id may be empty
 * for processes directly in the pod cgroup), -ENOENT when it is not a pod
 * cgroup, -EINVAL on NULL.
 */
int cgpath_parse(const char *path, struct cgroup_match *m);

/*
 * proc_cgroup_parse - parse the text of /proc/<pid>/cgroup.
 * Prefers the v2 line ("0::/path"), then any v1 line that matches a pod.
 * @path_out (optional) receives the matching cgroup path and @v2_out whether
 * it came from the v2 hierarchy. Returns 0, -ENOENT (no pod cgroup) or -EINVAL.
 */
int proc_cgroup_parse(const char *text, struct cgroup_match *m, char *path_out, size_t path_len,
		      bool *v2_out);

/*
 * nspid_parse - parse the "NSpid:" line of a /proc/<pid>/status text.
 * Fills @pids (outermost first: pids[0] is the root-namespace PID, the last
 * one the PID inside the innermost namespace) up to @max entries.
 * Returns the number of levels (>= 1), or -ENOENT when there is no NSpid line
 * (kernel < 4.1), -EINVAL when it is malformed.
 */
int nspid_parse(const char *status_text, pid_t *pids, int max);

/* Return the value of "Key:" in a /proc status text, copied into @out. 0 or -ENOENT. */
int status_field(const char *status_text, const char *key, char *out, size_t out_len);

#endif /* PODSCOPE_PROCFS_H */
