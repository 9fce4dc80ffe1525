// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for sidecar classification (src/sidecar.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar.h"

static enum container_role classify(const char *name, const char *comm, uid_t uid, uint16_t port,
				    char *why)
{
	uint16_t ports[1] = {port};
	struct sidecar_proc_view p = {
		.comm = comm, .uid = uid, .listen_ports = ports, .nlisten = port ? 1 : 0};

	return sidecar_classify(name, &p, comm ? 1 : 0, NULL, why, 64);
}

static void test_rules(void **state)
{
	char why[64];

	(void)state;
	assert_int_equal(classify("istio-proxy", "envoy", 1337, 15001, why), ROLE_SIDECAR);
	assert_string_equal(why, "container name istio-proxy");
	assert_int_equal(classify("linkerd-proxy", "linkerd2-proxy", 2102, 0, why), ROLE_SIDECAR);
	assert_int_equal(classify("proxy", "envoy", 101, 0, why), ROLE_SIDECAR);
	assert_string_equal(why, "process envoy");
	assert_int_equal(classify("mesh", "pilot-agent", 101, 0, why), ROLE_SIDECAR);
	assert_int_equal(classify("edge", "haproxy", 99, 15006, why), ROLE_SIDECAR);
	assert_string_equal(why, "haproxy listening on 15006");
	assert_int_equal(classify("web", "anything", 1337, 0, why), ROLE_SIDECAR);
	assert_string_equal(why, "process uid 1337");
}

static void test_not_sidecars(void **state)
{
	char why[64];

	(void)state;
	/* nginx serving the app on 8080 as root is the application */
	assert_int_equal(classify("web", "nginx", 0, 8080, why), ROLE_APP);
	assert_int_equal(classify("app", "labapp", 0, 9080, why), ROLE_APP);
	assert_int_equal(classify("POD", "pause", 65535, 0, why), ROLE_OTHER);
	assert_int_equal(classify("", "pause", 65535, 0, why), ROLE_OTHER);
	assert_int_equal(classify("idle", NULL, 0, 0, why), ROLE_OTHER);
	assert_string_equal(why, "no running process");
}

static void test_override_replaces_table(void **state)
{
	const char *names[] = {"my-proxy"};
	struct sidecar_overrides ovr = {.sidecar_containers = names, .count = 1};
	struct sidecar_proc_view p = {.comm = "envoy", .uid = 1337};
	char why[64];

	(void)state;
	assert_int_equal(sidecar_classify("my-proxy", &p, 1, &ovr, why, sizeof(why)), ROLE_SIDECAR);
	assert_string_equal(why, "--sidecar-container my-proxy");
	/* with an override, envoy as uid 1337 in another container is not a sidecar */
	assert_int_equal(sidecar_classify("istio-proxy", &p, 1, &ovr, why, sizeof(why)), ROLE_APP);
	assert_string_equal(container_role_name(ROLE_SIDECAR), "sidecar");
	assert_string_equal(container_role_name(ROLE_APP), "app");
	assert_string_equal(container_role_name(ROLE_OTHER), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_not_sidecars),
		cmocka_unit_test(test_override_replaces_table),
	};

	return cmocka_run_group_tests_name("sidecar", tests, NULL, NULL);
}
