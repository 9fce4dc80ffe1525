/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Target resolution: pods -> containers -> processes and threads, as podscope
 * watches them. The control plane (Kubernetes API, Docker-compatible API or a
 * PodList file) names things; the kernel's view (/proc/<pid>/cgroup, NSpid,
 * network namespaces) says which processes they are. Every PID here is a
 * root-namespace PID, the one BPF programs see.
 */
#ifndef PODSCOPE_TARGET_H
#define PODSCOPE_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "podmeta.h"
#include "sidecar.h"

#define TARGET_MAX_NS_LEVELS 8
#define TARGET_MAX_LISTEN    8

struct target_process {
	pid_t pid;			   /* root namespace (== tgid) */
	pid_t nspid[TARGET_MAX_NS_LEVELS]; /* NSpid: outermost first */
	int ns_levels;
	pid_t ppid;
	uid_t uid;
	char comm[16];
	int nthreads;
	pid_t *tids; /* root-namespace thread ids */
	uint16_t listen_ports[TARGET_MAX_LISTEN];
	int nlisten;
	uint64_t netns_ino;
};

struct target_container {
	struct container_meta meta; /* name, id, runtime */
	enum container_role role;
	char role_reason[64];
	char cgroup_path[1024]; /* within its hierarchy, e.g. /kubepods/burstable/pod<uid>/<id> */
	bool cgroup_v2;		/* cgroup_path is in the v2 hierarchy */
	uint64_t cgroup_id;	/* v2 cgroup id (bpf_get_current_cgroup_id()), 0 if none */
	int nprocs;
	struct target_process *procs;
};

struct target_pod {
	struct pod_meta meta; /* meta.containers unused here: see containers */
	bool name_known;      /* a control-plane source named this pod */
	uint64_t netns_ino;
	int ncontainers;
	struct target_container *containers;
};

enum target_source {
	TSRC_K8S = 0,
	TSRC_DOCKER,
	TSRC_PODS_FILE,
	TSRC_PROC,
	TSRC__COUNT,
};

struct target_source_status {
	bool tried;
	bool ok;
	char detail[256];
};

struct target_set {
	int npods;
	struct target_pod *pods;
	struct target_source_status sources[TSRC__COUNT];
};

const char *target_source_name(enum target_source src);

/*
 * target_set__scan_proc - the kernel's view: group every process under
 * @proc_root ("/proc") whose cgroup path is a pod's into pods and containers,
 * with threads, NSpid, uid, comm, netns and listening ports. Processes that
 * vanish mid-scan are skipped. @cgroup_v2_mount ("" if none) is used to
 * compute cgroup ids. Returns 0 or negative errno (only for ENOMEM or an
 * unreadable @proc_root).
 */
int target_set__scan_proc(struct target_set *set, const char *proc_root,
			  const char *cgroup_v2_mount);

/*
 * target_set__merge_meta - join control-plane metadata (names, namespaces,
 * IPs, container names) into pods found by uid and containers found by id.
 * Pods in @meta with no process on this node are added without containers'
 * processes. Returns 0 or -ENOMEM.
 */
int target_set__merge_meta(struct target_set *set, const struct pod_meta_list *meta);

/*
 * target_container__add_pid - add process @pid (read from @proc_root) to
 * @c unless it is there already. Returns 0, -ENOENT/-ESRCH if it vanished,
 * or -ENOMEM.
 */
int target_container__add_pid(struct target_container *c, const char *proc_root, pid_t pid);

/*
 * target_set__add_bare_pid - watch a process that is in no pod: it becomes
 * a pseudo pod "-/pid-<pid>" with one container "process". Returns 0,
 * -ENOENT/-ESRCH (no such process) or -ENOMEM; *@podp is the new pod.
 */
int target_set__add_bare_pid(struct target_set *set, const char *proc_root, pid_t pid,
			     struct target_pod **podp);

/*
 * target_pod__cgroup_v2_dir - the pod's cgroup v2 directory (the parent of
 * its containers' cgroups) under @v2_mount. 0, or -ENOENT when no container
 * of the pod has a v2 cgroup.
 */
int target_pod__cgroup_v2_dir(const struct target_pod *pod, const char *v2_mount, char *out,
			      size_t len);

/* Decide every container's role (see sidecar.c). */
void target_set__classify(struct target_set *set, const struct sidecar_overrides *ovr);

/* Find "namespace/name" (or "name" in namespace "default"). NULL if absent. */
struct target_pod *target_set__find_pod(struct target_set *set, const char *ns_name);

/* A live process of @pod in the pod's network namespace (to enter it), 0 if none. */
pid_t target_pod__netns_pid(const struct target_pod *pod);

/* Find the pod and container holding root-namespace PID @pid. false if none. */
bool target_set__find_pid(struct target_set *set, pid_t pid, struct target_pod **pod,
			  struct target_container **container);

/* Free all pods and reset the set (sources are kept). NULL-safe. */
void target_set__free(struct target_set *set);

#endif /* PODSCOPE_TARGET_H */
