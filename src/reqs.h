/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Request stitching through the sidecar (M3): turns the kernel's payload
 * samples of sidecar processes into one record per request, with the time
 * the sidecar spent before and after the upstream call.
 *
 * For a sidecar process, connections it accepted are *downstream* (the
 * callers) and connections it opened are *upstream* (the app for inbound
 * traffic, the remote service for outbound). A request read on a
 * downstream connection is matched to the request the same process writes
 * on an upstream connection by method and path (the oldest waiting one,
 * preferring the same thread), which holds with pooled upstream
 * connections, several worker threads and event loops; responses follow
 * HTTP/1's order on each connection. From the four timestamps
 *
 *   t_in      the sidecar's read of the request returned (downstream)
 *   t_up_out  its write of the request upstream returned
 *   t_up_in   its read of the response from upstream returned
 *   t_out     its write of the response downstream returned
 *
 * follow sidecar_inbound = t_up_out - t_in, app = t_up_in - t_up_out,
 * sidecar_outbound = t_out - t_up_in and total = t_out - t_in.
 */
#ifndef PODSCOPE_REQS_H
#define PODSCOPE_REQS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_events.h"
#include "proto.h"
#include "watchset.h"

enum req_direction {
	REQ_INBOUND = 0,  /* a caller outside the pod -> sidecar -> the app */
	REQ_OUTBOUND = 1, /* the app -> sidecar -> a remote service */
};

const char *req_direction_name(enum req_direction d);

/* One request as the sidecar handled it. Times: CLOCK_MONOTONIC ns. */
struct req_record {
	pid_t pid, tid;		/* the sidecar process and the thread that read the request */
	uint32_t container_idx; /* watch container of the sidecar */
	enum req_direction direction;
	char method[PROTO_METHOD_MAX];
	char path[PROTO_PATH_MAX];
	char path_template[PROTO_PATH_MAX];
	int status;		/* the status the sidecar wrote downstream */
	int upstream_status;	/* the status it read from upstream; 0 without upstream */
	bool upstream;		/* the request went upstream (false: the sidecar answered it) */
	bool new_upstream_conn; /* the upstream connection was opened for this request */
	uint64_t upstream_connect_ns; /* its handshake time (client side), 0 unknown */
	uint64_t t_in, t_up_out, t_up_in, t_out;
	uint64_t t_in_start, t_out_start; /* when those calls entered (0: unknown) */
	char client[64];		  /* downstream peer "ip:port" */
	char upstream_peer[64];		  /* upstream peer "ip:port" ("" without upstream) */
};

typedef void (*req_fn)(void *ctx, const struct req_record *r);

struct req_tracker_stats {
	uint64_t samples;	     /* samples handled */
	uint64_t requests;	     /* records delivered */
	uint64_t unmatched_upstream; /* upstream requests with no waiting downstream one */
	uint64_t unanswered;	     /* requests dropped without a response (close, expiry) */
	uint64_t orphan_responses;   /* responses with no request waiting */
	uint64_t queue_full;	     /* requests not tracked: per-connection queue full */
	uint64_t conns_full;	     /* connections not tracked: table full */
	uint64_t parse_lost_sync;    /* parser lost its place (sum over connections) */
	uint64_t parse_resyncs;
	uint64_t not_http; /* connections whose samples were not HTTP/1 */
};

struct req_tracker;

/* @ws names processes and containers; @fn gets each completed request. */
struct req_tracker *req_tracker__new(struct watchset *ws, req_fn fn, void *ctx);

/* A payload sample from the connection tracer. */
void req_tracker__on_sample(struct req_tracker *rt, const struct sample_event *e);

/*
 * A connection closed (CEV_CLOSE; @conn_start_ns = ts_ns - duration_ns):
 * forget it; its waiting requests count as unanswered. A socket reused by
 * a newer connection (another start) is left alone.
 */
void req_tracker__on_close(struct req_tracker *rt, uint64_t sock_id, uint64_t conn_start_ns);

/* Drop requests waiting longer than @max_age_ns (call now and then). */
void req_tracker__expire(struct req_tracker *rt, uint64_t now_ns, uint64_t max_age_ns);

void req_tracker__stats(const struct req_tracker *rt, struct req_tracker_stats *out);

/* NULL-safe. */
void req_tracker__free(struct req_tracker *rt);

#endif /* PODSCOPE_REQS_H */
