// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for per-hop latency histograms (src/hopstats.c) on synthetic flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"
#include "hopstats.h"
#include "trace_points.h"

#define NS_NODE 1000
#define NS_PEER 1001
#define NS_POD	1002

static void hop(struct flow_packet *p, uint64_t ts, unsigned point, uint32_t netns)
{
	p->hops[p->nhops].ts_ns = ts;
	p->hops[p->nhops].point = (uint16_t)point;
	p->hops[p->nhops].netns = netns;
	p->nhops++;
}

/* Two packets on the same path: one series per hop pair and place, counts and sums add. */
static void test_series_per_hop_and_place(void **state)
{
	struct flow_packet pk[3] = {0};
	struct flow f = {0};
	struct hop_stats *hs = hop_stats__new(0);
	const struct hop_series *s;
	char a[64], b[64];

	(void)state;
	for (int i = 0; i < 2; i++) {
		hop(&pk[i], 1000, TPT_tc_egress, NS_NODE);
		hop(&pk[i], 1000 + 700 * (i + 1), TPT_net_dev_queue, NS_NODE);
		hop(&pk[i], 5000, TPT_netif_rx, NS_POD);
	}
	pk[2].from_server = 1;
	hop(&pk[2], 9000, TPT_net_dev_queue, NS_POD);
	hop(&pk[2], 9000, TPT_netif_rx, NS_PEER); /* dt 0: slot 0 */
	f.packets = pk;
	f.npackets = 3;
	assert_int_equal(hop_stats__add_flow(hs, &f, "default/reviews", NS_POD, NS_NODE), 5);
	assert_int_equal(hop_stats__nseries(hs), 3);
	s = hop_stats__series(hs, 0);
	assert_string_equal(hop_name(s->from_point, s->from_where, a, sizeof(a)), "tc_egress@node");
	assert_string_equal(hop_name(s->to_point, s->to_where, b, sizeof(b)), "net_dev_queue@node");
	assert_int_equal(s->count, 2);
	assert_int_equal(s->sum_ns, 700 + 1400);
	assert_int_equal(s->hist[9], 1);  /* 700 in [512, 1024) */
	assert_int_equal(s->hist[10], 1); /* 1400 in [1024, 2048) */
	s = hop_stats__series(hs, 1);
	assert_string_equal(hop_name(s->to_point, s->to_where, b, sizeof(b)), "netif_rx@pod");
	assert_int_equal(s->count, 2);
	s = hop_stats__series(hs, 2);
	assert_int_equal(s->from_server, 1);
	assert_string_equal(hop_name(s->to_point, s->to_where, b, sizeof(b)), "netif_rx@other");
	assert_int_equal(s->hist[0], 1);
	/* the same flow again: no new series */
	hop_stats__add_flow(hs, &f, "default/reviews", NS_POD, NS_NODE);
	assert_int_equal(hop_stats__nseries(hs), 3);
	assert_int_equal(hop_stats__series(hs, 0)->count, 4);
	hop_stats__free(hs);
}

/* Series beyond the limit are not created; their hops are counted as lost. */
static void test_series_cap(void **state)
{
	struct flow_packet pk = {0};
	struct flow f = {.packets = &pk, .npackets = 1};
	struct hop_stats *hs = hop_stats__new(1);

	(void)state;
	hop(&pk, 1, TPT_tc_egress, NS_POD);
	hop(&pk, 2, TPT_net_dev_queue, NS_POD);
	hop(&pk, 3, TPT_net_dev_start_xmit, NS_POD);
	assert_int_equal(hop_stats__add_flow(hs, &f, "a/b", NS_POD, NS_NODE), 1);
	assert_int_equal(hop_stats__nseries(hs), 1);
	assert_int_equal(hop_stats__over_cap(hs), 1);
	hop_stats__free(hs);
	hop_stats__free(NULL);
	assert_int_equal(hop_stats__nseries(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_per_hop_and_place),
		cmocka_unit_test(test_series_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
