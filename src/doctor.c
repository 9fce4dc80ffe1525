// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The doctor command. It never guesses: every line it prints comes from a
 * probe in features.c. Exit status 0 means podscope's minimum set is present
 * (it can watch pods); anything missing from that set is named, and every
 * optional feature that is absent is listed with what it costs the user.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "doctor.h"
#include "log.h"
#include "trace_points.h"

static void add_item(struct doctor_item *items, int *count, const char *feature, const char *effect)
{
	if (*count >= DOCTOR_MAX_ITEMS)
		return;
	snprintf(items[*count].feature, sizeof(items[*count].feature), "%s", feature);
	snprintf(items[*count].effect, sizeof(items[*count].effect), "%s", effect);
	(*count)++;
}

#define MISSING(f, e)  add_item(v->missing, &v->missing_count, f, e)
#define DEGRADED(f, e) add_item(v->degraded, &v->degraded_count, f, e)

void doctor_evaluate(const struct kernel_features *kf, struct doctor_verdict *v)
{
	const struct feature_status *h = kf->hooks;
	bool raw = h[HOOK_TP_BTF].available || h[HOOK_RAW_TP].available;
	int i;

	memset(v, 0, sizeof(*v));
	if (!kf->btf.available)
		MISSING("btf", "CO-RE relocation and tp_btf need /sys/kernel/btf/vmlinux "
			       "(CONFIG_DEBUG_INFO_BTF=y)");
	if (!kf->tracefs.available)
		MISSING("tracefs", "classic tracepoints need tracefs at /sys/kernel/tracing");
	if (!h[HOOK_TRACEPOINT].available)
		MISSING("hook:tracepoint", "syscall tracepoints (connect, accept, read, write)");
	if (!raw)
		MISSING("hook:raw_tp", "neither tp_btf nor raw_tp: hot paths cannot be attached");
	for (i = 0; i < MAPF_SOCKHASH; i++)
		if (!kf->maps[i].available) {
			char name[64];

			snprintf(name, sizeof(name), "map:%s", map_feature_name(i));
			MISSING(name, "in-kernel aggregation and event delivery");
		}

	for (i = 0; i < kf->tracepoint_count; i++) {
		const struct tracepoint_status *tp = &kf->tracepoints[i];
		bool reachable = (tp->in_btf && raw) ||
				 (tp->in_tracefs && h[HOOK_TRACEPOINT].available);
		char name[64];

		if (reachable)
			continue;
		snprintf(name, sizeof(name), "tracepoint:%s:%s", tp->category, tp->name);
		if (tp->required)
			MISSING(name, tp->used_for);
		else
			DEGRADED(name, tp->used_for);
	}

	if (!h[HOOK_TP_BTF].available && h[HOOK_RAW_TP].available)
		DEGRADED("hook:tp_btf", "hot paths use raw_tp instead (same points, reads via "
					"bpf_probe_read)");
	if (!h[HOOK_FENTRY].available && !h[HOOK_KPROBE].available)
		DEGRADED("hook:fentry+kprobe", "finer packet-path points (ip_rcv, ip_output, "
					       "br_forward, nf_hook_slow ...) are not traced; "
					       "tracepoints and tc only");
	else if (!h[HOOK_FENTRY].available)
		DEGRADED("hook:fentry", "kernel-function points use kprobes (higher cost)");
	if (!kf->maps[MAPF_SK_STORAGE].available)
		DEGRADED("map:sk_storage", "connection state in an LRU hash and the connection "
					   "programs on raw_tp: a hash lookup per socket "
					   "read/write");
	if (h[HOOK_TP_BTF].available && kf->maps[MAPF_SK_STORAGE].available &&
	    !kf->tracing_socket_cookie.available)
		DEGRADED("helper:get_socket_cookie", "connection programs on raw_tp: their socket "
						     "cache needs bpf_get_socket_cookie in tracing "
						     "programs (5.12); a hash lookup per "
						     "read/write");
	if (!h[HOOK_UPROBE].available)
		DEGRADED("hook:uprobe", "TLS plaintext via OpenSSL uprobes unavailable");
	if (!h[HOOK_SOCKOPS].available || !h[HOOK_SK_MSG].available ||
	    !kf->maps[MAPF_SOCKHASH].available || !kf->msg_redirect_hash.available)
		DEGRADED("accel", "socket-redirect acceleration unavailable (needs sockops, "
				  "sk_msg, sockhash, bpf_msg_redirect_hash)");
	if (!h[HOOK_TC].available)
		DEGRADED("hook:tc", "tc points on pod interfaces unavailable in packet traces");
	if (kf->cgroup.layout == CGROUP_LAYOUT_V1)
		DEGRADED("cgroup:v2", "no cgroup v2 hierarchy: per-pod sockops attach and "
				      "cgroup-id filtering unavailable (tgid filtering only)");
	v->ready = v->missing_count == 0;
}

static json_t *status_json(const struct feature_status *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "available", json_boolean(st->available));
	json_object_set_new(o, "detail", json_string(st->detail));
	if (!st->available) {
		const char *name = st->err ? strerrorname_np(st->err) : NULL;

		json_object_set_new(o, "stage", json_string(probe_stage_name(st->stage)));
		json_object_set_new(o, "errno", name ? json_string(name) : json_null());
	}
	return o;
}

static json_t *items_json(const struct doctor_item *items, int count)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < count; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "feature", items[i].feature,
						   "effect", items[i].effect));
	return a;
}

static json_t *u64_or_null(uint64_t v)
{
	return v == UINT64_MAX ? json_string("unlimited") : json_integer((json_int_t)v);
}

json_t *doctor_to_json(const struct kernel_features *kf, const struct doctor_verdict *v)
{
	json_t *root = json_object(), *hooks = json_object(), *maps = json_object();
	json_t *tps = json_array(), *tracefs, *v1 = json_array();
	char names[sizeof(kf->cgroup.v1_names)], *tok, *save = NULL;
	int i;

	if (!root || !hooks || !maps || !tps || !v1)
		goto err;
	json_object_set_new(root, "schema", json_string("podscope.doctor/v1"));
	json_object_set_new(root, "kernel",
			    json_pack("{s:s, s:s}", "release", kf->release, "machine",
				      kf->machine));
	json_object_set_new(root, "btf", status_json(&kf->btf));
	tracefs = status_json(&kf->tracefs);
	json_object_set_new(tracefs, "mounted_by_podscope", json_boolean(kf->tracefs_mounted_now));
	json_object_set_new(root, "tracefs", tracefs);
	for (i = 0; i < HOOK__COUNT; i++)
		json_object_set_new(hooks, hook_type_name(i), status_json(&kf->hooks[i]));
	json_object_set_new(root, "hooks", hooks);
	for (i = 0; i < MAPF__COUNT; i++)
		json_object_set_new(maps, map_feature_name(i), status_json(&kf->maps[i]));
	json_object_set_new(root, "maps", maps);
	json_object_set_new(
		root, "helpers",
		json_pack("{s:o, s:o}", "msg_redirect_hash", status_json(&kf->msg_redirect_hash),
			  "get_socket_cookie_tracing", status_json(&kf->tracing_socket_cookie)));
	for (i = 0; i < kf->tracepoint_count; i++) {
		const struct tracepoint_status *tp = &kf->tracepoints[i];
		const char *variant = tracepoint_variant(tp);
		char name[96];
		json_t *o;

		snprintf(name, sizeof(name), "%s:%s", tp->category, tp->name);
		o = json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", name, "used_for", tp->used_for,
			      "required", tp->required, "tracefs", tp->in_tracefs, "btf",
			      tp->in_btf);
		json_object_set_new(o, "args",
				    tp->nargs >= 0 ? json_integer(tp->nargs) : json_null());
		if (variant)
			json_object_set_new(o, "variant", json_string(variant));
		json_array_append_new(tps, o);
	}
	json_object_set_new(root, "tracepoints", tps);
	snprintf(names, sizeof(names), "%s", kf->cgroup.v1_names);
	for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(v1, json_string(tok));
	json_object_set_new(root, "cgroup",
			    json_pack("{s:s, s:s?, s:o}", "layout",
				      cgroup_layout_name(kf->cgroup.layout), "v2_path",
				      kf->cgroup.v2_path[0] ? kf->cgroup.v2_path : NULL,
				      "v1_hierarchies", v1));
	json_object_set_new(root, "bpf_stats",
			    json_pack("{s:b, s:i}", "enabled", kf->bpf_stats_enabled == 1, "sysctl",
				      kf->bpf_stats_enabled));
	json_object_set_new(root, "unprivileged_bpf_disabled",
			    json_integer(kf->unprivileged_bpf_disabled));
	json_object_set_new(root, "memlock",
			    json_pack("{s:o, s:o, s:b}", "soft", u64_or_null(kf->memlock_cur),
				      "hard", u64_or_null(kf->memlock_max), "memcg_accounting",
				      kf->memcg_accounting));
	json_object_set_new(root, "ready", json_boolean(v->ready));
	json_object_set_new(root, "missing", items_json(v->missing, v->missing_count));
	json_object_set_new(root, "degraded", items_json(v->degraded, v->degraded_count));
	return root;
err:
	json_decref(root);
	json_decref(hooks);
	json_decref(maps);
	json_decref(tps);
	json_decref(v1);
	return NULL;
}

static void print_status(const char *name, const struct feature_status *st)
{
	printf("  %-4s %-22s %s\n", st->available ? "ok" : "--", name, st->detail);
}

static void print_bytes(uint64_t v)
{
	if (v == UINT64_MAX)
		printf("unlimited");
	else
		printf("%llu KiB", (unsigned long long)(v / 1024));
}

static void doctor_print(const struct kernel_features *kf, const struct doctor_verdict *v)
{
	int i;

	printf("podscope doctor: kernel %s (%s)\n\n", kf->release, kf->machine);
	printf("Kernel\n");
	print_status("btf", &kf->btf);
	print_status("tracefs", &kf->tracefs);
	printf("\nHooks (each probed by loading and attaching a tiny program)\n");
	for (i = 0; i < HOOK__COUNT; i++)
		print_status(hook_type_name(i), &kf->hooks[i]);
	printf("\nMaps and helpers\n");
	for (i = 0; i < MAPF__COUNT; i++)
		print_status(map_feature_name(i), &kf->maps[i]);
	print_status("msg_redirect_hash", &kf->msg_redirect_hash);
	print_status("socket_cookie (tp_btf)", &kf->tracing_socket_cookie);
	printf("\nTracepoints (tracefs = classic, btf = tp_btf/raw_tp)\n");
	for (i = 0; i < kf->tracepoint_count; i++) {
		const struct tracepoint_status *tp = &kf->tracepoints[i];
		const char *variant = tracepoint_variant(tp);
		char name[96];

		snprintf(name, sizeof(name), "%s:%s", tp->category, tp->name);
		printf("  %-4s %-34s %-7s %-4s %s%s%s%s\n",
		       tp->in_tracefs || tp->in_btf ? "ok" : "--", name,
		       tp->in_tracefs ? "tracefs" : "", tp->in_btf ? "btf" : "", tp->used_for,
		       tp->required ? " (required)" : "", variant ? "; here: " : "",
		       variant ? variant : "");
	}
	printf("\nPacket path points ('podscope trace'; the table is include/trace_events.h)\n");
	for (i = 0; i < TPT__COUNT; i++) {
		const struct trace_point_info *pi = trace_point_info((unsigned)i);
		bool ok = false;
		const char *how = "";

		switch (pi->mech) {
		case TMECH_TP:
		case TMECH_SPECIAL:
			ok = kf->hooks[HOOK_TP_BTF].available || kf->hooks[HOOK_RAW_TP].available;
			how = kf->hooks[HOOK_TP_BTF].available ? "tracepoint via tp_btf"
							       : "tracepoint via raw_tp";
			break;
		case TMECH_FENTRY:
			ok = kf->hooks[HOOK_FENTRY].available;
			how = ok ? "fentry"
				 : "fentry unavailable here: not traced (no kprobe fallback)";
			break;
		case TMECH_TC:
			ok = kf->hooks[HOOK_TC].available;
			how = "tcx link on the pod's devices (kernel >= 6.6)";
			break;
		}
		printf("  %-4s %-34s %s\n", ok ? "ok" : "--", pi->name, how);
	}
	printf("\nSystem\n");
	printf("  %-27s %s", "cgroup layout", cgroup_layout_name(kf->cgroup.layout));
	if (kf->cgroup.v2_path[0])
		printf(" (v2 at %s)", kf->cgroup.v2_path);
	if (kf->cgroup.v1_count)
		printf(" (%d v1 hierarchies)", kf->cgroup.v1_count);
	printf("\n  %-27s %s\n", "bpf stats",
	       kf->bpf_stats_enabled == 1   ? "enabled (kernel.bpf_stats_enabled=1)"
	       : kf->bpf_stats_enabled == 0 ? "disabled (podscope run enables it while it runs)"
					    : "unknown");
	printf("  %-27s soft ", "memlock rlimit");
	print_bytes(kf->memlock_cur);
	printf(", hard ");
	print_bytes(kf->memlock_max);
	printf("%s\n", kf->memcg_accounting ? " (unused: BPF memory is charged to the memory "
					      "cgroup)"
					    : " (BPF memory counts against it)");
	printf("  %-27s %d\n", "unprivileged_bpf_disabled", kf->unprivileged_bpf_disabled);

	if (v->degraded_count) {
		printf("\nUnavailable, and what that costs\n");
		for (i = 0; i < v->degraded_count; i++)
			printf("  %-27s %s\n", v->degraded[i].feature, v->degraded[i].effect);
	}
	printf("\nVerdict: ");
	if (v->ready) {
		printf("ready: the minimum set is present%s\n",
		       v->degraded_count ? " (some features degraded, see above)" : "");
	} else {
		printf("NOT ready: missing");
		for (i = 0; i < v->missing_count; i++)
			printf("%s %s", i ? "," : "", v->missing[i].feature);
		printf("\n");
		for (i = 0; i < v->missing_count; i++)
			printf("  %-27s %s\n", v->missing[i].feature, v->missing[i].effect);
	}
}

static const char doctor_usage[] =
	"Usage: podscope doctor [--json] [-v]\n"
	"\n"
	"Probe what this kernel offers (BTF, tracefs, each BPF hook type by loading\n"
	"and attaching a tiny program, the tracepoints podscope needs, cgroup layout,\n"
	"BPF stats, memlock) and say what podscope will use.\n"
	"Mounts tracefs at /sys/kernel/tracing for the probe if it is absent.\n"
	"\n"
	"  --json       print the report as one JSON document (schema podscope.doctor/v1)\n"
	"  -v, --verbose  show libbpf's messages while probing\n"
	"  -h, --help   this text\n"
	"\n"
	"Exit status: 0 when the minimum set is present, 1 when something in it is\n"
	"missing (named in the report), 2 on bad usage.\n";

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct kernel_features kf;
	struct doctor_verdict verdict;
	bool json = false;
	int c, err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		case 'h':
			fputs(doctor_usage, stdout);
			return 0;
		default:
			return cli_bad_option("doctor", argv, optind);
		}
	}
	if (optind < argc)
		return cli_usage_error("doctor", "unexpected argument '%s'", argv[optind]);

	err = features_probe(&kf);
	if (err) {
		pr_error("probing kernel features: %s", strerror(-err));
		return 1;
	}
	doctor_evaluate(&kf, &verdict);
	if (json) {
		json_t *doc = doctor_to_json(&kf, &verdict);

		if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
			pr_error("writing JSON report failed");
			json_decref(doc);
			free(kf.tracepoints);
			return 1;
		}
		putchar('\n');
		json_decref(doc);
	} else {
		doctor_print(&kf, &verdict);
	}
	free(kf.tracepoints);
	return verdict.ready ? 0 : 1;
}
