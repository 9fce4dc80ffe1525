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
#include "watchset.h"

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
	const char *sidecar_names[RESOLVE_MAX_SIDECAR_NAMES];
	bool json;
	bool follow;
	uint64_t duration_ns; /* 0: until interrupted */
	uint64_t rescan_ns;
};

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
		RESOLVE_LONG_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"rescan", required_argument, NULL, OPT_RESCAN},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->rescan_ns = 5000000000ULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		int handled = resolve_opt_handle(c, optarg, &o->resolve, o->sidecar_names, "pods");

		if (handled == 1)
			continue;
		if (handled)
			return handled;
		switch (c) {
		case OPT_POD:
			if (cli_add_pod("pods", optarg, o->pods, &o->npods, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_PID:
			if (cli_add_pid("pods", optarg, o->pids, &o->npids, MAX_SELECT))
				return EXIT_USAGE;
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

/* --follow: one line (or JSON object) per process that starts or exits. */
struct follow_ctx {
	struct watchset *ws;
	bool json;
};

static void report(void *ctx, const char *event, const char *why, const struct watch_process *p,
		   pid_t parent)
{
	struct follow_ctx *fc = ctx;
	const struct watch_container *w = watchset__container(fc->ws, p->idx);
	const char *pod = w ? w->pod : "?", *name = w ? w->name : "?";
	const char *role = w ? container_role_name(w->role) : "?";

	if (fc->json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "event", event,
				      "reason", why, "pid", p->pid, "comm", p->comm, "pod", pod,
				      "container", name, "role", role);

		if (parent)
			json_object_set_new(o, "parent_pid", json_integer(parent));
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s pid %-7d %-15s %s %s (%s) [%s]\n", !strcmp(event, "start") ? "+" : "-",
		       p->pid, p->comm, pod, name, role, why);
	}
	fflush(stdout);
}

static int follow(const struct pods_opts *o, struct target_set *set, const bool *keep)
{
	struct follow_ctx fc = {.json = o->json};
	uint64_t lost[TSTAT__COUNT] = {0}, start = cli_now_ns();
	int rc = 0;

	/* the watchset's first sync reports nothing: the listing above showed it */
	fc.ws = watchset__new(&o->resolve, set, keep, o->rescan_ns, report, &fc, 0);
	if (!fc.ws)
		return -errno;
	if (!o->json)
		printf("# following %d pods (%s); Ctrl-C to stop\n", watchset__npods(fc.ws),
		       tracker__mechanism(watchset__tracker(fc.ws)));
	fflush(stdout);
	while (!cli_stopping()) {
		if (o->duration_ns && cli_now_ns() - start >= o->duration_ns)
			break;
		rc = watchset__poll(fc.ws, 100);
		if (rc)
			break;
	}
	if (!tracker__stats(watchset__tracker(fc.ws), lost)) {
		if (o->json)
			printf("{\"event\":\"end\",\"lost\":{\"ringbuf\":%llu,\"map_full\":%llu}}"
			       "\n",
			       (unsigned long long)lost[TSTAT_RINGBUF_DROPS],
			       (unsigned long long)lost[TSTAT_MAP_FULL]);
		else if (lost[TSTAT_RINGBUF_DROPS] || lost[TSTAT_MAP_FULL])
			printf("# lost: %llu events (ring buffer full), %llu processes (map full); "
			       "the next rescan recovers them\n",
			       (unsigned long long)lost[TSTAT_RINGBUF_DROPS],
			       (unsigned long long)lost[TSTAT_MAP_FULL]);
	}
	watchset__free(fc.ws);
	return rc;
}

int cmd_pods(int argc, char **argv)
{
	struct pods_opts o = {0};
	struct target_set set;
	char err[768];
	bool *keep = NULL;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.follow) { /* before loading: a signal during start-up must not be lost */
		cli_stop_on_signals();
	}
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
