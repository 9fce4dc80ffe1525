// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The model: edge sides from the kernel joined into edges, named with the
 * watched set, and rendered as JSON, CSV or a terminal table.
 *
 * Joining: a server side names its client by tgid when the client is a
 * target (the kernel paired the two sockets), else by address; both sides
 * carry the address the client dialed. A client side (A, dialed D) is joined
 * to the edge of the unique server that reports client A and dialed D; when
 * no watched server (or more than one) does, the client side stands alone
 * as an edge to the outside address D.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "conn.h"
#include "hopstats.h"
#include "model.h"

struct side_entry {
	struct side_key key;
	struct side_metrics m;
};

struct drop_entry {
	struct side_key key;
	uint32_t reason;
	uint64_t count;
};

struct pod_ip {
	char ip[46];
	char pod[POD_NAME_MAX * 2 + 2];
};

/* What we knew of a process; kept after it exits so its edges stay named. */
struct proc_info {
	pid_t pid;
	uint32_t idx;
	char comm[16];
};

struct model {
	struct watchset *ws;
	struct pod_ip *ips;
	int nips;
	struct pod_ip *watched_ips; /* uid -> ip for watched pods */
	char (*watched_uids)[POD_UID_MAX];
	int nwatched;
	struct side_entry *sides;
	int nsides, cap_sides;
	struct drop_entry *drops;
	int ndrops, cap_drops;
	struct edge *edges;
	int nedges;
	struct proc_info *procs;
	int nprocs;
	uint64_t connects, accepts, adopts, closes, close_reasons[4];
	struct model_lost lost;
	const char *mech_targets, *mech_conns;
	uint64_t *oncpu;
	int noncpu;
	struct btf *btf;
	bool btf_tried;
	const struct btf_type *drop_enum;
	const struct resource_sample *resources;
	const struct agent_health *health;
	bool no_syscall_time;	/* read/write durations not measured */
	struct req_stats *reqs; /* NULL until the first stitched request */
	bool requests_on;
	struct req_tracker_stats req_lost;
	uint64_t traces_dropped, traces_failed;
	struct hop_stats *hops; /* NULL unless packet tracing is on */
	json_t **flows;		/* ring of the last max_flows flows (JSON) */
	int max_flows, nflows, flow_next;
	struct model_packet_stats pkt;
};

struct model *model__new(struct watchset *ws, const struct target_set *pods)
{
	struct model *m = calloc(1, sizeof(*m));
	int i, u;

	if (!m)
		return NULL;
	m->ws = ws;
	m->ips = calloc((size_t)pods->npods + 1, sizeof(*m->ips));
	m->watched_ips = calloc((size_t)pods->npods + 1, sizeof(*m->watched_ips));
	m->watched_uids = calloc((size_t)pods->npods + 1, sizeof(*m->watched_uids));
	if (!m->ips || !m->watched_ips || !m->watched_uids) {
		model__free(m);
		return NULL;
	}
	for (i = 0; i < pods->npods; i++) {
		const struct target_pod *p = &pods->pods[i];

		if (p->meta.pod_ip[0] && p->name_known) {
			snprintf(m->ips[m->nips].ip, sizeof(m->ips[0].ip), "%s", p->meta.pod_ip);
			snprintf(m->ips[m->nips].pod, sizeof(m->ips[0].pod), "%s/%s",
				 p->meta.namespace_, p->meta.name);
			m->nips++;
		}
		for (u = 0; u < watchset__npods(ws); u++)
			if (!strcmp(watchset__pod_uid(ws, u), p->meta.uid)) {
				snprintf(m->watched_uids[m->nwatched], POD_UID_MAX, "%s",
					 p->meta.uid);
				snprintf(m->watched_ips[m->nwatched].ip,
					 sizeof(m->watched_ips[0].ip), "%s", p->meta.pod_ip);
				m->nwatched++;
			}
	}
	return m;
}

static const char *pod_of_ip(const struct model *m, const char *ip)
{
	int i;

	for (i = 0; i < m->nips; i++)
		if (!strcmp(m->ips[i].ip, ip))
			return m->ips[i].pod;
	return "";
}

static void addr_text(const uint8_t *addr, uint8_t family, char *buf, size_t len)
{
	if (!inet_ntop(family == 10 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static void remember_proc(struct model *m, const struct watch_process *p)
{
	struct proc_info *np;
	int j;

	for (j = 0; j < m->nprocs; j++)
		if (m->procs[j].pid == p->pid) {
			m->procs[j].idx = p->idx;
			memcpy(m->procs[j].comm, p->comm, sizeof(p->comm));
			return;
		}
	np = realloc(m->procs, (size_t)(m->nprocs + 1) * sizeof(*np));
	if (!np)
		return;
	m->procs = np;
	np[m->nprocs].pid = p->pid;
	np[m->nprocs].idx = p->idx;
	memcpy(np[m->nprocs].comm, p->comm, sizeof(p->comm));
	m->nprocs++;
}

/* Remember every watched process we have seen (names survive exits). */
static void refresh_procs(struct model *m)
{
	int i, n = watchset__nprocesses(m->ws);

	for (i = 0; i < n; i++)
		remember_proc(m, watchset__process(m->ws, i));
}

void model__on_process(struct model *m, const struct watch_process *p)
{
	remember_proc(m, p);
}

static const struct proc_info *proc_lookup(const struct model *m, pid_t pid)
{
	int i;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

static void end_from_pid(const struct model *m, pid_t pid, struct edge_end *e)
{
	const struct proc_info *p = proc_lookup(m, pid);
	const struct watch_container *c = p ? watchset__container(m->ws, p->idx) : NULL;

	e->pid = pid;
	e->watched = true;
	if (p)
		memcpy(e->comm, p->comm, sizeof(e->comm));
	if (c) {
		snprintf(e->pod, sizeof(e->pod), "%s", c->pod);
		snprintf(e->container, sizeof(e->container), "%s", c->name);
		e->role = c->role;
	}
}

static void end_from_addr(const struct model *m, const char *addr, struct edge_end *e)
{
	e->pid = 0;
	e->watched = false;
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	snprintf(e->pod, sizeof(e->pod), "%s", pod_of_ip(m, addr));
	e->role = ROLE_OTHER;
}

void model__on_conn_event(struct model *m, const struct conn_event *e)
{
	switch (e->type) {
	case CEV_CONNECT:
		m->connects++;
		break;
	case CEV_ACCEPT:
		m->accepts++;
		break;
	case CEV_ADOPT:
		m->adopts++;
		break;
	case CEV_CLOSE:
		m->closes++;
		if (e->close_reason < 4)
			m->close_reasons[e->close_reason]++;
		break;
	default:
		break;
	}
}

void model__begin_sides(struct model *m)
{
	m->nsides = 0;
	m->ndrops = 0;
}

void model__add_side(struct model *m, const struct side_key *key, const struct side_metrics *sm)
{
	if (m->nsides == m->cap_sides) {
		int cap = m->cap_sides ? m->cap_sides * 2 : 64;
		struct side_entry *n = realloc(m->sides, (size_t)cap * sizeof(*n));

		if (!n)
			return;
		m->sides = n;
		m->cap_sides = cap;
	}
	m->sides[m->nsides].key = *key;
	m->sides[m->nsides].m = *sm;
	m->nsides++;
}

void model__add_drop(struct model *m, const struct side_key *key, uint32_t reason, uint64_t count)
{
	if (m->ndrops == m->cap_drops) {
		int cap = m->cap_drops ? m->cap_drops * 2 : 16;
		struct drop_entry *n = realloc(m->drops, (size_t)cap * sizeof(*n));

		if (!n)
			return;
		m->drops = n;
		m->cap_drops = cap;
	}
	m->drops[m->ndrops].key = *key;
	m->drops[m->ndrops].reason = reason;
	m->drops[m->ndrops].count = count;
	m->ndrops++;
}

static void free_edges(struct model *m)
{
	int i;

	for (i = 0; i < m->nedges; i++) {
		free(m->edges[i].client_drops);
		free(m->edges[i].server_drops);
	}
	free(m->edges);
	m->edges = NULL;
	m->nedges = 0;
}

static struct edge *edge_find_or_add(struct model *m, const struct edge_end *client,
				     const char *dialed, const struct edge_end *server)
{
	struct edge *e;
	int i;

	for (i = 0; i < m->nedges; i++) {
		e = &m->edges[i];
		if (e->client.pid == client->pid && e->server.pid == server->pid &&
		    !strcmp(e->dialed, dialed) && !strcmp(e->client.addr, client->addr) &&
		    (server->pid || !strcmp(e->server.addr, server->addr)))
			return e;
	}
	e = realloc(m->edges, (size_t)(m->nedges + 1) * sizeof(*e));
	if (!e)
		return NULL;
	m->edges = e;
	e = &m->edges[m->nedges++];
	memset(e, 0, sizeof(*e));
	e->client = *client;
	e->server = *server;
	snprintf(e->dialed, sizeof(e->dialed), "%s", dialed);
	return e;
}

static void edge_add_drops(struct model *m, struct edge *e, const struct side_key *key)
{
	bool client = key->role == CONN_ROLE_CLIENT;
	int i, j;

	for (i = 0; i < m->ndrops; i++) {
		struct edge_drop **arr = client ? &e->client_drops : &e->server_drops;
		int *n = client ? &e->nclient_drops : &e->nserver_drops;
		struct edge_drop *nd;

		if (memcmp(&m->drops[i].key, key, sizeof(*key)))
			continue;
		for (j = 0; j < *n; j++)
			if ((*arr)[j].reason == m->drops[i].reason)
				break;
		if (j < *n) {
			(*arr)[j].count += m->drops[i].count;
			continue;
		}
		nd = realloc(*arr, (size_t)(*n + 1) * sizeof(*nd));
		if (!nd)
			return;
		*arr = nd;
		nd[*n].reason = m->drops[i].reason;
		nd[*n].count = m->drops[i].count;
		(*n)++;
	}
}

static void dialed_text(const struct side_key *k, char *buf, size_t len)
{
	char a[64];

	addr_text(k->dialed_addr, k->family, a, sizeof(a));
	snprintf(buf, len, k->family == 10 ? "[%s]:%u" : "%s:%u", a, k->dialed_port);
}

static int cmp_traffic(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->traffic_bytes < y->traffic_bytes   ? 1
	       : x->traffic_bytes > y->traffic_bytes ? -1
						     : 0;
}

int model__build_edges(struct model *m)
{
	int i, j;

	refresh_procs(m);
	free_edges(m);
	/* 1: server sides make edges (client named by tgid or address) */
	for (i = 0; i < m->nsides; i++) {
		const struct side_key *k = &m->sides[i].key;
		struct edge_end client = {0}, server = {0};
		char dialed[72], addr[64];
		struct edge *e;

		if (k->role != CONN_ROLE_SERVER)
			continue;
		dialed_text(k, dialed, sizeof(dialed));
		if (k->peer_tgid) {
			end_from_pid(m, (pid_t)k->peer_tgid, &client);
		} else {
			addr_text(k->peer_addr, k->family, addr, sizeof(addr));
			end_from_addr(m, addr, &client);
		}
		end_from_pid(m, (pid_t)k->tgid, &server);
		server.port = k->server_port;
		e = edge_find_or_add(m, &client, dialed, &server);
		if (!e)
			return -ENOMEM;
		if (!e->server.port)
			e->server.port = k->server_port;
		e->has_server_side = true;
		side_metrics_add(&e->server_side, &m->sides[i].m);
		edge_add_drops(m, e, k);
	}
	/* 2: client sides join the unique watched server that saw them */
	for (i = 0; i < m->nsides; i++) {
		const struct side_key *k = &m->sides[i].key;
		struct edge *match = NULL, *e;
		char dialed[72];
		int found = 0;

		if (k->role != CONN_ROLE_CLIENT)
			continue;
		dialed_text(k, dialed, sizeof(dialed));
		for (j = 0; j < m->nedges; j++) {
			e = &m->edges[j];
			if (e->client.pid == (pid_t)k->tgid && e->server.pid &&
			    !strcmp(e->dialed, dialed) &&
			    (!match || match->server.pid != e->server.pid)) {
				match = e;
				found++;
			}
		}
		if (found != 1) {
			struct edge_end client = {0}, server = {0};
			char addr[64];

			end_from_pid(m, (pid_t)k->tgid, &client);
			addr_text(k->dialed_addr, k->family, addr, sizeof(addr));
			end_from_addr(m, addr, &server);
			server.port = k->dialed_port;
			match = edge_find_or_add(m, &client, dialed, &server);
			if (!match)
				return -ENOMEM;
		}
		match->has_client_side = true;
		side_metrics_add(&match->client_side, &m->sides[i].m);
		edge_add_drops(m, match, k);
	}
	for (i = 0; i < m->nedges; i++) {
		struct edge *e = &m->edges[i];

		uint64_t c = e->client_side.write_bytes + e->client_side.read_bytes;
		uint64_t s = e->server_side.write_bytes + e->server_side.read_bytes;

		/* the bytes over the edge once: both ends of a watched pair see them */
		e->traffic_bytes = c > s ? c : s;
	}
	if (m->nedges > 1)
		qsort(m->edges, (size_t)m->nedges, sizeof(*m->edges), cmp_traffic);
	return m->nedges;
}

void model__set_lost(struct model *m, const struct model_lost *lost)
{
	m->lost = *lost;
}

void model__set_oncpu(struct model *m, const uint64_t *ns, int n)
{
	uint64_t *c = realloc(m->oncpu, (size_t)(n > 0 ? n : 1) * sizeof(*c));

	if (!c)
		return;
	memcpy(c, ns, (size_t)n * sizeof(*c));
	m->oncpu = c;
	m->noncpu = n;
}

int64_t model__oncpu(const struct model *m, int idx)
{
	return idx >= 0 && idx < m->noncpu ? (int64_t)m->oncpu[idx] : -1;
}

void model__set_mechanisms(struct model *m, const char *targets, const char *connections)
{
	m->mech_targets = targets;
	m->mech_conns = connections;
}

int model__nedges(const struct model *m)
{
	return m->nedges;
}

const struct edge *model__edge(const struct model *m, int i)
{
	return i >= 0 && i < m->nedges ? &m->edges[i] : NULL;
}

const char *model__drop_reason_name(struct model *m, uint32_t reason)
{
	static char buf[32];
	const struct btf_enum *v;
	int i, n;

	if (!m->btf_tried) {
		m->btf_tried = true;
		m->btf = btf__load_vmlinux_btf();
		if (m->btf) {
			int id = btf__find_by_name_kind(m->btf, "skb_drop_reason", BTF_KIND_ENUM);

			m->drop_enum = id > 0 ? btf__type_by_id(m->btf, (__u32)id) : NULL;
		}
	}
	if (m->drop_enum) {
		v = btf_enum(m->drop_enum);
		n = btf_vlen(m->drop_enum);
		for (i = 0; i < n; i++, v++)
			if ((uint32_t)v->val == reason) {
				const char *name = btf__name_by_offset(m->btf, v->name_off);

				if (name && !strncmp(name, "SKB_DROP_REASON_", 16))
					name += 16;
				return name ? name : "?";
			}
	}
	snprintf(buf, sizeof(buf), "reason_%u", reason);
	return buf;
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *hist_json(const struct conn_hist *h)
{
	json_t *a = json_array();
	int last = -1, i;

	for (i = 0; i < CONN_HIST_SLOTS; i++)
		if (h->slots[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_array_append_new(a, json_integer((json_int_t)h->slots[i]));
	return a;
}

/*
 * @untimed: calls already in progress at attach (bytes counted, duration
 * unknown). Without --syscall-time no duration is measured: null, not 0.
 */
static json_t *io_json(bool timed, uint64_t count, uint64_t bytes, uint64_t ns, uint64_t untimed,
		       const struct conn_hist *h)
{
	if (!timed)
		return json_pack("{s:I, s:I, s:n, s:n, s:n}", "count", (json_int_t)count, "bytes",
				 (json_int_t)bytes, "time_ns", "untimed", "hist");
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t)count, "bytes",
			 (json_int_t)bytes, "time_ns", (json_int_t)ns, "untimed",
			 (json_int_t)untimed, "hist", hist_json(h));
}

static json_t *metrics_json(struct model *m, const struct side_metrics *s, bool client,
			    const struct edge_drop *drops, int ndrops)
{
	json_t *o = json_object(), *reasons = json_object(), *connect;
	int i;

	json_object_set_new(o, "write",
			    io_json(!m->no_syscall_time, s->write_count, s->write_bytes,
				    s->write_ns, s->write_untimed, &s->write_hist));
	json_object_set_new(o, "read",
			    io_json(!m->no_syscall_time, s->read_count, s->read_bytes, s->read_ns,
				    s->read_untimed, &s->read_hist));
	connect = json_pack("{s:I, s:I}", "count", (json_int_t)s->connect_count, "errors",
			    (json_int_t)s->connect_errors);
	/* the server side sees accepts, not the handshake: no time is measured there */
	json_object_set_new(connect, "time_ns",
			    client ? json_integer((json_int_t)s->connect_ns) : json_null());
	json_object_set_new(connect, "hist", hist_json(&s->connect_hist));
	json_object_set_new(o, "connect", connect);
	json_object_set_new(o, "close",
			    json_pack("{s:I, s:I, s:I, s:o}", "count", (json_int_t)s->close_count,
				      "timed", (json_int_t)s->close_timed, "time_ns",
				      (json_int_t)s->close_ns, "hist", hist_json(&s->close_hist)));
	json_object_set_new(o, "rtt_us",
			    json_pack("{s:I, s:I, s:o}", "count", (json_int_t)s->rtt_count, "sum",
				      (json_int_t)s->rtt_sum_us, "hist", hist_json(&s->rtt_hist)));
	json_object_set_new(o, "retransmits", json_integer((json_int_t)s->retransmits));
	json_object_set_new(o, "drops", json_integer((json_int_t)s->drops));
	for (i = 0; i < ndrops; i++)
		json_object_set_new(reasons, model__drop_reason_name(m, drops[i].reason),
				    json_integer((json_int_t)drops[i].count));
	json_object_set_new(o, "drop_reasons", reasons);
	json_object_set_new(o, "resets", json_integer((json_int_t)s->resets));
	json_object_set_new(o, "timeouts", json_integer((json_int_t)s->timeouts));
	return o;
}

static json_t *end_json(const struct edge_end *e, bool server)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", e->pid ? json_integer(e->pid) : json_null());
	json_object_set_new(o, "comm", e->pid ? json_string(e->comm) : json_null());
	json_object_set_new(o, "pod", e->pod[0] ? json_string(e->pod) : json_null());
	json_object_set_new(o, "container",
			    e->container[0] ? json_string(e->container) : json_null());
	json_object_set_new(o, "role",
			    json_string(e->pid ? container_role_name(e->role) : "external"));
	json_object_set_new(o, "addr", e->addr[0] ? json_string(e->addr) : json_null());
	if (server)
		json_object_set_new(o, "port", json_integer(e->port));
	return o;
}

static const char *pod_ip_of_uid(const struct model *m, const char *uid)
{
	int i;

	for (i = 0; i < m->nwatched; i++)
		if (!strcmp(m->watched_uids[i], uid))
			return m->watched_ips[i].ip;
	return "";
}

json_t *model__snapshot_json(struct model *m, double window_seconds)
{
	json_t *root = json_object(), *pods = json_array(), *procs = json_array(),
	       *edges = json_array(), *lost;
	int i, j, k, nwc = watchset__ncontainers(m->ws);

	refresh_procs(m);
	json_object_set_new(root, "schema", json_string("podscope.snapshot/v1"));
	json_object_set_new(root, "window_seconds", json_real(window_seconds));
	for (i = 0; i < watchset__npods(m->ws); i++) {
		const char *uid = watchset__pod_uid(m->ws, i);
		json_t *pod = NULL, *cs = json_array();

		for (j = 0; j < nwc; j++) {
			const struct watch_container *c = watchset__container(m->ws, (uint32_t)j);
			json_t *pids;

			if (strcmp(c->pod_uid, uid))
				continue;
			pids = json_array();
			if (!pod)
				pod = json_pack("{s:s, s:s, s:s, s:s}", "namespace", c->ns, "name",
						c->pod_name, "uid", uid, "ip",
						pod_ip_of_uid(m, uid));
			for (k = 0; k < watchset__nprocesses(m->ws); k++)
				if (watchset__process(m->ws, k)->idx == (uint32_t)j)
					json_array_append_new(
						pids,
						json_integer(watchset__process(m->ws, k)->pid));
			json_array_append_new(
				cs, json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", c->name, "id",
					      c->id, "role", container_role_name(c->role), "pids",
					      pids, "oncpu_ns",
					      model__oncpu(m, j) >= 0
						      ? json_integer((json_int_t)model__oncpu(m, j))
						      : json_null()));
		}
		if (!pod) {
			json_decref(cs);
			continue;
		}
		json_object_set_new(pod, "containers", cs);
		json_array_append_new(pods, pod);
	}
	json_object_set_new(root, "pods", pods);
	for (i = 0; i < m->nprocs; i++) {
		const struct watch_container *c = watchset__container(m->ws, m->procs[i].idx);

		json_array_append_new(
			procs, json_pack("{s:i, s:s, s:s, s:s, s:s, s:b}", "pid", m->procs[i].pid,
					 "comm", m->procs[i].comm, "pod", c ? c->pod : "",
					 "container", c ? c->name : "", "role",
					 container_role_name(c ? c->role : ROLE_OTHER), "alive",
					 watchset__find_pid(m->ws, m->procs[i].pid) != NULL));
	}
	json_object_set_new(root, "processes", procs);
	for (i = 0; i < m->nedges; i++) {
		const struct edge *e = &m->edges[i];
		json_t *o = json_object();

		json_object_set_new(o, "client", end_json(&e->client, false));
		json_object_set_new(o, "server", end_json(&e->server, true));
		json_object_set_new(o, "dialed", json_string(e->dialed));
		/* HTTP once a sampled connection of either side spoke HTTP/1 */
		json_object_set_new(o, "protocol",
				    json_string(e->client_side.http1_conns ||
								e->server_side.http1_conns
							? "HTTP"
							: "TCP"));
		json_object_set_new(o, "client_side",
				    e->has_client_side
					    ? metrics_json(m, &e->client_side, true,
							   e->client_drops, e->nclient_drops)
					    : json_null());
		json_object_set_new(o, "server_side",
				    e->has_server_side
					    ? metrics_json(m, &e->server_side, false,
							   e->server_drops, e->nserver_drops)
					    : json_null());
		json_array_append_new(edges, o);
	}
	json_object_set_new(root, "edges", edges);
	json_object_set_new(root, "connections",
			    json_pack("{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "connects",
				      (json_int_t)m->connects, "accepts", (json_int_t)m->accepts,
				      "adopted", (json_int_t)m->adopts, "closes",
				      (json_int_t)m->closes, "close_reasons", "normal",
				      (json_int_t)m->close_reasons[CLOSE_NORMAL], "reset",
				      (json_int_t)m->close_reasons[CLOSE_RESET], "timeout",
				      (json_int_t)m->close_reasons[CLOSE_TIMEOUT], "error",
				      (json_int_t)m->close_reasons[CLOSE_ERROR]));
	lost = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "target_events_ringbuf",
			 (json_int_t)m->lost.target[TSTAT_RINGBUF_DROPS], "target_map_full",
			 (json_int_t)m->lost.target[TSTAT_MAP_FULL], "conn_events_ringbuf",
			 (json_int_t)m->lost.conn[CSTAT_RINGBUF_DROPS], "conns_map_full",
			 (json_int_t)m->lost.conn[CSTAT_CONNS_FULL], "sides_map_full",
			 (json_int_t)m->lost.conn[CSTAT_SIDES_FULL], "threads_map_full",
			 (json_int_t)m->lost.conn[CSTAT_THREADS_FULL], "drop_reasons_map_full",
			 (json_int_t)m->lost.conn[CSTAT_DROPS_FULL], "non_tcp_io_ignored",
			 (json_int_t)m->lost.conn[CSTAT_NOT_TCP], "bpf_recursion_misses",
			 (json_int_t)m->lost.recursion_misses);
	if (m->hops)
		json_object_set_new(root, "packet_trace", json_true()); /* GET /api/v1/flows */
	if (m->requests_on) {
		const struct req_tracker_stats *q = &m->req_lost;

		json_object_set_new(root, "requests", req_stats__json(m->reqs));
		json_object_set_new(
			lost, "requests",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "payload_samples", (json_int_t)m->lost.conn[CSTAT_SAMPLES],
				  "payload_samples_ringbuf",
				  (json_int_t)m->lost.conn[CSTAT_SAMPLE_DROPS], "unanswered",
				  (json_int_t)q->unanswered, "unmatched_upstream",
				  (json_int_t)q->unmatched_upstream, "orphan_responses",
				  (json_int_t)q->orphan_responses, "queue_full",
				  (json_int_t)q->queue_full, "conns_full",
				  (json_int_t)q->conns_full, "parser_lost_sync",
				  (json_int_t)q->parse_lost_sync, "parser_resyncs",
				  (json_int_t)q->parse_resyncs, "not_http_connections",
				  (json_int_t)q->not_http, "stitched", (json_int_t)q->requests));
		json_object_set_new(json_object_get(lost, "requests"), "traces_dropped",
				    json_integer((json_int_t)m->traces_dropped));
		json_object_set_new(json_object_get(lost, "requests"), "traces_failed",
				    json_integer((json_int_t)m->traces_failed));
	}
	json_object_set_new(root, "lost", lost);
	json_object_set_new(root, "probes",
			    json_pack("{s:s?, s:s?, s:I, s:I}", "targets", m->mech_targets,
				      "connections", m->mech_conns, "uncached_io_calls",
				      (json_int_t)m->lost.conn[CSTAT_IO_UNCACHED],
				      "other_process_lookups",
				      (json_int_t)m->lost.conn[CSTAT_OTHER_LOOKUPS]));
	return root;
}

/* --- CSV and table -------------------------------------------------------- */

static void csv_field(FILE *out, const char *s)
{
	bool quote = strpbrk(s, ",\"\n") != NULL;

	if (!quote) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_end(FILE *out, const struct edge_end *e)
{
	if (e->pid)
		fprintf(out, "%d,", e->pid);
	else
		fputc(',', out);
	csv_field(out, e->pid ? e->comm : "");
	fputc(',', out);
	csv_field(out, e->pod);
	fputc(',', out);
	csv_field(out, e->container);
	fputc(',', out);
	csv_field(out, e->addr);
	fputc(',', out);
}

void model__write_csv(struct model *m, FILE *out)
{
	int i, s;

	fputs("client_pid,client_comm,client_pod,client_container,client_addr,"
	      "server_pid,server_comm,server_pod,server_container,server_addr,server_port,"
	      "dialed,protocol,side,write_count,write_bytes,write_time_ns,read_count,read_bytes,"
	      "read_time_ns,connect_count,connect_time_ns,connect_errors,close_count,close_time_ns,"
	      "rtt_count,rtt_sum_us,retransmits,drops,resets,timeouts\n",
	      out);
	for (i = 0; i < m->nedges; i++) {
		const struct edge *e = &m->edges[i];

		for (s = 0; s < 2; s++) {
			const struct side_metrics *x = s ? &e->server_side : &e->client_side;

			char wns[24] = "", rns[24] = ""; /* empty: not measured */

			if (!(s ? e->has_server_side : e->has_client_side))
				continue;
			if (!m->no_syscall_time) {
				snprintf(wns, sizeof(wns), "%llu", (unsigned long long)x->write_ns);
				snprintf(rns, sizeof(rns), "%llu", (unsigned long long)x->read_ns);
			}
			csv_end(out, &e->client);
			csv_end(out, &e->server);
			fprintf(out, "%u,", e->server.port);
			csv_field(out, e->dialed);
			fprintf(out,
				",%s,%s,%llu,%llu,%s,%llu,%llu,%s,%llu,%llu,%llu,%llu,%llu,"
				"%llu,%llu,%llu,%llu,%llu,%llu\n",
				e->client_side.http1_conns || e->server_side.http1_conns ? "HTTP"
											 : "TCP",
				s ? "server" : "client", (unsigned long long)x->write_count,
				(unsigned long long)x->write_bytes, wns,
				(unsigned long long)x->read_count,
				(unsigned long long)x->read_bytes, rns,
				(unsigned long long)x->connect_count,
				(unsigned long long)x->connect_ns,
				(unsigned long long)x->connect_errors,
				(unsigned long long)x->close_count, (unsigned long long)x->close_ns,
				(unsigned long long)x->rtt_count, (unsigned long long)x->rtt_sum_us,
				(unsigned long long)x->retransmits, (unsigned long long)x->drops,
				(unsigned long long)x->resets, (unsigned long long)x->timeouts);
		}
	}
}

static void end_label(const struct edge_end *e, char *buf, size_t len)
{
	if (e->pid)
		snprintf(buf, len, "%.60s:%.40s(%.15s %d)", e->pod[0] ? e->pod : "?",
			 e->container[0] ? e->container : "?", e->comm, e->pid);
	else if (e->pod[0])
		snprintf(buf, len, "%.60s(%.46s)", e->pod, e->addr);
	else
		snprintf(buf, len, "%s", e->addr);
}

static void human_bytes(uint64_t v, char *buf, size_t len)
{
	const char *unit = "B";
	double d = (double)v;

	if (d >= 1e9)
		d /= 1e9, unit = "GB";
	else if (d >= 1e6)
		d /= 1e6, unit = "MB";
	else if (d >= 1e3)
		d /= 1e3, unit = "kB";
	snprintf(buf, len, unit[0] == 'B' ? "%.0f%s" : "%.1f%s", d, unit);
}

void model__print_table(struct model *m, FILE *out, double window_seconds, int max_rows)
{
	int i, s;

	fprintf(out,
		"podscope watch: %d pods, %d processes, %d edges, %.1fs; connects %llu, "
		"accepts %llu, closes %llu (reset %llu, timeout %llu)\n",
		watchset__npods(m->ws), watchset__nprocesses(m->ws), m->nedges, window_seconds,
		(unsigned long long)m->connects, (unsigned long long)m->accepts,
		(unsigned long long)m->closes, (unsigned long long)m->close_reasons[CLOSE_RESET],
		(unsigned long long)m->close_reasons[CLOSE_TIMEOUT]);
	fprintf(out, "%-44s %-44s %5s %-6s %6s %9s %9s %8s %5s %5s\n", "CLIENT", "SERVER", "PORT",
		"SIDE", "CONN", "WRITE", "READ", "RTT(us)", "RETR", "DROP");
	for (i = 0; i < m->nedges && i < max_rows; i++) {
		const struct edge *e = &m->edges[i];
		char c[128], sv[128], port[8], w[16], r[16];

		end_label(&e->client, c, sizeof(c));
		end_label(&e->server, sv, sizeof(sv));
		snprintf(port, sizeof(port), "%u", e->server.port);
		for (s = 0; s < 2; s++) {
			const struct side_metrics *x = s ? &e->server_side : &e->client_side;

			if (!(s ? e->has_server_side : e->has_client_side))
				continue;
			human_bytes(x->write_bytes, w, sizeof(w));
			human_bytes(x->read_bytes, r, sizeof(r));
			fprintf(out, "%-44.44s %-44.44s %5s %-6s %6llu %9s %9s %8.0f %5llu %5llu\n",
				c, sv, port, s ? "server" : "client",
				(unsigned long long)x->connect_count, w, r,
				x->rtt_count ? (double)x->rtt_sum_us / (double)x->rtt_count : 0.0,
				(unsigned long long)x->retransmits, (unsigned long long)x->drops);
			c[0] = sv[0] = port[0] = '\0';
		}
	}
	req_stats__print(m->reqs, out);
}

/* --- requests (stitched through the sidecar) ------------------------------ */

void model__set_syscall_time(struct model *m, bool on)
{
	m->no_syscall_time = !on;
}

bool model__syscall_time(const struct model *m)
{
	return !m->no_syscall_time;
}

void model__enable_requests(struct model *m)
{
	m->requests_on = true;
}

int model__on_request(struct model *m, const struct req_record *r)
{
	const struct watch_container *ctr = watchset__container(m->ws, r->container_idx);

	if (!m->reqs) {
		m->reqs = req_stats__new();
		if (!m->reqs)
			return -ENOMEM;
	}
	return req_stats__add(m->reqs, ctr ? ctr->pod : "?", r);
}

void model__set_request_lost(struct model *m, const struct req_tracker_stats *st)
{
	m->req_lost = *st;
}

const struct req_tracker_stats *model__request_lost(const struct model *m)
{
	return m->requests_on ? &m->req_lost : NULL;
}

void model__set_trace_lost(struct model *m, uint64_t dropped, uint64_t failed)
{
	m->traces_dropped = dropped;
	m->traces_failed = failed;
}

const struct req_stats *model__requests(const struct model *m)
{
	return m->reqs;
}

/* --- the packet path of traced pods ---------------------------------------- */

int model__enable_packets(struct model *m, int max_flows)
{
	if (m->hops)
		return 0;
	m->max_flows = max_flows > 0 ? max_flows : 50;
	m->hops = hop_stats__new(0);
	m->flows = calloc((size_t)m->max_flows, sizeof(*m->flows));
	if (!m->hops || !m->flows) {
		hop_stats__free(m->hops);
		free(m->flows);
		m->hops = NULL;
		m->flows = NULL;
		return -ENOMEM;
	}
	return 0;
}

int model__on_flow(struct model *m, const struct flow *f, const char *pod, uint32_t pod_netns,
		   uint32_t node_netns)
{
	if (!m->hops)
		return -ENOENT;
	hop_stats__add_flow(m->hops, f, pod, pod_netns, node_netns);
	return 0;
}

void model__add_flow_json(struct model *m, json_t *flow)
{
	if (!m->flows || !flow) {
		json_decref(flow);
		return;
	}
	json_decref(m->flows[m->flow_next]);
	m->flows[m->flow_next] = flow;
	m->flow_next = (m->flow_next + 1) % m->max_flows;
	if (m->nflows < m->max_flows)
		m->nflows++;
}

void model__set_packet_stats(struct model *m, const struct model_packet_stats *st)
{
	m->pkt = *st;
}

const struct model_packet_stats *model__packet_stats(const struct model *m)
{
	return m->hops ? &m->pkt : NULL;
}

const struct hop_stats *model__packet_hops(const struct model *m)
{
	return m->hops;
}

json_t *model__flows_json(const struct model *m)
{
	json_t *doc, *arr;
	int i;

	if (!m->hops)
		return NULL;
	arr = json_array();
	for (i = 0; i < m->nflows; i++) {
		int k = (m->flow_next - m->nflows + i + m->max_flows) % m->max_flows;

		json_array_append(arr, m->flows[k]);
	}
	doc = json_pack("{s:s, s:i, s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "schema",
			"podscope.flows/v1", "max_flows", m->max_flows, "flows", arr, "stats",
			"intervals", (json_int_t)m->pkt.intervals, "events",
			(json_int_t)m->pkt.events, "flows", (json_int_t)m->pkt.flows,
			"lost_ringbuf", (json_int_t)m->pkt.lost_ringbuf, "lost_over_cap",
			(json_int_t)m->pkt.lost_over_cap);
	return doc;
}

void model__free(struct model *m)
{
	if (!m)
		return;
	hop_stats__free(m->hops);
	for (int i = 0; m->flows && i < m->max_flows; i++)
		json_decref(m->flows[i]);
	free(m->flows);
	req_stats__free(m->reqs);
	free_edges(m);
	free(m->ips);
	free(m->watched_ips);
	free(m->watched_uids);
	free(m->sides);
	free(m->drops);
	free(m->procs);
	free(m->oncpu);
	btf__free(m->btf);
	free(m);
}

/* --- the agent's additions ------------------------------------------------ */

void model__set_resources(struct model *m, const struct resource_sample *r)
{
	m->resources = r;
}

const struct resource_sample *model__resources(const struct model *m)
{
	return m->resources;
}

void model__set_health(struct model *m, const struct agent_health *h)
{
	m->health = h;
}

const struct agent_health *model__health(const struct model *m)
{
	return m->health;
}

const struct model_lost *model__lost(const struct model *m)
{
	return &m->lost;
}

struct watchset *model__watchset(const struct model *m)
{
	return m->ws;
}

void model__conn_totals(const struct model *m, uint64_t out[4])
{
	out[0] = m->connects;
	out[1] = m->accepts;
	out[2] = m->adopts;
	out[3] = m->closes;
}

bool model__pod_watched(const struct model *m, const char *pod)
{
	int i, u, n = watchset__ncontainers(m->ws);

	for (i = 0; i < n; i++) {
		const struct watch_container *c = watchset__container(m->ws, (uint32_t)i);

		if (strcmp(c->pod, pod))
			continue;
		for (u = 0; u < watchset__npods(m->ws); u++)
			if (!strcmp(watchset__pod_uid(m->ws, u), c->pod_uid))
				return true;
	}
	return false;
}
