// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `podscope pods`: the pods on this node, their containers, roles and PIDs,
 * as a table or JSON; with --follow, processes that start, fork, exec or
 * exit afterwards are reported live from the BPF target tracker, with a
 * periodic /proc rescan as a safety net.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cgroup.h"
#include "cli.h"
#include "log.h"
#include "pods_cmd.h"
#include "resolve.h"
#include "tracker.h"

#define MAX_SELECT 16

struct pods_opts {
	struct resolve_opts resolve;
	const char *pods[MAX_SELECT];
	int npods;
	pid_t pids[MAX_SELECT];
	int npids;
	const char *cgroups[MAX_SELECT];
	int ncgroups;
	const char *netns[MAX_SELECT];
	int nnetns;
	const char *sidecar_names[MAX_SELECT];
	bool json;
	bool follow;
	uint64_t duration_ns; /* 0: until interrupted */
	uint64_t rescan_ns;
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static const char pods_usage[] =
	"Usage: podscope pods [options]\n"
	"\n"
	"List the pods on this node with their containers, roles (sidecar/app/other)\n"
	"and processes (root-namespace PIDs), found from the Kubernetes API, a\n"
	"Docker-compatible API and always the kernel's own view (/proc cgroups).\n"
	"\n"
	"Selection (repeatable; default: every pod found):\n"
	"  --pod NS/NAME           a pod by namespace/name (NAME alone: namespace default)\n"
	"  --pid PID               the pod holding this process\n"
	"  --cgroup PATH           the pod holding this cgroup (path in the hierarchy,\n"
	"                          or a directory under /sys/fs/cgroup)\n"
	"  --netns PATH            the pod using this network namespace (e.g. /run/netns/X)\n"
	"Sources:\n"
	"  --source auto|k8s|docker|proc   which sources to use (default auto)\n"
	"  --kubeconfig FILE       Kubernetes API from this kubeconfig\n"
	"  --docker-socket PATH    Docker-compatible API socket (default /var/run/docker.sock)\n"
	"  --pods-file FILE        pod names from a PodList JSON file (e.g. lab status --json)\n"
	"  --node NAME             node whose pods to list (default $NODE_NAME or hostname)\n"
	"Classification:\n"
	"  --sidecar-container NAME  exactly these containers are sidecars (repeatable)\n"
	"Output:\n"
	"  --json                  one JSON document (schema podscope.pods/v1)\n"
	"  --follow                keep running and report processes that start or exit\n"
	"  --duration D            with --follow: stop after D (e.g. 30s; default: Ctrl-C)\n"
	"  --rescan D              with --follow: /proc rescan interval (default 5s)\n"
	"  -v, --verbose           report each source and why each role was chosen\n"
	"  -h, --help              this text\n";

/* Returns 0, EXIT_USAGE after printing the error, or -1 when --help was printed. */
static int parse_args(int argc, char **argv, struct pods_opts *o)
{
	enum {
		OPT_POD = 256,
		OPT_PID,
		OPT_CGROUP,
		OPT_NETNS,
		OPT_SOURCE,
		OPT_KUBECONFIG,
		OPT_DOCKER,
		OPT_PODS_FILE,
		OPT_NODE,
		OPT_SIDECAR,
		OPT_JSON,
		OPT_FOLLOW,
		OPT_DURATION,
		OPT_RESCAN,
	};
	static const struct option opts[] = {
		{"pod", required_argument, NULL, OPT_POD},
		{"pid", required_argument, NULL, OPT_PID},
		{"cgroup", required_argument, NULL, OPT_CGROUP},
		{"netns", required_argument, NULL, OPT_NETNS},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
		{"docker-socket", required_argument, NULL, OPT_DOCKER},
		{"pods-file", required_argument, NULL, OPT_PODS_FILE},
		{"node", required_argument, NULL, OPT_NODE},
		{"sidecar-container", required_argument, NULL, OPT_SIDECAR},
		{"json", no_argument, NULL, OPT_JSON},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"rescan", required_argument, NULL, OPT_RESCAN},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	int c;

	o->rescan_ns = 5000000000ULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_POD:
			if (o->npods == MAX_SELECT)
				return cli_usage_error("pods", "too many --pod (max %d)",
						       MAX_SELECT);
			if (!optarg[0] || optarg[strlen(optarg) - 1] == '/')
				return cli_usage_error(
					"pods", "bad --pod '%s': want NAMESPACE/NAME", optarg);
			o->pods[o->npods++] = optarg;
			break;
		case OPT_PID:
			if (cli_parse_u64(optarg, 1, 0x3fffffff, &v))
				return cli_usage_error("pods", "bad --pid '%s'", optarg);
			if (o->npids == MAX_SELECT)
				return cli_usage_error("pods", "too many --pid (max %d)",
						       MAX_SELECT);
			o->pids[o->npids++] = (pid_t)v;
			break;
		case OPT_CGROUP:
			if (o->ncgroups == MAX_SELECT)
				return cli_usage_error("pods", "too many --cgroup (max %d)",
						       MAX_SELECT);
			o->cgroups[o->ncgroups++] = optarg;
			break;
		case OPT_NETNS:
			if (o->nnetns == MAX_SELECT)
				return cli_usage_error("pods", "too many --netns (max %d)",
						       MAX_SELECT);
			o->netns[o->nnetns++] = optarg;
			break;
		case OPT_SOURCE:
			if (source_choice_parse(optarg, &o->resolve.source))
				return cli_usage_error("pods",
						       "bad --source '%s': want auto, k8s, "
						       "docker or proc",
						       optarg);
			break;
		case OPT_KUBECONFIG:
			o->resolve.kubeconfig = optarg;
			break;
		case OPT_DOCKER:
			o->resolve.docker_socket = optarg;
			break;
		case OPT_PODS_FILE:
			o->resolve.pods_file = optarg;
			break;
		case OPT_NODE:
			o->resolve.node_name = optarg;
			break;
		case OPT_SIDECAR:
			if (o->resolve.sidecars.count == MAX_SELECT)
				return cli_usage_error("pods", "too many --sidecar-container");
			o->sidecar_names[o->resolve.sidecars.count++] = optarg;
			o->resolve.sidecars.sidecar_containers = o->sidecar_names;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_FOLLOW:
			o->follow = true;
			break;
		case OPT_DURATION:
			if (cli_parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns)
				return cli_usage_error("pods", "bad --duration '%s' (e.g. 30s, 2m)",
						       optarg);
			break;
		case OPT_RESCAN:
			if (cli_parse_duration_ns(optarg, &o->rescan_ns) ||
			    o->rescan_ns < 100000000ULL)
				return cli_usage_error("pods", "bad --rescan '%s' (>= 100ms)",
						       optarg);
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(pods_usage, stdout);
			return -1;
		default:
			return cli_bad_option("pods", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("pods", "unexpected argument '%s'", argv[optind]);
	if ((o->duration_ns) && !o->follow)
		return cli_usage_error("pods", "--duration needs --follow");
	return 0;
}

/* "/sys/fs/cgroup/<hierarchy>/<path>" or "<v2 mount>/<path>" -> "/<path>". */
static const char *cgroup_relative(const char *path, const struct cgroup_info *cg)
{
	size_t n;

	if (cg->v2_path[0]) {
		n = strlen(cg->v2_path);
		if (!strncmp(path, cg->v2_path, n) && path[n] == '/')
			return path + n;
	}
	if (!strncmp(path, "/sys/fs/cgroup/", 15)) {
		const char *rest = strchr(path + 15, '/');

		return rest ? rest : "/";
	}
	return path;
}

static bool container_has_cgroup(const struct target_container *c, const char *rel)
{
	size_t n = strlen(rel);

	while (n > 1 && rel[n - 1] == '/')
		n--;
	return !strncmp(c->cgroup_path, rel, n) &&
	       (c->cgroup_path[n] == '\0' || c->cgroup_path[n] == '/' || n == 1);
}

/* Mark the pods the selectors name; one error line and EXIT_FAILURE for a bad one. */
static int select_pods(struct target_set *set, const struct pods_opts *o, bool *keep)
{
	struct cgroup_info cg = {0};
	int i, j, k;
	bool any = o->npods || o->npids || o->ncgroups || o->nnetns;

	for (i = 0; i < set->npods; i++)
		keep[i] = !any;
	for (i = 0; i < o->npods; i++) {
		struct target_pod *pod = target_set__find_pod(set, o->pods[i]);

		if (!pod) {
			pr_error("unknown pod '%s': not found on this node by the sources used "
				 "(see 'podscope pods -v')",
				 o->pods[i]);
			return 1;
		}
		keep[pod - set->pods] = true;
	}
	for (i = 0; i < o->npids; i++) {
		struct target_pod *pod;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", o->pids[i]);
		if (access(path, F_OK)) {
			pr_error("--pid %d: no such process", o->pids[i]);
			return 1;
		}
		if (!target_set__find_pid(set, o->pids[i], &pod, NULL)) {
			pr_error("--pid %d: the process is not in a pod's container cgroup",
				 o->pids[i]);
			return 1;
		}
		keep[pod - set->pods] = true;
	}
	if (o->ncgroups)
		cgroup_info_read(&cg);
	for (i = 0; i < o->ncgroups; i++) {
		const char *rel = cgroup_relative(o->cgroups[i], &cg);
		bool found = false;

		for (j = 0; j < set->npods; j++)
			for (k = 0; k < set->pods[j].ncontainers; k++)
				if (container_has_cgroup(&set->pods[j].containers[k], rel)) {
					keep[j] = true;
					found = true;
				}
		if (!found) {
			pr_error("--cgroup %s: no pod container in that cgroup", o->cgroups[i]);
			return 1;
		}
	}
	for (i = 0; i < o->nnetns; i++) {
		struct stat st;
		bool found = false;

		if (stat(o->netns[i], &st)) {
			pr_error("--netns %s: %s", o->netns[i], strerror(errno));
			return 1;
		}
		for (j = 0; j < set->npods; j++)
			if (set->pods[j].netns_ino && set->pods[j].netns_ino == st.st_ino) {
				keep[j] = true;
				found = true;
			}
		if (!found) {
			pr_error("--netns %s: no pod uses that network namespace", o->netns[i]);
			return 1;
		}
	}
	return 0;
}

static void pod_label(const struct target_pod *pod, char *buf, size_t len)
{
	if (pod->name_known)
		snprintf(buf, len, "%s/%s", pod->meta.namespace_, pod->meta.name);
	else
		snprintf(buf, len, "?/pod%.8s", pod->meta.uid);
}

static void print_table(const struct target_set *set, const bool *keep)
{
	int i, j, k, shown = 0;

	printf("%-28s %-15s %-14s %-8s %-12s %s\n", "POD", "IP", "CONTAINER", "ROLE", "ID", "PIDS");
	for (i = 0; i < set->npods; i++) {
		const struct target_pod *pod = &set->pods[i];
		char label[POD_NAME_MAX * 2 + 2];

		if (!keep[i])
			continue;
		shown++;
		pod_label(pod, label, sizeof(label));
		if (!pod->ncontainers)
			printf("%-28s %-15s %-14s\n", label,
			       pod->meta.pod_ip[0] ? pod->meta.pod_ip : "-", "-");
		for (j = 0; j < pod->ncontainers; j++) {
			const struct target_container *c = &pod->containers[j];

			printf("%-28s %-15s %-14s %-8s %-12.12s ", j ? "" : label,
			       j ? "" : (pod->meta.pod_ip[0] ? pod->meta.pod_ip : "-"),
			       c->meta.name[0] ? c->meta.name : "?", container_role_name(c->role),
			       c->meta.id[0] ? c->meta.id : "-");
			for (k = 0; k < c->nprocs; k++) {
				const struct target_process *p = &c->procs[k];

				printf("%s%d", k ? " " : "", p->pid);
				if (p->ns_levels > 1)
					printf("(%d)", p->nspid[p->ns_levels - 1]);
			}
			printf("%s\n", c->nprocs ? "" : "-");
			if (log_get_level() >= PS_LOG_DEBUG) {
				printf("%-28s   role: %s; cgroup %s%s (id %llu)\n", "",
				       c->role_reason, c->cgroup_path[0] ? c->cgroup_path : "-",
				       c->cgroup_v2 ? " (v2)" : "",
				       (unsigned long long)c->cgroup_id);
				for (k = 0; k < c->nprocs; k++)
					printf("%-28s   pid %d %s uid %u threads %d\n", "",
					       c->procs[k].pid, c->procs[k].comm, c->procs[k].uid,
					       c->procs[k].nthreads);
			}
		}
	}
	if (!shown)
		printf("(no pods found: see 'podscope pods -v' for what each source saw)\n");
}

static json_t *process_json(const struct target_process *p)
{
	json_t *o = json_object(), *nspid = json_array(), *tids = json_array(),
	       *ports = json_array();
	int i;

	for (i = 0; i < p->ns_levels; i++)
		json_array_append_new(nspid, json_integer(p->nspid[i]));
	for (i = 0; i < p->nthreads; i++)
		json_array_append_new(tids, json_integer(p->tids[i]));
	for (i = 0; i < p->nlisten; i++)
		json_array_append_new(ports, json_integer(p->listen_ports[i]));
	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "nspid", nspid);
	json_object_set_new(o, "ppid", json_integer(p->ppid));
	json_object_set_new(o, "comm", json_string(p->comm));
	json_object_set_new(o, "uid", json_integer(p->uid));
	json_object_set_new(o, "threads", tids);
	json_object_set_new(o, "listen_ports", ports);
	return o;
}

static json_t *container_json(const struct target_container *c)
{
	json_t *o = json_object(), *pids = json_array(), *procs = json_array();
	int k;

	for (k = 0; k < c->nprocs; k++) {
		json_array_append_new(pids, json_integer(c->procs[k].pid));
		json_array_append_new(procs, process_json(&c->procs[k]));
	}
	json_object_set_new(o, "name", json_string(c->meta.name));
	json_object_set_new(o, "id", json_string(c->meta.id));
	json_object_set_new(o, "runtime", json_string(c->meta.runtime));
	json_object_set_new(o, "role", json_string(container_role_name(c->role)));
	json_object_set_new(o, "role_reason", json_string(c->role_reason));
	json_object_set_new(o, "cgroup_path", json_string(c->cgroup_path));
	json_object_set_new(o, "cgroup_v2", json_boolean(c->cgroup_v2));
	json_object_set_new(o, "cgroup_id", json_integer((json_int_t)c->cgroup_id));
	json_object_set_new(o, "pids", pids);
	json_object_set_new(o, "processes", procs);
	return o;
}

static json_t *pods_json(const struct target_set *set, const bool *keep)
{
	json_t *root = json_object(), *sources = json_array(), *pods = json_array();
	int i, j;

	for (i = 0; i < TSRC__COUNT; i++)
		json_array_append_new(
			sources, json_pack("{s:s, s:b, s:b, s:s}", "name", target_source_name(i),
					   "tried", set->sources[i].tried, "ok", set->sources[i].ok,
					   "detail", set->sources[i].detail));
	for (i = 0; i < set->npods; i++) {
		const struct target_pod *pod = &set->pods[i];
		json_t *p, *cs = json_array();

		if (!keep[i])
			continue;
		for (j = 0; j < pod->ncontainers; j++)
			json_array_append_new(cs, container_json(&pod->containers[j]));
		p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:o}", "namespace",
			      pod->meta.namespace_, "name", pod->meta.name, "uid", pod->meta.uid,
			      "ip", pod->meta.pod_ip, "node", pod->meta.node, "name_known",
			      pod->name_known, "netns_inode", (json_int_t)pod->netns_ino,
			      "containers", cs);
		json_array_append_new(pods, p);
	}
	json_object_set_new(root, "schema", json_string("podscope.pods/v1"));
	json_object_set_new(root, "sources", sources);
	json_object_set_new(root, "pods", pods);
	return root;
}

/* --follow: what is watched, kept across rescans by identity. */
struct watched_container {
	char pod_uid[POD_UID_MAX];
	char id[CONTAINER_ID_MAX];
	char pod[POD_NAME_MAX * 2 + 2];
	char name[POD_NAME_MAX];
	enum container_role role;
};

struct known_pid {
	pid_t pid;
	uint32_t idx;
	char comm[16];
};

struct follow_state {
	struct watched_container *wc;
	int nwc;
	struct known_pid *known;
	int nknown;
	struct tracker *tracker;
	bool json;
	int err; /* first -ENOMEM seen in a callback */
};

static int watched_index(struct follow_state *fs, const struct target_pod *pod,
			 const struct target_container *c)
{
	struct watched_container *n;
	int i;

	for (i = 0; i < fs->nwc; i++)
		if (!strcmp(fs->wc[i].pod_uid, pod->meta.uid) && !strcmp(fs->wc[i].id, c->meta.id))
			return i;
	n = realloc(fs->wc, (size_t)(fs->nwc + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	fs->wc = n;
	n = &fs->wc[fs->nwc];
	memset(n, 0, sizeof(*n));
	snprintf(n->pod_uid, sizeof(n->pod_uid), "%s", pod->meta.uid);
	snprintf(n->id, sizeof(n->id), "%s", c->meta.id);
	pod_label(pod, n->pod, sizeof(n->pod));
	snprintf(n->name, sizeof(n->name), "%s", c->meta.name[0] ? c->meta.name : "?");
	n->role = c->role;
	return fs->nwc++;
}

static struct known_pid *known_find(struct follow_state *fs, pid_t pid)
{
	int i;

	for (i = 0; i < fs->nknown; i++)
		if (fs->known[i].pid == pid)
			return &fs->known[i];
	return NULL;
}

static void report(struct follow_state *fs, const char *event, const char *why, pid_t pid,
		   pid_t parent, uint32_t idx, const char *comm)
{
	const struct watched_container *w = idx < (uint32_t)fs->nwc ? &fs->wc[idx] : NULL;
	const char *pod = w ? w->pod : "?", *name = w ? w->name : "?";
	const char *role = w ? container_role_name(w->role) : "?";

	if (fs->json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "event", event,
				      "reason", why, "pid", pid, "comm", comm, "pod", pod,
				      "container", name, "role", role);

		if (parent)
			json_object_set_new(o, "parent_pid", json_integer(parent));
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s pid %-7d %-15s %s %s (%s) [%s]\n", !strcmp(event, "start") ? "+" : "-",
		       pid, comm, pod, name, role, why);
	}
	fflush(stdout);
}

static int known_add(struct follow_state *fs, pid_t pid, uint32_t idx, const char *comm)
{
	struct known_pid *n = realloc(fs->known, (size_t)(fs->nknown + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	fs->known = n;
	n = &fs->known[fs->nknown++];
	n->pid = pid;
	n->idx = idx;
	snprintf(n->comm, sizeof(n->comm), "%s", comm);
	return 0;
}

static void known_remove(struct follow_state *fs, struct known_pid *k)
{
	*k = fs->known[--fs->nknown];
}

static void on_target_event(void *ctx, const struct target_event *e)
{
	static const char *const why[] = {[TEV_FORK] = "fork",
					  [TEV_EXEC] = "exec",
					  [TEV_EXIT] = "exit",
					  [TEV_ATTACH] = "cgroup-attach"};
	struct follow_state *fs = ctx;
	struct known_pid *k = known_find(fs, (pid_t)e->tgid);
	char comm[16];

	snprintf(comm, sizeof(comm), "%.15s", e->comm);
	if (e->type == TEV_EXIT) {
		if (k) {
			report(fs, "exit", why[e->type], k->pid, 0, k->idx, k->comm);
			known_remove(fs, k);
		}
		return;
	}
	if (e->type > TEV_ATTACH)
		return;
	if (k) {
		if (e->type == TEV_EXEC) /* same process, new program */
			snprintf(k->comm, sizeof(k->comm), "%s", comm);
		return;
	}
	if (known_add(fs, (pid_t)e->tgid, e->container_idx, comm)) {
		fs->err = -ENOMEM;
		return;
	}
	report(fs, "start", why[e->type], (pid_t)e->tgid, (pid_t)e->parent_tgid, e->container_idx,
	       comm);
}

/* Put every process of the kept pods into the kernel-side target set. */
static int follow_sync(struct follow_state *fs, struct target_set *set, const bool *keep,
		       bool announce)
{
	int i, j, k, idx, rc;

	for (i = 0; i < set->npods; i++) {
		if (!keep[i])
			continue;
		for (j = 0; j < set->pods[i].ncontainers; j++) {
			const struct target_container *c = &set->pods[i].containers[j];
			uint32_t flags = c->role == ROLE_SIDECAR ? TARGET_F_SIDECAR : 0;

			idx = watched_index(fs, &set->pods[i], c);
			if (idx < 0)
				return idx;
			if (c->cgroup_id) {
				rc = tracker__add_cgroup(fs->tracker, c->cgroup_id, (uint32_t)idx,
							 flags);
				if (rc)
					return rc;
			}
			for (k = 0; k < c->nprocs; k++) {
				const struct target_process *p = &c->procs[k];

				if (known_find(fs, p->pid))
					continue;
				rc = tracker__add_tgid(fs->tracker, p->pid, (uint32_t)idx, flags);
				if (!rc)
					rc = known_add(fs, p->pid, (uint32_t)idx, p->comm);
				if (rc)
					return rc;
				if (announce)
					report(fs, "start", "rescan", p->pid, 0, (uint32_t)idx,
					       p->comm);
			}
		}
	}
	return 0;
}

/* Forget processes the rescan no longer finds in the kept pods. */
static void follow_prune(struct follow_state *fs, struct target_set *set, const char *const *uids,
			 int nuids)
{
	int i = 0, u;

	while (i < fs->nknown) {
		struct known_pid *k = &fs->known[i];
		struct target_pod *pod = NULL;
		bool in_kept = false;

		if (target_set__find_pid(set, k->pid, &pod, NULL))
			for (u = 0; u < nuids; u++)
				in_kept |= !strcmp(uids[u], pod->meta.uid);
		if (in_kept) {
			i++;
			continue;
		}
		report(fs, "exit", "rescan", k->pid, 0, k->idx, k->comm);
		tracker__remove_tgid(fs->tracker, k->pid);
		known_remove(fs, k);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int follow(const struct pods_opts *o, struct target_set *set, const bool *keep)
{
	struct follow_state fs = {.json = o->json};
	uint64_t start = now_ns(), next_rescan = start + o->rescan_ns;
	const char **uids = NULL;
	uint64_t lost[TSTAT__COUNT] = {0};
	int nuids = 0, i, rc;

	uids = calloc((size_t)set->npods + 1, sizeof(*uids));
	if (!uids)
		return -ENOMEM;
	for (i = 0; i < set->npods; i++)
		if (keep[i])
			uids[nuids++] = set->pods[i].meta.uid;
	fs.tracker = tracker__new(on_target_event, &fs);
	if (!fs.tracker) {
		rc = -errno;
		goto out;
	}
	rc = follow_sync(&fs, set, keep, false);
	if (rc)
		goto out;
	if (!o->json)
		printf("# following %d pods (%s); Ctrl-C to stop\n", nuids,
		       tracker__mechanism(fs.tracker));
	fflush(stdout);
	while (!exiting && !fs.err) {
		uint64_t t = now_ns();

		if (o->duration_ns && t - start >= o->duration_ns)
			break;
		rc = tracker__poll(fs.tracker, 100);
		if (rc < 0)
			break;
		rc = 0;
		if (t >= next_rescan) {
			struct target_set fresh;
			bool *fresh_keep;
			char err[512];
			int j, u;

			next_rescan = t + o->rescan_ns;
			if (target_resolve(&o->resolve, &fresh, err, sizeof(err))) {
				pr_warn("rescan failed, keeping the current set: %s", err);
				continue;
			}
			fresh_keep = calloc((size_t)fresh.npods + 1, sizeof(*fresh_keep));
			if (!fresh_keep) {
				target_set__free(&fresh);
				rc = -ENOMEM;
				break;
			}
			for (j = 0; j < fresh.npods; j++)
				for (u = 0; u < nuids; u++)
					fresh_keep[j] |= !strcmp(uids[u], fresh.pods[j].meta.uid);
			/* events already delivered win: drain before comparing */
			tracker__poll(fs.tracker, 0);
			rc = follow_sync(&fs, &fresh, fresh_keep, true);
			if (!rc)
				follow_prune(&fs, &fresh, uids, nuids);
			free(fresh_keep);
			target_set__free(&fresh);
			if (rc)
				break;
		}
	}
	if (!rc && fs.err)
		rc = fs.err;
	if (fs.tracker && !tracker__stats(fs.tracker, lost)) {
		if (o->json) {
			printf("{\"event\":\"end\",\"lost\":{\"ringbuf\":%llu,\"map_full\":%llu}}"
			       "\n",
			       (unsigned long long)lost[TSTAT_RINGBUF_DROPS],
			       (unsigned long long)lost[TSTAT_MAP_FULL]);
		} else if (lost[TSTAT_RINGBUF_DROPS] || lost[TSTAT_MAP_FULL]) {
			printf("# lost: %llu events (ring buffer full), %llu processes (map full); "
			       "the rescans recovered them\n",
			       (unsigned long long)lost[TSTAT_RINGBUF_DROPS],
			       (unsigned long long)lost[TSTAT_MAP_FULL]);
		}
	}
out:
	tracker__free(fs.tracker);
	free(fs.wc);
	free(fs.known);
	free(uids);
	return rc;
}

int cmd_pods(int argc, char **argv)
{
	struct pods_opts o = {0};
	struct target_set set;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[768];
	bool *keep = NULL;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (target_resolve(&o.resolve, &set, err, sizeof(err))) {
		pr_error("%s", err);
		return 1;
	}
	keep = calloc((size_t)set.npods + 1, sizeof(*keep));
	if (!keep) {
		target_set__free(&set);
		return 1;
	}
	rc = select_pods(&set, &o, keep);
	if (rc)
		goto out;
	if (o.json) {
		json_t *doc = pods_json(&set, keep);

		json_dumpf(doc, stdout, o.follow ? JSON_COMPACT : JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		print_table(&set, keep);
	}
	fflush(stdout);
	if (o.follow) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		rc = follow(&o, &set, keep);
		if (rc) {
			pr_error("--follow: %s", strerror(-rc));
			rc = 1;
		}
	}
out:
	free(keep);
	target_set__free(&set);
	return rc;
}
