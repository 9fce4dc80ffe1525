// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for request stitching (src/reqs.c) and the request aggregates
 * (src/reqstats.c), on synthetic kernel samples: pooled upstream
 * connections, several threads, the sidecar's own requests, answers without
 * upstream, socket reuse, close events read before the last samples, gaps.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "reqs.h"
#include "reqstats.h"

#define SIDECAR	 100
#define MAX_RECS 64

struct sink {
	struct req_record recs[MAX_RECS];
	int n;
};

static void on_req(void *ctx, const struct req_record *r)
{
	struct sink *s = ctx;

	if (s->n < MAX_RECS)
		s->recs[s->n++] = *r;
}

/* A connection as the kernel describes it. */
struct fconn {
	uint64_t sock_id, start_ns;
	uint8_t role;
	const char *laddr, *raddr;
	uint16_t lport, rport;
	uint64_t off[3]; /* by kernel dir (1 send, 2 recv) */
};

static void feed(struct req_tracker *rt, struct fconn *c, uint32_t tid, uint8_t dir, uint64_t ts,
		 const char *data, uint32_t total)
{
	struct sample_event e;
	size_t len = data ? strlen(data) : 0;

	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.start_ns = ts - 10;
	e.sock_id = c->sock_id;
	e.stream_off = c->off[dir];
	e.conn_start_ns = c->start_ns;
	e.tgid = SIDECAR;
	e.tid = tid;
	e.bytes = total ? total : (uint32_t)len;
	e.sample_len = (uint16_t)(len > CONN_SAMPLE_MAX ? CONN_SAMPLE_MAX : len);
	memcpy(e.data, data ? data : "", e.sample_len);
	e.dir = dir;
	e.role = c->role;
	e.family = AF_INET;
	e.lport = c->lport;
	e.rport = c->rport;
	inet_pton(AF_INET, c->laddr, e.laddr);
	inet_pton(AF_INET, c->raddr, e.raddr);
	c->off[dir] += e.bytes;
	req_tracker__on_sample(rt, &e);
}

#define SEND 1
#define RECV 2

static const char *req(char *buf, const char *path)
{
	sprintf(buf, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	return buf;
}

static const char resp200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static struct fconn down(uint64_t id, const char *peer)
{
	struct fconn c = {.sock_id = id,
			  .start_ns = 1,
			  .role = CONN_ROLE_SERVER,
			  .laddr = "198.18.0.12",
			  .raddr = peer,
			  .lport = 15006,
			  .rport = 40000};
	return c;
}

static struct fconn up(uint64_t id)
{
	struct fconn c = {.sock_id = id,
			  .start_ns = 1,
			  .role = CONN_ROLE_CLIENT,
			  .laddr = "127.0.0.1",
			  .raddr = "127.0.0.1",
			  .lport = 50000,
			  .rport = 9080};
	return c;
}

static const struct req_record *find(const struct sink *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->recs[i].path, path))
			return &s->recs[i];
	return NULL;
}

/* Three callers share one pooled upstream connection; responses come back in order. */
static void test_pooled_upstream(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), b = down(2, "198.18.0.10"),
		     c = down(3, "198.18.0.10"), u = up(9);
	struct req_tracker_stats st;
	const struct req_record *r;
	char buf[128];

	(void)state;
	feed(rt, &a, SIDECAR, RECV, 1000, req(buf, "/a"), 0);
	feed(rt, &b, SIDECAR, RECV, 1100, req(buf, "/b"), 0);
	feed(rt, &u, SIDECAR, SEND, 1200, req(buf, "/a"), 0);
	feed(rt, &c, SIDECAR, RECV, 1250, req(buf, "/c"), 0);
	feed(rt, &u, SIDECAR, RECV, 5000, resp200, 0);
	feed(rt, &a, SIDECAR, SEND, 5100, resp200, 0);
	feed(rt, &u, SIDECAR, SEND, 5200, req(buf, "/c"), 0); /* c overtakes b */
	feed(rt, &u, SIDECAR, SEND, 5300, req(buf, "/b"), 0); /* same direction: not sampled by the
							       * kernel, but fine here */
	feed(rt, &u, SIDECAR, RECV, 7000, resp200, 0);
	feed(rt, &c, SIDECAR, SEND, 7100, resp200, 0);
	feed(rt, &u, SIDECAR, RECV, 9000, resp200, 0);
	feed(rt, &b, SIDECAR, SEND, 9400, resp200, 0);
	assert_int_equal(s.n, 3);
	r = find(&s, "/a");
	assert_non_null(r);
	assert_true(r->upstream);
	assert_int_equal(r->t_in, 1000);
	assert_int_equal(r->t_up_out, 1200);
	assert_int_equal(r->t_up_in, 5000);
	assert_int_equal(r->t_out, 5100);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->direction, REQ_INBOUND);
	assert_string_equal(r->upstream_peer, "127.0.0.1:9080");
	r = find(&s, "/c");
	assert_non_null(r);
	assert_int_equal(r->t_up_out, 5200);
	assert_int_equal(r->t_up_in, 7000);
	assert_int_equal(r->t_out, 7100);
	r = find(&s, "/b");
	assert_non_null(r);
	assert_int_equal(r->t_in, 1100);
	assert_int_equal(r->t_up_out, 5300);
	assert_int_equal(r->t_up_in, 9000);
	assert_int_equal(r->t_out, 9400);
	req_tracker__stats(rt, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.unanswered + st.orphan_responses + st.unmatched_upstream, 0);
	req_tracker__free(rt);
}

/* Two threads wait with the same path: each upstream write takes its own thread's request. */
static void test_same_thread_preferred(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), b = down(2, "198.18.0.10"), u1 = up(8), u2 = up(9);
	char buf[128];

	(void)state;
	feed(rt, &a, 11, RECV, 1000, req(buf, "/same"), 0);
	feed(rt, &b, 12, RECV, 1100, req(buf, "/same"), 0);
	feed(rt, &u2, 12, SEND, 1300, req(buf, "/same"), 0); /* thread 12 first */
	feed(rt, &u1, 11, SEND, 1400, req(buf, "/same"), 0);
	feed(rt, &u2, 12, RECV, 2000, resp200, 0);
	feed(rt, &b, 12, SEND, 2100, resp200, 0);
	feed(rt, &u1, 11, RECV, 3000, resp200, 0);
	feed(rt, &a, 11, SEND, 3100, resp200, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.recs[0].tid, 12);
	assert_int_equal(s.recs[0].t_in, 1100);
	assert_int_equal(s.recs[0].t_up_out, 1300);
	assert_int_equal(s.recs[1].tid, 11);
	assert_int_equal(s.recs[1].t_in, 1000);
	assert_int_equal(s.recs[1].t_up_out, 1400);
	req_tracker__free(rt);
}

/* The sidecar's own request upstream (a health check) must not shift the responses. */
static void test_own_request_keeps_order(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), u = up(9);
	struct req_tracker_stats st;
	char buf[128];

	(void)state;
	feed(rt, &u, SIDECAR, SEND, 500, req(buf, "/healthz"), 0);
	feed(rt, &a, SIDECAR, RECV, 1000, req(buf, "/x"), 0);
	feed(rt, &u, SIDECAR, SEND, 1100, req(buf, "/x"), 0);
	feed(rt, &u, SIDECAR, RECV, 1500, resp200, 0); /* the health check's */
	feed(rt, &u, SIDECAR, RECV, 4000, resp200, 0);
	feed(rt, &a, SIDECAR, SEND, 4100, resp200, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.recs[0].t_up_in, 4000);
	req_tracker__stats(rt, &st);
	assert_int_equal(st.unmatched_upstream, 1);
	req_tracker__free(rt);
}

/* A 503 the sidecar writes itself, and an outbound request (caller in the pod). */
static void test_local_answer_and_outbound(void **state)
{
	static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), o = down(2, "198.18.0.11"), u = up(9);
	char buf[128];

	(void)state;
	o.laddr = "127.0.0.1"; /* REDIRECT'd to 127.0.0.1:15001 */
	o.lport = 15001;
	feed(rt, &a, SIDECAR, RECV, 1000, req(buf, "/down"), 0);
	feed(rt, &a, SIDECAR, SEND, 1300, r503, 0);
	feed(rt, &o, SIDECAR, RECV, 2000, req(buf, "/ratings"), 0);
	feed(rt, &u, SIDECAR, SEND, 2100, req(buf, "/ratings"), 0);
	feed(rt, &u, SIDECAR, RECV, 2600, resp200, 0);
	feed(rt, &o, SIDECAR, SEND, 2700, resp200, 0);
	assert_int_equal(s.n, 2);
	assert_false(s.recs[0].upstream);
	assert_int_equal(s.recs[0].status, 503);
	assert_int_equal(s.recs[0].t_out - s.recs[0].t_in, 300);
	assert_int_equal(s.recs[1].direction, REQ_OUTBOUND);
	assert_true(s.recs[1].upstream);
	req_tracker__free(rt);
}

/* Socket address reuse, and a close event read before the connection's last samples. */
static void test_reuse_and_early_close(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), u = up(9), a2;
	char buf[128];

	(void)state;
	feed(rt, &a, SIDECAR, RECV, 1000, req(buf, "/first"), 0);
	feed(rt, &u, SIDECAR, SEND, 1100, req(buf, "/first"), 0);
	/* the close of the downstream connection is read before its response sample */
	req_tracker__on_close(rt, a.sock_id, a.start_ns);
	feed(rt, &u, SIDECAR, RECV, 2000, resp200, 0);
	feed(rt, &a, SIDECAR, SEND, 2100, resp200, 0);
	assert_int_equal(s.n, 1);
	/* a new connection on the same socket address: fresh state, offsets from 0 */
	a2 = down(1, "198.18.0.10");
	a2.start_ns = 5000;
	a2.rport = 40001;
	feed(rt, &a2, SIDECAR, RECV, 6000, req(buf, "/second"), 0);
	feed(rt, &u, SIDECAR, SEND, 6100, req(buf, "/second"), 0);
	feed(rt, &u, SIDECAR, RECV, 7000, resp200, 0);
	feed(rt, &a2, SIDECAR, SEND, 7100, resp200, 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[1].path, "/second");
	assert_string_equal(s.recs[1].client, "198.18.0.10:40001");
	/* the old close event again (late): the new connection is not affected */
	req_tracker__on_close(rt, a.sock_id, a.start_ns);
	req_tracker__free(rt);
}

/* A POST body larger than the sample, counted through the gap; then the next request. */
static void test_body_through_gap(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10"), u = up(9);
	static const char post[] = "POST /up HTTP/1.1\r\nContent-Length: 10000\r\n\r\n";
	char buf[128];

	(void)state;
	feed(rt, &a, SIDECAR, RECV, 1000, post, (uint32_t)strlen(post) + 10000);
	feed(rt, &u, SIDECAR, SEND, 1100, post, (uint32_t)strlen(post) + 10000);
	feed(rt, &u, SIDECAR, RECV, 2000, resp200, 0);
	feed(rt, &a, SIDECAR, SEND, 2100, resp200, 0);
	feed(rt, &a, SIDECAR, RECV, 3000, req(buf, "/next"), 0);
	feed(rt, &u, SIDECAR, SEND, 3100, req(buf, "/next"), 0);
	feed(rt, &u, SIDECAR, RECV, 4000, resp200, 0);
	feed(rt, &a, SIDECAR, SEND, 4100, resp200, 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[0].method, "POST");
	assert_string_equal(s.recs[1].path, "/next");
	assert_int_equal(s.recs[1].t_up_in, 4000);
	req_tracker__free(rt);
}

/* Requests that never get a response are counted once they expire. */
static void test_expire(void **state)
{
	struct sink s = {0};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn a = down(1, "198.18.0.10");
	struct req_tracker_stats st;
	char buf[128];

	(void)state;
	feed(rt, &a, SIDECAR, RECV, 1000, req(buf, "/lost"), 0);
	req_tracker__expire(rt, 1000 + 500, 1000);
	req_tracker__stats(rt, &st);
	assert_int_equal(st.unanswered, 0);
	req_tracker__expire(rt, 1000 + 2000, 1000);
	req_tracker__stats(rt, &st);
	assert_int_equal(st.unanswered, 1);
	/* a late response finds nothing waiting: not a record */
	feed(rt, &a, SIDECAR, SEND, 4000, resp200, 0);
	assert_int_equal(s.n, 0);
	req_tracker__free(rt);
}

/* Aggregates: parts and exact percentiles. */
static void test_stats(void **state)
{
	struct req_stats *rs = req_stats__new();
	const struct req_group *g;
	struct req_record r;
	int i;

	(void)state;
	for (i = 1; i <= 100; i++) {
		memset(&r, 0, sizeof(r));
		r.direction = REQ_INBOUND;
		r.status = i <= 3 ? 503 : 200;
		r.upstream = true;
		r.t_in = 1000;
		r.t_up_out = 1000 + (uint64_t)i * 10;	     /* inbound i*10 */
		r.t_up_in = r.t_up_out + (uint64_t)i * 1000; /* app i*1000 */
		r.t_out = r.t_up_in + 5;		     /* outbound 5 */
		assert_int_equal(req_stats__add(rs, "default/ratings", &r), 0);
	}
	assert_int_equal(req_stats__ngroups(rs), 1);
	g = req_stats__group(rs, 0);
	assert_int_equal(g->count, 100);
	assert_int_equal(g->status[2], 97);
	assert_int_equal(g->status[5], 3);
	assert_int_equal(lat_summary__quantile(&g->lat[REQ_PART_APP], 0.5), 50000);
	assert_int_equal(lat_summary__quantile(&g->lat[REQ_PART_APP], 0.99), 99000);
	assert_int_equal(lat_summary__quantile(&g->lat[REQ_PART_SIDECAR], 0.5), 505);
	assert_int_equal(g->lat[REQ_PART_TOTAL].sum_ns,
			 g->lat[REQ_PART_SIDECAR].sum_ns + g->lat[REQ_PART_APP].sum_ns);
	req_stats__free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pooled_upstream),
		cmocka_unit_test(test_same_thread_preferred),
		cmocka_unit_test(test_own_request_keeps_order),
		cmocka_unit_test(test_local_answer_and_outbound),
		cmocka_unit_test(test_reuse_and_early_close),
		cmocka_unit_test(test_body_through_gap),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
