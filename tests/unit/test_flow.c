// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for packet-path flow assembly (src/flow.c) on synthetic events. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"
#include "trace_points.h"

#define NS_CLIENT 1001
#define NS_NODE	  1000
#define NS_POD	  1002

#define C_IP	  "10.0.0.1"
#define S_IP	  "10.0.0.2"

static struct pkt_event mk(uint64_t ts, unsigned point, uint64_t skb, uint32_t netns,
			   uint32_t ifindex, const char *src, uint16_t sport, const char *dst,
			   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len)
{
	struct pkt_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.point = (uint16_t)point;
	e.skb_id = skb;
	e.netns = netns;
	e.ifindex = ifindex;
	e.family = 2;
	inet_pton(AF_INET, src, e.pkt_saddr);
	inet_pton(AF_INET, dst, e.pkt_daddr);
	e.pkt_sport = sport;
	e.pkt_dport = dport;
	memcpy(e.conn_saddr, e.pkt_saddr, 16);
	memcpy(e.conn_daddr, e.pkt_daddr, 16);
	e.conn_sport = sport;
	e.conn_dport = dport;
	e.seq = seq;
	e.ack = ack;
	e.tcp_flags = flags;
	e.len = len;
	return e;
}

/*
 * One packet from the client namespace to the server namespace over a veth:
 * client tx (dev), node tc egress on the host veth, server rx dev, tc
 * ingress, tcp. @c2s: direction; 5 events starting at @ts, 1 us apart.
 */
static int add_packet(struct flow_table *ft, uint64_t ts, uint64_t skb, bool c2s, uint32_t seq,
		      uint32_t ack, uint8_t flags, uint32_t len, struct pkt_event *out)
{
	const char *src = c2s ? C_IP : S_IP, *dst = c2s ? S_IP : C_IP;
	uint16_t sp = c2s ? 40000 : 80, dp = c2s ? 80 : 40000;
	uint32_t ns_tx = c2s ? NS_CLIENT : NS_POD, ns_rx = c2s ? NS_POD : NS_CLIENT;
	struct pkt_event ev[5] = {
		mk(ts, TPT_net_dev_queue, skb, ns_tx, 2, src, sp, dst, dp, seq, ack, flags, len),
		mk(ts + 1000, TPT_tc_egress, skb, NS_NODE, 7, src, sp, dst, dp, seq, ack, flags,
		   len),
		mk(ts + 2000, TPT_netif_receive_skb, skb, ns_rx, 2, src, sp, dst, dp, seq, ack,
		   flags, len),
		mk(ts + 3000, TPT_tc_ingress, skb, ns_rx, 2, src, sp, dst, dp, seq, ack, flags,
		   len),
		mk(ts + 4000, TPT_tcp_probe, skb, ns_rx, 0, src, sp, dst, dp, seq, ack, flags, len),
	};

	for (int i = 0; i < 5; i++) {
		if (out)
			out[i] = ev[i];
		else if (flow_table__add(ft, &ev[i]))
			return -1;
	}
	return 0;
}

/* A whole connection: 3-way handshake, request, response, ack, FIN/FIN/ACK. */
static void add_connection(struct flow_table *ft, uint64_t t0, bool shuffled)
{
	struct pkt_event all[45];
	int n = 0;
	static const struct {
		bool c2s;
		uint32_t seq, ack;
		uint8_t flags;
		uint32_t len;
	} pk[] = {
		{true, 100, 0, TRACE_TCP_SYN, 0},
		{false, 500, 101, TRACE_TCP_SYN | TRACE_TCP_ACK, 0},
		{true, 101, 501, TRACE_TCP_ACK, 0},
		{true, 101, 501, TRACE_TCP_ACK | TRACE_TCP_PSH, 80},
		{false, 501, 181, TRACE_TCP_ACK | TRACE_TCP_PSH, 2000},
		{true, 181, 2501, TRACE_TCP_ACK, 0},
		{true, 181, 2501, TRACE_TCP_ACK | TRACE_TCP_FIN, 0},
		{false, 2501, 182, TRACE_TCP_ACK | TRACE_TCP_FIN, 0},
		{true, 182, 2502, TRACE_TCP_ACK, 0},
	};

	for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
		/* the same skb address for several packets: reuse must not merge them */
		add_packet(ft, t0 + i * 100000, 0xabc0 + (i % 2), pk[i].c2s, pk[i].seq, pk[i].ack,
			   pk[i].flags, pk[i].len, &all[n]);
		n += 5;
	}
	if (shuffled)
		for (int i = n - 1; i > 0; i--) {
			int j = (int)((unsigned)(i * 7919 + 13) % (unsigned)(i + 1));
			struct pkt_event t = all[i];

			all[i] = all[j];
			all[j] = t;
		}
	for (int i = 0; i < n; i++)
		assert_int_equal(flow_table__add(ft, &all[i]), 0);
}

static void test_connection_phases(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	const struct flow *f;

	(void)state;
	add_connection(ft, 1000000, true);
	flow_table__assemble(ft);
	assert_int_equal(flow_table__nflows(ft), 1);
	f = flow_table__flow(ft, 0);
	assert_true(f->client_known);
	assert_false(f->inside_pod);
	assert_int_equal(f->npackets, 9);
	assert_int_equal(f->phases[FLOW_PHASE_HANDSHAKE].packets, 3);
	assert_int_equal(f->phases[FLOW_PHASE_DATA].packets, 2);
	assert_int_equal(f->phases[FLOW_PHASE_DATA].bytes, 2080);
	assert_int_equal(f->phases[FLOW_PHASE_ACK].packets, 1);
	assert_int_equal(f->phases[FLOW_PHASE_TEARDOWN].packets, 3);
	assert_int_equal(f->packets[0].tcp_flags, TRACE_TCP_SYN);
	assert_int_equal(f->packets[0].from_server, 0);
	assert_int_equal(f->packets[1].from_server, 1);
	for (int i = 0; i < f->npackets; i++) {
		const struct flow_packet *p = &f->packets[i];

		assert_int_equal(p->nhops, 5);
		assert_true(flow_packet__ordered(p));
		assert_int_equal(p->hops[0].point, TPT_net_dev_queue);
		assert_int_equal(p->hops[4].point, TPT_tcp_probe);
		assert_int_equal(p->hops[4].ts_ns - p->hops[0].ts_ns, 4000);
	}
	/* the response left 100 us after the request's first hop, i.e. 96 us after
	 * the request reached TCP on the server */
	assert_int_equal(f->packets[4].phase, FLOW_PHASE_DATA);
	assert_int_equal(f->packets[4].gap_ns, 96000);
	assert_int_equal(f->phases[FLOW_PHASE_HANDSHAKE].path_ns, 3 * 4000);
	flow_table__free(ft);
}

static void test_nat_and_conntrack_join(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	struct pkt_event e;
	const struct flow *f;

	(void)state;
	/* request: wire tuple to :9080, redirected to :15006 inside the pod */
	e = mk(10, TPT_netif_receive_skb, 7, NS_POD, 2, C_IP, 40000, S_IP, 9080, 1, 1,
	       TRACE_TCP_ACK, 10);
	flow_table__add(ft, &e);
	e = mk(20, TPT_tcp_probe, 7, NS_POD, 0, C_IP, 40000, S_IP, 15006, 1, 1, TRACE_TCP_ACK, 10);
	e.flags = TRACE_EV_CT; /* conn_* keeps the pre-NAT tuple */
	e.conn_dport = 9080;
	flow_table__add(ft, &e);
	/* response from the :15006 socket, conntrack reply direction */
	e = mk(30, TPT_tc_egress, 8, NS_POD, 2, S_IP, 9080, C_IP, 40000, 1, 11, TRACE_TCP_ACK, 5);
	e.flags = TRACE_EV_CT | TRACE_EV_CT_REPLY;
	flow_table__add(ft, &e);
	flow_table__assemble(ft);
	assert_int_equal(flow_table__nflows(ft), 1);
	f = flow_table__flow(ft, 0);
	assert_int_equal(f->npackets, 2);
	assert_int_equal(f->packets[0].nhops, 2);
	assert_int_equal(f->packets[0].hops[1].dport, 15006); /* NAT visible per hop */
	assert_false(f->client_known);			      /* no SYN: guessed */
	assert_int_equal(f->packets[0].from_server, 0);	      /* high port is the client */
	assert_int_equal(f->packets[1].from_server, 1);
	flow_table__free(ft);
}

static void test_inside_pod(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	struct pkt_event e;

	(void)state;
	/* sidecar -> app over lo: every hop on ifindex 1 of the pod */
	e = mk(1, TPT_tc_egress, 1, NS_POD, 1, "127.0.0.1", 50000, "127.0.0.1", 9080, 1, 1,
	       TRACE_TCP_ACK, 10);
	flow_table__add(ft, &e);
	e.ts_ns = 2;
	e.point = TPT_netif_rx;
	flow_table__add(ft, &e);
	e.ts_ns = 3;
	e.point = TPT_tcp_probe;
	e.ifindex = 0;
	flow_table__add(ft, &e);
	/* outside: the same pod's eth0 */
	add_packet(ft, 10, 2, true, 1, 1, TRACE_TCP_ACK, 5, NULL);
	flow_table__assemble(ft);
	assert_int_equal(flow_table__nflows(ft), 2);
	assert_true(flow_table__flow(ft, 0)->inside_pod);
	assert_int_equal(flow_table__flow(ft, 0)->netns, NS_POD);
	assert_false(flow_table__flow(ft, 1)->inside_pod);
	flow_table__free(ft);
}

static void test_drop(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	struct pkt_event e;
	const struct flow_packet *p;

	(void)state;
	e = mk(1, TPT_netif_receive_skb, 5, NS_POD, 2, C_IP, 40000, S_IP, 9999, 1, 0, TRACE_TCP_SYN,
	       0);
	flow_table__add(ft, &e);
	e.ts_ns = 2;
	e.point = TPT_kfree_skb;
	e.reason = 6;
	flow_table__add(ft, &e);
	flow_table__assemble(ft);
	p = &flow_table__flow(ft, 0)->packets[0];
	assert_true(p->dropped);
	assert_int_equal(p->drop_reason, 6);
	assert_int_equal(p->hops[p->nhops - 1].point, TPT_kfree_skb);
	flow_table__free(ft);
}

static void test_limits(void **state)
{
	struct flow_limits lim = {.max_events = 1024, .max_flows = 1, .max_packets_per_flow = 2};
	struct flow_table *ft = flow_table__new(&lim);
	struct flow_stats st;
	struct pkt_event e;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		add_packet(ft, 1000 + (uint64_t)i * 10000, 100 + (uint64_t)i, true, (uint32_t)i, 0,
			   TRACE_TCP_ACK, 1, NULL);
	e = mk(99999, TPT_tcp_probe, 1, NS_POD, 0, "10.9.9.9", 1, S_IP, 2, 1, 1, TRACE_TCP_ACK, 1);
	flow_table__add(ft, &e);
	for (i = 0; i < 2000; i++)
		flow_table__add(ft, &e);
	flow_table__assemble(ft);
	flow_table__stats(ft, &st);
	assert_int_equal(flow_table__nflows(ft), 1);
	assert_int_equal(flow_table__flow(ft, 0)->npackets, 2);
	assert_true(flow_table__flow(ft, 0)->packets_over_cap >= 3);
	assert_true(st.flows_over_cap >= 1);
	assert_int_equal(st.events, 1024);
	assert_int_equal(st.events_over_cap, 5 * 5 + 2001 - 1024 + 5 * 5 - 25);
	assert_int_equal(flow_table__add(ft, &e), -ENOSPC); /* assembled: no more */
	flow_table__free(ft);
}

static void test_order_check(void **state)
{
	struct flow_packet p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.nhops = 3;
	p.hops[0] = (struct flow_hop){.ts_ns = 1, .netns = 1, .point = TPT_netif_receive_skb};
	p.hops[1] = (struct flow_hop){.ts_ns = 2, .netns = 1, .point = TPT_tcp_probe};
	p.hops[2] = (struct flow_hop){.ts_ns = 3, .netns = 1, .point = TPT_tc_ingress};
	assert_false(flow_packet__ordered(&p)); /* tcp before tc on receive */
	p.hops[1].point = TPT_tc_ingress;
	p.hops[2].point = TPT_tcp_probe;
	assert_true(flow_packet__ordered(&p));
	p.hops[2].ts_ns = 0;
	assert_false(flow_packet__ordered(&p)); /* time went back */
	/* send: tc egress then the device, then (another netns) receive */
	p.hops[0] = (struct flow_hop){.ts_ns = 1, .netns = 1, .point = TPT_tc_egress};
	p.hops[1] = (struct flow_hop){.ts_ns = 2, .netns = 1, .point = TPT_net_dev_queue};
	p.hops[2] = (struct flow_hop){.ts_ns = 3, .netns = 2, .point = TPT_netif_rx};
	assert_true(flow_packet__ordered(&p));
	p.hops[0].point = TPT_net_dev_queue;
	p.hops[1].point = TPT_tc_egress;
	assert_false(flow_packet__ordered(&p));
}

static void test_same_skb_again_and_partial_reads(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	struct flow_stats st;
	struct pkt_event e;
	const struct flow *f;

	(void)state;
	e = mk(1, TPT_net_dev_queue, 9, NS_POD, 2, C_IP, 40000, S_IP, 80, 1, 1, TRACE_TCP_ACK, 10);
	flow_table__add(ft, &e);
	e.ts_ns = 2;
	e.point = TPT_skb_copy_datagram_iovec;
	flow_table__add(ft, &e);
	e.ts_ns = 3; /* a second read of the same skb */
	flow_table__add(ft, &e);
	e.ts_ns = 100; /* the same segment again (a retransmission): a new packet */
	e.point = TPT_net_dev_queue;
	flow_table__add(ft, &e);
	flow_table__assemble(ft);
	flow_table__stats(ft, &st);
	f = flow_table__flow(ft, 0);
	assert_int_equal(f->npackets, 2);
	assert_int_equal(f->packets[0].nhops, 2);
	assert_int_equal(st.duplicate_copies, 1);
	flow_table__free(ft);
}

static void test_loose_events(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	struct flow_stats st;
	struct pkt_event e;
	const struct flow *f;

	(void)state;
	add_packet(ft, 1000, 1, true, 100, 0, TRACE_TCP_SYN, 0, NULL);
	/* route lookup on receive: addresses only, between tc ingress and tcp */
	e = mk(4500, TPT_fib_table_lookup, 0, 0, 2, C_IP, 0, S_IP, 0, 0, 0, 0, 0);
	e.flags = TRACE_EV_NO_SKB;
	flow_table__add(ft, &e);
	/* a route lookup nobody matches */
	e = mk(4600, TPT_fib_table_lookup, 0, 0, 2, "10.7.7.7", 0, S_IP, 0, 0, 0, 0, 0);
	e.flags = TRACE_EV_NO_SKB;
	flow_table__add(ft, &e);
	/* retransmission mark of the SYN, before its second transmission */
	e = mk(500000, TPT_tcp_retransmit_skb, 77, NS_CLIENT, 0, C_IP, 40000, S_IP, 80, 100, 0,
	       TRACE_TCP_SYN, 0);
	e.flags = TRACE_EV_NO_SKB;
	flow_table__add(ft, &e);
	add_packet(ft, 500100, 2, true, 100, 0, TRACE_TCP_SYN, 0, NULL);
	flow_table__assemble(ft);
	flow_table__stats(ft, &st);
	f = flow_table__flow(ft, 0);
	assert_int_equal(flow_table__nflows(ft), 1);
	assert_int_equal(f->npackets, 2);
	assert_int_equal(f->packets[0].nhops, 6);
	assert_int_equal(f->packets[0].hops[4].point, TPT_fib_table_lookup);
	assert_true(flow_packet__ordered(&f->packets[0]));
	assert_int_equal(f->retransmits, 1);
	assert_int_equal(f->packets[1].hops[0].point, TPT_tcp_retransmit_skb);
	assert_int_equal(st.unmatched, 1);
	flow_table__free(ft);
}

static void test_json(void **state)
{
	struct flow_table *ft = flow_table__new(NULL);
	json_t *o, *p0, *h0;

	(void)state;
	add_connection(ft, 1000, false);
	flow_table__assemble(ft);
	o = flow__json(flow_table__flow(ft, 0), NULL);
	assert_string_equal(json_string_value(json_object_get(o, "client")), C_IP ":40000");
	assert_string_equal(json_string_value(json_object_get(o, "server")), S_IP ":80");
	assert_true(json_is_false(json_object_get(o, "inside_pod")));
	assert_int_equal(json_array_size(json_object_get(o, "packets")), 9);
	p0 = json_array_get(json_object_get(o, "packets"), 0);
	assert_string_equal(json_string_value(json_object_get(p0, "phase")), "handshake");
	assert_string_equal(json_string_value(json_object_get(p0, "flags")), "SYN");
	h0 = json_array_get(json_object_get(p0, "hops"), 0);
	assert_string_equal(json_string_value(json_object_get(h0, "point")), "net_dev_queue");
	assert_int_equal(json_integer_value(json_object_get(h0, "ts_ns")), 1000);
	assert_int_equal(json_integer_value(json_object_get(h0, "netns")), NS_CLIENT);
	assert_int_equal(json_integer_value(json_object_get(h0, "ifindex")), 2);
	json_decref(o);
	flow_table__free(ft);
}

static void test_spans(void **state)
{
	static const uint8_t zero[8];
	struct flow_table *ft = flow_table__new(NULL);
	struct trace_rec *t = calloc(1, sizeof(*t));
	int n, phases = 0;

	(void)state;
	add_connection(ft, 1000, false);
	flow_table__assemble(ft);
	n = flow__to_trace(flow_table__flow(ft, 0), NULL, 5000, t);
	assert_int_equal(n, TRACE_MAX_SPANS); /* 1 + 4 phases + hops up to the cap */
	assert_memory_equal(t->spans[0].parent_span_id, zero, 8);
	assert_int_equal(t->spans[0].start_unix_ns, 1000 + 5000);
	for (int i = 1; i < n; i++) {
		assert_memory_not_equal(t->spans[i].span_id, zero, 8);
		if (!memcmp(t->spans[i].parent_span_id, t->spans[0].span_id, 8))
			phases++;
		assert_true(t->spans[i].end_unix_ns >= t->spans[i].start_unix_ns);
	}
	assert_int_equal(phases, 3); /* handshake, data, ack fit; teardown did not */
	assert_string_equal(t->spans[1].name, "handshake");
	free(t);
	flow_table__free(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_phases),
		cmocka_unit_test(test_nat_and_conntrack_join),
		cmocka_unit_test(test_inside_pod),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_order_check),
		cmocka_unit_test(test_same_skb_again_and_partial_reads),
		cmocka_unit_test(test_loose_events),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_spans),
	};

	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
