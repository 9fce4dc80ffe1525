// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Flow assembly for `podscope trace` (see flow.h for the model). Events are
 * kept in one bounded array while tracing; flow_table__assemble sorts them by
 * time (ring-buffer order is per CPU, not global) and builds packets and
 * flows with two open-addressing hash tables. Everything is bounded: events,
 * flows, packets per flow, hops per packet; what does not fit is counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "flow.h"
#include "trace_points.h"

struct pkt_ref {
	uint64_t hash;
	uint64_t skb_id;
	uint32_t seq, ack, len;
	uint8_t flags;
	int flow, pkt; /* pkt -1: packet not kept (flow full) */
	bool used;
};

struct flow_ref {
	uint64_t hash;
	int flow;
	bool used;
};

struct flow_table {
	struct flow_limits lim;
	struct pkt_event *events;
	size_t nevents;
	bool assembled;
	struct flow *flows;
	int nflows;
	struct flow_stats st;
};

struct flow_table *flow_table__new(const struct flow_limits *limits)
{
	struct flow_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	if (limits)
		ft->lim = *limits;
	if (!ft->lim.max_events)
		ft->lim.max_events = 131072;
	if (!ft->lim.max_flows)
		ft->lim.max_flows = 1024;
	if (!ft->lim.max_packets_per_flow)
		ft->lim.max_packets_per_flow = 512;
	ft->events = calloc(ft->lim.max_events, sizeof(*ft->events));
	ft->flows = calloc((size_t)ft->lim.max_flows, sizeof(*ft->flows));
	if (!ft->events || !ft->flows) {
		flow_table__free(ft);
		return NULL;
	}
	return ft;
}

int flow_table__add(struct flow_table *ft, const struct pkt_event *e)
{
	if (ft->assembled || ft->nevents >= ft->lim.max_events) {
		ft->st.events_over_cap++;
		return -ENOSPC;
	}
	ft->events[ft->nevents++] = *e;
	ft->st.events++;
	return 0;
}

static int cmp_event_ts(const void *a, const void *b)
{
	const struct pkt_event *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return mix64(h);
}

/* The canonical key of @e's connection; *@from_b: the packet goes b -> a. */
static void key_of(const struct pkt_event *e, struct flow_key *k, bool *from_b)
{
	int c = memcmp(e->conn_saddr, e->conn_daddr, 16);

	memset(k, 0, sizeof(*k));
	k->family = e->family;
	*from_b = c > 0 || (c == 0 && e->conn_sport > e->conn_dport);
	if (!*from_b) {
		memcpy(k->a_addr, e->conn_saddr, 16);
		memcpy(k->b_addr, e->conn_daddr, 16);
		k->a_port = e->conn_sport;
		k->b_port = e->conn_dport;
	} else {
		memcpy(k->a_addr, e->conn_daddr, 16);
		memcpy(k->b_addr, e->conn_saddr, 16);
		k->a_port = e->conn_dport;
		k->b_port = e->conn_sport;
	}
}

static uint64_t key_hash(const struct flow_key *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = hash_bytes(h, &k->family, 1);
	h = hash_bytes(h, k->a_addr, 16);
	h = hash_bytes(h, k->b_addr, 16);
	h = hash_bytes(h, &k->a_port, 2);
	return hash_bytes(h, &k->b_port, 2);
}

static bool key_eq(const struct flow_key *x, const struct flow_key *y)
{
	return x->family == y->family && x->a_port == y->a_port && x->b_port == y->b_port &&
	       !memcmp(x->a_addr, y->a_addr, 16) && !memcmp(x->b_addr, y->b_addr, 16);
}

static uint64_t pkt_hash(const struct pkt_event *e)
{
	uint64_t h = mix64(e->skb_id ^ ((uint64_t)e->seq << 32 | e->ack));

	return mix64(h ^ ((uint64_t)e->len << 8 | e->tcp_flags));
}

static size_t pow2_at_least(size_t n)
{
	size_t s = 64;

	while (s < n)
		s <<= 1;
	return s;
}

static struct flow *flow_find_or_add(struct flow_table *ft, struct flow_ref *tab, size_t mask,
				     const struct flow_key *k)
{
	uint64_t h = key_hash(k);
	size_t i = h & mask;
	struct flow *f;

	for (; tab[i].used; i = (i + 1) & mask)
		if (tab[i].hash == h && key_eq(&ft->flows[tab[i].flow].key, k))
			return &ft->flows[tab[i].flow];
	if (ft->nflows >= ft->lim.max_flows)
		return NULL;
	f = &ft->flows[ft->nflows];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	tab[i].used = true;
	tab[i].hash = h;
	tab[i].flow = ft->nflows++;
	return f;
}

static struct flow *flow_lookup(struct flow_table *ft, struct flow_ref *tab, size_t mask,
				const struct flow_key *k)
{
	uint64_t h = key_hash(k);

	for (size_t i = h & mask; tab[i].used; i = (i + 1) & mask)
		if (tab[i].hash == h && key_eq(&ft->flows[tab[i].flow].key, k))
			return &ft->flows[tab[i].flow];
	return NULL;
}

static void hop_from_event(struct flow_hop *h, const struct pkt_event *e)
{
	memset(h, 0, sizeof(*h));
	h->ts_ns = e->ts_ns;
	h->netns = e->netns;
	h->ifindex = e->ifindex;
	h->reason = e->reason;
	h->point = e->point;
	h->sport = e->pkt_sport;
	h->dport = e->pkt_dport;
	memcpy(h->saddr, e->pkt_saddr, 16);
	memcpy(h->daddr, e->pkt_daddr, 16);
	h->sock_id = e->sock_id;
}

/* Insert @h keeping the hops in time order. false when the packet is full. */
static bool packet_insert_hop(struct flow_packet *p, const struct flow_hop *h)
{
	int i;

	if (p->nhops >= FLOW_MAX_HOPS)
		return false;
	for (i = p->nhops; i > 0 && p->hops[i - 1].ts_ns > h->ts_ns; i--)
		p->hops[i] = p->hops[i - 1];
	p->hops[i] = *h;
	p->nhops++;
	return true;
}

static bool packet_has_point(const struct flow_packet *p, const struct pkt_event *e)
{
	for (int i = 0; i < p->nhops; i++)
		if (p->hops[i].point == e->point && p->hops[i].netns == e->netns &&
		    p->hops[i].ifindex == e->ifindex)
			return true;
	return false;
}

static struct flow_packet *packet_new(struct flow_table *ft, struct flow *f,
				      const struct pkt_event *e, bool from_b)
{
	struct flow_packet *p;

	if (f->npackets >= ft->lim.max_packets_per_flow) {
		f->packets_over_cap++;
		ft->st.packets_over_cap++;
		return NULL;
	}
	if (f->npackets == f->cap) {
		int cap = f->cap ? f->cap * 2 : 16;
		void *n;

		if (cap > ft->lim.max_packets_per_flow)
			cap = ft->lim.max_packets_per_flow;
		n = realloc(f->packets, (size_t)cap * sizeof(*f->packets));
		if (!n) {
			ft->st.packets_over_cap++;
			return NULL;
		}
		f->packets = n;
		f->cap = cap;
	}
	p = &f->packets[f->npackets++];
	memset(p, 0, sizeof(*p));
	p->skb_id = e->skb_id;
	p->seq = e->seq;
	p->ack = e->ack;
	p->len = e->len;
	p->tcp_flags = e->tcp_flags;
	p->from_server = from_b; /* "from b" until the client is known */
	return p;
}

static uint64_t first_ts(const struct flow_packet *p)
{
	return p->nhops ? p->hops[0].ts_ns : 0;
}

static uint64_t last_ts(const struct flow_packet *p)
{
	return p->nhops ? p->hops[p->nhops - 1].ts_ns : 0;
}

/* A route lookup: into the packet whose hops bracket it, same addresses. */
static void attach_fib(struct flow_table *ft, const struct pkt_event *e)
{
	struct flow_packet *best = NULL;
	uint64_t best_prev = 0;
	struct flow_hop h;

	for (int fi = 0; fi < ft->nflows; fi++) {
		struct flow *f = &ft->flows[fi];

		if (f->key.family != e->family)
			continue;
		for (int pi = 0; pi < f->npackets; pi++) {
			struct flow_packet *p = &f->packets[pi];
			bool addr_ok = false;
			uint64_t prev = 0;

			if (!p->nhops || first_ts(p) > e->ts_ns || last_ts(p) < e->ts_ns)
				continue;
			for (int i = 0; i < p->nhops; i++) {
				const struct flow_hop *x = &p->hops[i];

				if (!memcmp(x->saddr, e->pkt_saddr, 16) &&
				    !memcmp(x->daddr, e->pkt_daddr, 16) &&
				    (!e->pkt_dport || x->dport == e->pkt_dport))
					addr_ok = true;
				if (x->ts_ns <= e->ts_ns)
					prev = x->ts_ns;
			}
			if (addr_ok && (!best || prev > best_prev)) {
				best = p;
				best_prev = prev;
			}
		}
	}
	hop_from_event(&h, e);
	if (!best) {
		ft->st.unmatched++;
		return;
	}
	if (!packet_insert_hop(best, &h))
		ft->st.hops_over_cap++;
}

/* A retransmission mark: into the next packet of that flow with its seq. */
static void attach_retransmit(struct flow_table *ft, struct flow_ref *tab, size_t mask,
			      const struct pkt_event *e)
{
	struct flow_key k;
	struct flow *f;
	struct flow_hop h;
	bool from_b;

	key_of(e, &k, &from_b);
	f = flow_lookup(ft, tab, mask, &k);
	if (!f) {
		ft->st.unmatched++;
		return;
	}
	f->retransmits++;
	hop_from_event(&h, e);
	for (int pi = 0; pi < f->npackets; pi++) {
		struct flow_packet *p = &f->packets[pi];

		if (p->from_server == from_b && p->seq == e->seq &&
		    first_ts(p) + 1000 >= e->ts_ns && !packet_has_point(p, e)) {
			if (!packet_insert_hop(p, &h))
				ft->st.hops_over_cap++;
			return;
		}
	}
	ft->st.unmatched++;
}

/* Latest receive hop at TCP or socket level (the packet reached its socket). */
static uint64_t socket_ts(const struct flow_packet *p)
{
	for (int i = p->nhops - 1; i >= 0; i--) {
		const struct trace_point_info *pi = trace_point_info(p->hops[i].point);

		if (pi && pi->dir == TDIR_RX && pi->layer >= TLAYER_TCP)
			return p->hops[i].ts_ns;
	}
	for (int i = p->nhops - 1; i >= 0; i--) {
		const struct trace_point_info *pi = trace_point_info(p->hops[i].point);

		if (pi && pi->dir != TDIR_END)
			return p->hops[i].ts_ns;
	}
	return last_ts(p);
}

static void classify(struct flow *f)
{
	bool fin_seen = false, synack_seen = false, hs_ack_done = false, data_seen = false;
	const struct flow_packet *prev_data = NULL;
	int i, client = -1;
	uint32_t netns = 0;
	bool inside = true;

	for (i = 0; i < f->npackets && client < 0; i++) {
		uint8_t fl = f->packets[i].tcp_flags;

		if ((fl & TRACE_TCP_SYN) && !(fl & TRACE_TCP_ACK))
			client = f->packets[i].from_server; /* still "from b" here */
		else if ((fl & TRACE_TCP_SYN) && (fl & TRACE_TCP_ACK))
			client = !f->packets[i].from_server;
	}
	f->client_known = client >= 0;
	if (client < 0)
		client = f->key.a_port > f->key.b_port ? 0 : 1; /* ephemeral ports are high */
	f->client = client;
	for (i = 0; i < f->npackets; i++) {
		struct flow_packet *p = &f->packets[i];
		uint8_t fl = p->tcp_flags;

		p->from_server = p->from_server != client; /* from b, b the server: ... */
		if (fl & TRACE_TCP_SYN) {
			p->phase = FLOW_PHASE_HANDSHAKE;
			if (fl & TRACE_TCP_ACK)
				synack_seen = true;
		} else if (fl & (TRACE_TCP_FIN | TRACE_TCP_RST)) {
			p->phase = FLOW_PHASE_TEARDOWN;
			fin_seen = true;
		} else if (p->len) {
			p->phase = FLOW_PHASE_DATA;
			data_seen = true;
		} else if (fin_seen) {
			p->phase = FLOW_PHASE_TEARDOWN;
		} else if (synack_seen && !hs_ack_done && !data_seen && !p->from_server) {
			p->phase = FLOW_PHASE_HANDSHAKE;
			hs_ack_done = true;
		} else {
			p->phase = FLOW_PHASE_ACK;
		}
		if (p->phase == FLOW_PHASE_DATA) {
			if (prev_data && prev_data->from_server != p->from_server) {
				uint64_t s = socket_ts(prev_data), t0 = first_ts(p);

				p->gap_ns = t0 > s ? t0 - s : 0;
			}
			prev_data = p;
		}
		f->phases[p->phase].packets++;
		f->phases[p->phase].bytes += p->len;
		f->phases[p->phase].path_ns += last_ts(p) - first_ts(p);
		for (int j = 0; j < p->nhops; j++) {
			const struct flow_hop *h = &p->hops[j];

			if (!h->netns)
				continue;
			if (!netns)
				netns = h->netns;
			if (h->netns != netns || (h->ifindex && h->ifindex != 1))
				inside = false;
		}
	}
	f->inside_pod = inside && netns;
	f->netns = f->inside_pod ? netns : 0;
}

void flow_table__assemble(struct flow_table *ft)
{
	size_t fmask, pmask, n, i;
	struct flow_ref *ftab = NULL;
	struct pkt_ref *ptab = NULL;

	if (ft->assembled)
		return;
	ft->assembled = true;
	n = ft->nevents;
	qsort(ft->events, n, sizeof(*ft->events), cmp_event_ts);
	fmask = pow2_at_least((size_t)ft->lim.max_flows * 2) - 1;
	pmask = pow2_at_least(n * 2) - 1;
	ftab = calloc(fmask + 1, sizeof(*ftab));
	ptab = calloc(pmask + 1, sizeof(*ptab));
	if (!ftab || !ptab) {
		ft->st.events_over_cap += n;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct pkt_event *e = &ft->events[i];
		struct flow_packet *p = NULL;
		struct pkt_ref *r;
		struct flow_hop h;
		struct flow_key k;
		struct flow *f;
		uint64_t hash;
		bool from_b;
		size_t j;

		if (e->flags & TRACE_EV_NO_SKB)
			continue; /* after the packets exist */
		hash = pkt_hash(e);
		for (j = hash & pmask; ptab[j].used; j = (j + 1) & pmask) {
			r = &ptab[j];
			if (r->hash == hash && r->skb_id == e->skb_id && r->seq == e->seq &&
			    r->ack == e->ack && r->len == e->len && r->flags == e->tcp_flags)
				break;
		}
		r = &ptab[j];
		if (r->used) {
			if (r->pkt < 0)
				continue; /* its flow was full */
			p = &ft->flows[r->flow].packets[r->pkt];
			if (packet_has_point(p, e)) {
				if (e->point == TPT_skb_copy_datagram_iovec) {
					ft->st.duplicate_copies++;
					continue;
				}
				p = NULL; /* the same skb and segment again: a new packet */
			}
		}
		if (!p) {
			key_of(e, &k, &from_b);
			f = flow_find_or_add(ft, ftab, fmask, &k);
			if (!f) {
				ft->st.flows_over_cap++;
				continue;
			}
			p = packet_new(ft, f, e, from_b);
			r->used = true;
			r->hash = hash;
			r->skb_id = e->skb_id;
			r->seq = e->seq;
			r->ack = e->ack;
			r->len = e->len;
			r->flags = e->tcp_flags;
			r->flow = (int)(f - ft->flows);
			r->pkt = p ? (int)(p - f->packets) : -1;
			if (!p)
				continue;
		}
		hop_from_event(&h, e);
		if (!packet_insert_hop(p, &h)) {
			ft->st.hops_over_cap++;
			continue;
		}
		if (e->point == TPT_kfree_skb) {
			p->dropped = true;
			p->drop_reason = e->reason;
		}
	}
	for (i = 0; i < n; i++) {
		const struct pkt_event *e = &ft->events[i];

		if (!(e->flags & TRACE_EV_NO_SKB))
			continue;
		if (e->point == TPT_fib_table_lookup)
			attach_fib(ft, e);
		else
			attach_retransmit(ft, ftab, fmask, e);
	}
	for (int fi = 0; fi < ft->nflows; fi++)
		classify(&ft->flows[fi]);
out:
	free(ftab);
	free(ptab);
	/* the events are assembled: give their memory back */
	free(ft->events);
	ft->events = NULL;
	ft->nevents = 0;
}

int flow_table__nflows(const struct flow_table *ft)
{
	return ft->nflows;
}

const struct flow *flow_table__flow(const struct flow_table *ft, int i)
{
	return i >= 0 && i < ft->nflows ? &ft->flows[i] : NULL;
}

void flow_table__stats(const struct flow_table *ft, struct flow_stats *out)
{
	*out = ft->st;
}

void flow_table__free(struct flow_table *ft)
{
	if (!ft)
		return;
	for (int i = 0; i < ft->nflows; i++)
		free(ft->flows[i].packets);
	free(ft->flows);
	free(ft->events);
	free(ft);
}

const char *flow_phase_name(enum flow_phase p)
{
	static const char *const names[] = {"handshake", "data", "ack", "teardown"};

	return p < FLOW_PHASE__COUNT ? names[p] : "?";
}

const char *flow_flags_str(uint8_t flags, char *buf, size_t len)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} bits[] = {{TRACE_TCP_SYN, "SYN"},
		    {TRACE_TCP_FIN, "FIN"},
		    {TRACE_TCP_RST, "RST"},
		    {TRACE_TCP_PSH, "PSH"},
		    {TRACE_TCP_ACK, "ACK"}};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(flags & bits[i].bit))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "|" : "", bits[i].name);
		if (used >= len)
			break;
	}
	return buf;
}

bool flow_packet__ordered(const struct flow_packet *p)
{
	int run_dir = 0, run_layer = 0;
	uint32_t run_netns = 0;

	for (int i = 0; i < p->nhops; i++) {
		const struct flow_hop *h = &p->hops[i];
		const struct trace_point_info *pi = trace_point_info(h->point);

		if (i && h->ts_ns < p->hops[i - 1].ts_ns)
			return false;
		if (!pi || pi->dir == TDIR_END || !h->netns)
			continue;
		if ((int)pi->dir != run_dir || h->netns != run_netns) {
			run_dir = (int)pi->dir;
			run_netns = h->netns;
			run_layer = (int)pi->layer;
			continue;
		}
		if (pi->dir == TDIR_RX && (int)pi->layer < run_layer)
			return false;
		if (pi->dir == TDIR_TX && (int)pi->layer > run_layer)
			return false;
		run_layer = (int)pi->layer;
	}
	return true;
}

/* --- output ---------------------------------------------------------------- */

static const char *endpoint_str(uint8_t family, const uint8_t *addr, uint16_t port, char *buf,
				size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (family == 10) {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, port);
	} else {
		inet_ntop(AF_INET, addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, port);
	}
	return buf;
}

static void flow_ends(const struct flow *f, char *client, char *server, size_t len)
{
	const struct flow_key *k = &f->key;

	if (f->client == 0) {
		endpoint_str(k->family, k->a_addr, k->a_port, client, len);
		endpoint_str(k->family, k->b_addr, k->b_port, server, len);
	} else {
		endpoint_str(k->family, k->b_addr, k->b_port, client, len);
		endpoint_str(k->family, k->a_addr, k->a_port, server, len);
	}
}

static const char *nm_netns(const struct flow_namer *nm, uint32_t netns, char *buf, size_t len)
{
	if (nm && nm->netns)
		return nm->netns(nm->ctx, netns, buf, len);
	snprintf(buf, len, "%u", netns);
	return buf;
}

static const char *nm_ifname(const struct flow_namer *nm, uint32_t netns, uint32_t ifindex,
			     char *buf, size_t len)
{
	if (nm && nm->ifname)
		return nm->ifname(nm->ctx, netns, ifindex, buf, len);
	snprintf(buf, len, "if%u", ifindex);
	return buf;
}

static const char *nm_reason(const struct flow_namer *nm, uint32_t reason, char *buf, size_t len)
{
	if (nm && nm->drop_reason)
		return nm->drop_reason(nm->ctx, reason);
	snprintf(buf, len, "reason_%u", reason);
	return buf;
}

static json_t *hop_json(const struct flow_packet *p, int i, uint8_t family,
			const struct flow_namer *nm)
{
	const struct flow_hop *h = &p->hops[i];
	const struct trace_point_info *pi = trace_point_info(h->point);
	char b1[64], b2[64], b3[64];
	json_t *o = json_object();

	json_object_set_new(o, "point", json_string(pi ? pi->name : "?"));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)h->ts_ns));
	json_object_set_new(o, "dt_ns",
			    json_integer(i ? (json_int_t)(h->ts_ns - p->hops[i - 1].ts_ns) : 0));
	json_object_set_new(o, "layer", json_string(pi ? trace_layer_name(pi->layer) : "?"));
	json_object_set_new(o, "dir", json_string(pi ? trace_dir_name(pi->dir) : "?"));
	json_object_set_new(o, "netns", json_integer(h->netns));
	json_object_set_new(o, "where", json_string(nm_netns(nm, h->netns, b1, sizeof(b1))));
	json_object_set_new(o, "ifindex", json_integer(h->ifindex));
	json_object_set_new(o, "ifname",
			    json_string(nm_ifname(nm, h->netns, h->ifindex, b2, sizeof(b2))));
	json_object_set_new(o, "src",
			    json_string(endpoint_str(family, h->saddr, h->sport, b3, sizeof(b3))));
	json_object_set_new(o, "dst",
			    json_string(endpoint_str(family, h->daddr, h->dport, b3, sizeof(b3))));
	if (h->point == TPT_kfree_skb)
		json_object_set_new(o, "drop_reason",
				    json_string(nm_reason(nm, h->reason, b1, sizeof(b1))));
	if (h->point == TPT_fib_table_lookup)
		json_object_set_new(o, "fib_err", json_integer((int32_t)h->reason));
	return o;
}

json_t *flow__json(const struct flow *f, const struct flow_namer *nm)
{
	char client[80], server[80], b[64];
	json_t *o = json_object(), *phases = json_object(), *pkts = json_array();

	flow_ends(f, client, server, sizeof(client));
	json_object_set_new(o, "client", json_string(client));
	json_object_set_new(o, "server", json_string(server));
	json_object_set_new(o, "family", json_integer(f->key.family == 10 ? 6 : 4));
	json_object_set_new(o, "client_known", json_boolean(f->client_known));
	json_object_set_new(o, "inside_pod", json_boolean(f->inside_pod));
	if (f->inside_pod) {
		json_object_set_new(o, "netns", json_integer(f->netns));
		json_object_set_new(o, "where", json_string(nm_netns(nm, f->netns, b, sizeof(b))));
	}
	json_object_set_new(o, "retransmits", json_integer((json_int_t)f->retransmits));
	json_object_set_new(o, "packets_over_cap", json_integer((json_int_t)f->packets_over_cap));
	for (int ph = 0; ph < FLOW_PHASE__COUNT; ph++) {
		const struct flow_phase_total *t = &f->phases[ph];
		json_t *x = json_object();

		json_object_set_new(x, "packets", json_integer((json_int_t)t->packets));
		json_object_set_new(x, "bytes", json_integer((json_int_t)t->bytes));
		json_object_set_new(x, "path_ns", json_integer((json_int_t)t->path_ns));
		json_object_set_new(phases, flow_phase_name(ph), x);
	}
	json_object_set_new(o, "phases", phases);
	for (int i = 0; i < f->npackets; i++) {
		const struct flow_packet *p = &f->packets[i];
		json_t *x = json_object(), *hops = json_array();

		json_object_set_new(x, "dir", json_string(p->from_server ? "s2c" : "c2s"));
		json_object_set_new(x, "phase", json_string(flow_phase_name(p->phase)));
		json_object_set_new(x, "flags",
				    json_string(flow_flags_str(p->tcp_flags, b, sizeof(b))));
		json_object_set_new(x, "seq", json_integer(p->seq));
		json_object_set_new(x, "ack", json_integer(p->ack));
		json_object_set_new(x, "len", json_integer(p->len));
		json_object_set_new(x, "path_ns",
				    json_integer((json_int_t)(last_ts(p) - first_ts(p))));
		if (p->gap_ns)
			json_object_set_new(x, "gap_ns", json_integer((json_int_t)p->gap_ns));
		json_object_set_new(x, "dropped", json_boolean(p->dropped));
		if (p->dropped)
			json_object_set_new(
				x, "drop_reason",
				json_string(nm_reason(nm, p->drop_reason, b, sizeof(b))));
		for (int j = 0; j < p->nhops; j++)
			json_array_append_new(hops, hop_json(p, j, f->key.family, nm));
		json_object_set_new(x, "hops", hops);
		json_array_append_new(pkts, x);
	}
	json_object_set_new(o, "packets", pkts);
	return o;
}

void flow__print(const struct flow *f, const struct flow_namer *nm, FILE *out, int max_packets)
{
	char client[80], server[80], b1[64], b2[64], b3[64];

	flow_ends(f, client, server, sizeof(client));
	fprintf(out,
		"%s -> %s  %s%s%s  %d packets (handshake %llu, data %llu, ack %llu, "
		"teardown %llu)%s\n",
		client, server, f->inside_pod ? "inside pod " : "outside pod",
		f->inside_pod ? nm_netns(nm, f->netns, b1, sizeof(b1)) : "",
		f->client_known ? "" : " (client guessed)", f->npackets,
		(unsigned long long)f->phases[FLOW_PHASE_HANDSHAKE].packets,
		(unsigned long long)f->phases[FLOW_PHASE_DATA].packets,
		(unsigned long long)f->phases[FLOW_PHASE_ACK].packets,
		(unsigned long long)f->phases[FLOW_PHASE_TEARDOWN].packets,
		f->retransmits ? "  RETRANSMITS" : "");
	for (int i = 0; i < f->npackets && i < max_packets; i++) {
		const struct flow_packet *p = &f->packets[i];

		fprintf(out, "  %s %-9s %-12s len %-6u path %8.1f us", p->from_server ? "<-" : "->",
			flow_phase_name(p->phase), flow_flags_str(p->tcp_flags, b1, sizeof(b1)),
			p->len, (double)(last_ts(p) - first_ts(p)) / 1e3);
		if (p->gap_ns)
			fprintf(out, "  (after %.1f us in user space)", (double)p->gap_ns / 1e3);
		if (p->dropped)
			fprintf(out, "  DROPPED: %s",
				nm_reason(nm, p->drop_reason, b1, sizeof(b1)));
		fputc('\n', out);
		for (int j = 0; j < p->nhops; j++) {
			const struct flow_hop *h = &p->hops[j];
			const struct trace_point_info *pi = trace_point_info(h->point);

			fprintf(out, "      %+9.1f us  %-24s %s/%s",
				j ? (double)(h->ts_ns - p->hops[j - 1].ts_ns) / 1e3 : 0.0,
				pi ? pi->name : "?", nm_netns(nm, h->netns, b2, sizeof(b2)),
				nm_ifname(nm, h->netns, h->ifindex, b3, sizeof(b3)));
			if (h->point == TPT_kfree_skb)
				fprintf(out, "  %s", nm_reason(nm, h->reason, b1, sizeof(b1)));
			fputc('\n', out);
		}
	}
	if (f->npackets > max_packets)
		fprintf(out, "  ... %d more packets\n", f->npackets - max_packets);
}

void flow__csv_header(FILE *out)
{
	fputs("flow,client,server,inside_pod,packet,dir,phase,flags,len,hop,point,ts_ns,dt_ns,"
	      "where,netns,ifname,ifindex,drop_reason\n",
	      out);
}

void flow__csv(const struct flow *f, int flow_idx, const struct flow_namer *nm, FILE *out)
{
	char client[80], server[80], b1[64], b2[64], b3[64];

	flow_ends(f, client, server, sizeof(client));
	for (int i = 0; i < f->npackets; i++) {
		const struct flow_packet *p = &f->packets[i];

		for (int j = 0; j < p->nhops; j++) {
			const struct flow_hop *h = &p->hops[j];
			const struct trace_point_info *pi = trace_point_info(h->point);

			fprintf(out, "%d,%s,%s,%d,%d,%s,%s,%s,%u,%d,%s,%llu,%llu,%s,%u,%s,%u,%s\n",
				flow_idx, client, server, f->inside_pod, i,
				p->from_server ? "s2c" : "c2s", flow_phase_name(p->phase),
				flow_flags_str(p->tcp_flags, b1, sizeof(b1)), p->len, j,
				pi ? pi->name : "?", (unsigned long long)h->ts_ns,
				(unsigned long long)(j ? h->ts_ns - p->hops[j - 1].ts_ns : 0),
				nm_netns(nm, h->netns, b2, sizeof(b2)), h->netns,
				nm_ifname(nm, h->netns, h->ifindex, b3, sizeof(b3)), h->ifindex,
				h->point == TPT_kfree_skb ? nm_reason(nm, h->reason, b1, sizeof(b1))
							  : "");
		}
	}
}

/* --- spans ------------------------------------------------------------------ */

static void random_id(uint8_t *id, size_t n)
{
	static const uint8_t zero[16];

	do {
		if (getrandom(id, n, 0) != (ssize_t)n)
			for (size_t i = 0; i < n; i++)
				id[i] = (uint8_t)(rand() | 1);
	} while (!memcmp(id, zero, n));
}

static void attr_str(struct span_rec *s, const char *key, const char *v)
{
	struct span_attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS)
		return;
	a = &s->attrs[s->nattrs++];
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->type = ATTR_STRING;
	snprintf(a->s, sizeof(a->s), "%s", v);
}

static void attr_int(struct span_rec *s, const char *key, int64_t v)
{
	struct span_attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS)
		return;
	a = &s->attrs[s->nattrs++];
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->type = ATTR_INT;
	a->i = v;
}

static struct span_rec *span_new(struct trace_rec *t, const uint8_t *parent, const char *name,
				 uint64_t start_mono, uint64_t end_mono, int64_t off)
{
	struct span_rec *s;

	if (t->nspans >= TRACE_MAX_SPANS)
		return NULL;
	s = &t->spans[t->nspans++];
	memset(s, 0, sizeof(*s));
	random_id(s->span_id, sizeof(s->span_id));
	if (parent)
		memcpy(s->parent_span_id, parent, sizeof(s->parent_span_id));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = SPAN_KIND_INTERNAL;
	s->start_unix_ns = (uint64_t)((int64_t)start_mono + off);
	s->end_unix_ns = (uint64_t)((int64_t)end_mono + off);
	return s;
}

int flow__to_trace(const struct flow *f, const struct flow_namer *nm, int64_t mono_to_unix_ns,
		   struct trace_rec *out)
{
	char client[80], server[80], name[TRACE_STR_MAX], b1[64], b2[64];
	struct span_rec *root;
	int skipped = 0;

	memset(out, 0, sizeof(*out));
	if (!f->npackets)
		return 0;
	random_id(out->trace_id, sizeof(out->trace_id));
	snprintf(out->service_name, sizeof(out->service_name), "podscope-packet-path");
	if (f->inside_pod)
		snprintf(out->k8s_pod, sizeof(out->k8s_pod), "%s",
			 nm_netns(nm, f->netns, b1, sizeof(b1)));
	flow_ends(f, client, server, sizeof(client));
	snprintf(name, sizeof(name), "tcp %s -> %s", client, server);
	{
		uint64_t start = first_ts(&f->packets[0]), end = 0;

		for (int i = 0; i < f->npackets; i++)
			if (last_ts(&f->packets[i]) > end)
				end = last_ts(&f->packets[i]);
		root = span_new(out, NULL, name, start, end, mono_to_unix_ns);
	}
	attr_str(root, "net.peer.name", server);
	attr_str(root, "podscope.inside_pod", f->inside_pod ? "true" : "false");
	attr_int(root, "podscope.packets", f->npackets);
	attr_int(root, "podscope.retransmits", (int64_t)f->retransmits);
	for (int ph = 0; ph < FLOW_PHASE__COUNT; ph++) {
		const struct flow_packet *first = NULL;
		uint64_t start = UINT64_MAX, end = 0;
		struct span_rec *ps;

		for (int i = 0; i < f->npackets; i++) {
			const struct flow_packet *p = &f->packets[i];

			if (p->phase != ph)
				continue;
			if (!first)
				first = p;
			if (first_ts(p) < start)
				start = first_ts(p);
			if (last_ts(p) > end)
				end = last_ts(p);
		}
		if (!first)
			continue;
		ps = span_new(out, root->span_id, flow_phase_name(ph), start, end, mono_to_unix_ns);
		if (!ps) {
			skipped++;
			continue;
		}
		attr_int(ps, "podscope.packets", (int64_t)f->phases[ph].packets);
		attr_int(ps, "podscope.bytes", (int64_t)f->phases[ph].bytes);
		/* the hops of the phase's first packet, each from the previous hop */
		for (int j = 0; j < first->nhops; j++) {
			const struct flow_hop *h = &first->hops[j];
			const struct trace_point_info *pi = trace_point_info(h->point);
			struct span_rec *hs;

			hs = span_new(out, ps->span_id, pi ? pi->name : "?",
				      j ? first->hops[j - 1].ts_ns : h->ts_ns, h->ts_ns,
				      mono_to_unix_ns);
			if (!hs) {
				skipped += first->nhops - j;
				break;
			}
			attr_str(hs, "podscope.where", nm_netns(nm, h->netns, b1, sizeof(b1)));
			attr_str(hs, "podscope.ifname",
				 nm_ifname(nm, h->netns, h->ifindex, b2, sizeof(b2)));
			attr_str(hs, "podscope.flags",
				 flow_flags_str(first->tcp_flags, b1, sizeof(b1)));
			if (h->point == TPT_kfree_skb) {
				hs->status = SPAN_STATUS_ERROR;
				attr_str(hs, "podscope.drop_reason",
					 nm_reason(nm, h->reason, b1, sizeof(b1)));
			}
		}
	}
	attr_int(root, "podscope.spans_dropped", skipped);
	return out->nspans;
}
