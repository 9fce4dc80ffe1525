// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the Prometheus view (src/prom.c) on a model built from an
 * offline watched set: HELP/TYPE once per family and before its samples,
 * label escaping, cumulative RTT buckets ending in +Inf == _count, base
 * units, one series per edge side (two processes of one container to the
 * same peer are summed), drops by reason, container resources under
 * cAdvisor's names, and every sample name listed by prom_metric_names().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "prom.h"

#define UID_R "11111111-2222-4333-8444-555555555555"

static struct target_process procs_app[] = {{.pid = 100, .comm = "labapp"},
					    {.pid = 101, .comm = "labapp"}};
static struct target_process procs_prx[] = {{.pid = 200, .comm = "haproxy"}};
static struct target_container cs[] = {
	{.meta = {.name = "app\"x\\y", .id = "aa"},
	 .role = ROLE_APP,
	 .nprocs = 2,
	 .procs = procs_app},
	{.meta = {.name = "istio-proxy", .id = "bb"},
	 .role = ROLE_SIDECAR,
	 .nprocs = 1,
	 .procs = procs_prx},
};
static struct target_pod pods[] = {
	{.meta = {.namespace_ = "default", .name = "reviews", .uid = UID_R, .pod_ip = "198.18.0.11"},
	 .name_known = true,
	 .ncontainers = 2,
	 .containers = cs},
};
static struct target_set set = {.npods = 1, .pods = pods};
static const bool keep[] = {true};

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

static char *render(struct model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(prom_write(m, f), 0);
	fclose(f);
	return buf;
}

/* Value of the sample line that starts with @prefix (name{labels...). -1 if absent. */
static double sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n)) {
			const char *eol = strchr(p, '\n');
			const char *sp = memchr(p, '}', eol ? (size_t)(eol - p) : strlen(p));

			sp = sp ? sp + 1 : p + n;
			return strtod(sp, NULL);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static bool listed(const char *name)
{
	const char *const *n;

	for (n = prom_metric_names(); *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

static struct model *build(struct watchset **wsp, struct resource_sample *res,
			   struct agent_health *h)
{
	struct side_metrics c1 = {.write_count = 2,
				  .write_bytes = 160,
				  .write_ns = 1500000000,
				  .connect_count = 1,
				  .connect_ns = 2000,
				  .rtt_count = 4,
				  .rtt_sum_us = 70,
				  .retransmits = 1};
	struct side_metrics s1 = {.read_count = 2, .read_bytes = 160, .write_bytes = 4400};
	struct side_metrics in = {.connect_count = 3, .read_bytes = 240};
	struct watchset *ws = watchset__new_offline(&set, keep);
	struct model *m;
	struct side_key k;

	assert_non_null(ws);
	m = model__new(ws, &set);
	assert_non_null(m);
	c1.rtt_hist.slots[2] = 1; /* 4..8 us */
	c1.rtt_hist.slots[3] = 2; /* 8..16 us */
	c1.rtt_hist.slots[4] = 1; /* 16..32 us */
	model__begin_sides(m);
	/* sidecar (200) -> app (100), both sides */
	k = key(200, 0, CONN_ROLE_CLIENT, "127.0.0.1", 9080, 0, NULL);
	model__add_side(m, &k, &c1);
	model__add_drop(m, &k, 2, 4);
	k = key(100, 200, CONN_ROLE_SERVER, "127.0.0.1", 9080, 9080, NULL);
	model__add_side(m, &k, &s1);
	/* both app processes (100, 101) -> sidecar outbound: two edges, one label set */
	k = key(100, 0, CONN_ROLE_CLIENT, "198.18.0.12", 9080, 0, NULL);
	model__add_side(m, &k, &c1);
	k = key(101, 0, CONN_ROLE_CLIENT, "198.18.0.12", 9080, 0, NULL);
	model__add_side(m, &k, &c1);
	k = key(200, 100, CONN_ROLE_SERVER, "198.18.0.12", 9080, 15001, NULL);
	model__add_side(m, &k, &s1);
	k = key(200, 101, CONN_ROLE_SERVER, "198.18.0.12", 9080, 15001, NULL);
	model__add_side(m, &k, &s1);
	/* an outside client -> sidecar inbound */
	k = key(200, 0, CONN_ROLE_SERVER, "198.18.0.11", 15006, 15006, "198.18.0.1");
	model__add_side(m, &k, &in);
	assert_true(model__build_edges(m) >= 2);
	memset(res, 0, sizeof(*res));
	res->ncontainers = 1;
	res->containers = calloc(1, sizeof(*res->containers));
	res->npods = 1;
	res->pods = calloc(1, sizeof(*res->pods));
	assert_non_null(res->containers);
	assert_non_null(res->pods);
	snprintf(res->containers[0].ns, POD_NAME_MAX, "default");
	snprintf(res->containers[0].pod, POD_NAME_MAX, "reviews");
	snprintf(res->containers[0].container, POD_NAME_MAX, "istio-proxy");
	res->containers[0].u = (struct cgroup_usage){.has_cpu = true,
						     .has_memory = true,
						     .cpu_ns = 2500000000ULL,
						     .mem_working_set_bytes = 4096,
						     .mem_rss_bytes = 1024};
	snprintf(res->pods[0].ns, POD_NAME_MAX, "default");
	snprintf(res->pods[0].pod, POD_NAME_MAX, "reviews");
	res->pods[0].ndevs = 1;
	res->pods[0].devs[0] = (struct netdev_counters){.iface = "eth0", .rx_bytes = 99};
	model__set_resources(m, res);
	memset(h, 0, sizeof(*h));
	h->bpf_stats_enabled = true;
	h->nprogs = 1;
	snprintf(h->progs[0].name, sizeof(h->progs[0].name), "ps_enter_btf");
	h->progs[0].run_time_ns = 500000000;
	h->progs[0].run_count = 7;
	model__set_health(m, h);
	{
		struct model_lost lost = {.recursion_misses = 3};

		lost.conn[CSTAT_SIDES_FULL] = 2;
		model__set_lost(m, &lost);
	}
	*wsp = ws;
	return m;
}

static void test_escape(void **state)
{
	char buf[64];

	(void)state;
	prom_escape_label("a\"b\\c\nd", buf, sizeof(buf));
	assert_string_equal(buf, "a\\\"b\\\\c\\nd");
	prom_escape_label("\"\"\"\"\"\"", buf, 8); /* never splits an escape */
	assert_string_equal(buf, "\\\"\\\"\\\"");
}

/* Every sample belongs to the family of the last TYPE line; no family twice. */
static void test_structure(void **state)
{
	struct resource_sample res;
	struct agent_health h;
	struct watchset *ws;
	struct model *m = build(&ws, &res, &h);
	char *text = render(m), *save = NULL, *line, family[128] = "", type[16] = "";
	char seen[4096] = " ";
	int samples = 0;

	(void)state;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], key[140];
		size_t n;

		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			snprintf(key, sizeof(key), " %s ", name);
			assert_null(strstr(seen, key)); /* one family, one HELP */
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(family, sizeof(family), "%s", name);
			type[0] = '\0';
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, type), 2);
			assert_string_equal(name, family);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
				    !strcmp(type, "histogram"));
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			continue;
		}
		n = strcspn(line, "{ ");
		snprintf(name, sizeof(name), "%.*s", (int)n, line);
		assert_true(type[0]);
		if (!strcmp(type, "histogram"))
			assert_true(!strncmp(name, family, strlen(family)));
		else
			assert_string_equal(name, family);
		assert_true(listed(name));
		samples++;
	}
	assert_true(samples > 50);
	free(text);
	model__free(m);
	watchset__free(ws);
	resource_sample__clear(&res);
}

#define SC                                                                                  \
	"namespace=\"default\",pod=\"reviews\",container=\"istio-proxy\",side=\"client\","  \
	"peer_namespace=\"default\",peer_pod=\"reviews\",peer_container=\"app\\\"x\\\\y\"," \
	"peer_addr=\"\",server_port=\"9080\""
#define SS                                                                                   \
	"namespace=\"default\",pod=\"reviews\",container=\"app\\\"x\\\\y\",side=\"server\"," \
	"peer_namespace=\"default\",peer_pod=\"reviews\",peer_container=\"istio-proxy\","    \
	"peer_addr=\"\",server_port=\"9080\""

#define OC                                                                                   \
	"namespace=\"default\",pod=\"reviews\",container=\"app\\\"x\\\\y\",side=\"client\"," \
	"peer_namespace=\"default\",peer_pod=\"reviews\",peer_container=\"istio-proxy\","    \
	"peer_addr=\"\",server_port=\"15001\""
#define OS                                                                                  \
	"namespace=\"default\",pod=\"reviews\",container=\"istio-proxy\",side=\"server\","  \
	"peer_namespace=\"default\",peer_pod=\"reviews\",peer_container=\"app\\\"x\\\\y\"," \
	"peer_addr=\"\",server_port=\"15001\""

static void test_values(void **state)
{
	struct resource_sample res;
	struct agent_health h;
	struct watchset *ws;
	struct model *m = build(&ws, &res, &h);
	char *text = render(m);
	const char *p;
	double prev = -1, v;
	int buckets = 0;

	(void)state;
	if (getenv("PROM_DUMP"))
		fputs(text, stderr);
	assert_true(sample(text, "podscope_edge_write_bytes_total{" SC "}") == 160);
	assert_true(sample(text, "podscope_edge_write_seconds_total{" SC "}") == 1.5);
	assert_true(sample(text, "podscope_edge_connect_seconds_total{" SC "}") == 2e-6);
	assert_true(sample(text, "podscope_edge_read_bytes_total{" SS "}") == 160);
	/* the two app processes are one series per side, summed */
	assert_true(sample(text, "podscope_edge_write_bytes_total{" OC "}") == 320);
	assert_true(sample(text, "podscope_edge_read_bytes_total{" OS "}") == 320);
	assert_null(strstr(text, "podscope_edge_connect_seconds_total{" SS "}"));
	/* the outside client is named by address */
	assert_non_null(strstr(text, "side=\"server\",peer_namespace=\"\",peer_pod=\"\","
				     "peer_container=\"\",peer_addr=\"198.18.0.1\","
				     "server_port=\"15006\"} 3"));
	assert_true(sample(text, "podscope_edge_retransmits_total{" SC "}") == 1);
	assert_non_null(strstr(text, "podscope_edge_drops_total{" SC ",reason=\""));
	/* histogram: cumulative, in seconds, +Inf == _count, _sum in seconds */
	for (p = strstr(text, "podscope_edge_rtt_seconds_bucket{" SC); p;
	     p = strstr(p + 1, "podscope_edge_rtt_seconds_bucket{" SC)) {
		v = strtod(strchr(p, '}') + 1, NULL);
		assert_true(v >= prev);
		prev = v;
		buckets++;
	}
	assert_int_equal(buckets, 26);
	assert_true(sample(text, "podscope_edge_rtt_seconds_bucket{" SC ",le=\"4e-06\"}") == 0);
	assert_true(sample(text, "podscope_edge_rtt_seconds_bucket{" SC ",le=\"8e-06\"}") == 1);
	assert_true(sample(text, "podscope_edge_rtt_seconds_bucket{" SC ",le=\"1.6e-05\"}") == 3);
	assert_true(sample(text, "podscope_edge_rtt_seconds_bucket{" SC ",le=\"+Inf\"}") == 4);
	assert_true(sample(text, "podscope_edge_rtt_seconds_count{" SC "}") == 4);
	assert_true(sample(text, "podscope_edge_rtt_seconds_sum{" SC "}") == 7e-05);
	/* resources and health */
	assert_true(sample(text, "container_cpu_usage_seconds_total{namespace=\"default\","
				 "pod=\"reviews\",container=\"istio-proxy\"}") == 2.5);
	assert_true(sample(text, "container_memory_working_set_bytes{namespace=\"default\","
				 "pod=\"reviews\",container=\"istio-proxy\"}") == 4096);
	assert_true(sample(text, "container_network_receive_bytes_total{namespace=\"default\","
				 "pod=\"reviews\",container=\"POD\",interface=\"eth0\"}") == 99);
	assert_null(strstr(text, "container_fs_reads_bytes_total{")); /* no io: no sample */
	assert_true(sample(text, "podscope_bpf_program_runs_total{program=\"ps_enter_btf\"") == 7);
	assert_true(sample(text, "podscope_bpf_program_run_seconds_total{program=\"ps_enter_"
				 "btf\"") == 0.5);
	assert_true(sample(text, "podscope_lost_events_total{reason=\"conn_events_ringbuf\"}") ==
		    0);
	assert_true(sample(text, "podscope_lost_events_total{reason=\"sides_map_full\"}") == 2);
	assert_true(sample(text, "podscope_lost_events_total{reason=\"bpf_recursion_misses\"}") ==
		    3);
	assert_true(sample(text, "podscope_watched_pods ") == 1);
	free(text);
	model__free(m);
	watchset__free(ws);
	resource_sample__clear(&res);
}

/* A pod removed at run time loses its edge series. */
static void test_removed_pod(void **state)
{
	struct resource_sample res;
	struct agent_health h;
	struct watchset *ws;
	struct model *m = build(&ws, &res, &h);
	char *text;

	(void)state;
	assert_int_equal(watchset__remove_pod(ws, UID_R, NULL), 0);
	assert_int_equal(watchset__remove_pod(ws, UID_R, NULL), -ENOENT);
	text = render(m);
	assert_null(strstr(text, "podscope_edge_write_bytes_total{"));
	assert_non_null(strstr(text, "# TYPE podscope_edge_write_bytes_total counter"));
	assert_true(sample(text, "podscope_watched_pods ") == 0);
	free(text);
	assert_int_equal(watchset__add_pod(ws, &set, 0), 0);
	assert_int_equal(watchset__add_pod(ws, &set, 0), -EEXIST);
	text = render(m);
	assert_non_null(strstr(text, "podscope_edge_write_bytes_total{"));
	free(text);
	model__free(m);
	watchset__free(ws);
	resource_sample__clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_removed_pod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
