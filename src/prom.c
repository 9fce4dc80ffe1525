// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prometheus text exposition of the model. Edge metrics are rendered per
 * edge *side* (the local end's namespace/pod/container, the side, the peer
 * and the server port): edges whose label sets coincide (two worker
 * processes of one container talking to the same peer) are summed, so a
 * label set appears once and the number of series is bounded by the number
 * of container pairs, not by connections or PIDs. Histograms are the
 * kernel's log2 slots turned into cumulative buckets with upper bounds in
 * seconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "hopstats.h"
#include "prom.h"

#ifndef PODSCOPE_VERSION
#define PODSCOPE_VERSION "unknown"
#endif

/* RTT slots rendered as buckets: slot i is [2^i, 2^(i+1)) us, so le = 2^(i+1) us (up to ~33 s). */
#define RTT_BUCKETS	 25
#define MAX_DROP_REASONS 32

static const char *const metric_names[] = {
	"podscope_build_info",
	"podscope_watched_pods",
	"podscope_watched_processes",
	"podscope_edges",
	"podscope_connection_events_total",
	"podscope_lost_events_total",
	"podscope_bpf_stats_enabled",
	"podscope_bpf_program_run_seconds_total",
	"podscope_bpf_program_runs_total",
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	"process_start_time_seconds",
	"podscope_edge_write_bytes_total",
	"podscope_edge_writes_total",
	"podscope_edge_write_seconds_total",
	"podscope_edge_read_bytes_total",
	"podscope_edge_reads_total",
	"podscope_edge_read_seconds_total",
	"podscope_edge_connects_total",
	"podscope_edge_connect_errors_total",
	"podscope_edge_connect_seconds_total",
	"podscope_edge_closes_total",
	"podscope_edge_resets_total",
	"podscope_edge_timeouts_total",
	"podscope_edge_retransmits_total",
	"podscope_edge_drops_total",
	"podscope_edge_rtt_seconds_bucket",
	"podscope_edge_rtt_seconds_sum",
	"podscope_edge_rtt_seconds_count",
	"podscope_requests_total",
	"podscope_requests_unanswered_total",
	"podscope_request_duration_seconds_bucket",
	"podscope_request_duration_seconds_sum",
	"podscope_request_duration_seconds_count",
	"podscope_packet_hop_seconds_bucket",
	"podscope_packet_hop_seconds_sum",
	"podscope_packet_hop_seconds_count",
	"container_cpu_usage_seconds_total",
	"podscope_container_oncpu_seconds_total",
	"container_memory_usage_bytes",
	"container_memory_working_set_bytes",
	"container_memory_rss",
	"container_memory_cache",
	"container_fs_reads_bytes_total",
	"container_fs_writes_bytes_total",
	"container_fs_reads_total",
	"container_fs_writes_total",
	"container_network_receive_bytes_total",
	"container_network_receive_packets_total",
	"container_network_receive_errors_total",
	"container_network_receive_packets_dropped_total",
	"container_network_transmit_bytes_total",
	"container_network_transmit_packets_total",
	"container_network_transmit_errors_total",
	"container_network_transmit_packets_dropped_total",
	NULL,
};

const char *const *prom_metric_names(void)
{
	return metric_names;
}

void prom_escape_label(const char *in, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (; in && *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			buf[o++] = '\\';
			buf[o++] = *in;
		} else if (*in == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *in;
		}
	}
	buf[o] = '\0';
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* --- edge sides -------------------------------------------------------------- */

struct drop_count {
	uint32_t reason;
	uint64_t count;
};

struct side_series {
	char labels[3400]; /* rendered, without braces */
	struct side_metrics m;
	bool client;
	int ndrops;
	struct drop_count drops[MAX_DROP_REASONS];
};

static void split_pod(const char *pod, char *ns, char *name, size_t len)
{
	const char *slash = strchr(pod, '/');

	if (slash) {
		snprintf(ns, len, "%.*s", (int)(slash - pod), pod);
		snprintf(name, len, "%s", slash + 1);
	} else {
		ns[0] = '\0';
		snprintf(name, len, "%s", pod);
	}
}

static void side_labels(const struct edge_end *local, const struct edge_end *peer, bool client,
			uint16_t server_port, char *buf, size_t len)
{
	char ns[POD_NAME_MAX], pod[POD_NAME_MAX], pns[POD_NAME_MAX], ppod[POD_NAME_MAX];
	char e[6][POD_NAME_MAX * 2];

	split_pod(local->pod, ns, pod, sizeof(ns));
	split_pod(peer->pod, pns, ppod, sizeof(pns));
	prom_escape_label(ns, e[0], sizeof(e[0]));
	prom_escape_label(pod, e[1], sizeof(e[1]));
	prom_escape_label(local->container, e[2], sizeof(e[2]));
	prom_escape_label(pns, e[3], sizeof(e[3]));
	prom_escape_label(ppod, e[4], sizeof(e[4]));
	prom_escape_label(peer->pid ? peer->container : "", e[5], sizeof(e[5]));
	snprintf(buf, len,
		 "namespace=\"%s\",pod=\"%s\",container=\"%s\",side=\"%s\",peer_namespace=\"%s\","
		 "peer_pod=\"%s\",peer_container=\"%s\",peer_addr=\"%s\",server_port=\"%u\"",
		 e[0], e[1], e[2], client ? "client" : "server", e[3], e[4], e[5],
		 peer->pid ? "" : peer->addr, server_port);
}

static int add_series(struct side_series **arr, int *n, const struct edge *e, bool client)
{
	const struct edge_end *local = client ? &e->client : &e->server;
	const struct edge_end *peer = client ? &e->server : &e->client;
	const struct edge_drop *drops = client ? e->client_drops : e->server_drops;
	int ndrops = client ? e->nclient_drops : e->nserver_drops;
	char labels[sizeof((*arr)->labels)];
	struct side_series *s = NULL, *grown;
	int i, j;

	side_labels(local, peer, client, e->server.port, labels, sizeof(labels));
	for (i = 0; i < *n; i++)
		if (!strcmp((*arr)[i].labels, labels)) {
			s = &(*arr)[i];
			break;
		}
	if (!s) {
		grown = realloc(*arr, (size_t)(*n + 1) * sizeof(**arr));
		if (!grown)
			return -ENOMEM;
		*arr = grown;
		s = &grown[(*n)++];
		memset(s, 0, sizeof(*s));
		memcpy(s->labels, labels, sizeof(labels));
		s->client = client;
	}
	side_metrics_add(&s->m, client ? &e->client_side : &e->server_side);
	for (i = 0; i < ndrops; i++) {
		for (j = 0; j < s->ndrops; j++)
			if (s->drops[j].reason == drops[i].reason)
				break;
		if (j == s->ndrops) {
			if (s->ndrops == MAX_DROP_REASONS)
				continue;
			s->drops[s->ndrops].reason = drops[i].reason;
			s->drops[s->ndrops++].count = 0;
		}
		s->drops[j].count += drops[i].count;
	}
	return 0;
}

/* One series per watched side whose local pod is watched right now. */
static int collect_sides(struct model *m, struct side_series **arr)
{
	int i, n = 0;

	*arr = NULL;
	for (i = 0; i < model__nedges(m); i++) {
		const struct edge *e = model__edge(m, i);

		if (e->has_client_side && model__pod_watched(m, e->client.pod) &&
		    add_series(arr, &n, e, true))
			return -ENOMEM;
		if (e->has_server_side && model__pod_watched(m, e->server.pod) &&
		    add_series(arr, &n, e, false))
			return -ENOMEM;
	}
	return n;
}

#define FIELD(f) offsetof(struct side_metrics, f)

struct side_counter {
	const char *name, *help;
	size_t off;
	double scale; /* 0: integer */
	bool client_only;
	bool syscall_time; /* only when read/write durations are measured */
};

static const struct side_counter side_counters[] = {
	{"podscope_edge_write_bytes_total", "Bytes written on the edge's sockets by this side.",
	 FIELD(write_bytes), 0, false, false},
	{"podscope_edge_writes_total", "Data-carrying write/send calls by this side.",
	 FIELD(write_count), 0, false, false},
	{"podscope_edge_write_seconds_total", "Time spent inside write/send calls by this side.",
	 FIELD(write_ns), 1e-9, false, true},
	{"podscope_edge_read_bytes_total", "Bytes read from the edge's sockets by this side.",
	 FIELD(read_bytes), 0, false, false},
	{"podscope_edge_reads_total", "Data-carrying read/recv calls by this side.",
	 FIELD(read_count), 0, false, false},
	{"podscope_edge_read_seconds_total", "Time spent inside read/recv calls by this side.",
	 FIELD(read_ns), 1e-9, false, true},
	{"podscope_edge_connects_total",
	 "Connections established (client side: connects; server side: accepts).",
	 FIELD(connect_count), 0, false, false},
	{"podscope_edge_connect_errors_total", "Connects that failed (client side).",
	 FIELD(connect_errors), 0, false, false},
	{"podscope_edge_connect_seconds_total",
	 "Time from SYN sent to established, summed over connects (client side only).",
	 FIELD(connect_ns), 1e-9, true, false},
	{"podscope_edge_closes_total", "Connections closed.", FIELD(close_count), 0, false, false},
	{"podscope_edge_resets_total", "Connections closed by a reset.", FIELD(resets), 0, false,
	 false},
	{"podscope_edge_timeouts_total", "Connections closed by a timeout.", FIELD(timeouts), 0,
	 false, false},
	{"podscope_edge_retransmits_total", "TCP segments retransmitted by this side.",
	 FIELD(retransmits), 0, false, false},
};

static void write_sides(struct model *m, FILE *out, const struct side_series *s, int n)
{
	size_t k;
	int i, j;

	for (k = 0; k < sizeof(side_counters) / sizeof(side_counters[0]); k++) {
		const struct side_counter *c = &side_counters[k];

		if (c->syscall_time && !model__syscall_time(m))
			continue;
		family(out, c->name, "counter", c->help);
		for (i = 0; i < n; i++) {
			uint64_t v = *(const uint64_t *)((const char *)&s[i].m + c->off);

			if (c->client_only && !s[i].client)
				continue;
			if (c->scale)
				fprintf(out, "%s{%s} %.9f\n", c->name, s[i].labels,
					(double)v * c->scale);
			else
				fprintf(out, "%s{%s} %llu\n", c->name, s[i].labels,
					(unsigned long long)v);
		}
	}
	family(out, "podscope_edge_drops_total", "counter",
	       "Packets of the edge's sockets the kernel dropped, by the kernel's drop reason.");
	for (i = 0; i < n; i++)
		for (j = 0; j < s[i].ndrops; j++) {
			char reason[64];

			prom_escape_label(model__drop_reason_name(m, s[i].drops[j].reason), reason,
					  sizeof(reason));
			fprintf(out, "podscope_edge_drops_total{%s,reason=\"%s\"} %llu\n",
				s[i].labels, reason, (unsigned long long)s[i].drops[j].count);
		}
	family(out, "podscope_edge_rtt_seconds", "histogram",
	       "Smoothed TCP RTT of the socket, sampled at each write by this side.");
	for (i = 0; i < n; i++) {
		const struct side_metrics *x = &s[i].m;
		uint64_t cum = 0, total;

		for (j = 0; j < RTT_BUCKETS; j++) {
			cum += x->rtt_hist.slots[j];
			fprintf(out, "podscope_edge_rtt_seconds_bucket{%s,le=\"%g\"} %llu\n",
				s[i].labels, (double)(1ULL << (j + 1)) / 1e6,
				(unsigned long long)cum);
		}
		for (total = cum; j < CONN_HIST_SLOTS; j++)
			total += x->rtt_hist.slots[j];
		if (x->rtt_count > total)
			total = x->rtt_count;
		fprintf(out, "podscope_edge_rtt_seconds_bucket{%s,le=\"+Inf\"} %llu\n", s[i].labels,
			(unsigned long long)total);
		fprintf(out, "podscope_edge_rtt_seconds_sum{%s} %.6f\n", s[i].labels,
			(double)x->rtt_sum_us / 1e6);
		fprintf(out, "podscope_edge_rtt_seconds_count{%s} %llu\n", s[i].labels,
			(unsigned long long)total);
	}
}

/* --- container resources (cAdvisor's names) ----------------------------------- */

static void res_labels(const char *ns, const char *pod, const char *container, char *buf,
		       size_t len)
{
	char e[3][POD_NAME_MAX * 2];

	prom_escape_label(ns, e[0], sizeof(e[0]));
	prom_escape_label(pod, e[1], sizeof(e[1]));
	prom_escape_label(container, e[2], sizeof(e[2]));
	snprintf(buf, len, "namespace=\"%s\",pod=\"%s\",container=\"%s\"", e[0], e[1], e[2]);
}

#define RFIELD(f) offsetof(struct cgroup_usage, f)

struct res_metric {
	const char *name, *type, *help;
	size_t off;
	int group; /* 0 cpu, 1 memory, 2 io */
	double scale;
};

static const struct res_metric res_metrics[] = {
	{"container_cpu_usage_seconds_total", "counter", "Cumulative CPU time consumed.",
	 RFIELD(cpu_ns), 0, 1e-9},
	{"container_memory_usage_bytes", "gauge", "Current memory usage, including all memory.",
	 RFIELD(mem_usage_bytes), 1, 0},
	{"container_memory_working_set_bytes", "gauge",
	 "Current working set (usage minus inactive file cache).", RFIELD(mem_working_set_bytes), 1,
	 0},
	{"container_memory_rss", "gauge", "Size of RSS (anonymous memory).", RFIELD(mem_rss_bytes),
	 1, 0},
	{"container_memory_cache", "gauge", "Page cache memory.", RFIELD(mem_cache_bytes), 1, 0},
	{"container_fs_reads_bytes_total", "counter", "Cumulative bytes read from block devices.",
	 RFIELD(fs_read_bytes), 2, 0},
	{"container_fs_writes_bytes_total", "counter", "Cumulative bytes written to block devices.",
	 RFIELD(fs_write_bytes), 2, 0},
	{"container_fs_reads_total", "counter", "Cumulative reads completed.", RFIELD(fs_reads), 2,
	 0},
	{"container_fs_writes_total", "counter", "Cumulative writes completed.", RFIELD(fs_writes),
	 2, 0},
};

#define NFIELD(f) offsetof(struct netdev_counters, f)

static const struct {
	const char *name, *help;
	size_t off;
} net_metrics[] = {
	{"container_network_receive_bytes_total", "Cumulative bytes received.", NFIELD(rx_bytes)},
	{"container_network_receive_packets_total", "Cumulative packets received.",
	 NFIELD(rx_packets)},
	{"container_network_receive_errors_total", "Cumulative errors while receiving.",
	 NFIELD(rx_errors)},
	{"container_network_receive_packets_dropped_total",
	 "Cumulative packets dropped while receiving.", NFIELD(rx_dropped)},
	{"container_network_transmit_bytes_total", "Cumulative bytes transmitted.",
	 NFIELD(tx_bytes)},
	{"container_network_transmit_packets_total", "Cumulative packets transmitted.",
	 NFIELD(tx_packets)},
	{"container_network_transmit_errors_total", "Cumulative errors while transmitting.",
	 NFIELD(tx_errors)},
	{"container_network_transmit_packets_dropped_total",
	 "Cumulative packets dropped while transmitting.", NFIELD(tx_dropped)},
};

static void write_resources(const struct resource_sample *r, FILE *out)
{
	char labels[1700], iface[80];
	size_t k;
	int i, j;

	for (k = 0; k < sizeof(res_metrics) / sizeof(res_metrics[0]); k++) {
		const struct res_metric *rm = &res_metrics[k];

		family(out, rm->name, rm->type, rm->help);
		for (i = 0; r && i < r->ncontainers; i++) {
			const struct resource_container *c = &r->containers[i];
			bool has = rm->group == 0   ? c->u.has_cpu
				   : rm->group == 1 ? c->u.has_memory
						    : c->u.has_io;
			uint64_t v = *(const uint64_t *)((const char *)&c->u + rm->off);

			if (!has)
				continue;
			res_labels(c->ns, c->pod, c->container, labels, sizeof(labels));
			if (rm->scale)
				fprintf(out, "%s{%s} %.9f\n", rm->name, labels,
					(double)v * rm->scale);
			else
				fprintf(out, "%s{%s} %llu\n", rm->name, labels,
					(unsigned long long)v);
		}
	}
	/* network counters belong to the pod's sandbox, named "POD" as cAdvisor does */
	for (k = 0; k < sizeof(net_metrics) / sizeof(net_metrics[0]); k++) {
		family(out, net_metrics[k].name, "counter", net_metrics[k].help);
		for (i = 0; r && i < r->npods; i++) {
			const struct resource_pod_net *p = &r->pods[i];

			res_labels(p->ns, p->pod, "POD", labels, sizeof(labels));
			for (j = 0; j < p->ndevs; j++) {
				uint64_t v = *(const uint64_t *)((const char *)&p->devs[j] +
								 net_metrics[k].off);

				prom_escape_label(p->devs[j].iface, iface, sizeof(iface));
				fprintf(out, "%s{%s,interface=\"%s\"} %llu\n", net_metrics[k].name,
					labels, iface, (unsigned long long)v);
			}
		}
	}
}

/* --- the agent itself ---------------------------------------------------------- */

/* Losses of request stitching and packet tracing, when they run. */
static void write_lost_more(struct model *m, FILE *out)
{
	const struct req_tracker_stats *q = model__request_lost(m);
	const struct model_packet_stats *p = model__packet_stats(m);
	const struct {
		const char *reason;
		uint64_t v;
	} rows[] = {
		{"requests_unmatched_upstream", q ? q->unmatched_upstream : 0},
		{"requests_orphan_responses", q ? q->orphan_responses : 0},
		{"requests_queue_full", q ? q->queue_full : 0},
		{"requests_conns_full", q ? q->conns_full : 0},
		{"requests_parser_lost_sync", q ? q->parse_lost_sync : 0},
		{"packet_events_ringbuf", p ? p->lost_ringbuf : 0},
		{"packet_events_over_cap", p ? p->lost_over_cap : 0},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if ((i < 5 && !q) || (i >= 5 && !p))
			continue;
		fprintf(out, "podscope_lost_events_total{reason=\"%s\"} %llu\n", rows[i].reason,
			(unsigned long long)rows[i].v);
	}
	if (!q)
		return;
	/* not a loss of podscope's: the caller often gave up (wrk stopping, timeouts) */
	family(out, "podscope_requests_unanswered_total", "counter",
	       "Requests a sidecar read but that got no response: the connection closed first, "
	       "or none came within 30 s.");
	fprintf(out, "podscope_requests_unanswered_total %llu\n",
		(unsigned long long)q->unanswered);
}

static void write_health(struct model *m, FILE *out, int nedges)
{
	static const char *const lost_target[TSTAT__COUNT] = {
		[TSTAT_RINGBUF_DROPS] = "target_events_ringbuf",
		[TSTAT_MAP_FULL] = "target_map_full",
	};
	static const char *const lost_conn[CSTAT__COUNT] = {
		[CSTAT_RINGBUF_DROPS] = "conn_events_ringbuf",
		[CSTAT_CONNS_FULL] = "conns_map_full",
		[CSTAT_SIDES_FULL] = "sides_map_full",
		[CSTAT_THREADS_FULL] = "threads_map_full",
		[CSTAT_DROPS_FULL] = "drop_reasons_map_full",
		[CSTAT_NOT_TCP] = "non_tcp_io_ignored",
		[CSTAT_SAMPLE_DROPS] = "payload_samples_ringbuf",
	};
	static const char *const events[4] = {"connect", "accept", "adopt", "close"};
	const struct model_lost *lost = model__lost(m);
	const struct agent_health *h = model__health(m);
	struct watchset *ws = model__watchset(m);
	uint64_t totals[4];
	char ver[128];
	int i;

	prom_escape_label(PODSCOPE_VERSION, ver, sizeof(ver));
	family(out, "podscope_build_info", "gauge",
	       "Always 1; the version podscope was built from.");
	fprintf(out, "podscope_build_info{version=\"%s\"} 1\n", ver);
	family(out, "podscope_watched_pods", "gauge", "Pods being watched.");
	fprintf(out, "podscope_watched_pods %d\n", watchset__npods(ws));
	family(out, "podscope_watched_processes", "gauge", "Processes being watched.");
	fprintf(out, "podscope_watched_processes %d\n", watchset__nprocesses(ws));
	family(out, "podscope_edges", "gauge", "Edges in the model (client/server process pairs).");
	fprintf(out, "podscope_edges %d\n", nedges);
	model__conn_totals(m, totals);
	family(out, "podscope_connection_events_total", "counter",
	       "Connection lifecycle events seen (connect, accept, adopt, close).");
	for (i = 0; i < 4; i++)
		fprintf(out, "podscope_connection_events_total{event=\"%s\"} %llu\n", events[i],
			(unsigned long long)totals[i]);
	family(out, "podscope_lost_events_total", "counter",
	       "Measurements that could not be recorded, by reason (all zero: nothing lost).");
	for (i = 0; i < TSTAT__COUNT; i++)
		if (lost_target[i])
			fprintf(out, "podscope_lost_events_total{reason=\"%s\"} %llu\n",
				lost_target[i], (unsigned long long)lost->target[i]);
	for (i = 0; i < CSTAT__COUNT; i++)
		if (lost_conn[i])
			fprintf(out, "podscope_lost_events_total{reason=\"%s\"} %llu\n",
				lost_conn[i], (unsigned long long)lost->conn[i]);
	fprintf(out, "podscope_lost_events_total{reason=\"bpf_recursion_misses\"} %llu\n",
		(unsigned long long)lost->recursion_misses);
	write_lost_more(m, out);
	family(out, "podscope_bpf_stats_enabled", "gauge",
	       "1 when the kernel measures BPF run time (bpf_stats), else 0.");
	fprintf(out, "podscope_bpf_stats_enabled %d\n", h && h->bpf_stats_enabled);
	family(out, "podscope_bpf_program_run_seconds_total", "counter",
	       "Time podscope's BPF programs ran in the kernel (kernel bpf_stats).");
	for (i = 0; h && h->bpf_stats_enabled && i < h->nprogs; i++)
		fprintf(out,
			"podscope_bpf_program_run_seconds_total{program=\"%s\",id=\"%u\"} %.9f\n",
			h->progs[i].name, h->progs[i].id, (double)h->progs[i].run_time_ns / 1e9);
	family(out, "podscope_bpf_program_runs_total", "counter",
	       "Times podscope's BPF programs ran (kernel bpf_stats).");
	for (i = 0; h && h->bpf_stats_enabled && i < h->nprogs; i++)
		fprintf(out, "podscope_bpf_program_runs_total{program=\"%s\",id=\"%u\"} %llu\n",
			h->progs[i].name, h->progs[i].id,
			(unsigned long long)h->progs[i].run_count);
	family(out, "process_cpu_seconds_total", "counter",
	       "User and system CPU time of the podscope process.");
	if (h)
		fprintf(out, "process_cpu_seconds_total %.6f\n", h->cpu_seconds);
	family(out, "process_resident_memory_bytes", "gauge",
	       "Resident memory of the podscope process.");
	if (h)
		fprintf(out, "process_resident_memory_bytes %llu\n",
			(unsigned long long)h->rss_bytes);
	family(out, "process_start_time_seconds", "gauge",
	       "Start time of the podscope process since the epoch.");
	if (h)
		fprintf(out, "process_start_time_seconds %.3f\n", h->start_time);
}

/* BPF-measured on-CPU time of the watched processes, per container (sidecar vs app). */
static void write_oncpu(struct model *m, FILE *out)
{
	struct watchset *ws = model__watchset(m);
	char labels[8 * POD_NAME_MAX];
	int i, n = watchset__ncontainers(ws);

	family(out, "podscope_container_oncpu_seconds_total", "counter",
	       "Time the watched processes of a container ran on a CPU, measured with "
	       "sched_switch since podscope attached.");
	for (i = 0; i < n; i++) {
		const struct watch_container *c = watchset__container(ws, (uint32_t)i);
		int64_t ns = model__oncpu(m, i);

		if (!c || ns < 0 || !model__pod_watched(m, c->pod))
			continue;
		res_labels(c->ns, c->pod_name, c->name, labels, sizeof(labels));
		fprintf(out, "podscope_container_oncpu_seconds_total{%s,role=\"%s\"} %.9f\n",
			labels, container_role_name(c->role), (double)ns / 1e9);
	}
}

/* --- requests stitched through the sidecars ------------------------------------- */

/* Histogram buckets from the log2 ns slots: slot i is [2^i, 2^(i+1)) ns, le = 2^(i+1) ns. */
#define REQ_BUCKET_FIRST 10 /* ~2 us */
#define REQ_BUCKET_LAST	 35 /* ~69 s */

static void write_requests(struct model *m, FILE *out)
{
	static const char *const classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
	const struct req_stats *rs = model__requests(m);
	int i, p, c, j;

	family(out, "podscope_requests_total", "counter",
	       "HTTP requests the pod's sidecar handled, by direction and status class.");
	for (i = 0; i < req_stats__ngroups(rs); i++) {
		const struct req_group *g = req_stats__group(rs, i);
		char ns[128], name[256];

		split_pod(g->pod, ns, name, sizeof(ns));
		for (c = 0; c < 6; c++)
			if (g->status[c])
				fprintf(out,
					"podscope_requests_total{namespace=\"%s\",pod=\"%s\","
					"direction=\"%s\",status_class=\"%s\"} %llu\n",
					ns, name, req_direction_name(g->direction), classes[c],
					(unsigned long long)g->status[c]);
	}
	family(out, "podscope_request_duration_seconds", "histogram",
	       "Time of each request at the sidecar, split into parts: total, sidecar "
	       "(sidecar_inbound + sidecar_outbound), app (upstream), upstream_connect.");
	for (i = 0; i < req_stats__ngroups(rs); i++) {
		const struct req_group *g = req_stats__group(rs, i);
		char ns[128], name[256], labels[600];

		split_pod(g->pod, ns, name, sizeof(ns));
		for (p = 0; p < REQ_PART__COUNT; p++) {
			const struct lat_summary *l = &g->lat[p];
			uint64_t cum = 0;

			if (!l->count)
				continue;
			snprintf(labels, sizeof(labels),
				 "namespace=\"%s\",pod=\"%s\",direction=\"%s\",part=\"%s\"", ns,
				 name, req_direction_name(g->direction), req_part_name(p));
			for (j = 0; j < REQ_BUCKET_FIRST; j++)
				cum += l->hist[j];
			for (; j <= REQ_BUCKET_LAST; j++) {
				cum += l->hist[j];
				fprintf(out,
					"podscope_request_duration_seconds_bucket{%s,le=\"%g\"} "
					"%llu\n",
					labels, (double)(1ULL << (j + 1)) / 1e9,
					(unsigned long long)cum);
			}
			fprintf(out,
				"podscope_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
				labels, (unsigned long long)l->count);
			fprintf(out, "podscope_request_duration_seconds_sum{%s} %.9f\n", labels,
				(double)l->sum_ns / 1e9);
			fprintf(out, "podscope_request_duration_seconds_count{%s} %llu\n", labels,
				(unsigned long long)l->count);
		}
	}
}

/* --- the packet path of traced pods (podscope run --trace-pod) ------------------ */

/* Buckets from the log2 ns slots (slot i: [2^i, 2^(i+1)) ns): le = 256 ns ... ~17 s. */
#define HOP_BUCKET_FIRST 7
#define HOP_BUCKET_LAST	 33

static void write_packet_hops(struct model *m, FILE *out)
{
	const struct hop_stats *hs = model__packet_hops(m);
	int i, j;

	if (!hs)
		return;
	family(out, "podscope_packet_hop_seconds", "histogram",
	       "Latency between consecutive hook points of a traced pod's TCP packets "
	       "(from -> to, each point@pod|node|other), inside the pod (sidecar <-> app "
	       "over lo) or not, by direction (c2s: client to server).");
	for (i = 0; i < hop_stats__nseries(hs); i++) {
		const struct hop_series *s = hop_stats__series(hs, i);
		char ns[128], name[256], from[64], to[64], labels[700];
		uint64_t cum = 0;

		split_pod(s->pod, ns, name, sizeof(ns));
		snprintf(labels, sizeof(labels),
			 "namespace=\"%s\",pod=\"%s\",inside_pod=\"%s\",direction=\"%s\","
			 "from=\"%s\",to=\"%s\"",
			 ns, name, s->inside_pod ? "true" : "false", s->from_server ? "s2c" : "c2s",
			 hop_name(s->from_point, s->from_where, from, sizeof(from)),
			 hop_name(s->to_point, s->to_where, to, sizeof(to)));
		for (j = 0; j < HOP_BUCKET_FIRST; j++)
			cum += s->hist[j];
		for (; j <= HOP_BUCKET_LAST; j++) {
			cum += s->hist[j];
			fprintf(out, "podscope_packet_hop_seconds_bucket{%s,le=\"%g\"} %llu\n",
				labels, (double)(1ULL << (j + 1)) / 1e9, (unsigned long long)cum);
		}
		fprintf(out, "podscope_packet_hop_seconds_bucket{%s,le=\"+Inf\"} %llu\n", labels,
			(unsigned long long)s->count);
		fprintf(out, "podscope_packet_hop_seconds_sum{%s} %.9f\n", labels,
			(double)s->sum_ns / 1e9);
		fprintf(out, "podscope_packet_hop_seconds_count{%s} %llu\n", labels,
			(unsigned long long)s->count);
	}
}

int prom_write(struct model *m, FILE *out)
{
	struct side_series *sides = NULL;
	int n = collect_sides(m, &sides);

	if (n < 0)
		return n;
	write_health(m, out, model__nedges(m));
	write_sides(m, out, sides, n);
	write_resources(model__resources(m), out);
	write_oncpu(m, out);
	write_requests(m, out);
	write_packet_hops(m, out);
	free(sides);
	return ferror(out) ? -EIO : 0;
}
