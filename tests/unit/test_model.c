// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the model (src/model.c): joining client and server sides
 * into edges, naming ends from the watched set and pod IPs, drops by reason,
 * and the snapshot JSON. Uses an offline watched set (no BPF).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model.h"

#define UID_R "11111111-2222-4333-8444-555555555555"
#define UID_L "99999999-2222-4333-8444-555555555555"

static struct target_process procs_app[] = {{.pid = 100, .comm = "labapp"}};
static struct target_process procs_prx[] = {{.pid = 200, .comm = "haproxy"}};
static struct target_process procs_x[] = {{.pid = 300, .comm = "client"}};
static struct target_container cs_reviews[] = {
	{.meta = {.name = "app", .id = "aa"}, .role = ROLE_APP, .nprocs = 1, .procs = procs_app},
	{.meta = {.name = "istio-proxy", .id = "bb"},
	 .role = ROLE_SIDECAR,
	 .nprocs = 1,
	 .procs = procs_prx},
	{.meta = {.name = "tool", .id = "cc"}, .role = ROLE_APP, .nprocs = 1, .procs = procs_x},
};
static struct target_pod pods[] = {
	{.meta = {.namespace_ = "default", .name = "reviews", .uid = UID_R, .pod_ip = "198.18.0.11"},
	 .name_known = true,
	 .ncontainers = 3,
	 .containers = cs_reviews},
	{.meta = {.namespace_ = "default", .name = "loadgen", .uid = UID_L, .pod_ip = "198.18.0.10"},
	 .name_known = true},
};
static struct target_set set = {.npods = 2, .pods = pods};
static const bool keep[] = {true, false};

static struct side_key key(uint32_t tgid, uint32_t peer, uint8_t role, const char *dialed,
			   uint16_t dport, uint16_t sport, const char *peer_addr)
{
	struct side_key k = {.tgid = tgid,
			     .peer_tgid = peer,
			     .role = role,
			     .family = AF_INET,
			     .dialed_port = dport,
			     .server_port = sport,
			     .netns = 1};

	inet_pton(AF_INET, dialed, k.dialed_addr);
	if (peer_addr)
		inet_pton(AF_INET, peer_addr, k.peer_addr);
	return k;
}

static const struct edge *find_edge(struct model *m, pid_t client, pid_t server, const char *dialed)
{
	int i;

	for (i = 0; i < model__nedges(m); i++) {
		const struct edge *e = model__edge(m, i);

		if (e->client.pid == client && e->server.pid == server &&
		    !strcmp(e->dialed, dialed))
			return e;
	}
	return NULL;
}

/*
 * Sorted by traffic, each edge's bytes counted once: an edge watched at one
 * end only (the inbound one) is not outranked by a smaller one watched at
 * both ends, whose two sides see the same bytes.
 */
static void test_sort_once(void **state)
{
	struct watchset *ws = watchset__new_offline(&set, keep);
	struct side_metrics cm = {.write_bytes = 160, .read_bytes = 4400};
	struct side_metrics sm = {.read_bytes = 160, .write_bytes = 4400};
	struct side_metrics in = {.connect_count = 3, .read_bytes = 300, .write_bytes = 4700};
	struct side_key k;
	struct model *m;

	(void)state;
	assert_non_null(ws);
	m = model__new(ws, &set);
	assert_non_null(m);
	model__begin_sides(m);
	k = key(200, 0, CONN_ROLE_CLIENT, "127.0.0.1", 9080, 0, NULL);
	model__add_side(m, &k, &cm);
	k = key(100, 200, CONN_ROLE_SERVER, "127.0.0.1", 9080, 9080, NULL);
	model__add_side(m, &k, &sm);
	k = key(200, 0, CONN_ROLE_SERVER, "198.18.0.11", 15006, 15006, "198.18.0.10");
	model__add_side(m, &k, &in);
	assert_int_equal(model__build_edges(m), 2);
	assert_int_equal(model__edge(m, 0)->server.port, 15006);
	assert_int_equal(model__edge(m, 0)->traffic_bytes, 5000);
	assert_int_equal(model__edge(m, 1)->traffic_bytes, 4560);
	model__free(m);
	watchset__free(ws);
}

static void test_join(void **state)
{
	struct watchset *ws = watchset__new_offline(&set, keep);
	struct side_metrics cm = {
		.write_count = 2, .write_bytes = 160, .read_bytes = 4400, .connect_count = 1};
	struct side_metrics sm = {
		.read_count = 2, .read_bytes = 160, .write_bytes = 4400, .connect_count = 1};
	struct side_metrics in = {.connect_count = 3, .read_bytes = 240};
	struct side_metrics out = {.connect_count = 1, .write_bytes = 93};
	struct side_metrics amb = {.write_bytes = 7};
	struct side_key k;
	const struct edge *e;
	struct model *m;
	json_t *doc, *edges;

	(void)state;
	assert_non_null(ws);
	m = model__new(ws, &set);
	assert_non_null(m);
	model__begin_sides(m);
	/* sidecar (200) -> app (100) over loopback, both sides */
	k = key(200, 0, CONN_ROLE_CLIENT, "127.0.0.1", 9080, 0, NULL);
	model__add_side(m, &k, &cm);
	model__add_drop(m, &k, 12, 4);
	k = key(100, 200, CONN_ROLE_SERVER, "127.0.0.1", 9080, 9080, NULL);
	model__add_side(m, &k, &sm);
	/* outside client (loadgen pod IP) -> sidecar inbound */
	k = key(200, 0, CONN_ROLE_SERVER, "198.18.0.11", 15006, 15006, "198.18.0.10");
	model__add_side(m, &k, &in);
	/* app -> somewhere not watched */
	k = key(100, 0, CONN_ROLE_CLIENT, "198.18.0.12", 9080, 0, NULL);
	model__add_side(m, &k, &out);
	/* client 300 dialed one address served by two watched servers: stays alone */
	k = key(100, 300, CONN_ROLE_SERVER, "10.0.0.1", 80, 8080, NULL);
	model__add_side(m, &k, &sm);
	k = key(200, 300, CONN_ROLE_SERVER, "10.0.0.1", 80, 8081, NULL);
	model__add_side(m, &k, &sm);
	k = key(300, 0, CONN_ROLE_CLIENT, "10.0.0.1", 80, 0, NULL);
	model__add_side(m, &k, &amb);
	assert_int_equal(model__build_edges(m), 6);

	e = find_edge(m, 200, 100, "127.0.0.1:9080");
	assert_non_null(e);
	assert_true(e->has_client_side && e->has_server_side);
	assert_int_equal(e->client_side.write_bytes, 160);
	assert_int_equal(e->server_side.read_bytes, 160);
	assert_string_equal(e->client.pod, "default/reviews");
	assert_string_equal(e->client.container, "istio-proxy");
	assert_string_equal(e->server.container, "app");
	assert_int_equal(e->server.port, 9080);
	assert_int_equal(e->nclient_drops, 1);
	assert_int_equal(e->client_drops[0].count, 4);

	e = find_edge(m, 0, 200, "198.18.0.11:15006");
	assert_non_null(e);
	assert_false(e->has_client_side);
	assert_string_equal(e->client.addr, "198.18.0.10");
	assert_string_equal(e->client.pod, "default/loadgen"); /* named by IP */
	assert_int_equal(e->server_side.connect_count, 3);

	e = find_edge(m, 100, 0, "198.18.0.12:9080");
	assert_non_null(e);
	assert_true(e->has_client_side);
	assert_false(e->has_server_side);
	assert_string_equal(e->server.addr, "198.18.0.12");
	assert_string_equal(e->server.pod, "");

	/* ambiguous: the client side is its own edge to the outside address */
	e = find_edge(m, 300, 0, "10.0.0.1:80");
	assert_non_null(e);
	assert_int_equal(e->client_side.write_bytes, 7);
	assert_non_null(find_edge(m, 300, 100, "10.0.0.1:80"));
	assert_non_null(find_edge(m, 300, 200, "10.0.0.1:80"));

	/* sorted by traffic: the sidecar -> app edge (or an equal one) first */
	assert_true(model__edge(m, 0)->traffic_bytes >= model__edge(m, 1)->traffic_bytes);

	doc = model__snapshot_json(m, 2.5);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "podscope.snapshot/"
									       "v1");
	edges = json_object_get(doc, "edges");
	assert_int_equal(json_array_size(edges), 6);
	assert_int_equal(json_array_size(json_object_get(doc, "pods")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "processes")), 3);
	json_decref(doc);
	model__free(m);
	watchset__free(ws);
}

static void test_drop_reason_names(void **state)
{
	struct watchset *ws = watchset__new_offline(&set, keep);
	struct model *m = model__new(ws, &set);
	const char *name;

	(void)state;
	/* names come from the running kernel's BTF enum (never a list of our own):
	 * NOT_SPECIFIED has been value 2 since the enum appeared */
	name = model__drop_reason_name(m, 2);
	assert_non_null(name);
	/* a number only where the kernel has no BTF to read the names from */
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		assert_string_equal(name, "NOT_SPECIFIED");
	else
		assert_string_equal(name, "reason_2");
	assert_string_equal(model__drop_reason_name(m, 0xfffff), "reason_1048575");
	model__free(m);
	watchset__free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_sort_once),
		cmocka_unit_test(test_drop_reason_names),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
