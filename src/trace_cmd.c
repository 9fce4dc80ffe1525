// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `podscope trace`: the packet path of pods' TCP connections, hop by hop.
 * Resolve the pods, load the packet tracer (src/trace.c), point it at the
 * pods' network namespaces, collect events for the duration, then assemble
 * flows (src/flow.c) and print them: text, JSON (podscope.trace/v1) or CSV.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flow.h"
#include "log.h"
#include "resolve.h"
#include "trace.h"
#include "trace_cmd.h"
#include "trace_points.h"
#include "otlp.h"

#define MAX_SELECT 16

struct trace_opts {
	struct resolve_opts resolve;
	const char *pods[MAX_SELECT];
	int npods;
	const char *sidecar_names[RESOLVE_MAX_SIDECAR_NAMES];
	bool json, csv;
	uint64_t duration_ns;
	uint64_t sample_every;
	uint64_t max_events;
	uint64_t show_packets;
	const char *otlp_endpoint, *trace_file;
};

static const char trace_usage[] =
	"Usage: podscope trace --pod NS/NAME [--pod ...] [options]\n"
	"\n"
	"Follow every TCP packet of pods through the network stack: device receive\n"
	"and transmit, tc on the pod's devices and the host ends of its veths,\n"
	"routing, TCP and the socket, drops with the kernel's reason. Packets are\n"
	"grouped per connection (across NAT such as the sidecar's REDIRECT), split\n"
	"into inside-pod (sidecar <-> app over lo) and outside-pod flows, and\n"
	"classified by TCP phase, with the latency between consecutive hops.\n"
	"\n"
	"Targets (at least one):\n"
	"  --pod NS/NAME           a pod (NAME alone: namespace default); repeatable\n"
	"Sources (as for 'podscope pods'):\n"
	"  --pods-file FILE, --source auto|k8s|docker|proc, --kubeconfig FILE,\n"
	"  --docker-socket PATH, --node NAME, --sidecar-container NAME\n"
	"Tracing:\n"
	"  --duration D            stop after D (e.g. 10s; default: Ctrl-C)\n"
	"  --packet-sample N       keep 1 in N connections (default 1: all)\n"
	"  --max-events N          events kept for assembly (default 131072)\n"
	"Output (at the end):\n"
	"  --json                  one document (podscope.trace/v1, see docs/trace.md)\n"
	"  --csv                   one row per hop\n"
	"  --show-packets N        packets per flow in the text output (default 40)\n"
	"  --otlp-endpoint URL     also send each flow as an OTLP/HTTP JSON trace to URL\n"
	"  --trace-file FILE       also write the flows as a Jaeger UI JSON file\n"
	"  -v, --verbose           debug output\n"
	"  -h, --help              this text\n";

static int parse_args(int argc, char **argv, struct trace_opts *o)
{
	enum {
		OPT_POD = 256,
		OPT_JSON,
		OPT_CSV,
		OPT_DURATION,
		OPT_SAMPLE,
		OPT_MAX_EVENTS,
		OPT_SHOW,
		OPT_OTLP,
		OPT_TRACE_FILE,
	};
	static const struct option opts[] = {
		{"pod", required_argument, NULL, OPT_POD},
		RESOLVE_LONG_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{"csv", no_argument, NULL, OPT_CSV},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"packet-sample", required_argument, NULL, OPT_SAMPLE},
		{"max-events", required_argument, NULL, OPT_MAX_EVENTS},
		{"show-packets", required_argument, NULL, OPT_SHOW},
		{"otlp-endpoint", required_argument, NULL, OPT_OTLP},
		{"trace-file", required_argument, NULL, OPT_TRACE_FILE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->sample_every = 1;
	o->max_events = 131072;
	o->show_packets = 40;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		int handled = resolve_opt_handle(c, optarg, &o->resolve, o->sidecar_names, "trace");

		if (handled == 1)
			continue;
		if (handled)
			return handled;
		switch (c) {
		case OPT_POD:
			if (cli_add_pod("trace", optarg, o->pods, &o->npods, MAX_SELECT))
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
					"trace", "bad --duration '%s' (e.g. 10s, 2m)", optarg);
			break;
		case OPT_SAMPLE:
			if (cli_parse_u64(optarg, 1, 1000000, &o->sample_every))
				return cli_usage_error(
					"trace", "bad --packet-sample '%s' (1 to 1000000)", optarg);
			break;
		case OPT_MAX_EVENTS:
			if (cli_parse_u64(optarg, 1024, 16777216, &o->max_events))
				return cli_usage_error("trace",
						       "bad --max-events '%s' (1024 to 16777216)",
						       optarg);
			break;
		case OPT_OTLP:
			if (cli_otlp_endpoint("trace", optarg, &o->otlp_endpoint))
				return EXIT_USAGE;
			break;
		case OPT_TRACE_FILE:
			o->trace_file = optarg;
			break;
		case OPT_SHOW:
			if (cli_parse_u64(optarg, 1, 100000, &o->show_packets))
				return cli_usage_error("trace", "bad --show-packets '%s'", optarg);
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(trace_usage, stdout);
			return -1;
		default:
			return cli_bad_option("trace", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("trace", "unexpected argument '%s'", argv[optind]);
	if (!o->npods)
		return cli_usage_error("trace", "no target: give --pod NS/NAME");
	if (o->json && o->csv)
		return cli_usage_error("trace", "--json and --csv are exclusive");
	return 0;
}

static void pod_label(const struct target_pod *pod, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", pod->meta.namespace_, pod->meta.name);
}

/* --- collection ------------------------------------------------------------ */

static void on_event(void *ctx, const struct pkt_event *e)
{
	flow_table__add(ctx, e);
}

static json_t *points_json(const struct pkt_tracer *t)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < TPT__COUNT; i++) {
		const struct trace_point_info *pi = trace_point_info(i);
		const struct pkt_point_status *st = pkt_tracer__point(t, i);
		json_t *o = json_object();

		json_object_set_new(o, "point", json_string(pi->name));
		json_object_set_new(o, "kind", json_string(trace_mech_name(pi->mech)));
		json_object_set_new(o, "layer", json_string(trace_layer_name(pi->layer)));
		json_object_set_new(o, "dir", json_string(trace_dir_name(pi->dir)));
		json_object_set_new(o, "mechanism",
				    st->mechanism[0] ? json_string(st->mechanism) : json_null());
		json_object_set_new(o, "links", json_integer(st->links));
		if (st->detail[0])
			json_object_set_new(o, "detail", json_string(st->detail));
		json_array_append_new(a, o);
	}
	return a;
}

static void print_points(const struct pkt_tracer *t, FILE *out)
{
	fprintf(out, "hook points:\n");
	for (unsigned i = 0; i < TPT__COUNT; i++) {
		const struct trace_point_info *pi = trace_point_info(i);
		const struct pkt_point_status *st = pkt_tracer__point(t, i);

		fprintf(out, "  %-24s %-10s %-8s %s\n", pi->name, trace_mech_name(pi->mech),
			st->mechanism[0] ? st->mechanism : "-", st->mechanism[0] ? "" : st->detail);
	}
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, for ts_ns -> Unix time. */
static int64_t mono_to_unix_ns(void);

/* One trace per flow to --otlp-endpoint and --trace-file. 0, or 1 after one error line. */
static int export_spans(const struct trace_opts *o, struct flow_table *ft,
			const struct flow_namer *nm)
{
	struct otlp_exporter *ex = NULL;
	struct jaeger_file *jf = NULL;
	struct trace_rec *t;
	int64_t off = mono_to_unix_ns();
	uint64_t dropped = 0;
	int i, rc = 0;

	if (!o->otlp_endpoint && !o->trace_file)
		return 0;
	t = malloc(sizeof(*t));
	if (!t) {
		pr_error("out of memory");
		return 1;
	}
	if (o->otlp_endpoint && !(ex = otlp_exporter__new(o->otlp_endpoint, NULL)))
		rc = 1;
	if (!rc && o->trace_file && !(jf = jaeger_file__open(o->trace_file, 100000)))
		rc = 1;
	for (i = 0; !rc && i < flow_table__nflows(ft); i++) {
		if (flow__to_trace(flow_table__flow(ft, i), nm, off, t) <= 0)
			continue;
		if (ex)
			otlp_exporter__submit(ex, t);
		if (jf)
			jaeger_file__add(jf, t);
	}
	otlp_exporter__free(ex, 5000);
	if (jf && jaeger_file__close(jf, &dropped))
		rc = 1;
	if (dropped)
		pr_warn("trace file: %llu flows over the limit were not written",
			(unsigned long long)dropped);
	free(t);
	return rc;
}

static int64_t mono_to_unix_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o = {0};
	struct flow_namer nm = {0};
	struct pkt_tracer_opts topts = {0};
	struct pkt_tracer *t = NULL;
	struct flow_table *ft = NULL;
	struct target_set set = {0};
	uint64_t kstats[PSTAT__COUNT] = {0}, start;
	struct flow_stats fs;
	bool *keep = NULL;
	char err[768], label[POD_NAME_MAX * 2 + 2];
	int rc, i;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	cli_stop_on_signals();
	if (target_resolve(&o.resolve, &set, err, sizeof(err))) {
		pr_error("%s", err);
		return 1;
	}
	rc = 1;
	keep = calloc((size_t)set.npods + 1, sizeof(*keep));
	if (!keep)
		goto out;
	for (i = 0; i < o.npods; i++) {
		struct target_pod *pod = target_set__find_pod(&set, o.pods[i]);

		if (!pod) {
			pr_error("unknown pod '%s': not found on this node by the sources used "
				 "(see 'podscope pods -v')",
				 o.pods[i]);
			goto out;
		}
		if (!pod->netns_ino || !target_pod__netns_pid(pod)) {
			pr_error("pod '%s' has no running process on this node: no network "
				 "namespace to trace",
				 o.pods[i]);
			goto out;
		}
		keep[pod - set.pods] = true;
	}
	ft = flow_table__new(&(struct flow_limits){.max_events = o.max_events});
	if (!ft) {
		pr_error("out of memory for %llu events", (unsigned long long)o.max_events);
		goto out;
	}
	topts.sample_every = (uint32_t)o.sample_every;
	t = pkt_tracer__new(&topts, on_event, ft);
	if (!t)
		goto out;
	pkt_tracer__namer(t, &nm);
	for (i = 0; i < set.npods; i++) {
		struct target_pod *pod = &set.pods[i];
		pid_t pid = target_pod__netns_pid(pod);
		int e;

		if (!pid)
			continue;
		pod_label(pod, label, sizeof(label));
		e = pkt_tracer__add_netns(t, pid, label, keep[i]);
		if (e && keep[i]) {
			pr_error("cannot trace pod '%s' (pid %d's network namespace): %s", label,
				 pid, strerror(-e));
			goto out;
		}
	}
	{
		int tcx = pkt_tracer__point(t, TPT_tc_ingress)->links +
			  pkt_tracer__point(t, TPT_tc_egress)->links;

		pr_info("tracing %d pod(s): tracepoints %s, %d tcx links, 1 in %llu connections",
			o.npods, pkt_tracer__mechanism(t), tcx, (unsigned long long)o.sample_every);
	}
	start = cli_now_ns();
	rc = 0;
	while (!cli_stopping()) {
		if (o.duration_ns && cli_now_ns() - start >= o.duration_ns)
			break;
		rc = pkt_tracer__poll(t, 100);
		if (rc < 0) {
			pr_error("polling events: %s", strerror(-rc));
			break;
		}
		rc = 0;
	}
	pkt_tracer__poll(t, 0);
	pkt_tracer__stats(t, kstats);
	flow_table__assemble(ft);
	flow_table__stats(ft, &fs);
	if (rc) {
		rc = 1;
		goto out;
	}
	if (export_spans(&o, ft, &nm)) {
		rc = 1;
		goto out;
	}
	if (o.json) {
		json_t *doc = json_object(), *flows = json_array(), *lost = json_object(),
		       *pods = json_array();

		json_object_set_new(doc, "schema", json_string("podscope.trace/v1"));
		json_object_set_new(doc, "window_s",
				    json_real((double)(cli_now_ns() - start) / 1e9));
		for (i = 0; i < o.npods; i++)
			json_array_append_new(pods, json_string(o.pods[i]));
		json_object_set_new(doc, "pods", pods);
		json_object_set_new(doc, "packet_sample", json_integer((json_int_t)o.sample_every));
		json_object_set_new(doc, "ts_clock", json_string("CLOCK_MONOTONIC"));
		json_object_set_new(doc, "mono_to_unix_ns", json_integer(mono_to_unix_ns()));
		json_object_set_new(doc, "points", points_json(t));
		json_object_set_new(doc, "events", json_integer((json_int_t)fs.events));
		for (i = 0; i < flow_table__nflows(ft); i++)
			json_array_append_new(flows, flow__json(flow_table__flow(ft, i), &nm));
		json_object_set_new(doc, "flows", flows);
		json_object_set_new(lost, "ringbuf",
				    json_integer((json_int_t)kstats[PSTAT_RINGBUF_DROPS]));
		json_object_set_new(lost, "sampled_out",
				    json_integer((json_int_t)kstats[PSTAT_SAMPLED_OUT]));
		json_object_set_new(lost, "parse_fail",
				    json_integer((json_int_t)kstats[PSTAT_PARSE_FAIL]));
		json_object_set_new(lost, "events_over_cap",
				    json_integer((json_int_t)fs.events_over_cap));
		json_object_set_new(lost, "flows_over_cap",
				    json_integer((json_int_t)fs.flows_over_cap));
		json_object_set_new(lost, "packets_over_cap",
				    json_integer((json_int_t)fs.packets_over_cap));
		json_object_set_new(lost, "hops_over_cap",
				    json_integer((json_int_t)fs.hops_over_cap));
		json_object_set_new(lost, "unmatched", json_integer((json_int_t)fs.unmatched));
		json_object_set_new(lost, "duplicate_copies",
				    json_integer((json_int_t)fs.duplicate_copies));
		json_object_set_new(doc, "lost", lost);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else if (o.csv) {
		flow__csv_header(stdout);
		for (i = 0; i < flow_table__nflows(ft); i++)
			flow__csv(flow_table__flow(ft, i), i, &nm, stdout);
	} else {
		print_points(t, stdout);
		printf("\n%d flows, %llu events (lost: %llu ring buffer, %llu over the event cap; "
		       "%llu sampled out)\n\n",
		       flow_table__nflows(ft), (unsigned long long)fs.events,
		       (unsigned long long)kstats[PSTAT_RINGBUF_DROPS],
		       (unsigned long long)fs.events_over_cap,
		       (unsigned long long)kstats[PSTAT_SAMPLED_OUT]);
		for (i = 0; i < flow_table__nflows(ft); i++) {
			flow__print(flow_table__flow(ft, i), &nm, stdout, (int)o.show_packets);
			putchar('\n');
		}
	}
	fflush(stdout);
out:
	flow_table__free(ft);
	pkt_tracer__free(t);
	free(keep);
	target_set__free(&set);
	return rc;
}
