// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Request stitching through the sidecar: see reqs.h for the method. This
 * file keeps three kinds of state, all bounded:
 *   - connections (by the kernel's opaque socket id): the protocol parser,
 *     how far each direction has been read, and the FIFO of requests
 *     waiting for a response on that connection (HTTP/1 answers in order);
 *   - per sidecar process, the requests read downstream and not yet sent
 *     upstream (matched by method and path, oldest first, same thread
 *     preferred);
 *   - the requests themselves, reference-counted because a request sits in
 *     up to three of those queues at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "reqs.h"
#include "strutil.h"

#define CONN_BUCKETS   4096
#define MAX_CONNS      16384
#define CONN_FIFO      32 /* requests waiting for a response on one connection */
#define MAX_PROCS      256
#define PROC_PENDING   512	     /* requests read downstream, not yet sent upstream */
#define FREE_REQS_MAX  1024	     /* finished requests kept for reuse */
#define CLOSE_GRACE_NS 2000000000ULL /* keep a closed connection's state this long */

struct req {
	struct req_record r;
	int refs;
	bool done;    /* delivered or dropped: holders only release it */
	bool waiting; /* in its process's pending list */
	struct req *next_free;
};

struct rconn {
	struct rconn *next; /* hash chain */
	uint64_t sock_id;
	pid_t tgid;
	uint32_t container_idx;
	uint8_t role; /* enum conn_role */
	bool not_http;
	bool have_off[2];
	enum req_direction direction; /* downstream connections */
	uint64_t seen_off[2];	      /* per proto_dir: bytes accounted for */
	uint64_t conn_start_ns, connect_ns;
	uint32_t requests;  /* requests seen on the connection so far */
	uint64_t last_ns;   /* last sample */
	uint64_t closed_ns; /* the close event was read (CLOCK_MONOTONIC) */
	void *parser;
	struct req *fifo[CONN_FIFO];
	unsigned head, count;
	char peer[64];
};

struct proc {
	pid_t tgid;
	struct req *pending[PROC_PENDING];
	int npending;
};

struct req_tracker {
	struct watchset *ws;
	req_fn fn;
	void *ctx;
	const struct proto_ops *proto;
	struct rconn *buckets[CONN_BUCKETS];
	int nconns;
	struct proc *procs[MAX_PROCS];
	int nprocs;
	struct req_tracker_stats stats;
	/* the sample being fed to a parser (for its callback) */
	const struct sample_event *cur;
	struct rconn *cur_conn;
	uint64_t now_ns;       /* of the last expire call */
	struct req *free_reqs; /* finished requests kept for reuse: no malloc per request */
	int nfree;
};

const char *req_direction_name(enum req_direction d)
{
	return d == REQ_OUTBOUND ? "outbound" : "inbound";
}

struct req_tracker *req_tracker__new(struct watchset *ws, req_fn fn, void *ctx)
{
	struct req_tracker *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return NULL;
	rt->ws = ws;
	rt->fn = fn;
	rt->ctx = ctx;
	rt->proto = &proto_http1;
	return rt;
}

/* A zeroed request, from the free list when it has one; NULL on ENOMEM. */
static struct req *req_new(struct req_tracker *rt)
{
	struct req *q = rt->free_reqs;

	if (!q)
		return calloc(1, sizeof(*q));
	rt->free_reqs = q->next_free;
	rt->nfree--;
	memset(q, 0, sizeof(*q));
	return q;
}

/* Drop a reference; the last one returns @q to the free list (bounded). */
static void req_put(struct req_tracker *rt, struct req *q)
{
	if (!q || --q->refs > 0)
		return;
	if (rt->nfree >= FREE_REQS_MAX) {
		free(q);
		return;
	}
	q->next_free = rt->free_reqs;
	rt->free_reqs = q;
	rt->nfree++;
}

static struct proc *proc_get(struct req_tracker *rt, pid_t tgid, bool create)
{
	struct proc *p;
	int i;

	for (i = 0; i < rt->nprocs; i++)
		if (rt->procs[i]->tgid == tgid)
			return rt->procs[i];
	if (!create || rt->nprocs >= MAX_PROCS)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tgid = tgid;
	rt->procs[rt->nprocs++] = p;
	return p;
}

static void pending_remove(struct req_tracker *rt, struct req *q)
{
	struct proc *p;
	int i;

	if (!q->waiting)
		return;
	q->waiting = false;
	p = proc_get(rt, q->r.pid, false);
	if (!p)
		return;
	for (i = 0; i < p->npending; i++) {
		if (p->pending[i] != q)
			continue;
		memmove(&p->pending[i], &p->pending[i + 1],
			(size_t)(p->npending - i - 1) * sizeof(p->pending[0]));
		p->npending--;
		req_put(rt, q);
		return;
	}
}

/* Mark @q finished without a record (its connection closed, or it expired). */
static void req_drop(struct req_tracker *rt, struct req *q)
{
	if (q->done)
		return;
	pr_debug("request %s %s dropped unanswered", q->r.method, q->r.path);
	q->done = true;
	rt->stats.unanswered++;
	pending_remove(rt, q);
}

static bool fifo_push(struct rconn *c, struct req *q)
{
	if (c->count >= CONN_FIFO)
		return false;
	c->fifo[(c->head + c->count) % CONN_FIFO] = q;
	c->count++;
	q->refs++;
	return true;
}

/* The oldest request on @c (a reference the caller must req_put), or NULL. */
static struct req *fifo_pop(struct rconn *c)
{
	struct req *q;

	if (!c->count)
		return NULL;
	q = c->fifo[c->head];
	c->head = (c->head + 1) % CONN_FIFO;
	c->count--;
	return q;
}

static struct rconn **conn_slot(struct req_tracker *rt, uint64_t sock_id)
{
	uint64_t h = sock_id * 0x9e3779b97f4a7c15ULL;

	return &rt->buckets[(h >> 32) % CONN_BUCKETS];
}

static struct rconn *conn_find(struct req_tracker *rt, uint64_t sock_id)
{
	struct rconn *c;

	for (c = *conn_slot(rt, sock_id); c; c = c->next)
		if (c->sock_id == sock_id)
			return c;
	return NULL;
}

static void format_endpoint(char *out, size_t n, uint8_t family, const uint8_t *addr, uint16_t port)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip));
	snprintf(out, n, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static bool is_loopback(uint8_t family, const uint8_t *a)
{
	static const uint8_t v6_lo[16] = {[15] = 1};

	return family == AF_INET6 ? !memcmp(a, v6_lo, 16) : a[0] == 127;
}

/*
 * A downstream connection whose caller is in the same pod is the outbound
 * path (app -> sidecar): the REDIRECT'd connection arrives on loopback, or
 * between the pod's own address and itself.
 */
static enum req_direction direction_of(const struct sample_event *e)
{
	size_t len = e->family == AF_INET6 ? 16 : 4;

	if (is_loopback(e->family, e->laddr) || is_loopback(e->family, e->raddr) ||
	    !memcmp(e->laddr, e->raddr, len))
		return REQ_OUTBOUND;
	return REQ_INBOUND;
}

static void conn_release_fifo(struct req_tracker *rt, struct rconn *c, bool downstream)
{
	struct req *q;

	while ((q = fifo_pop(c))) {
		if (downstream)
			req_drop(rt, q);
		req_put(rt, q);
	}
}

static void conn_free(struct req_tracker *rt, struct rconn *c)
{
	struct proto_stats ps = {0};

	conn_release_fifo(rt, c, c->role == CONN_ROLE_SERVER);
	if (c->parser) {
		rt->proto->stats(c->parser, &ps);
		rt->stats.parse_lost_sync += ps.lost_sync;
		rt->stats.parse_resyncs += ps.resyncs;
		rt->proto->conn_free(c->parser);
	}
	free(c);
	rt->nconns--;
}

static void conn_unlink_free(struct req_tracker *rt, struct rconn *c);

static struct rconn *conn_get(struct req_tracker *rt, const struct sample_event *e)
{
	struct rconn *c = conn_find(rt, e->sock_id), **slot;

	if (c && c->conn_start_ns == e->conn_start_ns)
		return c;
	if (c) /* the socket was reused by a newer connection */
		conn_unlink_free(rt, c);
	if (rt->nconns >= MAX_CONNS) {
		rt->stats.conns_full++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rt->stats.conns_full++;
		return NULL;
	}
	c->sock_id = e->sock_id;
	c->tgid = (pid_t)e->tgid;
	c->container_idx = e->container_idx;
	c->role = e->role;
	c->direction = direction_of(e);
	c->conn_start_ns = e->conn_start_ns;
	c->connect_ns = e->connect_ns;
	format_endpoint(c->peer, sizeof(c->peer), e->family, e->raddr, e->rport);
	slot = conn_slot(rt, e->sock_id);
	c->next = *slot;
	*slot = c;
	rt->nconns++;
	return c;
}

void req_tracker__on_close(struct req_tracker *rt, uint64_t sock_id, uint64_t conn_start_ns)
{
	struct rconn *c = conn_find(rt, sock_id);

	/*
	 * Close events and samples travel in two ring buffers, so the close
	 * may be read before the connection's last samples: keep the state a
	 * little longer (req_tracker__expire frees it).
	 */
	if (c && c->conn_start_ns == conn_start_ns && !c->closed_ns)
		c->closed_ns = rt->now_ns ? rt->now_ns : c->last_ns;
}

static void deliver(struct req_tracker *rt, struct req *q)
{
	q->done = true;
	pending_remove(rt, q);
	rt->stats.requests++;
	if (rt->fn)
		rt->fn(rt->ctx, &q->r);
}

/* A request read on a downstream connection: wait for its upstream twin. */
static void on_downstream_request(struct req_tracker *rt, struct rconn *c,
				  const struct proto_msg *m)
{
	const struct sample_event *e = rt->cur;
	struct proc *p = proc_get(rt, c->tgid, true);
	struct req *q;

	if (!p) {
		rt->stats.queue_full++;
		return;
	}
	q = req_new(rt);
	if (!q) {
		rt->stats.queue_full++;
		return;
	}
	q->r.pid = c->tgid;
	q->r.tid = (pid_t)e->tid;
	q->r.container_idx = c->container_idx;
	q->r.direction = c->direction;
	str_copy(q->r.method, sizeof(q->r.method), m->method);
	str_copy(q->r.path, sizeof(q->r.path), m->path);
	str_copy(q->r.path_template, sizeof(q->r.path_template), m->path_template);
	q->r.t_in = m->ts_ns;
	q->r.t_in_start = e->start_ns;
	str_copy(q->r.client, sizeof(q->r.client), c->peer);
	q->refs = 1; /* the creator's, dropped below */
	if (!fifo_push(c, q)) {
		rt->stats.queue_full++;
		req_put(rt, q);
		return;
	}
	if (p->npending < PROC_PENDING) {
		p->pending[p->npending++] = q;
		q->refs++;
		q->waiting = true;
	} else {
		rt->stats.queue_full++;
	}
	req_put(rt, q);
}

/* A request written upstream: the oldest waiting downstream request like it. */
static void on_upstream_request(struct req_tracker *rt, struct rconn *c, const struct proto_msg *m)
{
	const struct sample_event *e = rt->cur;
	struct proc *p = proc_get(rt, c->tgid, false);
	struct req *q = NULL, *phantom;
	int i, pick = -1;

	for (i = 0; p && i < p->npending; i++) {
		struct req *w = p->pending[i];

		if (strcmp(w->r.method, m->method) || strcmp(w->r.path, m->path))
			continue;
		if (w->r.tid == (pid_t)e->tid) {
			pick = i;
			break;
		}
		if (pick < 0)
			pick = i;
	}
	c->requests++;
	if (pick < 0) {
		/* the sidecar's own request (health check...): keep the FIFO aligned */
		rt->stats.unmatched_upstream++;
		phantom = req_new(rt);
		if (!phantom)
			return;
		phantom->done = true;
		phantom->refs = 1;
		if (!fifo_push(c, phantom))
			rt->stats.queue_full++;
		req_put(rt, phantom);
		return;
	}
	q = p->pending[pick];
	q->r.upstream = true;
	q->r.t_up_out = m->ts_ns;
	q->r.new_upstream_conn = c->requests == 1 && c->conn_start_ns >= q->r.t_in_start &&
				 c->conn_start_ns <= m->ts_ns;
	q->r.upstream_connect_ns = q->r.new_upstream_conn ? c->connect_ns : 0;
	str_copy(q->r.upstream_peer, sizeof(q->r.upstream_peer), c->peer);
	if (!fifo_push(c, q))
		rt->stats.queue_full++;
	pending_remove(rt, q);
}

static void on_upstream_response(struct req_tracker *rt, struct rconn *c, const struct proto_msg *m)
{
	struct req *q = fifo_pop(c);

	if (!q) {
		rt->stats.orphan_responses++;
		return;
	}
	if (!q->done && !q->r.t_up_in) {
		q->r.t_up_in = m->ts_ns;
		q->r.upstream_status = m->status;
	}
	req_put(rt, q);
}

static void on_downstream_response(struct req_tracker *rt, struct rconn *c,
				   const struct proto_msg *m)
{
	struct req *q;

	if (m->status >= 100 && m->status < 200)
		return; /* interim (100 Continue): the request is still open */
	q = fifo_pop(c);
	if (!q) {
		pr_debug("orphan downstream response on %016llx", (unsigned long long)c->sock_id);
		rt->stats.orphan_responses++;
		return;
	}
	if (!q->done) {
		q->r.t_out = m->ts_ns;
		q->r.t_out_start = rt->cur->start_ns;
		q->r.status = m->status;
		if (q->r.upstream && !q->r.t_up_in)
			q->r.upstream = false; /* upstream response never seen: no split */
		deliver(rt, q);
	}
	req_put(rt, q);
}

static void on_msg(void *ctx, const struct proto_msg *m)
{
	struct req_tracker *rt = ctx;
	struct rconn *c = rt->cur_conn;
	bool downstream = c->role == CONN_ROLE_SERVER;

	if (m->dir == PROTO_DIR_REQUEST) {
		if (downstream)
			on_downstream_request(rt, c, m);
		else
			on_upstream_request(rt, c, m);
	} else {
		if (downstream)
			on_downstream_response(rt, c, m);
		else
			on_upstream_response(rt, c, m);
	}
}

void req_tracker__on_sample(struct req_tracker *rt, const struct sample_event *e)
{
	struct rconn *c;
	enum proto_dir pdir;
	size_t len = e->sample_len;

	rt->stats.samples++;
	if (log_get_level() >= PS_LOG_DEBUG)
		pr_debug("sample: sock %016llx tgid %u tid %u role %u dir %u off %llu bytes %u "
			 "len %u ts %llu '%.*s'",
			 (unsigned long long)e->sock_id, e->tgid, e->tid, e->role, e->dir,
			 (unsigned long long)e->stream_off, e->bytes, e->sample_len,
			 (unsigned long long)e->ts_ns, e->sample_len > 24 ? 24 : e->sample_len,
			 (const char *)e->data);
	if (e->role != CONN_ROLE_CLIENT && e->role != CONN_ROLE_SERVER)
		return;
	c = conn_get(rt, e);
	if (!c || c->not_http)
		return;
	if (len > sizeof(e->data))
		len = sizeof(e->data);
	if (e->role == CONN_ROLE_SERVER)
		pdir = e->dir == 2 ? PROTO_DIR_REQUEST : PROTO_DIR_RESPONSE;
	else
		pdir = e->dir == 1 ? PROTO_DIR_REQUEST : PROTO_DIR_RESPONSE;
	if (!c->parser) {
		if (!len)
			return; /* nothing to decide on yet (sendfile) */
		if (!rt->proto->detect(pdir, e->data, len)) {
			c->not_http = true;
			rt->stats.not_http++;
			return;
		}
		c->parser = rt->proto->conn_new();
		if (!c->parser)
			return;
	}
	c->last_ns = e->ts_ns;
	rt->cur = e;
	rt->cur_conn = c;
	if (c->have_off[pdir] && e->stream_off > c->seen_off[pdir])
		rt->proto->feed(c->parser, pdir, NULL, 0, e->stream_off - c->seen_off[pdir],
				e->ts_ns, on_msg, rt);
	rt->proto->feed(c->parser, pdir, e->data, len, e->bytes, e->ts_ns, on_msg, rt);
	c->seen_off[pdir] = e->stream_off + e->bytes;
	c->have_off[pdir] = true;
	rt->cur = NULL;
	rt->cur_conn = NULL;
}

void req_tracker__expire(struct req_tracker *rt, uint64_t now_ns, uint64_t max_age_ns)
{
	int i, j;

	rt->now_ns = now_ns;
	for (i = 0; i < rt->nprocs; i++) {
		struct proc *p = rt->procs[i];

		for (j = 0; j < p->npending;) {
			struct req *q = p->pending[j];

			if (now_ns - q->r.t_in <= max_age_ns) {
				j++;
				continue;
			}
			/* removes it from the list; it stays in its connection's FIFO */
			req_drop(rt, q);
		}
	}
	/*
	 * Connections whose close event was read before their last samples
	 * (two ring buffers) come back to life here; forget them once idle.
	 */
	for (i = 0; i < CONN_BUCKETS; i++) {
		struct rconn *c = rt->buckets[i], *next;

		for (; c; c = next) {
			next = c->next;
			if ((c->closed_ns && now_ns - c->closed_ns > CLOSE_GRACE_NS) ||
			    (c->last_ns && now_ns - c->last_ns > max_age_ns))
				conn_unlink_free(rt, c);
		}
	}
}

/* Unlink @c from its hash chain and free it. */
static void conn_unlink_free(struct req_tracker *rt, struct rconn *c)
{
	struct rconn **pp;

	for (pp = conn_slot(rt, c->sock_id); *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			conn_free(rt, c);
			return;
		}
	}
}

void req_tracker__stats(const struct req_tracker *rt, struct req_tracker_stats *out)
{
	*out = rt->stats;
}

void req_tracker__free(struct req_tracker *rt)
{
	int i;

	if (!rt)
		return;
	for (i = 0; i < CONN_BUCKETS; i++) {
		while (rt->buckets[i]) {
			struct rconn *c = rt->buckets[i];

			rt->buckets[i] = c->next;
			conn_free(rt, c);
		}
	}
	for (i = 0; i < rt->nprocs; i++) {
		while (rt->procs[i]->npending)
			req_drop(rt, rt->procs[i]->pending[0]);
		free(rt->procs[i]);
	}
	while (rt->free_reqs) {
		struct req *q = rt->free_reqs;

		rt->free_reqs = q->next_free;
		free(q);
	}
	free(rt);
}
