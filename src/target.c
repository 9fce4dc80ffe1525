// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Building the target set from the kernel's view and joining the control
 * plane's names into it. /proc is a moving target: any process may exit
 * between two reads, so every per-process read tolerates ENOENT/ESRCH and the
 * process is then simply not part of this scan (the live tracker and the next
 * rescan keep the set current).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "procfs.h"
#include "sockdiag.h"
#include "target.h"
#include "watchset.h"

const char *target_source_name(enum target_source src)
{
	static const char *const names[TSRC__COUNT] = {
		[TSRC_K8S] = "k8s",
		[TSRC_DOCKER] = "docker",
		[TSRC_PODS_FILE] = "pods-file",
		[TSRC_PROC] = "proc",
	};

	return src < TSRC__COUNT ? names[src] : "?";
}

/* Read a whole small file into @buf (NUL-terminated). Returns length or -errno. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - (size_t)total);
		if (n < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Grow *arr (of *count elements of @size) by one zeroed element; returns it or NULL. */
static void *array_push(void **arr, int *count, size_t size)
{
	char *n = realloc(*arr, (size_t)(*count + 1) * size);

	if (!n)
		return NULL;
	memset(n + (size_t)*count * size, 0, size);
	*arr = n;
	return n + (size_t)(*count)++ * size;
}

static struct target_pod *find_pod_by_uid(struct target_set *set, const char *uid)
{
	int i;

	for (i = 0; i < set->npods; i++)
		if (!strcmp(set->pods[i].meta.uid, uid))
			return &set->pods[i];
	return NULL;
}

static struct target_container *find_container_by_id(struct target_pod *pod, const char *id)
{
	int i;

	for (i = 0; i < pod->ncontainers; i++)
		if (!strcmp(pod->containers[i].meta.id, id))
			return &pod->containers[i];
	return NULL;
}

/* Read the facts of one process; -ENOENT/-ESRCH when it vanished meanwhile. */
static int read_process(const char *proc_root, pid_t pid, struct target_process *p)
{
	char path[256], status[4096], field[128];
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *dir;
	int levels;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	n = read_small_file(path, status, sizeof(status));
	if (n < 0)
		return (int)n;
	p->pid = pid;
	/* a zombie has exited: it holds no sockets and must not be watched */
	if (!status_field(status, "State", field, sizeof(field)) &&
	    (field[0] == 'Z' || field[0] == 'X'))
		return -ESRCH;
	if (!status_field(status, "Name", field, sizeof(field)))
		comm_sanitize(p->comm, field);
	if (!status_field(status, "PPid", field, sizeof(field)))
		p->ppid = (pid_t)atoi(field);
	if (!status_field(status, "Uid", field, sizeof(field))) {
		unsigned int ruid, euid;

		if (sscanf(field, "%u %u", &ruid, &euid) == 2)
			p->uid = euid;
	}
	levels = nspid_parse(status, p->nspid, TARGET_MAX_NS_LEVELS);
	if (levels < 1) {
		p->nspid[0] = pid;
		levels = 1;
	}
	p->ns_levels = levels;

	snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, pid);
	if (!stat(path, &st))
		p->netns_ino = st.st_ino;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		pid_t *slot;

		if (!is_pid_name(de->d_name))
			continue;
		slot = array_push((void **)&p->tids, &p->nthreads, sizeof(*slot));
		if (!slot) {
			closedir(dir);
			return -ENOMEM;
		}
		*slot = (pid_t)atoi(de->d_name);
	}
	closedir(dir);
	return 0;
}

static void process_free(struct target_process *p)
{
	free(p->tids);
	p->tids = NULL;
	p->nthreads = 0;
}

/*
 * LISTEN sockets of one netns: inode -> port. On the live /proc by socket
 * diagnostics (listening sockets only, see sockdiag.h); from <pid>/net/tcp
 * and tcp6 under another proc root, or when that fails.
 */
struct listen_entry {
	uint64_t netns_ino;
	unsigned long inode;
	uint16_t port;
};

struct listen_table {
	int count;
	struct listen_entry *entries;
	int nnetns;
	uint64_t *netns_seen;
};

struct listen_diag_ctx {
	struct listen_table *lt;
	uint64_t netns_ino;
};

static int listen_diag_add(void *ctx, const struct sockdiag_sock *s)
{
	struct listen_diag_ctx *d = ctx;
	struct listen_entry *e;

	e = array_push((void **)&d->lt->entries, &d->lt->count, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->netns_ino = d->netns_ino;
	e->inode = s->inode;
	e->port = s->lport;
	return 0;
}

static int listen_table_add_netns(struct listen_table *lt, const char *proc_root, pid_t pid,
				  uint64_t netns_ino)
{
	static const char *const files[] = {"tcp", "tcp6"};
	uint64_t *seen;
	size_t f;
	int i;

	for (i = 0; i < lt->nnetns; i++)
		if (lt->netns_seen[i] == netns_ino)
			return 0;
	seen = array_push((void **)&lt->netns_seen, &lt->nnetns, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	*seen = netns_ino;
	if (!strcmp(proc_root, "/proc")) {
		struct listen_diag_ctx d = {.lt = lt, .netns_ino = netns_ino};
		int saved = lt->count, rc = sockdiag_tcp(pid, SOCKDIAG_LISTEN, listen_diag_add, &d);

		if (rc >= 0 || rc == -ENOMEM)
			return rc < 0 ? rc : 0;
		if (rc == -ENOENT)
			return 0; /* the process is gone: its netns may be too */
		pr_debug("socket diagnostics for pid %d: %s; reading /proc/%d/net/tcp", pid,
			 strerror(-rc), pid);
		lt->count = saved;
	}
	for (f = 0; f < 2; f++) {
		char path[256], line[512];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%d/net/%s", proc_root, pid, files[f]);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			unsigned int port, state;
			unsigned long inode;
			struct listen_entry *e;
			char local[64];

			/* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu",
				   local, &port, &state, &inode) != 4)
				continue;
			if (state != 0x0A) /* TCP_LISTEN */
				continue;
			e = array_push((void **)&lt->entries, &lt->count, sizeof(*e));
			if (!e) {
				fclose(fp);
				return -ENOMEM;
			}
			e->netns_ino = netns_ino;
			e->inode = inode;
			e->port = (uint16_t)port;
		}
		fclose(fp);
	}
	return 0;
}

static void process_find_listens(struct target_process *p, const char *proc_root,
				 const struct listen_table *lt)
{
	char path[256], link[64];
	struct dirent *de;
	DIR *dir;
	int i;

	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, p->pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && p->nlisten < TARGET_MAX_LISTEN) {
		unsigned long inode;
		ssize_t n;

		if (!is_pid_name(de->d_name))
			continue;
		n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (i = 0; i < lt->count; i++) {
			int k;
			bool dup = false;

			if (lt->entries[i].inode != inode ||
			    lt->entries[i].netns_ino != p->netns_ino)
				continue;
			for (k = 0; k < p->nlisten; k++)
				dup |= p->listen_ports[k] == lt->entries[i].port;
			if (!dup && p->nlisten < TARGET_MAX_LISTEN)
				p->listen_ports[p->nlisten++] = lt->entries[i].port;
		}
	}
	closedir(dir);
}

static int add_process(struct target_set *set, const struct cgroup_match *m, const char *cg_path,
		       bool v2, const char *v2_mount, struct target_process *proc)
{
	struct target_pod *pod = find_pod_by_uid(set, m->pod_uid);
	struct target_container *c;
	struct target_process *slot;

	if (!pod) {
		pod = array_push((void **)&set->pods, &set->npods, sizeof(*pod));
		if (!pod)
			return -ENOMEM;
		snprintf(pod->meta.uid, sizeof(pod->meta.uid), "%s", m->pod_uid);
		pod->netns_ino = proc->netns_ino;
	}
	c = find_container_by_id(pod, m->container_id);
	if (!c) {
		c = array_push((void **)&pod->containers, &pod->ncontainers, sizeof(*c));
		if (!c)
			return -ENOMEM;
		snprintf(c->meta.id, sizeof(c->meta.id), "%s", m->container_id);
		snprintf(c->meta.runtime, sizeof(c->meta.runtime), "%s", m->runtime);
		snprintf(c->cgroup_path, sizeof(c->cgroup_path), "%s", cg_path);
		c->cgroup_v2 = v2;
		if (v2 && v2_mount && v2_mount[0]) {
			char dir[4096];

			snprintf(dir, sizeof(dir), "%s%s", v2_mount, cg_path);
			c->cgroup_id = cgroup_id_of_path(dir);
		}
	}
	slot = array_push((void **)&c->procs, &c->nprocs, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = *proc;
	return 0;
}

int target_set__scan_proc(struct target_set *set, const char *proc_root,
			  const char *cgroup_v2_mount)
{
	struct listen_table lt = {0};
	struct dirent *de;
	int err = 0, i, j, k;
	DIR *dir;

	dir = opendir(proc_root);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[256], text[8192], cg_path[1024];
		struct target_process proc = {0};
		struct cgroup_match m;
		bool v2 = false;
		pid_t pid;
		int rc;

		if (!is_pid_name(de->d_name))
			continue;
		pid = (pid_t)atoi(de->d_name);
		snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, pid);
		if (read_small_file(path, text, sizeof(text)) < 0)
			continue; /* vanished, or a kernel thread we may not read */
		if (proc_cgroup_parse(text, &m, cg_path, sizeof(cg_path), &v2))
			continue;
		if (m.conmon || !m.container_id[0])
			continue; /* runtime monitor or pod-level process: not a container's */
		rc = read_process(proc_root, pid, &proc);
		if (rc == -ENOMEM) {
			err = rc;
			process_free(&proc);
			break;
		}
		if (rc) {
			pr_debug("pid %d vanished during the scan (%s): skipped", pid,
				 strerror(-rc));
			process_free(&proc);
			continue;
		}
		rc = add_process(set, &m, cg_path, v2, cgroup_v2_mount, &proc);
		if (rc) {
			process_free(&proc);
			err = rc;
			break;
		}
	}
	closedir(dir);

	/* Second pass: listening ports, one /proc/<pid>/net/tcp read per netns. */
	for (i = 0; !err && i < set->npods; i++)
		for (j = 0; !err && j < set->pods[i].ncontainers; j++) {
			struct target_container *c = &set->pods[i].containers[j];

			for (k = 0; !err && k < c->nprocs; k++)
				err = listen_table_add_netns(&lt, proc_root, c->procs[k].pid,
							     c->procs[k].netns_ino);
			for (k = 0; !err && k < c->nprocs; k++)
				process_find_listens(&c->procs[k], proc_root, &lt);
		}
	free(lt.entries);
	free(lt.netns_seen);
	set->sources[TSRC_PROC].tried = true;
	set->sources[TSRC_PROC].ok = !err;
	snprintf(set->sources[TSRC_PROC].detail, sizeof(set->sources[TSRC_PROC].detail),
		 "%d pods with running containers in %s/*/cgroup", set->npods, proc_root);
	return err;
}

int target_container__add_pid(struct target_container *c, const char *proc_root, pid_t pid)
{
	struct target_process proc = {0}, *slot;
	int i, rc;

	for (i = 0; i < c->nprocs; i++)
		if (c->procs[i].pid == pid)
			return 0;
	rc = read_process(proc_root, pid, &proc);
	if (rc) {
		process_free(&proc);
		return rc;
	}
	slot = array_push((void **)&c->procs, &c->nprocs, sizeof(*slot));
	if (!slot) {
		process_free(&proc);
		return -ENOMEM;
	}
	*slot = proc;
	return 0;
}

int target_set__add_bare_pid(struct target_set *set, const char *proc_root, pid_t pid,
			     struct target_pod **podp)
{
	struct target_container *c;
	struct target_pod *pod;
	int rc;

	pod = array_push((void **)&set->pods, &set->npods, sizeof(*pod));
	if (!pod)
		return -ENOMEM;
	snprintf(pod->meta.uid, sizeof(pod->meta.uid), "pid-%d", pid);
	snprintf(pod->meta.name, sizeof(pod->meta.name), "pid-%d", pid);
	snprintf(pod->meta.namespace_, sizeof(pod->meta.namespace_), "-");
	pod->name_known = true;
	c = array_push((void **)&pod->containers, &pod->ncontainers, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->meta.name, sizeof(c->meta.name), "process");
	rc = target_container__add_pid(c, proc_root, pid);
	if (rc)
		return rc;
	pod->netns_ino = c->procs[0].netns_ino;
	*podp = pod;
	return 0;
}

int target_pod__cgroup_v2_dir(const struct target_pod *pod, const char *v2_mount, char *out,
			      size_t len)
{
	int i;

	for (i = 0; i < pod->ncontainers; i++) {
		const struct target_container *c = &pod->containers[i];
		const char *slash;

		if (!c->cgroup_v2 || !c->cgroup_path[0])
			continue;
		slash = strrchr(c->cgroup_path, '/');
		if (!slash || slash == c->cgroup_path)
			continue;
		snprintf(out, len, "%s%.*s", v2_mount, (int)(slash - c->cgroup_path),
			 c->cgroup_path);
		return 0;
	}
	return -ENOENT;
}

int target_set__merge_meta(struct target_set *set, const struct pod_meta_list *meta)
{
	int i, j;

	for (i = 0; meta && i < meta->count; i++) {
		const struct pod_meta *pm = &meta->pods[i];
		struct target_pod *pod = pm->uid[0] ? find_pod_by_uid(set, pm->uid) : NULL;

		if (!pod) {
			pod = array_push((void **)&set->pods, &set->npods, sizeof(*pod));
			if (!pod)
				return -ENOMEM;
		}
		pod->meta = *pm;
		pod->meta.containers = NULL;
		pod->meta.container_count = 0;
		pod->name_known = true;
		for (j = 0; j < pm->container_count; j++) {
			const struct container_meta *cm = &pm->containers[j];
			struct target_container *c = cm->id[0] ? find_container_by_id(pod, cm->id)
							       : NULL;

			if (!c) {
				c = array_push((void **)&pod->containers, &pod->ncontainers,
					       sizeof(*c));
				if (!c)
					return -ENOMEM;
			}
			c->meta = *cm;
		}
	}
	return 0;
}

void target_set__classify(struct target_set *set, const struct sidecar_overrides *ovr)
{
	int i, j, k;

	for (i = 0; i < set->npods; i++)
		for (j = 0; j < set->pods[i].ncontainers; j++) {
			struct target_container *c = &set->pods[i].containers[j];
			struct sidecar_proc_view views[64];
			int n = c->nprocs < 64 ? c->nprocs : 64;

			for (k = 0; k < n; k++) {
				views[k].comm = c->procs[k].comm;
				views[k].uid = c->procs[k].uid;
				views[k].listen_ports = c->procs[k].listen_ports;
				views[k].nlisten = c->procs[k].nlisten;
			}
			c->role = sidecar_classify(c->meta.name, views, n, ovr, c->role_reason,
						   sizeof(c->role_reason));
		}
}

pid_t target_pod__netns_pid(const struct target_pod *pod)
{
	for (int c = 0; c < pod->ncontainers; c++)
		for (int p = 0; p < pod->containers[c].nprocs; p++)
			if (pod->containers[c].procs[p].netns_ino == pod->netns_ino)
				return pod->containers[c].procs[p].pid;
	return 0;
}

struct target_pod *target_set__find_pod(struct target_set *set, const char *ns_name)
{
	const char *slash = strchr(ns_name, '/');
	const char *ns = "default", *name = ns_name;
	char nsbuf[POD_NAME_MAX];
	int i;

	if (slash) {
		snprintf(nsbuf, sizeof(nsbuf), "%.*s", (int)(slash - ns_name), ns_name);
		ns = nsbuf;
		name = slash + 1;
	}
	for (i = 0; i < set->npods; i++) {
		struct target_pod *pod = &set->pods[i];

		if (pod->name_known && !strcmp(pod->meta.namespace_, ns) &&
		    !strcmp(pod->meta.name, name))
			return pod;
	}
	return NULL;
}

bool target_set__find_pid(struct target_set *set, pid_t pid, struct target_pod **podp,
			  struct target_container **containerp)
{
	int i, j, k;

	for (i = 0; i < set->npods; i++)
		for (j = 0; j < set->pods[i].ncontainers; j++)
			for (k = 0; k < set->pods[i].containers[j].nprocs; k++)
				if (set->pods[i].containers[j].procs[k].pid == pid) {
					if (podp)
						*podp = &set->pods[i];
					if (containerp)
						*containerp = &set->pods[i].containers[j];
					return true;
				}
	return false;
}

void target_set__free(struct target_set *set)
{
	int i, j, k;

	if (!set)
		return;
	for (i = 0; i < set->npods; i++) {
		for (j = 0; j < set->pods[i].ncontainers; j++) {
			struct target_container *c = &set->pods[i].containers[j];

			for (k = 0; k < c->nprocs; k++)
				process_free(&c->procs[k]);
			free(c->procs);
		}
		free(set->pods[i].containers);
	}
	free(set->pods);
	set->pods = NULL;
	set->npods = 0;
}
