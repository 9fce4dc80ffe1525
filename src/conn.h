/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The connection tracer: loads bpf/conn.bpf.c (tp_btf, falling back to
 * raw_tp), shares the target tracker's tgid map as its filter, seeds the
 * listening sockets and open client connections of targets from /proc, and
 * reads back lifecycle events, per-edge-side aggregates and loss counters.
 */
#ifndef PODSCOPE_CONN_H
#define PODSCOPE_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn_events.h"

struct conn_tracer;

#define CONN_SAMPLE_RING_MIN	 (64u * 1024)
#define CONN_SAMPLE_RING_MAX	 (256u * 1024 * 1024)
#define CONN_SAMPLE_RING_DEFAULT (8u * 1024 * 1024)

/*
 * The --sample-ring SIZE option of command @cmd: cli_parse_size(), a power of
 * two within the limits. 0, or the usage error's exit status (said on stderr).
 */
int conn_sample_ring_opt(const char *cmd, const char *text, uint32_t *bytes);

typedef void (*conn_event_fn)(void *ctx, const struct conn_event *e);
typedef void (*conn_side_fn)(void *ctx, const struct side_key *key, const struct side_metrics *m);
typedef void (*conn_drop_fn)(void *ctx, const struct side_key *key, uint32_t reason,
			     uint64_t count);
typedef void (*conn_sample_fn)(void *ctx, const struct sample_event *e);

/* Payload sampling (request metrics); all zero: off. */
struct conn_tracer_opts {
	conn_sample_fn sample_fn; /* non-NULL: sample, and deliver samples here */
	void *sample_ctx;
	bool sample_all_targets; /* false: only processes in sidecar containers */
	/*
	 * Size of the payload sample ring: a power of two, at least
	 * CONN_SAMPLE_RING_MIN; 0: CONN_SAMPLE_RING_DEFAULT.
	 */
	uint32_t sample_ring_bytes;
	/*
	 * Measure the time in each read/write call (raw_syscalls enter/exit on
	 * every syscall of the node: the costly part). Forced on under raw_tp
	 * when sampling, which needs the syscall arguments there.
	 */
	bool syscall_time;
};

/*
 * conn_tracer__new - load and attach. @target_tgids_fd and @target_gen_fd
 * are the tracker's maps (tracker__tgids_fd(), tracker__gen_fd()); @opts may
 * be NULL. Lifecycle events go to @fn,
 * payload samples to opts->sample_fn, both from conn_tracer__poll().
 * Returns NULL with errno set; the reason has been logged.
 */
struct conn_tracer *conn_tracer__new(int target_tgids_fd, int target_gen_fd, conn_event_fn fn,
				     void *ctx, const struct conn_tracer_opts *opts);

const char *conn_tracer__mechanism(const struct conn_tracer *t);

/* @dst += @src, field by field (per-CPU copies, several connections of one edge). */
void side_metrics_add(struct side_metrics *dst, const struct side_metrics *src);

/* true when the time in read/write calls is measured (see conn_tracer_opts). */
bool conn_tracer__syscall_time(const struct conn_tracer *t);

/*
 * conn_tracer__seed_process - register what process @pid (a target, in
 * container @container_idx) already has open: listening TCP sockets (so
 * connections accepted on them are tracked) and established client
 * connections (so the server side of a pre-existing connection can be paired
 * with its client). Reads /proc/<pid>/fd, and the sockets of its netns by
 * socket diagnostics (sockdiag.h).
 * Returns the number of sockets seeded, or a negative errno (-ENOENT when
 * the process is gone).
 */
int conn_tracer__seed_process(struct conn_tracer *t, pid_t pid, uint32_t container_idx);

/* Deliver every event and sample in the rings (never waits). Returns how many, or -errno. */
int conn_tracer__poll(struct conn_tracer *t);

/* The epoll fd of the event and sample rings (ringwait.h). */
int conn_tracer__epoll_fd(const struct conn_tracer *t);

/* Call @fn for every edge side with per-CPU values summed. Returns sides seen or -errno. */
int conn_tracer__for_each_side(struct conn_tracer *t, conn_side_fn fn, void *ctx);

/* Call @fn for every (side, drop reason) counter. */
int conn_tracer__for_each_drop(struct conn_tracer *t, conn_drop_fn fn, void *ctx);

/* Loss counters (CSTAT_*), summed over CPUs. */
int conn_tracer__stats(struct conn_tracer *t, uint64_t out[CSTAT__COUNT]);

/* NULL-safe. */
void conn_tracer__free(struct conn_tracer *t);

#endif /* PODSCOPE_CONN_H */
