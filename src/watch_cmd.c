// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `podscope watch`: attach the target tracker and the connection tracer to
 * the chosen pods, keep the model current, and show edges: a refreshing
 * table on a terminal, or one snapshot (JSON or CSV) at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "collect.h"
#include "conn.h"
#include "log.h"
#include "model.h"
#include "otlp.h"
#include "reqs.h"
#include "reqs_export.h"
#include "resolve.h"
#include "ringwait.h"
#include "watch_cmd.h"
#include "watchset.h"

#define MAX_SELECT 16

struct watch_opts {
	struct resolve_opts resolve;
	const char *pods[MAX_SELECT];
	int npods;
	pid_t pids[MAX_SELECT];
	int npids;
	const char *sidecar_names[RESOLVE_MAX_SIDECAR_NAMES];
	bool json, csv;
	uint64_t duration_ns, interval_ns, rescan_ns;
	bool no_requests, requests_lines, sample_all, syscall_time, oncpu;
	const char *requests_out, *otlp_endpoint, *trace_file;
	double trace_sample;
	uint32_t sample_ring;
};

static const char watch_usage[] =
	"Usage: podscope watch --pod NS/NAME [--pod ...] [--pid PID ...] [options]\n"
	"\n"
	"Watch the TCP connections of pods (or processes): every edge between a\n"
	"client process and a server process (or an outside address), with client-\n"
	"and server-side socket metrics measured in the kernel: writes and reads\n"
	"(count, bytes, time in the call), connects, closes, RTT, retransmits and\n"
	"drops with the kernel's drop reason.\n"
	"\n"
	"Targets (at least one):\n"
	"  --pod NS/NAME           a pod (NAME alone: namespace default); repeatable\n"
	"  --pid PID               a process: its pod, or the process alone; repeatable\n"
	"Sources (as for 'podscope pods'):\n"
	"  --pods-file FILE, --source auto|k8s|docker|proc, --kubeconfig FILE,\n"
	"  --docker-socket PATH, --node NAME, --sidecar-container NAME\n"
	"Output:\n"
	"  --duration D            stop after D (e.g. 10s; default: Ctrl-C)\n"
	"  --json                  one snapshot document at the end (podscope.snapshot/v1)\n"
	"  --csv                   one CSV row per edge and side at the end\n"
	"  --interval D            terminal refresh interval (default 1s)\n"
	"  --rescan D              re-resolve targets every D (default 5s)\n"
	"  --syscall-time          also measure the time inside each read/write call\n"
	"                          (hooks every syscall of the node: costs more)\n"
	"  --oncpu                 also measure on-CPU time per container (sched_switch)\n"
	"Requests (HTTP/1 through sidecars; see docs/requests.md):\n"
	"  --requests              print one line per request the sidecars handle\n"
	"  --requests-out FILE     write one JSON object per request to FILE ('-': stdout)\n"
	"  --otlp-endpoint URL     send sampled requests as OTLP/HTTP JSON traces to URL\n"
	"  --trace-file FILE       write sampled requests as a Jaeger UI JSON file at the end\n"
	"  --trace-sample P        fraction of requests traced, 0..1 (default 0.01)\n"
	"  --requests-all          sample every watched process, not only sidecars\n"
	"  --sample-ring SIZE      ring buffer for payload samples, a power of two\n"
	"                          64K..256M (default 8M); raise it when samples are\n"
	"                          lost (lost.requests.payload_samples_ringbuf)\n"
	"  --no-requests           no payload sampling: socket metrics only\n"
	"  -v, --verbose           debug output\n"
	"  -h, --help              this text\n"
	"\n"
	"Without --json/--csv the table refreshes on a terminal, and is printed once\n"
	"at the end otherwise. Metrics cover the window since podscope attached.\n";

static int parse_args(int argc, char **argv, struct watch_opts *o)
{
	enum {
		OPT_POD = 256,
		OPT_PID,
		OPT_JSON,
		OPT_CSV,
		OPT_DURATION,
		OPT_INTERVAL,
		OPT_RESCAN,
		OPT_NO_REQUESTS,
		OPT_REQUESTS,
		OPT_REQUESTS_OUT,
		OPT_OTLP,
		OPT_TRACE_FILE,
		OPT_TRACE_SAMPLE,
		OPT_REQUESTS_ALL,
		OPT_SAMPLE_RING,
		OPT_SYSCALL_TIME,
		OPT_ONCPU,
	};
	static const struct option opts[] = {
		{"pod", required_argument, NULL, OPT_POD},
		{"pid", required_argument, NULL, OPT_PID},
		RESOLVE_LONG_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{"csv", no_argument, NULL, OPT_CSV},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"rescan", required_argument, NULL, OPT_RESCAN},
		{"no-requests", no_argument, NULL, OPT_NO_REQUESTS},
		{"requests", no_argument, NULL, OPT_REQUESTS},
		{"requests-out", required_argument, NULL, OPT_REQUESTS_OUT},
		{"otlp-endpoint", required_argument, NULL, OPT_OTLP},
		{"trace-file", required_argument, NULL, OPT_TRACE_FILE},
		{"trace-sample", required_argument, NULL, OPT_TRACE_SAMPLE},
		{"requests-all", no_argument, NULL, OPT_REQUESTS_ALL},
		{"sample-ring", required_argument, NULL, OPT_SAMPLE_RING},
		{"syscall-time", no_argument, NULL, OPT_SYSCALL_TIME},
		{"oncpu", no_argument, NULL, OPT_ONCPU},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->interval_ns = 1000000000ULL;
	o->rescan_ns = 5000000000ULL;
	o->trace_sample = 0.01;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		int handled = resolve_opt_handle(c, optarg, &o->resolve, o->sidecar_names, "watch");

		if (handled == 1)
			continue;
		if (handled)
			return handled;
		switch (c) {
		case OPT_POD:
			if (cli_add_pod("watch", optarg, o->pods, &o->npods, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_PID:
			if (cli_add_pid("watch", optarg, o->pids, &o->npids, MAX_SELECT))
				return EXIT_USAGE;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_CSV:
			o->csv = true;
			break;
		case OPT_DURATION:
			if (cli_parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns)
				return cli_usage_error(
					"watch", "bad --duration '%s' (e.g. 10s, 2m)", optarg);
			break;
		case OPT_INTERVAL:
			if (cli_parse_duration_ns(optarg, &o->interval_ns) ||
			    o->interval_ns < 100000000ULL)
				return cli_usage_error("watch", "bad --interval '%s' (>= 100ms)",
						       optarg);
			break;
		case OPT_RESCAN:
			if (cli_parse_duration_ns(optarg, &o->rescan_ns) ||
			    o->rescan_ns < 100000000ULL)
				return cli_usage_error("watch", "bad --rescan '%s' (>= 100ms)",
						       optarg);
			break;
		case OPT_NO_REQUESTS:
			o->no_requests = true;
			break;
		case OPT_REQUESTS:
			o->requests_lines = true;
			break;
		case OPT_REQUESTS_OUT:
			o->requests_out = optarg;
			break;
		case OPT_OTLP:
			if (cli_otlp_endpoint("watch", optarg, &o->otlp_endpoint))
				return EXIT_USAGE;
			break;
		case OPT_TRACE_FILE:
			o->trace_file = optarg;
			break;
		case OPT_TRACE_SAMPLE: {
			char *end;

			errno = 0;
			o->trace_sample = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->trace_sample >= 0.0) ||
			    o->trace_sample > 1.0)
				return cli_usage_error("watch", "bad --trace-sample '%s' (0..1)",
						       optarg);
			break;
		}
		case OPT_REQUESTS_ALL:
			o->sample_all = true;
			break;
		case OPT_SAMPLE_RING:
			if (conn_sample_ring_opt("watch", optarg, &o->sample_ring))
				return EXIT_USAGE;
			break;
		case OPT_SYSCALL_TIME:
			o->syscall_time = true;
			break;
		case OPT_ONCPU:
			o->oncpu = true;
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return -1;
		default:
			return cli_bad_option("watch", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if (!o->npods && !o->npids)
		return cli_usage_error("watch", "no target: give --pod NS/NAME or --pid PID");
	if (o->json && o->csv)
		return cli_usage_error("watch", "--json and --csv are exclusive");
	if (o->no_requests && (o->requests_lines || o->requests_out || o->otlp_endpoint ||
			       o->trace_file || o->sample_all || o->sample_ring))
		return cli_usage_error("watch", "--no-requests excludes the request options");
	if (o->requests_out && !strcmp(o->requests_out, "-") && (o->json || o->csv))
		return cli_usage_error("watch", "--requests-out - and --json/--csv both want "
						"stdout");
	return 0;
}

/* Mark the selected pods; a bare --pid becomes a pseudo pod. 0 or 1 after one error line. */
static int select_targets(struct target_set *set, const struct watch_opts *o, bool **keepp)
{
	bool *keep;
	int i;

	/* bare PIDs first: they may add pods */
	for (i = 0; i < o->npids; i++) {
		struct target_pod *pod;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", o->pids[i]);
		if (access(path, F_OK)) {
			pr_error("--pid %d: no such process", o->pids[i]);
			return 1;
		}
		if (!target_set__find_pid(set, o->pids[i], NULL, NULL) &&
		    target_set__add_bare_pid(set, "/proc", o->pids[i], &pod)) {
			pr_error("--pid %d: the process vanished", o->pids[i]);
			return 1;
		}
	}
	keep = calloc((size_t)set->npods + 1, sizeof(*keep));
	if (!keep)
		return 1;
	for (i = 0; i < o->npods; i++) {
		struct target_pod *pod = target_set__find_pod(set, o->pods[i]);

		if (!pod) {
			pr_error("unknown pod '%s': not found on this node by the sources used "
				 "(see 'podscope pods -v')",
				 o->pods[i]);
			free(keep);
			return 1;
		}
		keep[pod - set->pods] = true;
	}
	for (i = 0; i < o->npids; i++) {
		struct target_pod *pod;

		if (target_set__find_pid(set, o->pids[i], &pod, NULL))
			keep[pod - set->pods] = true;
	}
	*keepp = keep;
	return 0;
}

struct watch_ctx {
	struct model *model;
	struct conn_tracer *conn;
	struct watchset *ws;
	struct req_tracker *reqs;
	const struct watch_opts *opts;
	FILE *requests_out;
	struct otlp_exporter *otlp;
	struct jaeger_file *jaeger;
	int64_t mono_to_unix_ns;
	uint64_t rng;
	uint64_t traced;
	uint64_t traces_dropped, traces_failed;
	struct trace_rec *trace; /* scratch for one request's trace (~36 KiB) */
	bool closed;
};

/* true for a fraction @p of calls (xorshift; deterministic for p 0 and 1). */
static bool sampled(struct watch_ctx *wc, double p)
{
	uint64_t x = wc->rng;

	if (p >= 1.0)
		return true;
	if (p <= 0.0)
		return false;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	wc->rng = x;
	return (double)(x >> 11) / 9007199254740992.0 < p;
}

static void on_request(void *ctx, const struct req_record *r)
{
	struct watch_ctx *wc = ctx;
	const struct watch_container *ctr = watchset__container(wc->ws, r->container_idx);

	model__on_request(wc->model, r);
	if (wc->opts->requests_lines) {
		req_record_print(stdout, r, ctr);
		fflush(stdout);
	}
	if (wc->requests_out) {
		json_t *o = req_record_json(r, ctr, wc->mono_to_unix_ns);

		if (o) {
			json_dumpf(o, wc->requests_out, JSON_COMPACT);
			fputc('\n', wc->requests_out);
			json_decref(o);
		}
	}
	if ((wc->otlp || wc->jaeger) && sampled(wc, wc->opts->trace_sample)) {
		struct trace_rec *t = wc->trace; /* one buffer: the exporters copy it */

		req_record_trace(r, ctr, wc->mono_to_unix_ns, t);
		if (wc->otlp)
			otlp_exporter__submit(wc->otlp, t);
		if (wc->jaeger)
			jaeger_file__add(wc->jaeger, t);
		wc->traced++;
	}
}

static void on_sample(void *ctx, const struct sample_event *e)
{
	struct watch_ctx *wc = ctx;

	if (wc->reqs)
		req_tracker__on_sample(wc->reqs, e);
}

static void on_process(void *ctx, const char *event, const char *why, const struct watch_process *p,
		       pid_t parent)
{
	struct watch_ctx *wc = ctx;

	(void)parent;
	pr_debug("process %s: %d %s (%s)", event, p->pid, p->comm, why);
	if (wc->model)
		model__on_process(wc->model, p);
	/* a process found by a rescan may hold sockets we never saw open */
	if (!strcmp(event, "start") && !strcmp(why, "rescan") && wc->conn)
		conn_tracer__seed_process(wc->conn, p->pid, p->idx);
}

static void on_conn_event(void *ctx, const struct conn_event *e)
{
	struct watch_ctx *wc = ctx;

	if (wc->model)
		model__on_conn_event(wc->model, e);
	if (wc->reqs && e->type == CEV_CLOSE)
		req_tracker__on_close(wc->reqs, e->sock_id, e->ts_ns - e->duration_ns);
}

/* Open what --requests-out, --otlp-endpoint and --trace-file ask for. 0 or 1 (logged). */
static int requests_open(struct watch_ctx *wc, const struct watch_opts *o)
{
	wc->mono_to_unix_ns = clock_mono_to_unix_ns();
	wc->rng = (uint64_t)wc->mono_to_unix_ns | 1;
	if (o->requests_out) {
		wc->requests_out = strcmp(o->requests_out, "-") ? fopen(o->requests_out, "w")
								: stdout;
		if (!wc->requests_out) {
			pr_error("--requests-out %s: %s", o->requests_out, strerror(errno));
			return 1;
		}
	}
	if (o->otlp_endpoint || o->trace_file) {
		wc->trace = malloc(sizeof(*wc->trace));
		if (!wc->trace) {
			pr_error("out of memory");
			return 1;
		}
	}
	if (o->otlp_endpoint) {
		wc->otlp = otlp_exporter__new(o->otlp_endpoint, NULL);
		if (!wc->otlp)
			return 1;
	}
	if (o->trace_file) {
		wc->jaeger = jaeger_file__open(o->trace_file, 100000);
		if (!wc->jaeger)
			return 1;
	}
	return 0;
}

/*
 * Flush and close the request outputs; what the exporters could not deliver
 * goes into the model. Idempotent. 0, or 1 when the trace file failed.
 */
static int requests_close(struct watch_ctx *wc)
{
	int rc = 0;

	if (wc->closed)
		return 0;
	wc->closed = true;
	free(wc->trace);
	wc->trace = NULL;
	if (wc->requests_out && wc->requests_out != stdout)
		fclose(wc->requests_out);
	wc->requests_out = NULL;
	if (wc->otlp) {
		struct otlp_exporter_stats st = {0};

		otlp_exporter__finish(wc->otlp, 5000, &st);
		wc->otlp = NULL;
		wc->traces_dropped += st.dropped;
		wc->traces_failed += st.failed;
		if (st.dropped || st.failed)
			pr_warn("OTLP export: %llu traces dropped (queue full), %llu not delivered",
				(unsigned long long)st.dropped, (unsigned long long)st.failed);
	}
	if (wc->jaeger) {
		uint64_t dropped = 0;

		rc = jaeger_file__close(wc->jaeger, &dropped) ? 1 : 0;
		wc->jaeger = NULL;
		wc->traces_dropped += dropped;
		if (dropped)
			pr_warn("trace file: %llu traces over the limit were not written",
				(unsigned long long)dropped);
	}
	return rc;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o = {0};
	struct watch_ctx wc = {0};
	struct ring_wait rw = {.epfd = -1};
	struct watchset *ws = NULL;
	struct target_set set;
	uint64_t start, next_draw;
	bool *keep = NULL, live;
	char err[768];
	int rc, i, trace_file_rc = 0;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	/* before anything is loaded: a signal during start-up must not be lost
	 * (background jobs of scripts even start with SIGINT ignored) */
	cli_stop_on_signals();
	if (target_resolve(&o.resolve, &set, err, sizeof(err))) {
		pr_error("%s", err);
		return 1;
	}
	rc = select_targets(&set, &o, &keep);
	if (rc)
		goto out;
	rc = 1;
	ws = watchset__new(&o.resolve, &set, keep, o.rescan_ns, on_process, &wc,
			   o.oncpu ? WATCHSET_ONCPU : 0);
	if (!ws)
		goto out;
	wc.ws = ws;
	wc.opts = &o;
	wc.model = model__new(ws, &set);
	if (!wc.model) {
		pr_error("out of memory");
		goto out;
	}
	if (!o.no_requests) {
		wc.reqs = req_tracker__new(ws, on_request, &wc);
		if (!wc.reqs) {
			pr_error("out of memory");
			goto out;
		}
		model__enable_requests(wc.model);
		if (requests_open(&wc, &o))
			goto out;
	}
	{
		struct conn_tracer_opts copts = {
			.sample_fn = o.no_requests ? NULL : on_sample,
			.sample_ctx = &wc,
			.sample_all_targets = o.sample_all,
			.sample_ring_bytes = o.sample_ring,
			.syscall_time = o.syscall_time,
		};

		const struct tracker *tr = watchset__tracker(ws);

		wc.conn = conn_tracer__new(tracker__tgids_fd(tr), tracker__gen_fd(tr),
					   on_conn_event, &wc, &copts);
	}
	if (!wc.conn)
		goto out;
	model__set_syscall_time(wc.model, conn_tracer__syscall_time(wc.conn));
	model__set_mechanisms(wc.model, tracker__mechanism(watchset__tracker(ws)),
			      conn_tracer__mechanism(wc.conn));
	for (i = 0; i < watchset__nprocesses(ws); i++) {
		const struct watch_process *p = watchset__process(ws, i);
		int n = conn_tracer__seed_process(wc.conn, p->pid, p->idx);

		if (n < 0)
			pr_debug("seeding sockets of pid %d: %s", p->pid, strerror(-n));
		else
			pr_debug("pid %d: %d listening sockets and client ends seeded", p->pid, n);
	}
	pr_info("watching %d pods, %d processes (target tracker %s, connections %s)",
		watchset__npods(ws), watchset__nprocesses(ws),
		tracker__mechanism(watchset__tracker(ws)), conn_tracer__mechanism(wc.conn));

	/* one sleep on both rings: a sample batch's wakeup is seen at once */
	if ((rc = ring_wait__init(&rw)) || (rc = ring_wait__add(&rw, watchset__epoll_fd(ws))) ||
	    (rc = ring_wait__add(&rw, conn_tracer__epoll_fd(wc.conn)))) {
		pr_error("epoll: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
	live = !o.json && !o.csv && !o.requests_lines && isatty(STDOUT_FILENO);
	start = cli_now_ns();
	next_draw = start + o.interval_ns;
	rc = 0;
	while (!cli_stopping()) {
		uint64_t t = cli_now_ns();

		if (o.duration_ns && t - start >= o.duration_ns)
			break;
		rc = ring_wait__wait(&rw, 50);
		if (rc >= 0)
			rc = watchset__poll(ws, 0);
		if (!rc)
			rc = conn_tracer__poll(wc.conn);
		if (rc < 0) {
			pr_error("polling events: %s", strerror(-rc));
			break;
		}
		rc = 0;
		if (t >= next_draw) {
			next_draw = t + o.interval_ns;
			collect__requests(wc.model, wc.reqs);
		}
		if (live && t == next_draw - o.interval_ns) {
			if (!collect__refresh(wc.model, ws, wc.conn, NULL, NULL)) {
				fputs("\033[H\033[2J", stdout);
				model__print_table(wc.model, stdout, (double)(t - start) / 1e9, 40);
				fflush(stdout);
			}
		}
	}
	/* drain what is already queued, then the final snapshot */
	watchset__poll(ws, 0);
	conn_tracer__poll(wc.conn);
	collect__requests(wc.model, wc.reqs);
	if (requests_close(&wc))
		trace_file_rc = 1;
	model__set_trace_lost(wc.model, wc.traces_dropped, wc.traces_failed);
	if (!rc)
		rc = collect__refresh(wc.model, ws, wc.conn, NULL, NULL);
	if (rc) {
		pr_error("reading metrics: %s", strerror(-rc));
		rc = 1;
		goto out;
	}
	{
		double window = (double)(cli_now_ns() - start) / 1e9;

		if (o.json) {
			json_t *doc = model__snapshot_json(wc.model, window);

			json_dumpf(doc, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(doc);
		} else if (o.csv) {
			model__write_csv(wc.model, stdout);
		} else {
			if (live)
				fputs("\033[H\033[2J", stdout);
			model__print_table(wc.model, stdout, window, 1000);
		}
	}
	rc = trace_file_rc;
out:
	ring_wait__close(&rw);
	if (requests_close(&wc) && !rc)
		rc = 1;
	conn_tracer__free(wc.conn);
	req_tracker__free(wc.reqs);
	model__free(wc.model);
	watchset__free(ws);
	free(keep);
	target_set__free(&set);
	return rc;
}
