// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reqs-replay - what the agent's user side spends per payload sample.
 *
 * Replays the samples one sidecar produces in the pod lab, with the bytes the
 * lab's proxies and apps send, through the same code the agent runs for each
 * sample: request stitching (src/reqs.c), the HTTP/1 parser (src/http1.c)
 * and the request aggregates (src/reqstats.c). Per request the sidecar reads
 * it downstream, writes it upstream, reads the response and writes it back:
 * 4 samples, over --conns downstream connections and as many pooled upstream
 * ones. Prints ns per sample (best of --runs), and checks that every request
 * was stitched, so a faster parser that stitches less cannot look good.
 *
 *   build/reqs-replay [--requests N] [--conns N] [--runs N]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "reqs.h"
#include "reqstats.h"

#define SIDECAR 100

/* The lab's bytes: wrk's request as HAProxy forwards it, the app's response. */
static const char req_down[] = "GET /reviews/0 HTTP/1.1\r\nHost: 198.18.0.11:9080\r\n\r\n";
static const char req_up[] = "GET /reviews/0 HTTP/1.1\r\nhost: 198.18.0.11:9080\r\n"
			     "x-request-id: 5f0c6a4e-8d1b-4c2a-9e7f-3b6d2a1c0e94\r\n"
			     "x-forwarded-for: 198.18.0.10\r\n\r\n";
static const char resp_head[] = "HTTP/1.1 200 OK\r\nServer: podscope-labapp\r\nX-Labapp: "
				"reviews\r\n"
				"Content-Type: text/plain\r\nContent-Length: 1024\r\n\r\n";
#define BODY 1024

struct fconn {
	uint64_t sock_id;
	uint8_t role;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint64_t off[3]; /* by kernel dir: 1 send, 2 recv */
};

struct sink {
	struct req_stats *stats;
	uint64_t records;
};

static void on_req(void *ctx, const struct req_record *r)
{
	struct sink *s = ctx;

	s->records++;
	req_stats__add(s->stats, "default/reviews", r);
}

static void sample(struct req_tracker *rt, struct sample_event *e, struct fconn *c, uint8_t dir,
		   uint64_t ts, const char *head, size_t head_len, uint32_t body)
{
	size_t len = head_len + body;

	e->ts_ns = ts;
	e->start_ns = ts - 1000;
	e->sock_id = c->sock_id;
	e->stream_off = c->off[dir];
	e->conn_start_ns = 1;
	e->tgid = SIDECAR;
	e->tid = SIDECAR;
	e->bytes = (uint32_t)len;
	e->sample_len = (uint16_t)(len > CONN_SAMPLE_MAX ? CONN_SAMPLE_MAX : len);
	memcpy(e->data, head, head_len < CONN_SAMPLE_MAX ? head_len : CONN_SAMPLE_MAX);
	if (head_len < e->sample_len)
		memset(e->data + head_len, 'x', e->sample_len - head_len);
	e->dir = dir;
	e->role = c->role;
	e->family = AF_INET;
	e->lport = c->lport;
	e->rport = c->rport;
	memcpy(e->laddr, c->laddr, sizeof(e->laddr));
	memcpy(e->raddr, c->raddr, sizeof(e->raddr));
	c->off[dir] += len;
	req_tracker__on_sample(rt, e);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One replay; returns ns per sample, or a negative value if requests went unstitched. */
static double replay(long requests, int nconns)
{
	struct sink s = {.stats = req_stats__new()};
	struct req_tracker *rt = req_tracker__new(NULL, on_req, &s);
	struct fconn *down = calloc((size_t)nconns, sizeof(*down));
	struct fconn *up = calloc((size_t)nconns, sizeof(*up));
	struct sample_event e;
	uint64_t ts = 1000000;
	double t0, dt;
	long i;

	if (!s.stats || !rt || !down || !up) {
		fprintf(stderr, "reqs-replay: out of memory\n");
		exit(1);
	}
	memset(&e, 0, sizeof(e));
	for (int k = 0; k < nconns; k++) {
		down[k] = (struct fconn){.sock_id = 1000 + (uint64_t)k,
					 .role = CONN_ROLE_SERVER,
					 .lport = 15006,
					 .rport = (uint16_t)(40000 + k)};
		inet_pton(AF_INET, "198.18.0.11", down[k].laddr);
		inet_pton(AF_INET, "198.18.0.10", down[k].raddr);
		up[k] = (struct fconn){.sock_id = 5000 + (uint64_t)k,
				       .role = CONN_ROLE_CLIENT,
				       .lport = (uint16_t)(50000 + k),
				       .rport = 9080};
		inet_pton(AF_INET, "127.0.0.1", up[k].laddr);
		inet_pton(AF_INET, "127.0.0.1", up[k].raddr);
	}
	t0 = now_s();
	for (i = 0; i < requests; i++) {
		int k = (int)(i % nconns);

		sample(rt, &e, &down[k], 2, ts, req_down, sizeof(req_down) - 1, 0);
		sample(rt, &e, &up[k], 1, ts + 20000, req_up, sizeof(req_up) - 1, 0);
		sample(rt, &e, &up[k], 2, ts + 600000, resp_head, sizeof(resp_head) - 1, BODY);
		sample(rt, &e, &down[k], 1, ts + 620000, resp_head, sizeof(resp_head) - 1, BODY);
		ts += 700000;
	}
	dt = now_s() - t0;
	req_tracker__free(rt);
	req_stats__free(s.stats);
	free(down);
	free(up);
	if (s.records != (uint64_t)requests) {
		fprintf(stderr, "reqs-replay: %llu of %ld requests stitched\n",
			(unsigned long long)s.records, requests);
		return -1;
	}
	return dt * 1e9 / (double)(requests * 4);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"requests", required_argument, NULL, 'n'},
					     {"conns", required_argument, NULL, 'c'},
					     {"runs", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	long requests = 500000;
	int nconns = 16, runs = 5, o;
	double best = 0;

	while ((o = getopt_long(argc, argv, "n:c:r:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			requests = strtol(optarg, NULL, 10);
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: reqs-replay [--requests N] [--conns N] [--runs "
					"N]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (requests < 1 || requests > 100000000 || nconns < 1 || nconns > 1000 || runs < 1 ||
	    runs > 100) {
		fprintf(stderr, "reqs-replay: --requests 1..1e8, --conns 1..1000, --runs 1..100\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		double ns = replay(requests, nconns);

		if (ns < 0)
			return 1;
		if (!best || ns < best)
			best = ns;
	}
	printf("%ld requests x 4 samples over %d connections: %.0f ns per sample (best of %d)\n",
	       requests, nconns, best, runs);
	return 0;
}
