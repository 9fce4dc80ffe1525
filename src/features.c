// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel feature probing by doing: each hook type is exercised with a tiny
 * program from bpf/doctor.bpf.c, opened from a fresh skeleton so that one
 * failure cannot hide another. Syscall-driven probes also check that the
 * program fired, so "available" means "podscope would see events".
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "doctor.skel.h"
#include "features.h"
#include "log.h"
#include "tracefs.h"

/* The kernel tracepoints podscope consumes: one line each. */
#define TP(cat, tp, why, req)                                                 \
	{                                                                     \
		.category = cat, .name = tp, .used_for = why, .required = req \
	}
static const struct tracepoint_status tracepoint_table[] = {
	TP("sched", "sched_process_fork", "live pickup of new processes", true),
	TP("sched", "sched_process_exec", "live pickup of new processes", true),
	TP("sched", "sched_process_exit", "removing exited processes", true),
	TP("cgroup", "cgroup_attach_task", "live pickup of processes moved into a pod", false),
	TP("sched", "sched_switch", "on-CPU time per container (--oncpu)", false),
	TP("sock", "inet_sock_set_state", "connection lifecycle, connect and close times", true),
	TP("sock", "sock_send_length", "write bytes per socket", false),
	TP("sock", "sock_recv_length", "read bytes per socket", false),
	TP("raw_syscalls", "sys_enter", "time spent in socket calls (--syscall-time)", false),
	TP("raw_syscalls", "sys_exit", "time spent in socket calls (--syscall-time)", false),
	TP("tcp", "tcp_retransmit_skb", "retransmits", false),
	TP("tcp", "tcp_retransmit_synack", "SYN-ACK retransmits", false),
	TP("tcp", "tcp_send_reset", "close reason: reset sent", false),
	TP("tcp", "tcp_receive_reset", "close reason: reset received", false),
	TP("skb", "kfree_skb", "drops with reason", false),
	TP("tcp", "tcp_probe", "packet path: TCP receive", false),
	TP("skb", "consume_skb", "packet path: end of packet", false),
	TP("sock", "sock_rcvqueue_full", "receive queue overflows", false),
	TP("net", "netif_receive_skb", "packet path: receive", false),
	TP("net", "netif_rx", "packet path: veth/loopback receive", false),
	TP("net", "napi_gro_receive_entry", "packet path: GRO", false),
	TP("net", "net_dev_queue", "packet path: device queue", false),
	TP("net", "net_dev_start_xmit", "packet path: transmit start", false),
	TP("net", "net_dev_xmit", "packet path: transmit done", false),
	TP("fib", "fib_table_lookup", "packet path: routing", false),
};

static const char *const hook_names[HOOK__COUNT] = {
	[HOOK_TP_BTF] = "tp_btf",   [HOOK_RAW_TP] = "raw_tp", [HOOK_TRACEPOINT] = "tracepoint",
	[HOOK_FENTRY] = "fentry",   [HOOK_KPROBE] = "kprobe", [HOOK_UPROBE] = "uprobe",
	[HOOK_SOCKOPS] = "sockops", [HOOK_SK_MSG] = "sk_msg", [HOOK_TC] = "tc",
};

static const char *const map_names[MAPF__COUNT] = {
	[MAPF_RINGBUF] = "ringbuf",	      [MAPF_LRU_HASH] = "lru_hash",
	[MAPF_PERCPU_ARRAY] = "percpu_array", [MAPF_SOCKHASH] = "sockhash",
	[MAPF_SK_STORAGE] = "sk_storage",
};

int features_tracepoint_nargs(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	char type_name[128];
	int id;

	snprintf(type_name, sizeof(type_name), "btf_trace_%s", name);
	id = btf__find_by_name_kind(btf, type_name, BTF_KIND_TYPEDEF);
	t = id < 0 ? NULL : btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t)) /* typedef -> pointer -> prototype */
		return -1;
	t = btf__type_by_id(btf, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) > 0 ? (int)btf_vlen(t) - 1 : -1;
}

const char *tracepoint_variant(const struct tracepoint_status *tp)
{
	if (tp->nargs < 0)
		return NULL;
	if (!strcmp(tp->name, "kfree_skb")) {
		if (tp->nargs >= 4)
			return "with the receiving socket";
		if (tp->nargs == 3)
			return "no receiving socket (before Linux 6.11): receive drops before the "
			       "socket lookup are not attributed";
		return "no drop reason (before Linux 5.17): drops are not counted";
	}
	if (!strcmp(tp->name, "tcp_retransmit_skb"))
		return tp->nargs >= 3 ? "every attempt, with its result"
				      : "successful attempts only (no result argument)";
	return NULL;
}

const char *hook_type_name(enum hook_type type)
{
	return type < HOOK__COUNT ? hook_names[type] : "?";
}

const char *map_feature_name(enum map_feature map)
{
	return map < MAPF__COUNT ? map_names[map] : "?";
}

const char *probe_stage_name(enum probe_stage stage)
{
	switch (stage) {
	case PROBE_STAGE_OPEN:
		return "open";
	case PROBE_STAGE_LOAD:
		return "load";
	case PROBE_STAGE_ATTACH:
		return "attach";
	case PROBE_STAGE_FIRE:
		return "fire";
	default:
		return "";
	}
}

__attribute__((noinline)) int features_uprobe_target(int x)
{
	/* Keep the call and the function body: the uprobe needs both. */
	asm volatile("" : "+r"(x));
	return x + 1;
}

static void status_ok(struct feature_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void status_fail(struct feature_status *st, enum probe_stage stage, int err, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void status_ok(struct feature_status *st, const char *fmt, ...)
{
	va_list ap;

	st->available = true;
	st->err = 0;
	st->stage = PROBE_STAGE_NONE;
	va_start(ap, fmt);
	vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
	va_end(ap);
}

static void status_fail(struct feature_status *st, enum probe_stage stage, int err, const char *fmt,
			...)
{
	va_list ap;
	size_t len;

	st->available = false;
	st->err = err < 0 ? -err : err;
	st->stage = stage;
	va_start(ap, fmt);
	vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
	va_end(ap);
	len = strlen(st->detail);
	if (st->err && len < sizeof(st->detail))
		snprintf(st->detail + len, sizeof(st->detail) - len, "%s%s: %s (%s)",
			 len ? "; " : "", probe_stage_name(stage), strerror(st->err),
			 strerrorname_np(st->err) ?: "?");
}

/* Open the doctor skeleton with only @prog set to load. */
static struct doctor_bpf *open_only(struct bpf_program **progp, const char *prog_name,
				    struct feature_status *st)
{
	struct doctor_bpf *skel;
	struct bpf_program *prog, *found = NULL;

	skel = doctor_bpf__open();
	if (!skel) {
		status_fail(st, PROBE_STAGE_OPEN, errno, "%s", "");
		return NULL;
	}
	bpf_object__for_each_program (prog, skel->obj) {
		bool mine = !strcmp(bpf_program__name(prog), prog_name);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			found = prog;
	}
	skel->rodata->doctor_tgid = getpid();
	if (!found) {
		status_fail(st, PROBE_STAGE_OPEN, ENOENT, "no program %s", prog_name);
		doctor_bpf__destroy(skel);
		return NULL;
	}
	*progp = found;
	return skel;
}

/* Load and attach @prog_name with libbpf's auto-attach; for sys_enter probes check it fires. */
static void probe_auto_attach(struct feature_status *st, const char *prog_name, const char *target,
			      volatile __u64 *(*hits)(struct doctor_bpf *))
{
	struct bpf_program *prog = NULL;
	struct doctor_bpf *skel;
	struct bpf_link *link;
	int err;

	skel = open_only(&prog, prog_name, st);
	if (!skel)
		return;
	err = doctor_bpf__load(skel);
	if (err) {
		status_fail(st, PROBE_STAGE_LOAD, err, "%s", target);
		goto out;
	}
	link = bpf_program__attach(prog);
	if (!link) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "%s", target);
		goto out;
	}
	if (hits) {
		volatile __u64 *counter = hits(skel);
		int i;

		for (i = 0; i < 10 && *counter == 0; i++)
			getppid();
		if (*counter == 0) {
			status_fail(st, PROBE_STAGE_FIRE, 0, "%s: attached but never fired",
				    target);
			bpf_link__destroy(link);
			goto out;
		}
	}
	status_ok(st, "%s%s", target, hits ? ": loaded, attached, fired" : ": loaded, attached");
	bpf_link__destroy(link);
out:
	doctor_bpf__destroy(skel);
}

static volatile __u64 *hits_tp_btf(struct doctor_bpf *s)
{
	return &s->bss->hits_tp_btf;
}

static volatile __u64 *hits_raw_tp(struct doctor_bpf *s)
{
	return &s->bss->hits_raw_tp;
}

static volatile __u64 *hits_tracepoint(struct doctor_bpf *s)
{
	return &s->bss->hits_tracepoint;
}

static void probe_uprobe(struct feature_status *st)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "features_uprobe_target");
	struct bpf_program *prog = NULL;
	struct doctor_bpf *skel;
	struct bpf_link *link;
	char exe[4096];
	ssize_t n;
	int err;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		status_fail(st, PROBE_STAGE_OPEN, errno, "readlink /proc/self/exe");
		return;
	}
	exe[n] = '\0';
	skel = open_only(&prog, "ps_probe_uprobe", st);
	if (!skel)
		return;
	err = doctor_bpf__load(skel);
	if (err) {
		status_fail(st, PROBE_STAGE_LOAD, err, "uprobe");
		goto out;
	}
	link = bpf_program__attach_uprobe_opts(prog, getpid(), exe, 0, &opts);
	if (!link) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "%s:features_uprobe_target", exe);
		goto out;
	}
	features_uprobe_target(1);
	if (skel->bss->hits_uprobe == 0)
		status_fail(st, PROBE_STAGE_FIRE, 0,
			    "uprobe on own binary attached but never fired");
	else
		status_ok(st, "uprobe on own binary: loaded, attached, fired");
	bpf_link__destroy(link);
out:
	doctor_bpf__destroy(skel);
}

/* sockops: attach through a bpf_link to a throw-away cgroup v2 directory. */
static void probe_sockops(struct feature_status *st, const struct cgroup_info *cg)
{
	struct bpf_program *prog = NULL;
	struct doctor_bpf *skel;
	struct bpf_link *link;
	char dir[512];
	int cg_fd, err;

	if (!cg->v2_path[0]) {
		status_fail(st, PROBE_STAGE_ATTACH, ENOENT, "no cgroup v2 hierarchy mounted");
		return;
	}
	skel = open_only(&prog, "ps_probe_sockops", st);
	if (!skel)
		return;
	err = doctor_bpf__load(skel);
	if (err) {
		status_fail(st, PROBE_STAGE_LOAD, err, "sockops");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/podscope-doctor-%d", cg->v2_path, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "mkdir %s", dir);
		goto out;
	}
	cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "open %s", dir);
		rmdir(dir);
		goto out;
	}
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "cgroup link on %s", cg->v2_path);
	} else {
		status_ok(st, "bpf_link on a cgroup v2 directory under %s", cg->v2_path);
		bpf_link__destroy(link);
	}
	close(cg_fd);
	rmdir(dir);
out:
	doctor_bpf__destroy(skel);
}

/* sk_msg: attach the verdict program to a sockhash, then detach. */
static void probe_sk_msg(struct feature_status *st)
{
	struct bpf_program *prog = NULL;
	struct doctor_bpf *skel;
	int err, map_fd, prog_fd;

	skel = open_only(&prog, "ps_probe_sk_msg", st);
	if (!skel)
		return;
	err = doctor_bpf__load(skel);
	if (err) {
		status_fail(st, PROBE_STAGE_LOAD, err, "sk_msg");
		goto out;
	}
	map_fd = bpf_map__fd(skel->maps.probe_sockhash);
	prog_fd = bpf_program__fd(prog);
	err = bpf_prog_attach(prog_fd, map_fd, BPF_SK_MSG_VERDICT, 0);
	if (err) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "sk_msg verdict on sockhash");
		goto out;
	}
	bpf_prog_detach2(prog_fd, map_fd, BPF_SK_MSG_VERDICT);
	status_ok(st, "sk_msg verdict attached to a sockhash");
out:
	doctor_bpf__destroy(skel);
}

/*
 * tc: attach a clsact filter to "lo" of a private network namespace made by a
 * child process, so no interface of the node is touched even for a moment.
 */
static void probe_tc(struct feature_status *st)
{
	struct bpf_program *prog = NULL;
	struct doctor_bpf *skel;
	int err, status;
	pid_t pid;

	skel = open_only(&prog, "ps_probe_tc", st);
	if (!skel)
		return;
	err = doctor_bpf__load(skel);
	if (err) {
		status_fail(st, PROBE_STAGE_LOAD, err, "tc");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		status_fail(st, PROBE_STAGE_ATTACH, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
		int rc;

		if (unshare(CLONE_NEWNET))
			_exit(errno & 0x7f);
		hook.ifindex = if_nametoindex("lo");
		if (!hook.ifindex)
			_exit(ENODEV);
		rc = bpf_tc_hook_create(&hook);
		if (!rc)
			rc = bpf_tc_attach(&hook, &opts);
		if (!rc) {
			/* detach takes handle and priority only */
			LIBBPF_OPTS(bpf_tc_opts, del, .handle = opts.handle,
				    .priority = opts.priority);

			rc = bpf_tc_detach(&hook, &del);
		}
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		_exit(rc < 0 ? (-rc) & 0x7f : 0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		status_fail(st, PROBE_STAGE_ATTACH, ECHILD, "tc probe child died");
		goto out;
	}
	if (WEXITSTATUS(status))
		status_fail(st, PROBE_STAGE_ATTACH, WEXITSTATUS(status),
			    "clsact ingress on lo of a private netns");
	else
		status_ok(st, "clsact ingress filter on lo of a private netns");
out:
	doctor_bpf__destroy(skel);
}

static void probe_btf(struct kernel_features *kf, struct btf **vmlinux_btf)
{
	struct btf *btf;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		status_fail(&kf->btf, PROBE_STAGE_OPEN, errno, "/sys/kernel/btf/vmlinux");
		*vmlinux_btf = NULL;
		return;
	}
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		status_fail(&kf->btf, PROBE_STAGE_LOAD, errno, "/sys/kernel/btf/vmlinux");
		*vmlinux_btf = NULL;
		return;
	}
	status_ok(&kf->btf, "/sys/kernel/btf/vmlinux: %u types", btf__type_cnt(btf));
	*vmlinux_btf = btf;
}

static void probe_maps(struct kernel_features *kf)
{
	static const enum bpf_map_type types[MAPF__COUNT] = {
		[MAPF_RINGBUF] = BPF_MAP_TYPE_RINGBUF,
		[MAPF_LRU_HASH] = BPF_MAP_TYPE_LRU_HASH,
		[MAPF_PERCPU_ARRAY] = BPF_MAP_TYPE_PERCPU_ARRAY,
		[MAPF_SOCKHASH] = BPF_MAP_TYPE_SOCKHASH,
		[MAPF_SK_STORAGE] = BPF_MAP_TYPE_SK_STORAGE,
	};
	int i, rc;

	for (i = 0; i < MAPF__COUNT; i++) {
		rc = libbpf_probe_bpf_map_type(types[i], NULL);
		if (rc == 1)
			status_ok(&kf->maps[i], "map type supported");
		else
			status_fail(&kf->maps[i], PROBE_STAGE_LOAD, rc < 0 ? rc : EOPNOTSUPP,
				    "map type");
	}
	rc = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_msg_redirect_hash, NULL);
	if (rc == 1)
		status_ok(&kf->msg_redirect_hash, "bpf_msg_redirect_hash usable from sk_msg");
	else
		status_fail(&kf->msg_redirect_hash, PROBE_STAGE_LOAD, rc < 0 ? rc : EOPNOTSUPP,
			    "bpf_msg_redirect_hash");
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void probe_tracepoints(struct kernel_features *kf, const struct btf *btf)
{
	int i, n = sizeof(tracepoint_table) / sizeof(tracepoint_table[0]);

	for (i = 0; i < n; i++) {
		struct tracepoint_status *tp = &kf->tracepoints[i];
		char type_name[128];

		*tp = tracepoint_table[i];
		tp->in_tracefs = tracefs_has_event(tp->category, tp->name);
		snprintf(type_name, sizeof(type_name), "btf_trace_%s", tp->name);
		/* syscalls:* are built on raw_syscalls and have no raw tracepoint of their own */
		tp->in_btf = btf && strcmp(tp->category, "syscalls") &&
			     btf__find_by_name_kind(btf, type_name, BTF_KIND_TYPEDEF) >= 0;
		tp->nargs = btf ? features_tracepoint_nargs(btf, tp->name) : -1;
	}
	kf->tracepoint_count = n;
}

int features_probe(struct kernel_features *kf)
{
	struct btf *btf = NULL;
	struct utsname uts;
	struct rlimit rl;
	const char *tfs;

	memset(kf, 0, sizeof(*kf));
	kf->tracepoints = calloc(sizeof(tracepoint_table) / sizeof(tracepoint_table[0]),
				 sizeof(*kf->tracepoints));
	if (!kf->tracepoints)
		return -ENOMEM;
	if (!uname(&uts)) {
		snprintf(kf->release, sizeof(kf->release), "%s", uts.release);
		snprintf(kf->machine, sizeof(kf->machine), "%s", uts.machine);
	}

	probe_btf(kf, &btf);
	tfs = tracefs_ensure(&kf->tracefs_mounted_now);
	if (tfs)
		status_ok(&kf->tracefs, "%s%s", tfs,
			  kf->tracefs_mounted_now ? " (was not mounted: mounted by podscope)" : "");
	else
		status_fail(&kf->tracefs, PROBE_STAGE_OPEN, errno,
			    "mount tracefs at /sys/kernel/tracing");

	if (cgroup_info_read(&kf->cgroup))
		kf->cgroup.layout = CGROUP_LAYOUT_UNKNOWN;

	probe_auto_attach(&kf->hooks[HOOK_TP_BTF], "ps_probe_tp_btf", "tp_btf/sys_enter",
			  hits_tp_btf);
	probe_auto_attach(&kf->hooks[HOOK_RAW_TP], "ps_probe_raw_tp", "raw_tp/sys_enter",
			  hits_raw_tp);
	probe_auto_attach(&kf->hooks[HOOK_TRACEPOINT], "ps_probe_tracepoint",
			  "tracepoint/raw_syscalls/sys_enter", hits_tracepoint);
	probe_auto_attach(&kf->hooks[HOOK_FENTRY], "ps_probe_fentry", "fentry/tcp_sendmsg", NULL);
	probe_auto_attach(&kf->hooks[HOOK_KPROBE], "ps_probe_kprobe", "kprobe/tcp_sendmsg", NULL);
	probe_uprobe(&kf->hooks[HOOK_UPROBE]);
	probe_sockops(&kf->hooks[HOOK_SOCKOPS], &kf->cgroup);
	probe_sk_msg(&kf->hooks[HOOK_SK_MSG]);
	probe_tc(&kf->hooks[HOOK_TC]);
	probe_maps(kf);
	probe_auto_attach(&kf->tracing_socket_cookie, "ps_probe_cookie",
			  "bpf_get_socket_cookie in tp_btf/inet_sock_set_state", NULL);
	probe_tracepoints(kf, btf);

	kf->bpf_stats_enabled = read_int_file("/proc/sys/kernel/bpf_stats_enabled");
	kf->unprivileged_bpf_disabled = read_int_file("/proc/sys/kernel/unprivileged_bpf_disabled");
	if (!getrlimit(RLIMIT_MEMLOCK, &rl)) {
		kf->memlock_cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
		kf->memlock_max = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
	}
	/* BPF memory is charged to the memory cgroup since 5.11, which added the
	 * ktime_get_coarse_ns helper at the same time: libbpf uses the same probe. */
	kf->memcg_accounting = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER,
						       BPF_FUNC_ktime_get_coarse_ns, NULL) == 1;
	btf__free(btf);
	return 0;
}
