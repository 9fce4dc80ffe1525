// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Loading the packet-path programs point by point. Fallback order, each
 * logged once and kept in the per-point status that `trace` prints:
 *   tracepoints: tp_btf, else raw_tp (PODSCOPE_FORCE_RAW_TP skips tp_btf);
 *     a tracepoint missing from this kernel's BTF is skipped alone;
 *   functions:   fentry, only when a load-time probe (one fentry program)
 *     loads; otherwise every function point is "unavailable" with the errno;
 *   tc:          tcx bpf_links (BPF_TCX_INGRESS/EGRESS, kernel >= 6.6) on
 *     the pod's devices and the host ends of its veths; never netlink tc
 *     filters, which would outlive a SIGKILLed podscope.
 * Nothing is pinned: programs, maps and links live as long as this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "probe_select.h"
#include "flow.h"
#include "trace.h"
#include "trace.skel.h"
#include "trace_points.h"

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS	47
#endif

#define MAX_NETNS 32
#define MAX_IFS	  16
#define MAX_TCX	  128

struct netns_names {
	uint32_t ino;
	char label[64];
	int nifs;
	struct {
		uint32_t ifindex;
		char name[IF_NAMESIZE];
	} ifs[MAX_IFS];
};

struct pkt_tracer {
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[TPT__COUNT];
	struct pkt_point_status status[TPT__COUNT];
	const char *mechanism;
	const char *suffix; /* of the tracepoint programs loaded */
	bool tc_loaded;
	int tcx_fds[MAX_TCX];
	int ntcx;
	struct netns_names ns[MAX_NETNS];
	int nns;
	pkt_event_fn fn;
	void *ctx;
	int ncpus;
	struct btf *btf; /* the kernel's, for drop reason names; loaded on first use */
	bool btf_tried;
	const struct btf_type *drop_enum;
	char reason_buf[48];
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct pkt_tracer *t = ctx;

	if (size >= sizeof(struct pkt_event) && t->fn)
		t->fn(t->ctx, data);
	return 0;
}

/* The program of @point for a tracepoint variant @suffix ("_btf"/"_raw"). */
static struct bpf_program *point_prog(struct trace_bpf *skel, unsigned point, const char *suffix)
{
	const struct trace_point_info *pi = trace_point_info(point);
	char name[96];

	switch (pi->mech) {
	case TMECH_TP:
	case TMECH_SPECIAL:
		snprintf(name, sizeof(name), "ps_%s%s", pi->name, suffix);
		break;
	case TMECH_FENTRY:
		snprintf(name, sizeof(name), "ps_%s_fe", pi->name);
		break;
	case TMECH_TC:
		snprintf(name, sizeof(name), "ps_%s", pi->name);
		break;
	}
	return bpf_object__find_program_by_name(skel->obj, name);
}

static bool btf_has_tracepoint(const struct btf *btf, const char *name)
{
	char type[128];

	if (!btf)
		return true; /* cannot tell: let the load decide */
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
}

/* Does one fentry program load here? 0 or -errno. */
static int probe_fentry(void)
{
	struct bpf_program *prog;
	struct trace_bpf *skel = trace_bpf__open();
	int err;

	if (!skel)
		return -errno;
	bpf_object__for_each_program (prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	prog = point_prog(skel, TPT_ip_rcv, "");
	if (!prog) {
		trace_bpf__destroy(skel);
		return -ENOENT;
	}
	bpf_program__set_autoload(prog, true);
	err = trace_bpf__load(skel);
	trace_bpf__destroy(skel);
	return err;
}

/*
 * Open and load one variant: tracepoints with @suffix, function points when
 * @fentry, tc programs when @tc. Statuses of skipped points are filled.
 */
static struct trace_bpf *load_variant(struct pkt_tracer *t, const char *suffix, bool fentry,
				      int fentry_err, bool tc, const struct btf *btf,
				      const struct pkt_tracer_opts *o, int *errp)
{
	struct bpf_program *prog;
	struct trace_bpf *skel;
	uint64_t salt = 0;
	unsigned i;
	int err;

	skel = trace_bpf__open();
	if (!skel) {
		*errp = -errno;
		return NULL;
	}
	bpf_object__for_each_program (prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (i = 0; i < TPT__COUNT; i++) {
		const struct trace_point_info *pi = trace_point_info(i);
		struct pkt_point_status *st = &t->status[i];
		bool want = false;

		memset(st, 0, sizeof(*st));
		st->mechanism = "";
		switch (pi->mech) {
		case TMECH_TP:
		case TMECH_SPECIAL:
			want = !strcmp(suffix, "_raw") || btf_has_tracepoint(btf, pi->name);
			if (!want)
				snprintf(st->detail, sizeof(st->detail),
					 "no such tracepoint in this kernel's BTF");
			break;
		case TMECH_FENTRY:
			want = fentry;
			if (!want)
				snprintf(st->detail, sizeof(st->detail),
					 "fentry unavailable (%s); no kprobe fallback",
					 strerror(-fentry_err));
			break;
		case TMECH_TC:
			want = tc;
			if (!want)
				snprintf(st->detail, sizeof(st->detail),
					 "tc programs do not load here (needs kfunc "
					 "bpf_cast_to_kern_ctx, 6.2, and tcx, 6.6)");
			break;
		}
		prog = point_prog(skel, i, suffix);
		if (prog && want)
			bpf_program__set_autoload(prog, true);
	}
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt))
		salt = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	skel->rodata->id_salt = salt;
	skel->rodata->sample_every = o && o->sample_every > 1 ? o->sample_every : 1;
	err = trace_bpf__load(skel);
	if (err) {
		trace_bpf__destroy(skel);
		*errp = err;
		return NULL;
	}
	return skel;
}

struct pkt_tracer *pkt_tracer__new(const struct pkt_tracer_opts *opts, pkt_event_fn fn, void *ctx)
{
	struct pkt_tracer *t = calloc(1, sizeof(*t));
	struct btf *btf = btf__load_vmlinux_btf();
	int err = 0, fentry_err;
	bool fentry;
	unsigned i;

	if (!t) {
		btf__free(btf);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < MAX_TCX; i++)
		t->tcx_fds[i] = -1;
	t->fn = fn;
	t->ctx = ctx;
	t->ncpus = libbpf_num_possible_cpus();
	fentry_err = probe_fentry();
	fentry = !fentry_err;
	pr_info("packet path: function points %s",
		fentry ? "use fentry" : "unavailable (fentry does not load here)");
	if (!probe_force_raw_tp()) {
		t->skel = load_variant(t, "_btf", fentry, fentry_err, true, btf, opts, &err);
		t->mechanism = "tp_btf";
		t->suffix = "_btf";
	}
	if (!t->skel) {
		if (err)
			pr_warn("packet path: tp_btf failed (%s), falling back to raw_tp",
				strerror(-err));
		t->skel = load_variant(t, "_raw", fentry, fentry_err, true, btf, opts, &err);
		t->mechanism = "raw_tp";
		t->suffix = "_raw";
	}
	if (!t->skel) {
		pr_warn("packet path: loading with tc programs failed (%s); trying without",
			strerror(-err));
		t->skel = load_variant(t, "_raw", false, fentry_err ? fentry_err : -EOPNOTSUPP,
				       false, btf, opts, &err);
		t->mechanism = "raw_tp";
		t->suffix = "_raw";
	} else {
		t->tc_loaded = true;
	}
	btf__free(btf);
	if (!t->skel || t->ncpus <= 0) {
		pr_error("cannot load the packet tracer (%s); run 'podscope doctor'",
			 strerror(err ? -err : EINVAL));
		pkt_tracer__free(t);
		errno = err ? -err : EINVAL;
		return NULL;
	}
	for (i = 0; i < TPT__COUNT; i++) {
		const struct trace_point_info *pi = trace_point_info(i);
		struct bpf_program *prog = point_prog(t->skel, i, t->suffix);
		struct pkt_point_status *st = &t->status[i];

		if (pi->mech == TMECH_TC) {
			if (t->tc_loaded)
				snprintf(st->detail, sizeof(st->detail), "no device yet");
			continue;
		}
		if (!prog || !bpf_program__autoload(prog))
			continue;
		t->links[i] = bpf_program__attach(prog);
		if (!t->links[i]) {
			err = -errno;
			snprintf(st->detail, sizeof(st->detail), "attach: %s", strerror(-err));
			pr_debug("packet path: %s: attach failed: %s", pi->name, strerror(-err));
			continue;
		}
		st->mechanism = pi->mech == TMECH_FENTRY ? "fentry" : t->mechanism;
		st->links = 1;
		st->detail[0] = '\0';
	}
	pr_info("packet path: tracepoints attached with %s", t->mechanism);
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.trace_events), handle_event, t, NULL);
	if (!t->rb) {
		err = -errno;
		pr_error("ring buffer for packet events: %s", strerror(-err));
		pkt_tracer__free(t);
		errno = -err;
		return NULL;
	}
	/* our own namespace: the node */
	{
		struct stat st;

		if (!stat("/proc/self/ns/net", &st) && t->nns < MAX_NETNS) {
			struct netns_names *n = &t->ns[t->nns++];
			struct if_nameindex *ifs = if_nameindex(), *p;

			n->ino = (uint32_t)st.st_ino;
			snprintf(n->label, sizeof(n->label), "node");
			for (p = ifs; p && p->if_index && n->nifs < MAX_IFS; p++) {
				n->ifs[n->nifs].ifindex = p->if_index;
				snprintf(n->ifs[n->nifs].name, IF_NAMESIZE, "%s", p->if_name);
				n->nifs++;
			}
			if (ifs)
				if_freenameindex(ifs);
		}
	}
	return t;
}

/* Peer ifindex of veth @name (ethtool stat "peer_ifindex"), 0 if none. */
static uint32_t veth_peer_ifindex(int sock, const char *name)
{
	struct ethtool_drvinfo drv = {.cmd = ETHTOOL_GDRVINFO};
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_stats *stats = NULL;
	struct ifreq ifr = {0};
	uint32_t peer = 0, i, n;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&drv;
	if (ioctl(sock, SIOCETHTOOL, &ifr) || strcmp(drv.driver, "veth") || !drv.n_stats ||
	    drv.n_stats > 4096)
		return 0;
	n = drv.n_stats;
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(uint64_t));
	if (!strs || !stats)
		goto out;
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	ifr.ifr_data = (void *)strs;
	if (ioctl(sock, SIOCETHTOOL, &ifr))
		goto out;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	ifr.ifr_data = (void *)stats;
	if (ioctl(sock, SIOCETHTOOL, &ifr))
		goto out;
	for (i = 0; i < n && i < stats->n_stats; i++)
		if (!strncmp((const char *)strs->data + (size_t)i * ETH_GSTRING_LEN, "peer_ifindex",
			     ETH_GSTRING_LEN)) {
			peer = (uint32_t)stats->data[i];
			break;
		}
out:
	free(strs);
	free(stats);
	return peer;
}

/* tcx ingress and egress on @ifindex of the current netns. Links made. */
static int attach_tcx(struct pkt_tracer *t, uint32_t ifindex, const char *where)
{
	static const struct {
		unsigned point;
		int type;
	} dirs[] = {{TPT_tc_ingress, BPF_TCX_INGRESS}, {TPT_tc_egress, BPF_TCX_EGRESS}};
	int made = 0;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		struct bpf_program *prog = point_prog(t->skel, dirs[d].point, "");
		struct pkt_point_status *st = &t->status[dirs[d].point];
		int fd;

		if (!prog || t->ntcx >= MAX_TCX)
			continue;
		fd = bpf_link_create(bpf_program__fd(prog), (int)ifindex,
				     (enum bpf_attach_type)dirs[d].type, NULL);
		if (fd < 0) {
			snprintf(st->detail, sizeof(st->detail), "tcx on %s: %s", where,
				 strerror(errno));
			pr_debug("packet path: tcx %s on %s: %s",
				 trace_point_info(dirs[d].point)->name, where, strerror(errno));
			continue;
		}
		t->tcx_fds[t->ntcx++] = fd;
		st->mechanism = "tcx";
		st->links++;
		st->detail[0] = '\0';
		made++;
	}
	return made;
}

int pkt_tracer__add_netns(struct pkt_tracer *t, pid_t pid, const char *label, bool watch)
{
	uint32_t peers[MAX_IFS];
	struct if_nameindex *ifs = NULL, *p;
	struct netns_names *n = NULL;
	int self = -1, podns = -1, sock = -1, npeers = 0, err = 0, i;
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	podns = open(path, O_RDONLY | O_CLOEXEC);
	if (podns < 0 || fstat(podns, &st)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < t->nns; i++)
		if (t->ns[i].ino == (uint32_t)st.st_ino)
			n = &t->ns[i];
	if (n && !watch)
		goto out; /* known already */
	if (!n) {
		if (t->nns >= MAX_NETNS) {
			err = -ENOSPC;
			goto out;
		}
		n = &t->ns[t->nns++];
		memset(n, 0, sizeof(*n));
		n->ino = (uint32_t)st.st_ino;
		snprintf(n->label, sizeof(n->label), "%s", label);
	}
	if (watch) {
		uint8_t one = 1;

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.watched_netns), &n->ino, &one,
					BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(podns, CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	ifs = if_nameindex();
	n->nifs = 0;
	for (p = ifs; p && p->if_index && n->nifs < MAX_IFS; p++) {
		n->ifs[n->nifs].ifindex = p->if_index;
		snprintf(n->ifs[n->nifs].name, IF_NAMESIZE, "%s", p->if_name);
		n->nifs++;
	}
	if (watch) {
		struct ifaddrs *ifa_list = NULL, *ifa;

		if (!getifaddrs(&ifa_list)) {
			for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
				struct trace_addr_key k = {0};
				uint8_t one = 1;

				if (!ifa->ifa_addr || (ifa->ifa_flags & IFF_LOOPBACK))
					continue;
				if (ifa->ifa_addr->sa_family == AF_INET)
					memcpy(k.addr,
					       &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, 4);
				else if (ifa->ifa_addr->sa_family == AF_INET6)
					memcpy(k.addr,
					       &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr,
					       16);
				else
					continue;
				bpf_map_update_elem(bpf_map__fd(t->skel->maps.watched_addrs), &k,
						    &one, BPF_ANY);
			}
			freeifaddrs(ifa_list);
		}
		sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		for (p = ifs; p && p->if_index; p++) {
			char where[96];
			uint32_t peer;

			if (!t->tc_loaded)
				break;
			snprintf(where, sizeof(where), "%s/%s", label, p->if_name);
			attach_tcx(t, p->if_index, where);
			peer = sock >= 0 ? veth_peer_ifindex(sock, p->if_name) : 0;
			if (peer && npeers < MAX_IFS)
				peers[npeers++] = peer;
		}
	}
	if (setns(self, CLONE_NEWNET)) {
		/* cannot happen with a valid fd; without it we would watch the wrong node */
		err = -errno;
		pr_error("cannot return to podscope's network namespace: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < npeers; i++) {
		char name[IF_NAMESIZE] = "", where[96];

		if (!if_indextoname(peers[i], name))
			continue; /* the peer is not in our namespace */
		snprintf(where, sizeof(where), "node/%s", name);
		attach_tcx(t, peers[i], where);
	}
out:
	if (ifs)
		if_freenameindex(ifs);
	if (sock >= 0)
		close(sock);
	if (self >= 0)
		close(self);
	if (podns >= 0)
		close(podns);
	if (err)
		pr_debug("packet path: netns of pid %d (%s): %s", pid, label, strerror(-err));
	return err;
}

int pkt_tracer__poll(struct pkt_tracer *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

int pkt_tracer__stats(struct pkt_tracer *t, uint64_t out[PSTAT__COUNT])
{
	int fd = bpf_map__fd(t->skel->maps.trace_stats), cpu;
	uint64_t *vals = calloc((size_t)t->ncpus, sizeof(*vals));
	uint32_t key;

	if (!vals)
		return -ENOMEM;
	for (key = 0; key < PSTAT__COUNT; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < t->ncpus; cpu++)
			out[key] += vals[cpu];
	}
	free(vals);
	return 0;
}

const struct pkt_point_status *pkt_tracer__point(const struct pkt_tracer *t, unsigned point)
{
	return point < TPT__COUNT ? &t->status[point] : NULL;
}

const char *pkt_tracer__mechanism(const struct pkt_tracer *t)
{
	return t->mechanism;
}

const char *pkt_tracer__netns_label(const struct pkt_tracer *t, uint32_t netns, char *buf,
				    size_t len)
{
	for (int i = 0; t && i < t->nns; i++)
		if (t->ns[i].ino == netns)
			return t->ns[i].label;
	if (!netns)
		return "-";
	snprintf(buf, len, "netns:%u", netns);
	return buf;
}

const char *pkt_tracer__ifname(const struct pkt_tracer *t, uint32_t netns, uint32_t ifindex,
			       char *buf, size_t len)
{
	for (int i = 0; t && i < t->nns; i++) {
		if (t->ns[i].ino != netns)
			continue;
		for (int j = 0; j < t->ns[i].nifs; j++)
			if (t->ns[i].ifs[j].ifindex == ifindex)
				return t->ns[i].ifs[j].name;
	}
	if (!ifindex)
		return "-";
	snprintf(buf, len, "if%u", ifindex);
	return buf;
}

const char *pkt_tracer__drop_reason(struct pkt_tracer *t, uint32_t reason)
{
	if (!t->btf_tried) {
		t->btf_tried = true;
		t->btf = btf__load_vmlinux_btf();
		if (t->btf) {
			int id = btf__find_by_name_kind(t->btf, "skb_drop_reason", BTF_KIND_ENUM);

			t->drop_enum = id > 0 ? btf__type_by_id(t->btf, (__u32)id) : NULL;
		}
	}
	if (t->drop_enum) {
		const struct btf_enum *v = btf_enum(t->drop_enum);
		int cnt = btf_vlen(t->drop_enum);

		for (int i = 0; i < cnt; i++, v++)
			if ((uint32_t)v->val == reason) {
				const char *s = btf__name_by_offset(t->btf, v->name_off);

				if (s && !strncmp(s, "SKB_DROP_REASON_", 16))
					s += 16;
				return s ? s : "?";
			}
	}
	snprintf(t->reason_buf, sizeof(t->reason_buf), "reason_%u", reason);
	return t->reason_buf;
}

void pkt_tracer__free(struct pkt_tracer *t)
{
	if (!t)
		return;
	btf__free(t->btf);
	ring_buffer__free(t->rb);
	for (int i = 0; i < t->ntcx; i++)
		if (t->tcx_fds[i] >= 0)
			close(t->tcx_fds[i]);
	for (int i = 0; i < TPT__COUNT; i++)
		bpf_link__destroy(t->links[i]);
	trace_bpf__destroy(t->skel);
	free(t);
}

static const char *namer_netns(void *ctx, uint32_t netns, char *buf, size_t len)
{
	return pkt_tracer__netns_label(ctx, netns, buf, len);
}

static const char *namer_if(void *ctx, uint32_t netns, uint32_t ifindex, char *buf, size_t len)
{
	return pkt_tracer__ifname(ctx, netns, ifindex, buf, len);
}

static const char *namer_drop(void *ctx, uint32_t reason)
{
	return pkt_tracer__drop_reason(ctx, reason);
}

void pkt_tracer__namer(struct pkt_tracer *t, struct flow_namer *out)
{
	out->netns = namer_netns;
	out->ifname = namer_if;
	out->drop_reason = namer_drop;
	out->ctx = t;
}
