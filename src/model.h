/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user-side model: the one source every view reads (terminal, JSON,
 * CSV, Prometheus, web UI). It holds the watched pods and processes, the
 * per-edge-side aggregates read from the kernel, and connection lifecycle
 * counts, and joins client and server sides into edges ("client process ->
 * server process", or to an outside address when the peer is not watched).
 * No view talks to BPF.
 */
#ifndef PODSCOPE_MODEL_H
#define PODSCOPE_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cadvisor.h"
#include "conn_events.h"
#include "model_packets.h"
#include "reqs.h"
#include "reqstats.h"
#include "target.h"
#include "watchset.h"

/* One end of an edge. pid 0: not a watched process (addr names it). */
struct edge_end {
	pid_t pid;
	char comm[16];
	char pod[POD_NAME_MAX * 2 + 2]; /* "" if unknown */
	char container[POD_NAME_MAX];
	enum container_role role;
	bool watched;
	char addr[64]; /* ip (client) or ip (server) as text */
	uint16_t port; /* server: the port it serves on; client: 0 */
};

struct edge_drop {
	uint32_t reason;
	uint64_t count;
};

struct edge {
	struct edge_end client, server;
	char dialed[72]; /* address:port the client connected to */
	bool has_client_side, has_server_side;
	struct side_metrics client_side, server_side;
	struct edge_drop *client_drops, *server_drops;
	int nclient_drops, nserver_drops;
	uint64_t traffic_bytes; /* for sorting: the larger side's bytes, each edge counted once */
};

struct model_lost {
	uint64_t target[TSTAT__COUNT];
	uint64_t conn[CSTAT__COUNT];
	uint64_t recursion_misses; /* summed over podscope's own BPF programs */
};

struct model;

/* @ws: the watched set (names for PIDs and containers); @pods: for IP -> pod. */
struct model *model__new(struct watchset *ws, const struct target_set *pods);

/* A watched process started: remember its name even if it exits before the next build. */
void model__on_process(struct model *m, const struct watch_process *p);

/* Lifecycle event from the connection tracer. */
void model__on_conn_event(struct model *m, const struct conn_event *e);

/* Replace the side aggregates and drop counters (from conn_tracer__for_each_*). */
void model__begin_sides(struct model *m);
void model__add_side(struct model *m, const struct side_key *key, const struct side_metrics *sm);
void model__add_drop(struct model *m, const struct side_key *key, uint32_t reason, uint64_t count);
/* Join sides into edges; call after the adds. Returns the number of edges or -ENOMEM. */
int model__build_edges(struct model *m);

void model__set_lost(struct model *m, const struct model_lost *lost);

/* On-CPU nanoseconds per watched container (index = watch container index). Copied. */
void model__set_oncpu(struct model *m, const uint64_t *ns, int n);
/* On-CPU nanoseconds of watched container @idx, or -1 when not measured. */
int64_t model__oncpu(const struct model *m, int idx);

/*
 * Requests stitched through sidecars (reqs.h): model__enable_requests makes
 * the snapshot carry "requests" (possibly empty); model__on_request adds one
 * (0, or -ENOMEM/-ENOSPC when it could not be counted).
 */
void model__enable_requests(struct model *m);
int model__on_request(struct model *m, const struct req_record *r);
void model__set_request_lost(struct model *m, const struct req_tracker_stats *st);
/* NULL when requests are not sampled. */
const struct req_tracker_stats *model__request_lost(const struct model *m);
/* Traces the exporters could not deliver: queue full (@dropped), POST failed (@failed). */
void model__set_trace_lost(struct model *m, uint64_t dropped, uint64_t failed);
const struct req_stats *model__requests(const struct model *m);

/*
 * Whether read/write durations are measured (conn_tracer__syscall_time);
 * default true. When false, the views show them as absent, never as 0.
 */
void model__set_syscall_time(struct model *m, bool on);
bool model__syscall_time(const struct model *m);

/* Which mechanism each probe set was attached with (shown in the snapshot). */
void model__set_mechanisms(struct model *m, const char *targets, const char *connections);

int model__nedges(const struct model *m);
const struct edge *model__edge(const struct model *m, int i);

/* Name of a kernel drop reason (from the running kernel's BTF), e.g. "NETFILTER_DROP". */
const char *model__drop_reason_name(struct model *m, uint32_t reason);

/* The snapshot document (schema podscope.snapshot/v1); caller owns it. */
json_t *model__snapshot_json(struct model *m, double window_seconds);

/* One CSV row per edge and side, with a header line. */
void model__write_csv(struct model *m, FILE *out);

/* Terminal table of edges sorted by traffic (at most @max_rows). */
void model__print_table(struct model *m, FILE *out, double window_seconds, int max_rows);

/* --- the agent's additions: samples it takes outside BPF, kept here so that
 * every view still reads one model. Pointers are borrowed: the caller keeps
 * them valid until it replaces them or frees the model. */

#define AGENT_MAX_PROGS 64

/* One of podscope's own BPF programs, with the kernel's bpf_stats. */
struct bpf_prog_stat {
	char name[16];
	uint32_t id;
	uint64_t run_time_ns, run_count;
	uint64_t recursion_misses; /* runs the kernel skipped: the program was already running on that CPU */
};

struct agent_health {
	double cpu_seconds;	/* own user + system CPU */
	uint64_t rss_bytes;	/* own resident set */
	double start_time;	/* unix seconds */
	bool bpf_stats_enabled; /* run time/count are being measured */
	int nprogs;
	struct bpf_prog_stat progs[AGENT_MAX_PROGS];
};

void model__set_resources(struct model *m, const struct resource_sample *r);
const struct resource_sample *model__resources(const struct model *m);
void model__set_health(struct model *m, const struct agent_health *h);
const struct agent_health *model__health(const struct model *m);
const struct model_lost *model__lost(const struct model *m);
struct watchset *model__watchset(const struct model *m);

/* Connection lifecycle totals: connects, accepts, adopted, closes. */
void model__conn_totals(const struct model *m, uint64_t out[4]);

/* true when pod "ns/name" is watched right now (run-time removals count). */
bool model__pod_watched(const struct model *m, const char *pod);

void model__free(struct model *m);

#endif /* PODSCOPE_MODEL_H */
