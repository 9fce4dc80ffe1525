/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loading the packet-path programs (bpf/trace.bpf.c) with per-point
 * fallback, pointing them at pods (network namespaces, pod IPs, tcx links on
 * the pod's devices and the host ends of its veths), and naming what events
 * refer to (namespace labels, device names). Nothing is pinned and tc hooks
 * are bpf_links only: when the process dies, nothing stays attached.
 */
#ifndef PODSCOPE_TRACE_H
#define PODSCOPE_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace_events.h"

struct pkt_tracer;

typedef void (*pkt_event_fn)(void *ctx, const struct pkt_event *e);

struct pkt_tracer_opts {
	uint32_t sample_every; /* 1 in N connections; 0 or 1: all */
};

/* What happened to one point of the hook table. */
struct pkt_point_status {
	const char *mechanism; /* "tp_btf", "raw_tp", "fentry", "tcx", "" when unavailable */
	int links;	       /* attachments (tcx: one per device and direction) */
	char detail[96];       /* why unavailable, or where attached */
};

/*
 * pkt_tracer__new - load and attach every point that this kernel allows.
 * Returns NULL with errno set when nothing could be loaded (logged).
 */
struct pkt_tracer *pkt_tracer__new(const struct pkt_tracer_opts *opts, pkt_event_fn fn, void *ctx);

/*
 * pkt_tracer__add_netns - learn the network namespace of process @pid under
 * @label (a pod name): device names always; with @watch also put the
 * namespace and its addresses (loopback aside) in the kernel-side filter and
 * attach tcx ingress/egress on its devices and on the host ends of its
 * veths. Returns 0 or -errno (logged at debug level).
 */
int pkt_tracer__add_netns(struct pkt_tracer *t, pid_t pid, const char *label, bool watch);

/* Deliver queued events (wait at most @timeout_ms). >= 0 or -errno. */
int pkt_tracer__poll(struct pkt_tracer *t, int timeout_ms);

/* Sums of the kernel-side counters (enum trace_stat). 0 or -errno. */
int pkt_tracer__stats(struct pkt_tracer *t, uint64_t out[PSTAT__COUNT]);

const struct pkt_point_status *pkt_tracer__point(const struct pkt_tracer *t, unsigned point);
/* Attach mechanism of the tracepoints: "tp_btf" or "raw_tp". */
const char *pkt_tracer__mechanism(const struct pkt_tracer *t);

/* Label of network namespace @netns ("node" for ours, a pod label, or "netns:<ino>"). */
const char *pkt_tracer__netns_label(const struct pkt_tracer *t, uint32_t netns, char *buf,
				    size_t len);
/* Name of device @ifindex in @netns, or "if<N>" when not learned. */
const char *pkt_tracer__ifname(const struct pkt_tracer *t, uint32_t netns, uint32_t ifindex,
			       char *buf, size_t len);

/* The kernel's name of skb_drop_reason @reason ("NETFILTER_DROP"), from its BTF; else "reason_N". */
const char *pkt_tracer__drop_reason(struct pkt_tracer *t, uint32_t reason);

struct flow_namer;
/* A flow_namer (flow.h) that names netns, devices and drop reasons through @t. */
void pkt_tracer__namer(struct pkt_tracer *t, struct flow_namer *out);

/* NULL-safe; detaches everything. */
void pkt_tracer__free(struct pkt_tracer *t);

#endif /* PODSCOPE_TRACE_H */
