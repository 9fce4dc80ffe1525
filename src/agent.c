// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `podscope run`: the long-running agent. It resolves its targets (named
 * pods, PIDs, or every pod with a sidecar), attaches the target tracker and
 * the connection tracer, and keeps one model current: every second it reads
 * the kernel's aggregates, samples container resources and its own health
 * into the model. The HTTP server (api.c) renders that model as Prometheus
 * metrics, snapshot JSON and the web UI, and changes the watched set at run
 * time. One mutex guards the model and the watched set: the main loop holds
 * it while it polls and refreshes, the server thread while it renders or
 * changes targets.
 *
 * `podscope target add|rm|ls` is the client of the run-time API.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <curl/curl.h>

#include "accel.h"
#include "agent.h"
#include "agent_trace.h"
#include "api.h"
#include "cadvisor.h"
#include "cgroup.h"
#include "cli.h"
#include "collect.h"
#include "conn.h"
#include "log.h"
#include "model.h"
#include "prom.h"
#include "resolve.h"
#include "ringwait.h"
#include "watchset.h"

#define MAX_SELECT 64

struct run_opts {
	struct resolve_opts resolve;
	const char *pods[MAX_SELECT];
	int npods;
	pid_t pids[MAX_SELECT];
	int npids;
	const char *sidecar_names[RESOLVE_MAX_SIDECAR_NAMES];
	bool all_sidecar;
	const char *listen;
	const char *token;
	const char *token_file;
	const char *config;
	uint64_t duration_ns, interval_ns, rescan_ns;
	const char *accel_pods[MAX_SELECT];
	int naccel;
	bool accel_all, pod_to_pod;
	bool no_requests, syscall_time, oncpu;
	uint32_t sample_ring;
	const char *trace_pods[MAX_SELECT];
	int ntrace;
	uint64_t packet_sample;
};

/* What a --config file says (re-read on SIGHUP). */
struct run_config {
	char pods[MAX_SELECT][POD_NAME_MAX * 2 + 2];
	int npods;
	int all_sidecar; /* -1: not set */
	char listen[128];
	char token_file[512];
};

struct agent {
	struct run_opts o;
	struct run_config cfg;
	pthread_mutex_t lock;
	struct target_set set; /* latest resolution: names, cgroups, pids */
	struct watchset *ws;
	struct conn_tracer *ct;
	struct model *model;
	struct resource_sample res;
	struct agent_health health;
	struct cgroup_roots roots;
	struct api_server *api;
	bool all_sidecar;
	int stats_fd;
	uint64_t start_ns;
	struct accel *accel;	     /* created at the first enable */
	struct req_tracker *reqs;    /* NULL with --no-requests */
	struct agent_tracer *tracer; /* NULL without --trace-pod */
	char cgroup_v2[256];
};

static volatile sig_atomic_t exiting, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		exiting = 1;
}

static const char run_usage[] =
	"Usage: podscope run [--pod NS/NAME ...] [--pid PID ...] [--all-sidecar-pods] [options]\n"
	"\n"
	"The long-running agent: watch pods, keep the model current, and serve it over\n"
	"HTTP: /metrics (Prometheus), /api/v1/snapshot, /api/v1/targets, /healthz and\n"
	"the web UI at /. Targets can be added and removed at run time (POST/DELETE\n"
	"/api/v1/targets, or 'podscope target'), with the token.\n"
	"\n"
	"Targets (none is fine: add them at run time):\n"
	"  --pod NS/NAME           a pod; repeatable\n"
	"  --pid PID               a process: its pod, or the process alone; repeatable\n"
	"  --all-sidecar-pods      every pod on this node with a sidecar container\n"
	"                          (pods that appear later are added)\n"
	"Sources (as for 'podscope pods'):\n"
	"  --pods-file FILE, --source auto|k8s|docker|proc, --kubeconfig FILE,\n"
	"  --docker-socket PATH, --node NAME, --sidecar-container NAME\n"
	"Serving:\n"
	"  --listen HOST:PORT      default " API_DEFAULT_LISTEN "\n"
	"  --token-file FILE       bearer token for control endpoints (first line)\n"
	"  --token TOKEN           the same, given directly\n"
	"  --no-requests           no HTTP payload sampling: socket metrics only\n"
	"  --sample-ring SIZE      ring buffer for payload samples, a power of two\n"
	"                          64K..256M (default 8M); raise it when samples are lost\n"
	"  --syscall-time          also measure the time inside each read/write call\n"
	"                          (hooks every syscall of the node: costs more)\n"
	"  --oncpu                 also measure on-CPU time per container (sched_switch;\n"
	"                          podscope_container_oncpu_seconds_total)\n"
	"  --accel                 socket-redirect acceleration for every watched pod\n"
	"  --accel-pod NS/NAME     ... for this pod (repeatable); at run time:\n"
	"                          'podscope accel enable|disable|status' (docs/accel.md)\n"
	"  --pod-to-pod            accelerated pods also redirect to each other\n"
	"  --trace-pod NS/NAME     trace this pod's packets hop by hop (repeatable; costs\n"
	"                          CPU per packet): podscope_packet_hop_seconds in\n"
	"                          /metrics, the last flows in /api/v1/flows and the UI\n"
	"  --packet-sample N       ... of 1 in N connections (default 1: all)\n"
	"  --config FILE           key=value lines (pod=, all-sidecar-pods=, listen=,\n"
	"                          token-file=); SIGHUP re-reads it (see docs/agent.md)\n"
	"Other:\n"
	"  --duration D            stop after D (default: until SIGINT/SIGTERM)\n"
	"  --interval D            model refresh interval (default 1s)\n"
	"  --rescan D              re-resolve targets every D (default 5s)\n"
	"  --list-metrics          print the metric names podscope exports and exit\n"
	"  -v, --verbose           debug output\n"
	"  -h, --help              this text\n";

/* --- config file ---------------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Parse @path into @cfg. 0, or -errno / -EINVAL with one line in @err. */
static int config_read(const char *path, struct run_config *cfg, char *err, size_t errlen)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->all_sidecar = -1;
	if (!f) {
		snprintf(err, errlen, "--config %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *key, *val;

		lineno++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: want key=value", path, lineno);
			fclose(f);
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (!strcmp(key, "pod") && *val && cfg->npods < MAX_SELECT) {
			snprintf(cfg->pods[cfg->npods++], sizeof(cfg->pods[0]), "%s", val);
		} else if (!strcmp(key, "all-sidecar-pods") &&
			   (!strcmp(val, "true") || !strcmp(val, "false"))) {
			cfg->all_sidecar = !strcmp(val, "true");
		} else if (!strcmp(key, "listen")) {
			snprintf(cfg->listen, sizeof(cfg->listen), "%s", val);
		} else if (!strcmp(key, "token-file")) {
			snprintf(cfg->token_file, sizeof(cfg->token_file), "%s", val);
		} else {
			snprintf(err, errlen, "%s:%d: unknown key or bad value '%s'", path, lineno,
				 key);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
	return 0;
}

/* First line of @path, trimmed, into @buf. 0 or -errno. */
static int token_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[512];

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f))
		snprintf(buf, len, "%s", trim(line));
	fclose(f);
	return buf[0] ? 0 : -ENODATA;
}

static const char *effective_token_file(const struct agent *a)
{
	if (a->o.token_file)
		return a->o.token_file;
	return a->cfg.token_file[0] ? a->cfg.token_file : NULL;
}

/* --- options -------------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct run_opts *o, bool *list_metrics)
{
	enum {
		OPT_POD = 256,
		OPT_PID,
		OPT_ALL,
		OPT_LISTEN,
		OPT_TOKEN,
		OPT_TOKEN_FILE,
		OPT_CONFIG,
		OPT_DURATION,
		OPT_INTERVAL,
		OPT_RESCAN,
		OPT_LIST,
		OPT_ACCEL,
		OPT_ACCEL_POD,
		OPT_P2P,
		OPT_NO_REQUESTS,
		OPT_SAMPLE_RING,
		OPT_SYSCALL_TIME,
		OPT_ONCPU,
		OPT_TRACE_POD,
		OPT_PACKET_SAMPLE,
	};
	static const struct option opts[] = {
		{"pod", required_argument, NULL, OPT_POD},
		{"pid", required_argument, NULL, OPT_PID},
		{"all-sidecar-pods", no_argument, NULL, OPT_ALL},
		RESOLVE_LONG_OPTIONS,
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"token", required_argument, NULL, OPT_TOKEN},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"rescan", required_argument, NULL, OPT_RESCAN},
		{"list-metrics", no_argument, NULL, OPT_LIST},
		{"accel", no_argument, NULL, OPT_ACCEL},
		{"accel-pod", required_argument, NULL, OPT_ACCEL_POD},
		{"pod-to-pod", no_argument, NULL, OPT_P2P},
		{"no-requests", no_argument, NULL, OPT_NO_REQUESTS},
		{"sample-ring", required_argument, NULL, OPT_SAMPLE_RING},
		{"syscall-time", no_argument, NULL, OPT_SYSCALL_TIME},
		{"oncpu", no_argument, NULL, OPT_ONCPU},
		{"trace-pod", required_argument, NULL, OPT_TRACE_POD},
		{"packet-sample", required_argument, NULL, OPT_PACKET_SAMPLE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	int c;

	o->interval_ns = 1000000000ULL;
	o->rescan_ns = 5000000000ULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		int handled = resolve_opt_handle(c, optarg, &o->resolve, o->sidecar_names, "run");

		if (handled == 1)
			continue;
		if (handled)
			return handled;
		switch (c) {
		case OPT_POD:
			if (cli_add_pod("run", optarg, o->pods, &o->npods, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_PID:
			if (cli_add_pid("run", optarg, o->pids, &o->npids, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_ALL:
			o->all_sidecar = true;
			break;
		case OPT_LISTEN:
			if (api_parse_listen(optarg, &ss, &sl))
				return cli_usage_error("run", "bad --listen '%s': want HOST:PORT",
						       optarg);
			o->listen = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_DURATION:
			if (cli_parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns)
				return cli_usage_error("run", "bad --duration '%s' (e.g. 10s, 2m)",
						       optarg);
			break;
		case OPT_INTERVAL:
			if (cli_parse_duration_ns(optarg, &o->interval_ns) ||
			    o->interval_ns < 100000000ULL)
				return cli_usage_error("run", "bad --interval '%s' (>= 100ms)",
						       optarg);
			break;
		case OPT_RESCAN:
			if (cli_parse_duration_ns(optarg, &o->rescan_ns) ||
			    o->rescan_ns < 100000000ULL)
				return cli_usage_error("run", "bad --rescan '%s' (>= 100ms)",
						       optarg);
			break;
		case OPT_LIST:
			*list_metrics = true;
			break;
		case OPT_ACCEL:
			o->accel_all = true;
			break;
		case OPT_NO_REQUESTS:
			o->no_requests = true;
			break;
		case OPT_SAMPLE_RING:
			if (conn_sample_ring_opt("run", optarg, &o->sample_ring))
				return EXIT_USAGE;
			break;
		case OPT_SYSCALL_TIME:
			o->syscall_time = true;
			break;
		case OPT_ONCPU:
			o->oncpu = true;
			break;
		case OPT_ACCEL_POD:
			if (o->naccel == MAX_SELECT)
				return cli_usage_error("run", "too many --accel-pod (max %d)",
						       MAX_SELECT);
			o->accel_pods[o->naccel++] = optarg;
			break;
		case OPT_P2P:
			o->pod_to_pod = true;
			break;
		case OPT_TRACE_POD:
			if (cli_add_pod("run", optarg, o->trace_pods, &o->ntrace, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_PACKET_SAMPLE:
			if (cli_parse_u64(optarg, 1, 1000000, &o->packet_sample))
				return cli_usage_error(
					"run", "bad --packet-sample '%s' (1 to 1000000)", optarg);
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(run_usage, stdout);
			return -1;
		default:
			return cli_bad_option("run", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (o->token && o->token_file)
		return cli_usage_error("run", "--token and --token-file are exclusive");
	if (o->no_requests && o->sample_ring)
		return cli_usage_error("run", "--no-requests excludes --sample-ring");
	return 0;
}

/* --- the watched set ------------------------------------------------------------ */

static bool pod_has_sidecar(const struct target_pod *p)
{
	int i;

	for (i = 0; i < p->ncontainers; i++)
		if (p->containers[i].role == ROLE_SIDECAR)
			return true;
	return false;
}

static bool uid_watched(const struct watchset *ws, const char *uid)
{
	int u;

	for (u = 0; ws && u < watchset__npods(ws); u++)
		if (!strcmp(watchset__pod_uid(ws, u), uid))
			return true;
	return false;
}

/* Replace the agent's resolution with a fresh one. 0 or -errno (logged). */
static int agent_resolve(struct agent *a)
{
	struct target_set fresh;
	char err[768];
	int rc;

	rc = target_resolve(&a->o.resolve, &fresh, err, sizeof(err));
	if (rc) {
		pr_warn("resolving targets: %s", err);
		return rc;
	}
	target_set__free(&a->set);
	a->set = fresh;
	return 0;
}

/* With --all-sidecar-pods: watch sidecar pods that appeared since. Lock held. */
static void agent_add_sidecar_pods(struct agent *a)
{
	int i;

	for (i = 0; a->all_sidecar && i < a->set.npods; i++) {
		struct target_pod *p = &a->set.pods[i];

		if (pod_has_sidecar(p) && !uid_watched(a->ws, p->meta.uid) &&
		    !watchset__add_pod(a->ws, &a->set, i))
			pr_info("watching new sidecar pod %s/%s", p->meta.namespace_, p->meta.name);
	}
}

static struct target_pod *find_watched_pod_by_name(struct agent *a, const char *name,
						   const char **uid)
{
	int i, n = watchset__ncontainers(a->ws);

	for (i = 0; i < n; i++) {
		const struct watch_container *c = watchset__container(a->ws, (uint32_t)i);

		if (!strcmp(c->pod, name) && uid_watched(a->ws, c->pod_uid)) {
			*uid = c->pod_uid;
			return target_set__find_pod(&a->set, name);
		}
	}
	*uid = NULL;
	return NULL;
}

static void on_process(void *ctx, const char *event, const char *why, const struct watch_process *p,
		       pid_t parent)
{
	struct agent *a = ctx;

	(void)parent;
	pr_debug("process %s: %d %s (%s)", event, p->pid, p->comm, why);
	if (a->model)
		model__on_process(a->model, p);
	if (!strcmp(event, "start") && !strcmp(why, "rescan") && a->ct)
		conn_tracer__seed_process(a->ct, p->pid, p->idx);
}

static void on_conn_event(void *ctx, const struct conn_event *e)
{
	struct agent *a = ctx;

	if (a->model)
		model__on_conn_event(a->model, e);
	if (a->reqs && e->type == CEV_CLOSE)
		req_tracker__on_close(a->reqs, e->sock_id, e->ts_ns - e->duration_ns);
}

static void on_sample(void *ctx, const struct sample_event *e)
{
	struct agent *a = ctx;

	if (a->reqs)
		req_tracker__on_sample(a->reqs, e);
}

static void on_request(void *ctx, const struct req_record *r)
{
	struct agent *a = ctx;

	if (a->model)
		model__on_request(a->model, r);
}

/* --- sampling -------------------------------------------------------------------- */

static void sample_health(struct agent *a)
{
	struct agent_health *h = &a->health;
	struct rusage ru;
	long pages = 0;
	FILE *f;

	if (!getrusage(RUSAGE_SELF, &ru))
		h->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
				 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%*s %ld", &pages) == 1)
			h->rss_bytes = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	h->bpf_stats_enabled = a->stats_fd >= 0;
}

static void sample_resources(struct agent *a)
{
	bool *keep = calloc((size_t)a->set.npods + 1, sizeof(*keep));
	int i;

	if (!keep)
		return;
	for (i = 0; i < a->set.npods; i++)
		keep[i] = uid_watched(a->ws, a->set.pods[i].meta.uid);
	resource_sample__clear(&a->res);
	if (resource_sample__fill(&a->res, &a->roots, "/proc", &a->set, keep))
		pr_warn("sampling container resources: out of memory");
	free(keep);
}

/* Read the kernel's aggregates and the samples into the model. Lock held. */
static int agent_refresh(struct agent *a)
{
	/* the programs listed for the loss counters serve the health metrics too */
	int rc = collect__refresh(a->model, a->ws, a->ct, a->health.progs, &a->health.nprogs);

	collect__requests(a->model, a->reqs);
	agent_tracer__flush(a->tracer, a->model);
	sample_resources(a);
	sample_health(a);
	return rc;
}

/* --- the API's callbacks (server thread) ----------------------------------------- */

static int api_metrics(void *ctx, char **body, size_t *len)
{
	struct agent *a = ctx;
	FILE *f = open_memstream(body, len);
	int rc;

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	rc = prom_write(a->model, f);
	pthread_mutex_unlock(&a->lock);
	if (fclose(f))
		rc = rc ? rc : -ENOMEM;
	return rc;
}

static json_t *api_snapshot(void *ctx)
{
	struct agent *a = ctx;
	json_t *doc;

	pthread_mutex_lock(&a->lock);
	doc = model__snapshot_json(a->model, (double)(cli_now_ns() - a->start_ns) / 1e9);
	pthread_mutex_unlock(&a->lock);
	return doc;
}

static json_t *api_flows(void *ctx)
{
	struct agent *a = ctx;
	json_t *doc;

	pthread_mutex_lock(&a->lock);
	doc = model__flows_json(a->model);
	if (doc) {
		json_t *pods = json_array();

		for (int i = 0; i < a->o.ntrace; i++)
			json_array_append_new(pods, json_string(a->o.trace_pods[i]));
		json_object_set_new(doc, "pods", pods);
	}
	pthread_mutex_unlock(&a->lock);
	return doc;
}

static json_t *api_targets(void *ctx)
{
	struct agent *a = ctx;
	json_t *arr = json_array();
	int u, i, k;

	pthread_mutex_lock(&a->lock);
	for (u = 0; u < watchset__npods(a->ws); u++) {
		const char *uid = watchset__pod_uid(a->ws, u);
		json_t *pod = NULL, *cs = json_array();

		for (i = 0; i < watchset__ncontainers(a->ws); i++) {
			const struct watch_container *c = watchset__container(a->ws, (uint32_t)i);
			json_t *pids;

			if (strcmp(c->pod_uid, uid))
				continue;
			if (!pod)
				pod = json_pack("{s:s, s:s}", "pod", c->pod, "uid", uid);
			pids = json_array();
			for (k = 0; k < watchset__nprocesses(a->ws); k++)
				if (watchset__process(a->ws, k)->idx == (uint32_t)i)
					json_array_append_new(
						pids,
						json_integer(watchset__process(a->ws, k)->pid));
			json_array_append_new(cs, json_pack("{s:s, s:s, s:o}", "name", c->name,
							    "role", container_role_name(c->role),
							    "pids", pids));
		}
		if (!pod)
			pod = json_pack("{s:n, s:s}", "pod", "uid", uid);
		json_object_set_new(pod, "containers", cs);
		json_array_append_new(arr, pod);
	}
	pthread_mutex_unlock(&a->lock);
	return json_pack("{s:o, s:b}", "targets", arr, "all_sidecar_pods", a->all_sidecar);
}

static int api_target_add(void *ctx, const char *name, pid_t pid, char *added, size_t addedlen,
			  char *err, size_t errlen)
{
	struct agent *a = ctx;
	struct target_pod *pod = NULL;
	int status = 201, rc;

	pthread_mutex_lock(&a->lock);
	if (agent_resolve(a)) {
		snprintf(err, errlen, "resolving targets failed (see the agent's log)");
		status = 500;
		goto out;
	}
	if (name) {
		pod = target_set__find_pod(&a->set, name);
		if (!pod) {
			snprintf(err, errlen, "unknown pod '%s': not found on this node", name);
			status = 404;
			goto out;
		}
	} else if (!target_set__find_pid(&a->set, pid, &pod, NULL)) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (access(path, F_OK) || target_set__add_bare_pid(&a->set, "/proc", pid, &pod)) {
			snprintf(err, errlen, "no such process: %d", pid);
			status = 404;
			goto out;
		}
	}
	snprintf(added, addedlen, "%s/%s", pod->meta.namespace_, pod->meta.name);
	rc = watchset__add_pod(a->ws, &a->set, (int)(pod - a->set.pods));
	if (rc == -EEXIST) {
		snprintf(err, errlen, "pod '%s' is watched already", added);
		status = 409;
	} else if (rc) {
		snprintf(err, errlen, "adding '%s': %s", added, strerror(-rc));
		status = 500;
	} else {
		pr_info("watching %s (run-time API)", added);
	}
out:
	pthread_mutex_unlock(&a->lock);
	return status;
}

static int api_target_remove(void *ctx, const char *name, char *err, size_t errlen)
{
	struct agent *a = ctx;
	struct target_pod *pod;
	const char *uid;
	char uidbuf[POD_UID_MAX];
	int status = 200;

	pthread_mutex_lock(&a->lock);
	pod = find_watched_pod_by_name(a, name, &uid);
	if (!uid) {
		snprintf(err, errlen, "pod '%s' is not watched", name);
		status = 404;
	} else {
		snprintf(uidbuf, sizeof(uidbuf), "%s", uid);
		watchset__remove_pod(a->ws, uidbuf, pod);
		pr_info("stopped watching %s (run-time API)", name);
	}
	pthread_mutex_unlock(&a->lock);
	return status;
}

/* --- socket-redirect acceleration (M9) ------------------------------------------ */

/* Enable acceleration for pod @name; call with the lock held. HTTP status. */
static int accel_enable_locked(struct agent *a, const char *name, char *err, size_t errlen)
{
	struct target_pod *pod;
	char dir[4096];
	int rc;

	if (agent_resolve(a)) {
		snprintf(err, errlen, "resolving targets failed (see the agent's log)");
		return 500;
	}
	pod = target_set__find_pod(&a->set, name);
	if (!pod) {
		snprintf(err, errlen, "unknown pod '%s': not found on this node", name);
		return 404;
	}
	if (!a->cgroup_v2[0] || target_pod__cgroup_v2_dir(pod, a->cgroup_v2, dir, sizeof(dir))) {
		snprintf(err, errlen, "pod '%s' has no cgroup v2 directory to attach sockops to",
			 name);
		return 500;
	}
	if (!a->accel) {
		a->accel = accel__new(a->o.pod_to_pod);
		if (!a->accel) {
			snprintf(err, errlen,
				 "cannot load acceleration: %s (see 'podscope doctor')",
				 strerror(errno));
			return 500;
		}
	}
	rc = accel__enable(a->accel, name, dir);
	if (rc == -EEXIST) {
		snprintf(err, errlen, "pod '%s' is accelerated already", name);
		return 409;
	}
	if (rc) {
		snprintf(err, errlen, "enabling acceleration for '%s': %s", name, strerror(-rc));
		return 500;
	}
	return 201;
}

static int api_accel_enable(void *ctx, const char *name, char *err, size_t errlen)
{
	struct agent *a = ctx;
	int status;

	pthread_mutex_lock(&a->lock);
	status = accel_enable_locked(a, name, err, errlen);
	pthread_mutex_unlock(&a->lock);
	return status;
}

static int api_accel_disable(void *ctx, const char *name, char *err, size_t errlen)
{
	struct agent *a = ctx;
	int status = 200;

	pthread_mutex_lock(&a->lock);
	if (!a->accel || accel__disable(a->accel, name)) {
		snprintf(err, errlen, "pod '%s' is not accelerated", name);
		status = 404;
	}
	pthread_mutex_unlock(&a->lock);
	return status;
}

static json_t *api_accel_status(void *ctx)
{
	struct agent *a = ctx;
	json_t *st;

	pthread_mutex_lock(&a->lock);
	if (a->accel)
		st = accel__status_json(a->accel, (double)(cli_now_ns() - a->start_ns) / 1e9);
	else
		st = json_pack("{s:s, s:[], s:b}", "schema", "podscope.accel/v1", "enabled",
			       "pod_to_pod", a->o.pod_to_pod);
	pthread_mutex_unlock(&a->lock);
	return st;
}

/* --- start-up, reload and the main loop ------------------------------------------- */

/* Mark the pods named by options and config. 0, or 1 after one error line. */
static int select_initial(struct agent *a, bool *keep)
{
	int i;

	for (i = 0; i < a->o.npids; i++) {
		struct target_pod *pod;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", a->o.pids[i]);
		if (access(path, F_OK)) {
			pr_error("--pid %d: no such process", a->o.pids[i]);
			return 1;
		}
		if (!target_set__find_pid(&a->set, a->o.pids[i], &pod, NULL) &&
		    target_set__add_bare_pid(&a->set, "/proc", a->o.pids[i], &pod)) {
			pr_error("--pid %d: the process vanished", a->o.pids[i]);
			return 1;
		}
		keep[pod - a->set.pods] = true;
	}
	for (i = 0; i < a->o.npods + a->cfg.npods; i++) {
		const char *name = i < a->o.npods ? a->o.pods[i] : a->cfg.pods[i - a->o.npods];
		struct target_pod *pod = target_set__find_pod(&a->set, name);

		if (!pod) {
			pr_error("unknown pod '%s': not found on this node by the sources used "
				 "(see 'podscope pods -v')",
				 name);
			return 1;
		}
		keep[pod - a->set.pods] = true;
	}
	for (i = 0; a->all_sidecar && i < a->set.npods; i++)
		keep[i] |= pod_has_sidecar(&a->set.pods[i]);
	return 0;
}

/* SIGHUP: re-read the config file and the token file; apply pod changes. */
static void agent_reload(struct agent *a)
{
	struct run_config old = a->cfg, fresh;
	char err[768], token[512];
	const char *tf;
	int i, j;

	if (a->o.config) {
		if (config_read(a->o.config, &fresh, err, sizeof(err))) {
			pr_warn("SIGHUP: keeping the old configuration: %s", err);
			return;
		}
		if (strcmp(fresh.listen, old.listen))
			pr_warn("SIGHUP: 'listen' changes need a restart; still on the old "
				"address");
		pthread_mutex_lock(&a->lock);
		a->cfg = fresh;
		if (fresh.all_sidecar >= 0 && !a->o.all_sidecar)
			a->all_sidecar = fresh.all_sidecar;
		if (!agent_resolve(a)) {
			for (i = 0; i < fresh.npods; i++) {
				struct target_pod *p = target_set__find_pod(&a->set, fresh.pods[i]);

				if (!p)
					pr_warn("SIGHUP: unknown pod '%s'", fresh.pods[i]);
				else if (!watchset__add_pod(a->ws, &a->set, (int)(p - a->set.pods)))
					pr_info("watching %s (config)", fresh.pods[i]);
			}
			for (i = 0; i < old.npods; i++) {
				const char *uid;
				struct target_pod *p;

				for (j = 0; j < fresh.npods; j++)
					if (!strcmp(old.pods[i], fresh.pods[j]))
						break;
				if (j < fresh.npods)
					continue;
				p = find_watched_pod_by_name(a, old.pods[i], &uid);
				if (uid) {
					char u[POD_UID_MAX];

					snprintf(u, sizeof(u), "%s", uid);
					watchset__remove_pod(a->ws, u, p);
					pr_info("stopped watching %s (config)", old.pods[i]);
				}
			}
			agent_add_sidecar_pods(a);
		}
		pthread_mutex_unlock(&a->lock);
	}
	tf = effective_token_file(a);
	if (tf) {
		if (token_read(tf, token, sizeof(token)))
			pr_warn("SIGHUP: cannot read token file %s; keeping the old token", tf);
		else
			api_server__set_token(a->api, token);
	}
	pr_info("configuration reloaded");
}

int cmd_run(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	static struct agent agent;
	struct agent *a = &agent;
	struct api_ops ops = {
		.ctx = a,
		.metrics = api_metrics,
		.snapshot = api_snapshot,
		.flows = api_flows,
		.targets = api_targets,
		.target_add = api_target_add,
		.target_remove = api_target_remove,
		.accel_status = api_accel_status,
		.accel_enable = api_accel_enable,
		.accel_disable = api_accel_disable,
	};
	bool list_metrics = false, *keep = NULL;
	struct ring_wait rw = {.epfd = -1};
	uint64_t next_refresh, next_resync, deadline = 0;
	char err[768], token[512] = "";
	const char *listen;
	int rc, i;

	memset(a, 0, sizeof(*a));
	a->stats_fd = -1;
	a->cfg.all_sidecar = -1;
	rc = parse_args(argc, argv, &a->o, &list_metrics);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (list_metrics) {
		const char *const *n;

		for (n = prom_metric_names(); *n; n++)
			puts(*n);
		return 0;
	}
	if (a->o.config && config_read(a->o.config, &a->cfg, err, sizeof(err))) {
		fprintf(stderr, "podscope: error: run: %s\n", err);
		return EXIT_USAGE;
	}
	a->all_sidecar = a->o.all_sidecar || a->cfg.all_sidecar == 1;
	listen = a->o.listen ? a->o.listen : a->cfg.listen[0] ? a->cfg.listen : API_DEFAULT_LISTEN;
	if (a->o.token)
		snprintf(token, sizeof(token), "%s", a->o.token);
	else if (effective_token_file(a) &&
		 token_read(effective_token_file(a), token, sizeof(token))) {
		fprintf(stderr, "podscope: error: run: cannot read a token from %s\n",
			effective_token_file(a));
		return EXIT_USAGE;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&a->lock, NULL);
	rc = 1;
	if (target_resolve(&a->o.resolve, &a->set, err, sizeof(err))) {
		pr_error("%s", err);
		goto out;
	}
	keep = calloc((size_t)a->set.npods + 1, sizeof(*keep));
	if (!keep || select_initial(a, keep))
		goto out;
	if (cgroup_roots_detect(&a->roots))
		pr_warn("cannot read /proc/self/mounts: no container resources");
	/* kernel bpf_stats, on while this fd is open (the kernel restores it on exit) */
	a->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (a->stats_fd < 0)
		pr_warn("cannot enable BPF run-time stats (%s): podscope_bpf_program_* stay empty",
			strerror(errno));
	a->ws = watchset__new(&a->o.resolve, &a->set, keep, a->o.rescan_ns, on_process, a,
			      a->o.oncpu ? WATCHSET_ONCPU : 0);
	if (!a->ws)
		goto out;
	a->model = model__new(a->ws, &a->set);
	if (!a->model) {
		pr_error("out of memory");
		goto out;
	}
	if (!a->o.no_requests) {
		a->reqs = req_tracker__new(a->ws, on_request, a);
		if (!a->reqs) {
			pr_error("out of memory");
			goto out;
		}
		model__enable_requests(a->model);
	}
	{
		struct conn_tracer_opts copts = {.sample_fn = a->reqs ? on_sample : NULL,
						 .sample_ctx = a,
						 .syscall_time = a->o.syscall_time,
						 .sample_ring_bytes = a->o.sample_ring};

		const struct tracker *tr = watchset__tracker(a->ws);

		a->ct = conn_tracer__new(tracker__tgids_fd(tr), tracker__gen_fd(tr), on_conn_event,
					 a, &copts);
	}
	if (!a->ct)
		goto out;
	model__set_syscall_time(a->model, conn_tracer__syscall_time(a->ct));
	model__set_mechanisms(a->model, tracker__mechanism(watchset__tracker(a->ws)),
			      conn_tracer__mechanism(a->ct));
	model__set_resources(a->model, &a->res);
	model__set_health(a->model, &a->health);
	for (i = 0; i < watchset__nprocesses(a->ws); i++) {
		const struct watch_process *p = watchset__process(a->ws, i);

		conn_tracer__seed_process(a->ct, p->pid, p->idx);
	}
	{
		struct cgroup_info cg;

		if (!cgroup_info_read(&cg))
			snprintf(a->cgroup_v2, sizeof(a->cgroup_v2), "%s", cg.v2_path);
	}
	a->start_ns = cli_now_ns();
	/* --accel: every watched pod; --accel-pod: these (each must be known) */
	for (i = 0; i < a->o.naccel; i++) {
		int st = accel_enable_locked(a, a->o.accel_pods[i], err, sizeof(err));

		if (st >= 300) {
			pr_error("--accel-pod: %s", err);
			rc = 1;
			goto out;
		}
	}
	if (a->o.accel_all) {
		for (i = 0; i < watchset__npods(a->ws); i++) {
			const char *uid = watchset__pod_uid(a->ws, i);
			int j;

			for (j = 0; j < a->set.npods; j++) {
				const struct target_pod *p = &a->set.pods[j];
				char name[POD_NAME_MAX * 2 + 2];

				if (strcmp(p->meta.uid, uid) || !p->name_known)
					continue;
				snprintf(name, sizeof(name), "%s/%s", p->meta.namespace_,
					 p->meta.name);
				if (accel_enable_locked(a, name, err, sizeof(err)) >= 300 &&
				    !strstr(err, "already"))
					pr_warn("--accel: %s", err);
			}
		}
	}
	if (a->o.ntrace) {
		a->tracer = agent_tracer__new(&a->set, a->o.trace_pods, a->o.ntrace, 65536,
					      a->o.packet_sample ? (uint32_t)a->o.packet_sample : 1,
					      err, sizeof(err));
		if (!a->tracer || model__enable_packets(a->model, AGENT_TRACE_FLOWS)) {
			pr_error("%s", a->tracer ? "out of memory" : err);
			rc = 1;
			goto out;
		}
		pr_info("tracing the packets of %d pod(s), %d tcx links", a->o.ntrace,
			agent_tracer__tcx_links(a->tracer));
	}
	/*
	 * Between rounds, sleep until the target or connection rings wake us
	 * (a batch of samples or events) or 20 ms pass. The packet tracer's
	 * ring is left out: it uses the ring buffer's adaptive wakeup (one per
	 * drain), which would end each sleep early, and is drained every round.
	 */
	if ((i = ring_wait__init(&rw)) || (i = ring_wait__add(&rw, watchset__epoll_fd(a->ws))) ||
	    (i = ring_wait__add(&rw, conn_tracer__epoll_fd(a->ct)))) {
		pr_error("epoll: %s", strerror(-i));
		goto out;
	}
	a->health.start_time = (double)time(NULL);
	if (agent_refresh(a) < 0)
		pr_warn("first refresh failed");
	a->api = api_server__start(listen, token[0] ? token : NULL, &ops);
	if (!a->api)
		goto out;
	if (!token[0])
		pr_warn("no --token-file: the control endpoints (POST/DELETE /api/v1/targets) "
			"answer 401");
	pr_info("serving on http://%s/ : watching %d pods, %d processes (target tracker %s, "
		"connections %s)",
		listen, watchset__npods(a->ws), watchset__nprocesses(a->ws),
		tracker__mechanism(watchset__tracker(a->ws)), conn_tracer__mechanism(a->ct));

	next_refresh = a->start_ns + a->o.interval_ns;
	next_resync = a->start_ns + 2 * a->o.rescan_ns;
	if (a->o.duration_ns)
		deadline = a->start_ns + a->o.duration_ns;
	rc = 0;
	while (!exiting) {
		uint64_t t = cli_now_ns();

		if (deadline && t >= deadline)
			break;
		if (reload) {
			reload = 0;
			agent_reload(a);
		}
		pthread_mutex_lock(&a->lock);
		rc = watchset__poll(a->ws, 0);
		if (!rc)
			rc = conn_tracer__poll(a->ct);
		if (rc >= 0 && a->tracer)
			rc = agent_tracer__poll(a->tracer);
		if (rc >= 0 && t >= next_resync) {
			next_resync = t + 2 * a->o.rescan_ns;
			if (!agent_resolve(a))
				agent_add_sidecar_pods(a);
		}
		if (rc >= 0 && t >= next_refresh) {
			next_refresh = t + a->o.interval_ns;
			rc = agent_refresh(a);
		}
		pthread_mutex_unlock(&a->lock);
		if (rc < 0) {
			pr_error("agent loop: %s", strerror(-rc));
			rc = 1;
			break;
		}
		rc = 0;
		if (ring_wait__wait(&rw, 20) < 0)
			nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
	}
	pr_info("stopping");
out:
	ring_wait__close(&rw);
	api_server__stop(a->api);
	accel__free(a->accel);
	agent_tracer__free(a->tracer);
	conn_tracer__free(a->ct);
	req_tracker__free(a->reqs);
	model__free(a->model);
	watchset__free(a->ws);
	resource_sample__clear(&a->res);
	if (a->stats_fd >= 0)
		close(a->stats_fd);
	free(keep);
	target_set__free(&a->set);
	pthread_mutex_destroy(&a->lock);
	return rc;
}

/* --- podscope target: the control client ---------------------------------------- */

static const char target_usage[] =
	"Usage: podscope target add NS/NAME | add --pid PID | rm NS/NAME | ls\n"
	"                       [--agent URL] [--token-file FILE | --token TOKEN]\n"
	"\n"
	"Change what a running agent ('podscope run') watches, without restarting it.\n"
	"  --agent URL        the agent (default http://" API_DEFAULT_LISTEN ")\n"
	"  --token-file FILE  the agent's token (add and rm need it)\n"
	"  --token TOKEN      the same, given directly\n"
	"  --json             ls: the agent's JSON as is\n";

static size_t collect_body(char *data, size_t size, size_t n, void *ctx)
{
	FILE *f = ctx;

	return fwrite(data, size, n, f);
}

/* One request; *@status the HTTP status; body malloc'd into *@body. 0 or -1 (err set). */
static int target_http(const char *method, const char *url, const char *token, const char *json,
		       long *status, char **body, char *err, size_t errlen)
{
	char auth[600], cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	size_t blen = 0;
	CURLcode cc;
	CURL *c;
	FILE *f;

	*body = NULL;
	f = open_memstream(body, &blen);
	c = curl_easy_init();
	if (!f || !c) {
		if (f)
			fclose(f);
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (json) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	fclose(f);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "cannot reach the agent at %.200s: %s", url,
			 cerr[0] ? cerr : curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}

/*
 * agent_call - one request of a control client: read the token file (if any),
 * call the agent, and turn transport failures and non-2xx answers into one
 * error line for command @cmd / @verb. On success *@body and *@doc (parsed
 * JSON, may be NULL) are the caller's. Returns 0, 1 after an error line, or
 * EXIT_USAGE when the token file is unreadable.
 */
static int agent_call(const char *cmd, const char *verb, const char *method, const char *agent,
		      const char *path, const char *token, const char *token_file, const char *json,
		      char **body, json_t **doc)
{
	char tokbuf[512], url[1024], err[768];
	size_t alen = strlen(agent);
	long status = 0;

	*body = NULL;
	*doc = NULL;
	if (token_file) {
		if (token_read(token_file, tokbuf, sizeof(tokbuf)))
			return cli_usage_error(cmd, "cannot read a token from %s", token_file);
		token = tokbuf;
	}
	while (alen && agent[alen - 1] == '/')
		alen--;
	snprintf(url, sizeof(url), "%.*s%s", (int)alen, agent, path);
	if (target_http(method, url, token, json, &status, body, err, sizeof(err))) {
		fprintf(stderr, "podscope: error: %s: %s\n", cmd, err);
		return 1;
	}
	*doc = *body ? json_loads(*body, 0, NULL) : NULL;
	if (status < 200 || status >= 300) {
		const char *msg = json_string_value(json_object_get(*doc, "error"));

		fprintf(stderr, "podscope: error: %s %s: HTTP %ld: %s\n", cmd, verb, status,
			msg ? msg : "unexpected answer from the agent");
		return 1;
	}
	return 0;
}

int cmd_target(int argc, char **argv)
{
	static const struct option opts[] = {
		{"agent", required_argument, NULL, 'a'},
		{"token", required_argument, NULL, 't'},
		{"token-file", required_argument, NULL, 'f'},
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *agent = "http://" API_DEFAULT_LISTEN, *token = NULL, *token_file = NULL;
	char path[600], *body = NULL, *json = NULL;
	const char *verb, *method = "GET";
	bool as_json = false;
	uint64_t pid = 0;
	json_t *doc = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'f':
			token_file = optarg;
			break;
		case 'p':
			if (cli_parse_u64(optarg, 1, 0x3fffffff, &pid))
				return cli_usage_error("target", "bad --pid '%s'", optarg);
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			fputs(target_usage, stdout);
			return 0;
		default:
			return cli_bad_option("target", argv, optind);
		}
	}
	if (optind >= argc)
		return cli_usage_error("target", "want add, rm or ls");
	verb = argv[optind++];
	if (!strcmp(verb, "ls")) {
		if (optind < argc)
			return cli_usage_error("target", "ls: unexpected argument '%s'",
					       argv[optind]);
		snprintf(path, sizeof(path), "/api/v1/targets");
	} else if (!strcmp(verb, "add")) {
		if ((optind < argc) == (pid != 0) || argc - optind > 1)
			return cli_usage_error("target", "add: want one NS/NAME or --pid PID");
		doc = pid ? json_pack("{s:I}", "pid", (json_int_t)pid)
			  : json_pack("{s:s}", "pod", argv[optind]);
		json = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		doc = NULL;
		method = "POST";
		snprintf(path, sizeof(path), "/api/v1/targets");
	} else if (!strcmp(verb, "rm")) {
		if (argc - optind != 1 || pid)
			return cli_usage_error("target", "rm: want one NS/NAME");
		method = "DELETE";
		snprintf(path, sizeof(path), "/api/v1/targets/%s", argv[optind]);
	} else {
		return cli_usage_error("target", "unknown verb '%s': want add, rm or ls", verb);
	}
	rc = agent_call("target", verb, method, agent, path, token, token_file, json, &body, &doc);
	if (rc)
		goto out;
	rc = 0;
	if (!strcmp(verb, "ls")) {
		size_t i;
		json_t *t;

		if (as_json) {
			fputs(body ? body : "", stdout);
			putchar('\n');
			goto out;
		}
		json_array_foreach (json_object_get(doc, "targets"), i, t) {
			json_t *cs = json_object_get(t, "containers"), *ct;
			size_t j, nproc = 0;

			json_array_foreach (cs, j, ct)
				nproc += json_array_size(json_object_get(ct, "pids"));
			printf("%s\t%zu containers\t%zu processes\n",
			       json_string_value(json_object_get(t, "pod")) ?: "?",
			       json_array_size(cs), nproc);
		}
	} else if (!strcmp(verb, "add")) {
		printf("watching %s\n", json_string_value(json_object_get(doc, "added")) ?: "?");
	} else {
		printf("stopped watching %s\n", argv[optind]);
	}
out:
	json_decref(doc);
	free(body);
	free(json);
	return rc;
}

/* --- podscope accel enable|disable|status: the acceleration client ------------------- */

int cmd_accel_remote(int argc, char **argv)
{
	static const struct option opts[] = {
		{"agent", required_argument, NULL, 'a'},
		{"token", required_argument, NULL, 't'},
		{"token-file", required_argument, NULL, 'f'},
		{"pod", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{0},
	};
	const char *agent = "http://" API_DEFAULT_LISTEN, *token = NULL, *token_file = NULL;
	const char *verb = argv[0], *pod = NULL, *method = "GET";
	char path[600], *body = NULL, *json = NULL;
	bool as_json = false;
	json_t *doc = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'f':
			token_file = optarg;
			break;
		case 'p':
			pod = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		default:
			return cli_bad_option("accel", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("accel", "unexpected argument '%s'", argv[optind]);
	if (strcmp(verb, "status") && !pod)
		return cli_usage_error("accel", "%s: want --pod NS/NAME", verb);
	if (!strcmp(verb, "enable")) {
		doc = json_pack("{s:s}", "pod", pod);
		json = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		doc = NULL;
		method = "POST";
		snprintf(path, sizeof(path), "/api/v1/accel");
	} else if (!strcmp(verb, "disable")) {
		method = "DELETE";
		snprintf(path, sizeof(path), "/api/v1/accel/%s", pod);
	} else {
		snprintf(path, sizeof(path), "/api/v1/accel");
	}
	rc = agent_call("accel", verb, method, agent, path, token, token_file, json, &body, &doc);
	if (rc)
		goto out;
	rc = 0;
	if (!strcmp(verb, "status")) {
		json_t *en = json_object_get(doc, "enabled"), *v;
		size_t i;

		if (as_json) {
			fputs(body ? body : "", stdout);
			putchar('\n');
			goto out;
		}
		printf("accelerated pods:");
		json_array_foreach (en, i, v)
			printf(" %s", json_string_value(v));
		printf("%s\n", json_array_size(en) ? "" : " none");
		printf("sockets: %lld client + %lld server (now %lld); redirected: %lld messages, "
		       "%lld bytes; normal path: %lld messages; redirect failed: %lld; sockhash "
		       "full: %lld\n",
		       json_integer_value(json_object_get(doc, "sockets_client")),
		       json_integer_value(json_object_get(doc, "sockets_server")),
		       json_integer_value(json_object_get(doc, "sockets_now")),
		       json_integer_value(json_object_get(doc, "messages_redirected")),
		       json_integer_value(json_object_get(doc, "bytes_redirected")),
		       json_integer_value(json_object_get(doc, "messages_not_redirected")),
		       json_integer_value(json_object_get(doc, "redirect_failed")),
		       json_integer_value(json_object_get(doc, "sockhash_full")));
	} else {
		printf("%s %s\n", !strcmp(verb, "enable") ? "accelerating" : "stopped accelerating",
		       pod);
	}
out:
	json_decref(doc);
	free(body);
	free(json);
	return rc;
}
