// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the v1 Pod/PodList parser (src/podmeta.c). Fixtures in
 * tests/fixtures/ follow the Kubernetes API reference for Pod and PodList;
 * every prefix of them must be rejected cleanly (run under ASan by make
 * test-san to catch leaks and overreads).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "podmeta.h"

static char *fixture_path(const char *name)
{
	const char *dir = getenv("PODSCOPE_FIXTURES");
	char *path;

	if (asprintf(&path, "%s/%s", dir ? dir : "tests/fixtures", name) < 0)
		return NULL;
	return path;
}

/* Whole fixture file, NUL-terminated; the test fails if it is missing. */
static char *fixture_read(const char *name, size_t *len)
{
	char *path = fixture_path(name), *buf = NULL;
	size_t cap = 0;
	FILE *f, *mem;
	int c;

	assert_non_null(path);
	f = fopen(path, "r");
	if (!f)
		fail_msg("fixture %s: %s (run from the repo root or set PODSCOPE_FIXTURES)", path,
			 strerror(errno));
	mem = open_memstream(&buf, &cap);
	assert_non_null(mem);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	free(path);
	*len = cap;
	return buf;
}

static int parse_str(const char *s, struct pod_meta_list *l, char *err, size_t errlen)
{
	return podmeta_parse_json(s, strlen(s), l, err, errlen);
}

static void test_podlist_fixture(void **state)
{
	struct pod_meta_list l;
	char err[256] = "";
	struct pod_meta *p;
	size_t len;
	char *json = fixture_read("podlist.json", &len);

	(void)state;
	assert_int_equal(podmeta_parse_json(json, len, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 3);

	p = &l.pods[0];
	assert_string_equal(p->namespace_, "bookinfo");
	assert_string_equal(p->name, "ratings-v1-5b7d8f9c4-abcde");
	assert_string_equal(p->uid, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	assert_string_equal(p->node, "node-a");
	assert_string_equal(p->pod_ip, "10.244.0.12");
	assert_string_equal(p->phase, "Running");
	/* spec order, not status order; init containers are not listed */
	assert_int_equal(p->container_count, 2);
	assert_string_equal(p->containers[0].name, "ratings");
	assert_string_equal(p->containers[0].image, "docker.io/istio/"
						    "examples-bookinfo-ratings-v1:1.19.1");
	assert_string_equal(p->containers[0].runtime, "containerd");
	assert_string_equal(p->containers[0].id, "9a2c1e5f3b7d40e8a6c4b2d0f1e3a5c7b9d1f3e5a7c9b1d3f"
						 "5e7a9c1b3d5f7e9");
	assert_string_equal(p->containers[1].name, "istio-proxy");
	assert_string_equal(p->containers[1].id, "2b6f0cc904d137be2e1730235f5664094b831186c8d5d9c6f"
						 "de02f0f5e1a5e27");

	p = &l.pods[1];
	assert_string_equal(p->pod_ip, "fd00:10:244::1f");
	assert_string_equal(p->containers[0].runtime, "cri-o");
	assert_string_equal(p->containers[0].id, "4c1d8e2f6a0b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8"
						 "c0d2e4f6a8b0c2d");
	assert_string_equal(p->containers[1].runtime, "docker");
	assert_string_equal(p->containers[1].id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
						 "495991b7852b855");

	/* Pending: status without containerID */
	p = &l.pods[2];
	assert_string_equal(p->phase, "Pending");
	assert_string_equal(p->pod_ip, "");
	assert_int_equal(p->container_count, 1);
	assert_string_equal(p->containers[0].id, "");
	assert_string_equal(p->containers[0].runtime, "");

	pod_meta_list__free(&l);
	assert_int_equal(l.count, 0);
	assert_null(l.pods);
	free(json);
}

static void test_pod_fixture(void **state)
{
	struct pod_meta_list l;
	char err[256] = "";
	size_t len;
	char *json = fixture_read("pod.json", &len);

	(void)state;
	assert_int_equal(podmeta_parse_json(json, len, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.pods[0].name, "productpage-v1-6b746f74dc-9stvs");
	assert_string_equal(l.pods[0].node, "node-b");
	assert_int_equal(l.pods[0].container_count, 2);
	assert_string_equal(l.pods[0].containers[0].id, "0123456789abcdef0123456789abcdef0123456789"
							"abcdef0123456789abcdef");
	/* no status entry for istio-proxy yet */
	assert_string_equal(l.pods[0].containers[1].id, "");
	pod_meta_list__free(&l);
	free(json);
}

static void test_empty_list(void **state)
{
	struct pod_meta_list l;
	char err[256];
	size_t len;
	char *json = fixture_read("podlist_empty.json", &len);

	(void)state;
	assert_int_equal(podmeta_parse_json(json, len, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 0);
	assert_null(l.pods);
	pod_meta_list__free(&l);
	assert_int_equal(parse_str("{\"kind\":\"PodList\",\"items\":null}", &l, err, sizeof(err)),
			 0);
	assert_int_equal(l.count, 0);
	free(json);
}

/* Every proper prefix of a fixture is invalid JSON: each must fail, no leak. */
static void check_prefixes(const char *name)
{
	struct pod_meta_list l;
	char err[256];
	size_t len, cut;
	char *json = fixture_read(name, &len);

	for (cut = 0; cut < len; cut++) {
		/* trailing whitespace after the closing brace is still complete JSON */
		if (strspn(json + cut, " \n\t") == len - cut)
			break;
		err[0] = '\0';
		assert_int_equal(podmeta_parse_json(json, cut, &l, err, sizeof(err)), -EBADMSG);
		assert_int_equal(l.count, 0);
		assert_null(l.pods);
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
	}
	free(json);
}

static void test_truncated(void **state)
{
	(void)state;
	check_prefixes("podlist.json");
	check_prefixes("pod.json");
}

/* Inputs that must fail with @want and leave a one-line message. */
static const struct {
	const char *json;
	int want;
	const char *msg_part;
} bad[] = {
	{"", -EBADMSG, "invalid JSON"},
	{"garbage", -EBADMSG, "invalid JSON"},
	{"<html>502 Bad Gateway</html>", -EBADMSG, "invalid JSON"},
	{"{\"kind\":\"PodList\",\"items\":[]} trailing", -EBADMSG, "invalid JSON"},
	{"{\"kind\":\"Pod\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}", -EBADMSG,
	 "duplicate"},
	{"[]", -EINVAL, "expected a JSON object"},
	{"42", -EBADMSG, "invalid JSON"}, /* jansson refuses non-container roots */
	{"{}", -EINVAL, "neither Pod nor PodList"},
	{"{\"kind\":\"Status\",\"code\":401}", -EINVAL, "\"Status\""},
	{"{\"kind\":\"Deployment\"}", -EINVAL, "neither"},
	{"{\"kind\":7}", -EINVAL, "kind: expected a string"},
	{"{\"kind\":\"PodList\",\"items\":{}}", -EINVAL, "items: expected an array"},
	{"{\"kind\":\"PodList\",\"items\":[42]}", -EINVAL, "items[0]: expected an object"},
	{"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"}},{}]}", -EINVAL,
	 "items[1]: no metadata"},
	{"{\"kind\":\"Pod\"}", -EINVAL, "no metadata"},
	{"{\"kind\":\"Pod\",\"metadata\":[]}", -EINVAL, "metadata: expected an object"},
	{"{\"kind\":\"Pod\",\"metadata\":{}}", -EINVAL, "metadata.name missing"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"\"}}", -EINVAL, "missing or empty"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":5}}", -EINVAL, "name: expected a string"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"uid\":true}}", -EINVAL,
	 "metadata.uid: expected a string"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"uid\":"
	 "\"0123456789012345678901234567890123456789\"}}",
	 -EINVAL, "too long"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":\"x\"}", -EINVAL,
	 "spec: expected an object"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":{}}}", -EINVAL,
	 "containers: expected an array"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[1]}}", -EINVAL,
	 "containers[0]: expected an object"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{}]}}", -EINVAL,
	 "containers[0]: name missing"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	 "[{\"name\":\"c\",\"image\":[]}]}}",
	 -EINVAL, "image: expected a string"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"nodeName\":1}}", -EINVAL,
	 "spec.nodeName"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"status\":{\"podIP\":1}}", -EINVAL,
	 "status.podIP"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"status\":{\"containerStatuses\":5}}",
	 -EINVAL, "containerStatuses: expected an array"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"status\":{\"containerStatuses\":"
	 "[\"x\"]}}",
	 -EINVAL, "containerStatuses[0]: expected an object"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	 "[{\"name\":\"c\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\","
	 "\"containerID\":\"abc\"}]}}",
	 -EINVAL, "not <runtime>://<id>"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	 "[{\"name\":\"c\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\","
	 "\"containerID\":\"containerd://\"}]}}",
	 -EINVAL, "bad runtime or id length"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	 "[{\"name\":\"c\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\","
	 "\"containerID\":\"containerd://"
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"}]}}",
	 -EINVAL, "bad runtime or id length"},
	{"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	 "[{\"name\":\"c\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\","
	 "\"containerID\":42}]}}",
	 -EINVAL, "containerID: expected a string"},
	/* a later bad pod after a good one with containers: the good one is freed */
	{"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":"
	 "{\"containers\":[{\"name\":\"c\"},{\"name\":\"d\"}]}},{\"metadata\":{\"name\":\"b\"},"
	 "\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":1}]}}]}",
	 -EINVAL, "items[1].spec.containers[1].name"},
};

static void test_bad_inputs(void **state)
{
	struct pod_meta_list l;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int ret = parse_str(bad[i].json, &l, err, sizeof(err));

		if (ret != bad[i].want || !strstr(err, bad[i].msg_part))
			fail_msg("case %zu (%s): got %d \"%s\", want %d containing \"%s\"", i,
				 bad[i].json, ret, err, bad[i].want, bad[i].msg_part);
		assert_int_equal(l.count, 0);
		assert_null(l.pods);
		assert_null(strchr(err, '\n'));
	}
}

static void test_defaults_and_unknown_runtime(void **state)
{
	struct pod_meta_list l;
	char err[256];
	static const char j[] = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"bare\"},\"spec\":{"
				"\"containers\":"
				"[{\"name\":\"c\"},{\"name\":\"d\"}]},\"status\":{"
				"\"containerStatuses\":["
				"{\"name\":\"d\",\"containerID\":\"kata://abc\"},"
				"{\"name\":\"gone\",\"containerID\":\"containerd://def\"}]}}";

	(void)state;
	assert_int_equal(parse_str(j, &l, err, sizeof(err)), 0);
	assert_string_equal(l.pods[0].namespace_, "default");
	assert_string_equal(l.pods[0].uid, "");
	assert_string_equal(l.pods[0].containers[0].id, "");
	assert_string_equal(l.pods[0].containers[1].runtime, "kata");
	assert_string_equal(l.pods[0].containers[1].id, "abc");
	pod_meta_list__free(&l);
	pod_meta_list__free(&l); /* idempotent */
	pod_meta_list__free(NULL);
}

static void test_not_nul_terminated(void **state)
{
	struct pod_meta_list l;
	char err[64];
	static const char j[] = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}";
	char *buf = malloc(sizeof(j) - 1);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, j, sizeof(j) - 1);
	assert_int_equal(podmeta_parse_json(buf, sizeof(j) - 1, &l, err, sizeof(err)), 0);
	assert_string_equal(l.pods[0].name, "x");
	pod_meta_list__free(&l);
	/* tiny and absent error buffers are fine */
	assert_int_equal(podmeta_parse_json(buf, 3, &l, err, 4), -EBADMSG);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(podmeta_parse_json(buf, 3, &l, NULL, 0), -EBADMSG);
	assert_int_equal(podmeta_parse_json(NULL, 0, &l, NULL, 0), -EINVAL);
	free(buf);
}

static void test_load_file(void **state)
{
	struct pod_meta_list l;
	char err[512];
	char *path = fixture_path("podlist.json");

	(void)state;
	assert_int_equal(podmeta_load_file(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 3);
	pod_meta_list__free(&l);
	free(path);

	assert_int_equal(podmeta_load_file("/nonexistent/pods.json", &l, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/pods.json"));
	assert_int_equal(l.count, 0);
	assert_int_equal(podmeta_load_file("/", &l, err, sizeof(err)), -EISDIR);

	path = fixture_path("status_401.json");
	assert_int_equal(podmeta_load_file(path, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "status_401.json: kind \"Status\""));
	free(path);
	assert_int_equal(podmeta_load_file("/dev/null", &l, err, sizeof(err)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podlist_fixture),
		cmocka_unit_test(test_pod_fixture),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_defaults_and_unknown_runtime),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
