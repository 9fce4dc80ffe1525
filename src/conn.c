// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading the connection programs with feature fallback, sharing the target
 * filter with the tracker, and reading the kernel-side aggregates. Nothing
 * is pinned: programs and maps live as long as this process.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "conn.h"
#include "features.h"
#include "conn.skel.h"
#include "log.h"
#include "probe_select.h"
#include "sockdiag.h"

_Static_assert(sizeof(struct side_metrics) % 64 == 0, "side_metrics: a whole number of cache lines "
						      "(see conn_events.h)");

struct conn_tracer {
	struct conn_bpf *skel;
	struct ring_buffer *rb;
	const char *mechanism;
	conn_event_fn fn;
	void *ctx;
	struct conn_tracer_opts opts;
	bool syscall_time; /* in effect */
	int ncpus;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct conn_tracer *t = ctx;

	if (size >= sizeof(struct conn_event) && t->fn)
		t->fn(t->ctx, data);
	return 0;
}

static int handle_sample(void *ctx, void *data, size_t size)
{
	struct conn_tracer *t = ctx;

	if (size >= sizeof(struct sample_event) && t->opts.sample_fn)
		t->opts.sample_fn(t->opts.sample_ctx, data);
	return 0;
}

/*
 * Tracepoints whose arguments grew over kernel versions, and the program
 * variant each needs (conn.bpf.c has both). Read from the running kernel's
 * BTF; PODSCOPE_TP_COMPAT=1 picks the older variants, which load on newer
 * kernels too, so that they can be exercised here (tests).
 */
struct tp_shapes {
	bool retrans_err; /* tcp_retransmit_skb passes the attempt's result (6.18) */
	/*
	 * kfree_skb's arguments used: 4 with the receiving socket (6.11, ps_drop),
	 * 3 with the drop reason only (5.17, ps_drop3), 0 no reason: no program
	 */
	int drop_args;
};

static struct tp_shapes tp_shapes_probe(void)
{
	struct tp_shapes sh = {.drop_args = 3}; /* unknown: the reason, present since 5.17 */
	struct btf *btf = btf__load_vmlinux_btf();
	const char *compat = getenv("PODSCOPE_TP_COMPAT");
	int n;

	if (libbpf_get_error(btf))
		return sh; /* no BTF: the loaders fail anyway, with a clearer error */
	sh.retrans_err = features_tracepoint_nargs(btf, "tcp_retransmit_skb") >= 3;
	n = features_tracepoint_nargs(btf, "kfree_skb");
	sh.drop_args = n >= 4 ? 4 : n == 3 || n < 0 ? 3 : 0;
	btf__free(btf);
	if (compat && *compat && strcmp(compat, "0")) {
		sh.retrans_err = false;
		if (sh.drop_args == 4)
			sh.drop_args = 3;
	}
	return sh;
}

/*
 * Load and attach the @suffix ("_btf" or "_raw") programs, in the variants
 * @sh says the running kernel's tracepoints need.
 */
static struct conn_bpf *load_variant(const char *suffix, int tgids_fd, int gen_fd,
				     const struct conn_tracer_opts *opts,
				     const struct tp_shapes *sh, bool *syscall_time, int *errp)
{
	size_t slen = strlen(suffix);
	bool raw = !strcmp(suffix, "_raw");
	struct bpf_program *prog;
	struct conn_bpf *skel;
	uint64_t salt = 0;
	int err;

	skel = conn_bpf__open();
	if (!skel) {
		*errp = -errno;
		return NULL;
	}
	bpf_object__for_each_program (prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		size_t len = strlen(name);

		bpf_program__set_autoload(prog, len > slen && !strcmp(name + len - slen, suffix));
	}
	/* tcp_retransmit_skb with or without the attempt's result: one of the two */
	bpf_program__set_autoload(
		raw ? (sh->retrans_err ? skel->progs.ps_retrans2_raw : skel->progs.ps_retrans_raw)
		    : (sh->retrans_err ? skel->progs.ps_retrans2_btf : skel->progs.ps_retrans_btf),
		false);
	/* kfree_skb with or without the receiving socket: one of the two, or none */
	if (sh->drop_args != 4)
		bpf_program__set_autoload(raw ? skel->progs.ps_drop_raw : skel->progs.ps_drop_btf,
					  false);
	if (sh->drop_args != 3)
		bpf_program__set_autoload(raw ? skel->progs.ps_drop3_raw : skel->progs.ps_drop3_btf,
					  false);
	*syscall_time = opts->syscall_time || (raw && opts->sample_fn);
	if (!*syscall_time) {
		bpf_program__set_autoload(
			raw ? skel->progs.ps_sysent_raw : skel->progs.ps_sysent_btf, false);
		bpf_program__set_autoload(
			raw ? skel->progs.ps_sysexit_raw : skel->progs.ps_sysexit_btf, false);
	}
	skel->rodata->syscall_time = *syscall_time;
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt))
		salt = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	skel->rodata->sock_id_salt = salt;
	skel->rodata->sample_payload = opts->sample_fn != NULL;
	skel->rodata->sample_all_targets = opts->sample_all_targets;
	{
		/* the sample ring: as asked, or one page when nothing is sampled */
		uint32_t ring = opts->sample_ring_bytes ? opts->sample_ring_bytes
							: CONN_SAMPLE_RING_DEFAULT;

		if (!opts->sample_fn)
			ring = (uint32_t)sysconf(_SC_PAGESIZE);
		bpf_map__set_max_entries(skel->maps.payload_samples, ring);
		/* wake the reader each time a quarter of the ring, at most 1 MiB, is unread */
		skel->rodata->sample_wakeup_bytes = ring / 4 < 1024 * 1024 ? ring / 4 : 1024 * 1024;
	}
	/*
	 * Connection state: socket storage under tp_btf without --syscall-time,
	 * the conns hash otherwise (conn.bpf.c, sks()); the unused one, and the
	 * in-flight table without --syscall-time, stay minimal.
	 */
	if (!raw && !*syscall_time)
		bpf_map__set_max_entries(skel->maps.conns, 64);
	if (!*syscall_time)
		bpf_map__set_max_entries(skel->maps.inflight, 64);
	err = bpf_map__reuse_fd(skel->maps.target_tgids, tgids_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.target_gen, gen_fd);
	if (!err)
		err = conn_bpf__load(skel);
	if (!err)
		err = conn_bpf__attach(skel);
	if (err) {
		conn_bpf__destroy(skel);
		*errp = err;
		return NULL;
	}
	return skel;
}

struct conn_tracer *conn_tracer__new(int target_tgids_fd, int target_gen_fd, conn_event_fn fn,
				     void *ctx, const struct conn_tracer_opts *opts)
{
	struct conn_tracer *t = calloc(1, sizeof(*t));
	struct tp_shapes sh;
	int err = 0;

	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	if (opts)
		t->opts = *opts;
	t->ncpus = libbpf_num_possible_cpus();
	sh = tp_shapes_probe();
	if (!sh.drop_args)
		pr_warn("kfree_skb has no drop reason on this kernel (before Linux 5.17): drops "
			"are not counted");
	t->skel = probe_force_raw_tp() ? NULL
				       : load_variant("_btf", target_tgids_fd, target_gen_fd,
						      &t->opts, &sh, &t->syscall_time, &err);
	t->mechanism = "tp_btf";
	if (!t->skel) {
		if (err)
			pr_warn("connection tracer: tp_btf failed (%s), falling back to raw_tp",
				strerror(-err));
		t->skel = load_variant("_raw", target_tgids_fd, target_gen_fd, &t->opts, &sh,
				       &t->syscall_time, &err);
		t->mechanism = "raw_tp";
	}
	if (!t->skel || t->ncpus <= 0) {
		pr_error("cannot load the connection tracer (tp_btf and raw_tp failed: %s); "
			 "run 'podscope doctor'",
			 strerror(-err));
		conn_tracer__free(t);
		errno = err ? -err : EINVAL;
		return NULL;
	}
	pr_info("connection tracer attached with %s%s", t->mechanism,
		t->syscall_time ? ", time in read/write calls measured (raw_syscalls enter/exit)"
				: "");
	if (t->syscall_time && !t->opts.syscall_time)
		pr_info("raw_tp: payload sampling needs raw_syscalls sys_enter: time in calls is "
			"on");
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.conn_events), handle_event, t, NULL);
	if (!t->rb) {
		err = -errno;
		pr_error("ring buffer for connection events: %s", strerror(-err));
		conn_tracer__free(t);
		errno = -err;
		return NULL;
	}
	if (t->opts.sample_fn) {
		err = ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.payload_samples),
				       handle_sample, t);
		if (err) {
			pr_error("ring buffer for payload samples: %s", strerror(-err));
			conn_tracer__free(t);
			errno = -err;
			return NULL;
		}
	}
	return t;
}

const char *conn_tracer__mechanism(const struct conn_tracer *t)
{
	return t->mechanism;
}

bool conn_tracer__syscall_time(const struct conn_tracer *t)
{
	return t->syscall_time;
}

/* Socket inodes the process holds. Returns count (<= max) or -errno. */
static int process_socket_inodes(pid_t pid, unsigned long *inodes, int max)
{
	char path[64], link[64];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < max) {
		ssize_t len = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		unsigned long ino;

		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			inodes[n++] = ino;
	}
	closedir(dir);
	return n;
}

static bool addr_is_loopback(const uint8_t *a, int family)
{
	static const uint8_t v6lo[16] = {[15] = 1};

	return family == AF_INET ? a[0] == 127 : !memcmp(a, v6lo, 16);
}

struct seed_ctx {
	struct conn_tracer *t;
	pid_t pid;
	uint32_t container_idx, netns;
	const unsigned long *inodes;
	int ninodes, seeded;
};

/* One TCP socket of the process's netns: seed it when the process holds it. */
static int seed_socket(void *ctx, const struct sockdiag_sock *s)
{
	struct seed_ctx *c = ctx;
	int i, listeners = bpf_map__fd(c->t->skel->maps.listeners);
	bool mine = false;

	for (i = 0; i < c->ninodes && !mine; i++)
		mine = c->inodes[i] == s->inode;
	if (!mine)
		return 0;
	if (s->state == 10) { /* TCP_LISTEN */
		struct listen_key k = {.netns = c->netns, .port = s->lport};
		struct owner_value v = {.tgid = (uint32_t)c->pid,
					.container_idx = c->container_idx};

		if (!bpf_map_update_elem(listeners, &k, &v, BPF_ANY))
			c->seeded++;
	} else { /* ESTABLISHED: maybe a client end */
		struct end_key k = {.port = s->lport, .family = (uint16_t)s->family};
		struct end_value v = {.tgid = (uint32_t)c->pid,
				      .container_idx = c->container_idx,
				      .dialed_port = s->rport};
		struct listen_key lk = {.netns = c->netns, .port = s->lport};
		struct owner_value ov;

		/* accepted connections share the listening port: not clients */
		if (!bpf_map_lookup_elem(listeners, &lk, &ov))
			return 0;
		k.netns = addr_is_loopback(s->laddr, s->family) ? c->netns : 0;
		memcpy(k.addr, s->laddr, 16);
		memcpy(v.dialed_addr, s->raddr, 16);
		if (!bpf_map_update_elem(bpf_map__fd(c->t->skel->maps.client_ends), &k, &v,
					 BPF_ANY))
			c->seeded++;
	}
	return 0;
}

int conn_tracer__seed_process(struct conn_tracer *t, pid_t pid, uint32_t container_idx)
{
	unsigned long inodes[1024];
	struct seed_ctx c = {.t = t, .pid = pid, .container_idx = container_idx, .inodes = inodes};
	char path[64];
	struct stat st;
	int rc;

	c.ninodes = process_socket_inodes(pid, inodes, 1024);
	if (c.ninodes < 0)
		return c.ninodes;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st))
		return -errno;
	c.netns = (uint32_t)st.st_ino;
	/* per family, the kernel reports listening sockets before established ones */
	rc = sockdiag_tcp(pid, SOCKDIAG_LISTEN | SOCKDIAG_ESTABLISHED, seed_socket, &c);
	return rc < 0 ? rc : c.seeded;
}

int conn_tracer__poll(struct conn_tracer *t)
{
	/*
	 * Neither ring wakes anyone until a batch builds up (conn.bpf.c,
	 * batch_wakeup()), so both are drained whether or not they were woken;
	 * callers sleep on conn_tracer__epoll_fd() (ringwait.h).
	 */
	int n = ring_buffer__consume(t->rb);

	return n == -EINTR ? 0 : n;
}

int conn_sample_ring_opt(const char *cmd, const char *text, uint32_t *bytes)
{
	uint64_t v;

	if (cli_parse_size(text, &v) || v < CONN_SAMPLE_RING_MIN || v > CONN_SAMPLE_RING_MAX ||
	    (v & (v - 1)))
		return cli_usage_error(cmd, "bad --sample-ring '%s' (a power of two, 64K..256M)",
				       text);
	*bytes = (uint32_t)v;
	return 0;
}

int conn_tracer__epoll_fd(const struct conn_tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

void side_metrics_add(struct side_metrics *dst, const struct side_metrics *src)
{
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;
	size_t i;

	/* every field of side_metrics is a __u64 (histograms included) */
	for (i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

int conn_tracer__for_each_side(struct conn_tracer *t, conn_side_fn fn, void *ctx)
{
	int ids_fd = bpf_map__fd(t->skel->maps.side_ids), n = 0, cpu;
	int fd = bpf_map__fd(t->skel->maps.sides);
	struct side_key key, next, *prev = NULL;
	struct side_metrics *vals, sum;
	uint32_t id, idx;

	vals = calloc((size_t)t->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	while (!bpf_map_get_next_key(ids_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(ids_fd, &key, &id) || !id || id > CONN_MAX_SIDES)
			continue;
		idx = id - 1;
		if (bpf_map_lookup_elem(fd, &idx, vals))
			continue;
		memset(&sum, 0, sizeof(sum));
		for (cpu = 0; cpu < t->ncpus; cpu++)
			side_metrics_add(&sum, &vals[cpu]);
		fn(ctx, &key, &sum);
		n++;
	}
	free(vals);
	return n;
}

int conn_tracer__for_each_drop(struct conn_tracer *t, conn_drop_fn fn, void *ctx)
{
	int fd = bpf_map__fd(t->skel->maps.drop_reasons), n = 0;
	struct drop_key key, next, *prev = NULL;
	uint64_t count;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &count))
			continue;
		fn(ctx, &key.side, key.reason, count);
		n++;
	}
	return n;
}

int conn_tracer__stats(struct conn_tracer *t, uint64_t out[CSTAT__COUNT])
{
	int fd = bpf_map__fd(t->skel->maps.conn_stats), cpu;
	uint64_t *vals = calloc((size_t)t->ncpus, sizeof(*vals));
	uint32_t key;

	if (!vals)
		return -ENOMEM;
	for (key = 0; key < CSTAT__COUNT; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < t->ncpus; cpu++)
			out[key] += vals[cpu];
	}
	free(vals);
	return 0;
}

void conn_tracer__free(struct conn_tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	conn_bpf__destroy(t->skel);
	free(t);
}
