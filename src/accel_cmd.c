// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `podscope accel run`: accelerate the named pods for as long as the command
 * runs, printing what was redirected. Redirection ends with the process, by
 * any exit: connections then continue on the normal TCP/IP path.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "accel.h"
#include "accel_cmd.h"
#include "agent.h"
#include "cgroup.h"
#include "cli.h"
#include "log.h"
#include "resolve.h"

#define MAX_PODS 16

static const char accel_usage[] =
	"Usage: podscope accel run (--pod NS/NAME ... | --node-wide) [options]\n"
	"       podscope accel enable|disable --pod NS/NAME [--agent URL] [--token-file F]\n"
	"       podscope accel status [--agent URL] [--json]\n"
	"\n"
	"Redirect pod-local TCP traffic socket to socket (sockops + sk_msg), skipping\n"
	"the TCP/IP stack between a sidecar and its application, in both directions\n"
	"(including Istio-style REDIRECT capture), for as long as this command runs.\n"
	"Only connections opened after it starts are redirected; if it stops, for any\n"
	"reason, every connection continues on the normal path.\n"
	"\n"
	"  --pod NS/NAME       accelerate this pod (repeatable)\n"
	"  --node-wide         accelerate every process of the node (root cgroup)\n"
	"  --pod-to-pod        also redirect between pods of this node (bypasses their\n"
	"                      iptables rules and network policy: opt-in)\n"
	"  --pods-file F, --source auto|k8s|docker|proc, --kubeconfig F, ...  (as 'podscope "
	"pods')\n"
	"  --duration D        stop after D (default: until SIGINT/SIGTERM)\n"
	"  --interval D        status line every D (default 5s; 0: only at the end)\n"
	"  --json              final status as JSON\n"
	"  -v, --verbose       debug output\n"
	"\n"
	"enable/disable/status talk to a running agent ('podscope run', default\n"
	"http://127.0.0.1:9746); enable and disable need its token.\n";

struct accel_opts {
	struct resolve_opts resolve;
	const char *pods[MAX_PODS];
	int npods;
	const char *sidecar_names[RESOLVE_MAX_SIDECAR_NAMES];
	bool node, pod_to_pod, json;
	uint64_t duration_ns, interval_ns;
};

static int parse_args(int argc, char **argv, struct accel_opts *o)
{
	enum { OPT_POD = 256, OPT_NODE_WIDE, OPT_P2P, OPT_DURATION, OPT_INTERVAL, OPT_JSON };
	static const struct option opts[] = {
		{"pod", required_argument, NULL, OPT_POD},
		{"node-wide", no_argument, NULL, OPT_NODE_WIDE},
		{"pod-to-pod", no_argument, NULL, OPT_P2P},
		RESOLVE_LONG_OPTIONS,
		{"duration", required_argument, NULL, OPT_DURATION},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"json", no_argument, NULL, OPT_JSON},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->interval_ns = 5000000000ULL;
	optind = 1;
	opterr = 0;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc < 2)
			return cli_usage_error("accel", "missing subcommand: run");
		fputs(accel_usage, stdout);
		return -1;
	}
	if (strcmp(argv[1], "run"))
		return cli_usage_error("accel",
				       "unknown subcommand '%s' (only 'run' for now; "
				       "enable/disable/status go through 'podscope run')",
				       argv[1]);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		int handled = resolve_opt_handle(c, optarg, &o->resolve, o->sidecar_names, "accel");

		if (handled == 1)
			continue;
		if (handled)
			return handled;
		switch (c) {
		case OPT_POD:
			if (cli_add_pod("accel", optarg, o->pods, &o->npods, MAX_PODS))
				return EXIT_USAGE;
			break;
		case OPT_NODE_WIDE:
			o->node = true;
			break;
		case OPT_P2P:
			o->pod_to_pod = true;
			break;
		case OPT_DURATION:
			if (cli_parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns)
				return cli_usage_error("accel", "bad --duration '%s'", optarg);
			break;
		case OPT_INTERVAL:
			if (cli_parse_duration_ns(optarg, &o->interval_ns))
				return cli_usage_error("accel", "bad --interval '%s'", optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(accel_usage, stdout);
			return -1;
		default:
			return cli_bad_option("accel", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("accel", "unexpected argument '%s'", argv[optind]);
	if (!o->npods && !o->node)
		return cli_usage_error("accel", "no target: give --pod NS/NAME or --node-wide");
	return 0;
}

static void print_status(struct accel *a, bool json, double secs)
{
	json_t *o = accel__status_json(a, secs);

	if (!o)
		return;
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("accel %.1fs: sockets %lld (now %lld), redirected %lld msgs / %lld bytes, "
		       "normal path %lld msgs, failed %lld, sockhash full %lld\n",
		       secs,
		       json_integer_value(json_object_get(o, "sockets_client")) +
			       json_integer_value(json_object_get(o, "sockets_server")),
		       json_integer_value(json_object_get(o, "sockets_now")),
		       json_integer_value(json_object_get(o, "messages_redirected")),
		       json_integer_value(json_object_get(o, "bytes_redirected")),
		       json_integer_value(json_object_get(o, "messages_not_redirected")),
		       json_integer_value(json_object_get(o, "redirect_failed")),
		       json_integer_value(json_object_get(o, "sockhash_full")));
	}
	json_decref(o);
	fflush(stdout);
}

int cmd_accel(int argc, char **argv)
{
	struct accel_opts o = {0};
	struct cgroup_info cg = {0};
	struct target_set set = {0};
	struct accel *a = NULL;
	uint64_t start, next;
	char err[768], dir[4096];
	int rc, i;

	if (argc >= 2 && (!strcmp(argv[1], "enable") || !strcmp(argv[1], "disable") ||
			  !strcmp(argv[1], "status")))
		return cmd_accel_remote(argc - 1, argv + 1);
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	cli_stop_on_signals();
	if (cgroup_info_read(&cg) || !cg.v2_path[0]) {
		pr_error("no cgroup v2 hierarchy mounted: sockops cannot be attached");
		return 1;
	}
	if (o.npods && target_resolve(&o.resolve, &set, err, sizeof(err))) {
		pr_error("%s", err);
		return 1;
	}
	rc = 1;
	a = accel__new(o.pod_to_pod);
	if (!a)
		goto out;
	if (o.node && accel__enable(a, "node", cg.v2_path))
		goto out;
	for (i = 0; i < o.npods; i++) {
		struct target_pod *pod = target_set__find_pod(&set, o.pods[i]);

		if (!pod) {
			pr_error("unknown pod '%s' (see 'podscope pods -v')", o.pods[i]);
			goto out;
		}
		if (target_pod__cgroup_v2_dir(pod, cg.v2_path, dir, sizeof(dir))) {
			pr_error("pod %s has no cgroup v2 directory to attach to", o.pods[i]);
			goto out;
		}
		if (accel__enable(a, o.pods[i], dir))
			goto out;
	}
	if (!o.json)
		printf("# accelerating %d target(s)%s; Ctrl-C to stop\n", accel__nenabled(a),
		       o.pod_to_pod ? " (pod-to-pod on)" : "");
	fflush(stdout);
	start = cli_now_ns();
	next = start + o.interval_ns;
	while (!cli_stopping()) {
		uint64_t t = cli_now_ns();

		if (o.duration_ns && t - start >= o.duration_ns)
			break;
		if (o.interval_ns && t >= next && !o.json) {
			next = t + o.interval_ns;
			print_status(a, false, (double)(t - start) / 1e9);
		}
		usleep(100000);
	}
	print_status(a, o.json, (double)(cli_now_ns() - start) / 1e9);
	rc = 0;
out:
	accel__free(a);
	target_set__free(&set);
	return rc;
}
