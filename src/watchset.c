// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Keeping the watched set current. The tracker's BPF programs add processes
 * as they fork, exec or move into a watched cgroup and drop them when they
 * exit; events already delivered win over a rescan, which only fills what
 * the events missed (processes of containers that appeared later, or
 * events lost to a full ring buffer) and removes what is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "log.h"
#include "watchset.h"

struct watchset {
	const struct resolve_opts *ro;
	uint64_t generation; /* bumped when a rescan starts */
	struct tracker *tracker;
	struct watch_container *wc;
	int nwc;
	struct watch_process *procs;
	int nprocs;
	char **uids; /* watched pods */
	int nuids;
	uint64_t rescan_ns, next_rescan;
	watchset_proc_fn fn;
	void *ctx;
	int err;
};

static int container_index(struct watchset *ws, const struct target_pod *pod,
			   const struct target_container *c)
{
	struct watch_container *n;
	int i;

	for (i = 0; i < ws->nwc; i++)
		if (!strcmp(ws->wc[i].pod_uid, pod->meta.uid) && !strcmp(ws->wc[i].id, c->meta.id))
			return i;
	n = realloc(ws->wc, (size_t)(ws->nwc + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	ws->wc = n;
	n = &ws->wc[ws->nwc];
	memset(n, 0, sizeof(*n));
	snprintf(n->pod_uid, sizeof(n->pod_uid), "%s", pod->meta.uid);
	snprintf(n->id, sizeof(n->id), "%s", c->meta.id);
	if (pod->name_known) {
		snprintf(n->pod, sizeof(n->pod), "%s/%s", pod->meta.namespace_, pod->meta.name);
		snprintf(n->ns, sizeof(n->ns), "%s", pod->meta.namespace_);
		snprintf(n->pod_name, sizeof(n->pod_name), "%s", pod->meta.name);
	} else {
		snprintf(n->pod, sizeof(n->pod), "?/pod%.8s", pod->meta.uid);
		snprintf(n->pod_name, sizeof(n->pod_name), "pod%.8s", pod->meta.uid);
	}
	snprintf(n->name, sizeof(n->name), "%s", c->meta.name[0] ? c->meta.name : "?");
	n->role = c->role;
	return ws->nwc++;
}

static struct watch_process *find_proc(const struct watchset *ws, pid_t pid)
{
	int i;

	for (i = 0; i < ws->nprocs; i++)
		if (ws->procs[i].pid == pid)
			return &ws->procs[i];
	return NULL;
}

/* Task names are bytes: keep printable ASCII so every output stays valid (JSON is UTF-8). */
void comm_sanitize(char dst[16], const char *src)
{
	int i;

	for (i = 0; i < 15 && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static struct watch_process *add_proc(struct watchset *ws, pid_t pid, uint32_t idx,
				      const char *comm)
{
	struct watch_process *n = realloc(ws->procs, (size_t)(ws->nprocs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	ws->procs = n;
	n = &ws->procs[ws->nprocs++];
	n->pid = pid;
	n->idx = idx;
	n->gen = ws->generation;
	comm_sanitize(n->comm, comm);
	return n;
}

static void remove_proc(struct watchset *ws, struct watch_process *p)
{
	*p = ws->procs[--ws->nprocs];
}

static void on_target_event(void *ctx, const struct target_event *e)
{
	static const char *const why[] = {[TEV_FORK] = "fork",
					  [TEV_EXEC] = "exec",
					  [TEV_EXIT] = "exit",
					  [TEV_ATTACH] = "cgroup-attach"};
	struct watchset *ws = ctx;
	struct watch_process *p = find_proc(ws, (pid_t)e->tgid);
	char comm[16];

	if (e->type < TEV_FORK || e->type > TEV_ATTACH)
		return;
	snprintf(comm, sizeof(comm), "%.15s", e->comm);
	if (e->type == TEV_EXIT) {
		if (p) {
			struct watch_process gone = *p;

			remove_proc(ws, p);
			ws->fn(ws->ctx, "exit", why[e->type], &gone, 0);
		}
		return;
	}
	if (p) {
		if (e->type == TEV_EXEC) /* same process, new program */
			comm_sanitize(p->comm, comm);
		return;
	}
	p = add_proc(ws, (pid_t)e->tgid, e->container_idx, comm);
	if (!p) {
		ws->err = -ENOMEM;
		return;
	}
	ws->fn(ws->ctx, "start", why[e->type], p, (pid_t)e->parent_tgid);
}

/* Put every process of the kept pods into the kernel-side target set. */
static int sync_set(struct watchset *ws, const struct target_set *set, const bool *keep,
		    bool announce)
{
	int i, j, k, idx, rc;

	for (i = 0; i < set->npods; i++) {
		if (!keep[i])
			continue;
		for (j = 0; j < set->pods[i].ncontainers; j++) {
			const struct target_container *c = &set->pods[i].containers[j];
			uint32_t flags = c->role == ROLE_SIDECAR ? TARGET_F_SIDECAR : 0;

			idx = container_index(ws, &set->pods[i], c);
			if (idx < 0)
				return idx;
			if (c->cgroup_id) {
				rc = tracker__add_cgroup(ws->tracker, c->cgroup_id, (uint32_t)idx,
							 flags);
				if (rc)
					return rc;
			}
			for (k = 0; k < c->nprocs; k++) {
				const struct target_process *tp = &c->procs[k];
				struct watch_process *p;

				if (find_proc(ws, tp->pid))
					continue;
				rc = ws->tracker ? tracker__add_tgid(ws->tracker, tp->pid,
								     (uint32_t)idx, flags)
						 : 0;
				if (rc)
					return rc;
				p = add_proc(ws, tp->pid, (uint32_t)idx, tp->comm);
				if (!p)
					return -ENOMEM;
				if (announce)
					ws->fn(ws->ctx, "start", "rescan", p, 0);
			}
		}
	}
	return 0;
}

/* Forget processes a rescan no longer finds in the watched pods. */
/* true when /proc says the process is gone (or a zombie). */
static bool process_gone(pid_t pid)
{
	char path[64], buf[256], *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/*
 * Forget processes a rescan no longer finds in the watched pods: only those
 * known before the scan began (newer ones may simply postdate it), and only
 * when they are really gone or now belong to a pod we do not watch.
 */
static void prune(struct watchset *ws, struct target_set *set, uint64_t scan_gen)
{
	int i = 0, u;

	while (i < ws->nprocs) {
		struct watch_process *p = &ws->procs[i], gone;
		struct target_pod *pod = NULL;
		bool kept = false, found;

		found = target_set__find_pid(set, p->pid, &pod, NULL);
		if (found)
			for (u = 0; u < ws->nuids; u++)
				kept |= !strcmp(ws->uids[u], pod->meta.uid);
		if (kept || p->gen >= scan_gen || (!found && !process_gone(p->pid))) {
			i++;
			continue;
		}
		gone = *p;
		tracker__remove_tgid(ws->tracker, p->pid);
		remove_proc(ws, p);
		ws->fn(ws->ctx, "exit", "rescan", &gone, 0);
	}
}

static int rescan(struct watchset *ws)
{
	uint64_t scan_gen = ++ws->generation;
	struct target_set fresh;
	char err[512];
	bool *keep;
	int j, u, rc;

	if (target_resolve(ws->ro, &fresh, err, sizeof(err))) {
		pr_warn("rescan failed, keeping the current set: %s", err);
		return 0;
	}
	keep = calloc((size_t)fresh.npods + 1, sizeof(*keep));
	if (!keep) {
		target_set__free(&fresh);
		return -ENOMEM;
	}
	for (j = 0; j < fresh.npods; j++)
		for (u = 0; u < ws->nuids; u++)
			keep[j] |= !strcmp(ws->uids[u], fresh.pods[j].meta.uid);
	/* events already delivered win: drain before comparing */
	tracker__poll(ws->tracker, 0);
	rc = sync_set(ws, &fresh, keep, true);
	if (!rc)
		prune(ws, &fresh, scan_gen);
	free(keep);
	target_set__free(&fresh);
	return rc;
}

static struct watchset *watchset_create(const struct resolve_opts *ro, const struct target_set *set,
					const bool *keep, uint64_t rescan_ns, watchset_proc_fn fn,
					void *ctx, bool live, unsigned flags)
{
	struct watchset *ws = calloc(1, sizeof(*ws));
	int i, rc;

	if (!ws)
		return NULL;
	ws->ro = ro;
	ws->fn = fn;
	ws->ctx = ctx;
	ws->rescan_ns = rescan_ns;
	ws->next_rescan = cli_now_ns() + rescan_ns;
	ws->uids = calloc((size_t)set->npods + 1, sizeof(*ws->uids));
	if (!ws->uids)
		goto nomem;
	for (i = 0; i < set->npods; i++)
		if (keep[i]) {
			ws->uids[ws->nuids] = strdup(set->pods[i].meta.uid);
			if (!ws->uids[ws->nuids++])
				goto nomem;
		}
	ws->tracker = live ? tracker__new(on_target_event, ws, flags & WATCHSET_ONCPU) : NULL;
	if (live && !ws->tracker) {
		rc = errno;
		watchset__free(ws);
		errno = rc;
		return NULL;
	}
	rc = sync_set(ws, set, keep, false);
	if (rc) {
		pr_error("filling the target set: %s", strerror(-rc));
		watchset__free(ws);
		errno = -rc;
		return NULL;
	}
	return ws;
nomem:
	watchset__free(ws);
	errno = ENOMEM;
	return NULL;
}

struct watchset *watchset__new(const struct resolve_opts *ro, const struct target_set *set,
			       const bool *keep, uint64_t rescan_ns, watchset_proc_fn fn, void *ctx,
			       unsigned flags)
{
	return watchset_create(ro, set, keep, rescan_ns, fn, ctx, true, flags);
}

struct watchset *watchset__new_offline(const struct target_set *set, const bool *keep)
{
	return watchset_create(NULL, set, keep, 0, NULL, NULL, false, 0);
}

int watchset__poll(struct watchset *ws, int timeout_ms)
{
	int rc = ws->tracker ? tracker__poll(ws->tracker, timeout_ms) : 0;
	uint64_t t;

	if (rc < 0)
		return rc;
	if (ws->err)
		return ws->err;
	t = cli_now_ns();
	if (ws->rescan_ns && t >= ws->next_rescan) {
		ws->next_rescan = t + ws->rescan_ns;
		return rescan(ws);
	}
	return 0;
}

int watchset__epoll_fd(const struct watchset *ws)
{
	return ws->tracker ? tracker__epoll_fd(ws->tracker) : -1;
}

struct tracker *watchset__tracker(struct watchset *ws)
{
	return ws->tracker;
}

int watchset__ncontainers(const struct watchset *ws)
{
	return ws->nwc;
}

const struct watch_container *watchset__container(const struct watchset *ws, uint32_t idx)
{
	return idx < (uint32_t)ws->nwc ? &ws->wc[idx] : NULL;
}

int watchset__nprocesses(const struct watchset *ws)
{
	return ws->nprocs;
}

const struct watch_process *watchset__process(const struct watchset *ws, int i)
{
	return i >= 0 && i < ws->nprocs ? &ws->procs[i] : NULL;
}

const struct watch_process *watchset__find_pid(const struct watchset *ws, pid_t pid)
{
	return find_proc(ws, pid);
}

int watchset__npods(const struct watchset *ws)
{
	return ws->nuids;
}

const char *watchset__pod_uid(const struct watchset *ws, int i)
{
	return i >= 0 && i < ws->nuids ? ws->uids[i] : NULL;
}

int watchset__add_pod(struct watchset *ws, const struct target_set *set, int i)
{
	char **uids;
	bool *keep;
	int u, rc;

	if (i < 0 || i >= set->npods)
		return -EINVAL;
	for (u = 0; u < ws->nuids; u++)
		if (!strcmp(ws->uids[u], set->pods[i].meta.uid))
			return -EEXIST;
	uids = realloc(ws->uids, (size_t)(ws->nuids + 2) * sizeof(*uids));
	if (!uids)
		return -ENOMEM;
	ws->uids = uids;
	ws->uids[ws->nuids] = strdup(set->pods[i].meta.uid);
	if (!ws->uids[ws->nuids])
		return -ENOMEM;
	ws->nuids++;
	keep = calloc((size_t)set->npods, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	keep[i] = true;
	rc = sync_set(ws, set, keep, ws->fn != NULL);
	free(keep);
	return rc;
}

int watchset__remove_pod(struct watchset *ws, const char *uid, const struct target_pod *pod)
{
	int i, u;

	for (u = 0; u < ws->nuids; u++)
		if (!strcmp(ws->uids[u], uid))
			break;
	if (u == ws->nuids)
		return -ENOENT;
	free(ws->uids[u]);
	ws->uids[u] = ws->uids[--ws->nuids];
	for (i = 0; pod && ws->tracker && i < pod->ncontainers; i++) {
		uint64_t id = pod->containers[i].cgroup_id;

		if (id)
			bpf_map_delete_elem(tracker__cgroups_fd(ws->tracker), &id);
	}
	i = 0;
	while (i < ws->nprocs) {
		struct watch_process gone = ws->procs[i];

		if (gone.idx >= (uint32_t)ws->nwc || strcmp(ws->wc[gone.idx].pod_uid, uid)) {
			i++;
			continue;
		}
		if (ws->tracker)
			tracker__remove_tgid(ws->tracker, gone.pid);
		remove_proc(ws, &ws->procs[i]);
		if (ws->fn)
			ws->fn(ws->ctx, "exit", "removed", &gone, 0);
	}
	return 0;
}

void watchset__free(struct watchset *ws)
{
	int i;

	if (!ws)
		return;
	tracker__free(ws->tracker);
	for (i = 0; i < ws->nuids; i++)
		free(ws->uids[i]);
	free(ws->uids);
	free(ws->wc);
	free(ws->procs);
	free(ws);
}
