// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the Docker Engine API source (src/docker.c): the
 * ContainerInspect and ContainerList parsers on fixtures written from the
 * Engine API v1.41 reference, truncated and mistyped input, and the client's
 * errors without an engine (no socket, a socket nobody serves).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "docker.h"

static char *fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("PODSCOPE_FIXTURES");
	char *path, *buf = NULL;
	size_t cap = 0;
	FILE *f, *mem;
	int c;

	assert_true(asprintf(&path, "%s/%s", dir ? dir : "tests/fixtures", name) > 0);
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

static void test_inspect_fixture(void **state)
{
	struct docker_container dc;
	char err[256] = "";
	size_t len;
	char *json = fixture_read("docker_inspect.json", &len);

	(void)state;
	assert_int_equal(docker_parse_inspect(json, len, &dc, err, sizeof(err)), 0);
	assert_string_equal(dc.id, "2b6f0cc904d137be2e1730235f5664094b831186c8d5d9c6fde02f0f5e1a5e2"
				   "7");
	assert_string_equal(dc.name, "k8s_istio-proxy_ratings-v1-5b7d8f9c4-abcde_bookinfo_"
				     "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d_0");
	assert_string_equal(dc.image, "docker.io/istio/proxyv2:1.22.0");
	assert_string_equal(dc.state, "running");
	assert_true(dc.running);
	assert_int_equal(dc.pid, 4321);
	assert_string_equal(dc.pod_name, "ratings-v1-5b7d8f9c4-abcde");
	assert_string_equal(dc.pod_namespace, "bookinfo");
	assert_string_equal(dc.pod_uid, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	assert_string_equal(dc.container_name, "istio-proxy");
	free(json);

	json = fixture_read("docker_inspect_exited.json", &len);
	assert_int_equal(docker_parse_inspect(json, len, &dc, err, sizeof(err)), 0);
	assert_false(dc.running);
	assert_int_equal(dc.pid, 0);
	assert_string_equal(dc.state, "exited");
	assert_string_equal(dc.name, "elated_franklin");
	assert_string_equal(dc.pod_name, "");
	free(json);
}

static void test_list_fixture(void **state)
{
	struct docker_container *dc;
	char err[256] = "";
	size_t len;
	int n;
	char *json = fixture_read("docker_list.json", &len);

	(void)state;
	assert_int_equal(docker_parse_list(json, len, &dc, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(dc[0].id, "2b6f0cc904d137be2e1730235f5664094b831186c8d5d9c6fde02f0f5e1a"
				      "5e27");
	assert_string_equal(dc[0].container_name, "istio-proxy");
	assert_true(dc[0].running);
	assert_int_equal(dc[0].pid, 0);
	assert_string_equal(dc[1].container_name, "ratings");
	assert_string_equal(dc[1].pod_uid, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	assert_string_equal(dc[2].name, "elated_franklin");
	assert_false(dc[2].running);
	assert_string_equal(dc[2].state, "exited");
	free(dc);
	free(json);

	assert_int_equal(docker_parse_list("[]", 2, &dc, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(dc);
}

static void check_prefixes(const char *name, bool list)
{
	struct docker_container dc, *arr;
	char err[256];
	size_t len, cut;
	char *json = fixture_read(name, &len);
	int n;

	for (cut = 0; cut < len; cut++) {
		if (strspn(json + cut, " \n\t") == len - cut)
			break;
		err[0] = '\0';
		if (list) {
			assert_int_equal(docker_parse_list(json, cut, &arr, &n, err, sizeof(err)),
					 -EBADMSG);
			assert_null(arr);
			assert_int_equal(n, 0);
		} else {
			assert_int_equal(docker_parse_inspect(json, cut, &dc, err, sizeof(err)),
					 -EBADMSG);
			assert_int_equal(dc.pid, 0);
		}
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
	}
	free(json);
}

static void test_truncated(void **state)
{
	(void)state;
	check_prefixes("docker_inspect.json", false);
	check_prefixes("docker_inspect_exited.json", false);
	check_prefixes("docker_list.json", true);
}

#define ID64 "e90e34656806a8e06d0d7d4c4e2f4d3f0b3a9a1c2d8e7f6a5b4c3d2e1f0a9b8c"

static const struct {
	const char *json;
	int want;
	const char *msg_part;
} bad_inspect[] = {
	{"", -EBADMSG, "invalid JSON"},
	{"{\"message\":\"page not found\"", -EBADMSG, "invalid JSON"},
	{"[]", -EINVAL, "expected a JSON object"},
	{"{}", -EINVAL, "Id: missing"},
	{"{\"Id\":42}", -EINVAL, "Id: expected a string"},
	{"{\"Id\":\"xyz\"}", -EINVAL, "not a hex container id"},
	{"{\"Id\":\"" ID64 "0\"}", -EINVAL, "Id: value too long"},
	{"{\"Id\":\"" ID64 "\"}", -EINVAL, "State: missing"},
	{"{\"Id\":\"" ID64 "\",\"Name\":[],\"State\":{}}", -EINVAL, "Name: expected a string"},
	{"{\"Id\":\"" ID64 "\",\"State\":\"running\"}", -EINVAL, "State: expected an object"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Pid\":1}}", -EINVAL, "State.Running: missing"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":\"yes\",\"Pid\":1}}", -EINVAL,
	 "State.Running: expected a boolean"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true}}", -EINVAL, "State.Pid: missing"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true,\"Pid\":\"1\"}}", -EINVAL,
	 "State.Pid: expected a PID"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true,\"Pid\":-5}}", -EINVAL,
	 "State.Pid: expected a PID"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true,\"Pid\":1.5}}", -EINVAL,
	 "State.Pid: expected a PID"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true,\"Pid\":99999999999}}", -EINVAL,
	 "State.Pid: expected a PID"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":true,\"Pid\":0}}", -EINVAL,
	 "running but Pid is 0"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Status\":7,\"Running\":false,\"Pid\":0}}", -EINVAL,
	 "Status: expected a string"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":false,\"Pid\":0},\"Config\":[]}", -EINVAL,
	 "Config: expected an object"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":false,\"Pid\":0},\"Config\":"
	 "{\"Labels\":[]}}",
	 -EINVAL, "Labels: expected an object"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":false,\"Pid\":0},\"Config\":"
	 "{\"Labels\":{\"io.kubernetes.pod.uid\":1}}}",
	 -EINVAL, "io.kubernetes.pod.uid: expected a string"},
	{"{\"Id\":\"" ID64 "\",\"State\":{\"Running\":false,\"Pid\":0},\"Config\":"
	 "{\"Labels\":{\"io.kubernetes.pod.uid\":\"0123456789012345678901234567890123456789\"}}}",
	 -EINVAL, "io.kubernetes.pod.uid: value too long"},
};

static void test_inspect_bad(void **state)
{
	struct docker_container dc;
	char err[256];
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(bad_inspect) / sizeof(bad_inspect[0]); i++) {
		err[0] = '\0';
		ret = docker_parse_inspect(bad_inspect[i].json, strlen(bad_inspect[i].json), &dc,
					   err, sizeof(err));
		if (ret != bad_inspect[i].want || !strstr(err, bad_inspect[i].msg_part))
			fail_msg("case %zu: got %d \"%s\", want %d containing \"%s\"", i, ret, err,
				 bad_inspect[i].want, bad_inspect[i].msg_part);
		assert_null(strchr(err, '\n'));
		assert_string_equal(dc.id, "");
	}
	assert_int_equal(docker_parse_inspect(NULL, 0, &dc, err, sizeof(err)), -EINVAL);
}

static void test_list_bad(void **state)
{
	static const struct {
		const char *json;
		int want;
		const char *msg_part;
	} bad[] = {
		{"{}", -EINVAL, "expected a JSON array"},
		{"[1]", -EINVAL, "[0]: expected an object"},
		{"[{\"Id\":\"" ID64 "\"},{}]", -EINVAL, "[1]: Id: missing"},
		{"[{\"Id\":\"" ID64 "\",\"Names\":\"/x\"}]", -EINVAL, "Names: expected an array"},
		{"[{\"Id\":\"" ID64 "\",\"Names\":[1]}]", -EINVAL, "Names: expected an array"},
		{"[{\"Id\":\"" ID64 "\",\"State\":{}}]", -EINVAL, "State: expected a string"},
		{"[{\"Id\":\"" ID64 "\",\"Labels\":\"a=b\"}]", -EINVAL, "Labels: expected"},
	};
	struct docker_container *dc;
	char err[256];
	size_t i;
	int n, ret;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ret = docker_parse_list(bad[i].json, strlen(bad[i].json), &dc, &n, err,
					sizeof(err));
		if (ret != bad[i].want || !strstr(err, bad[i].msg_part))
			fail_msg("case %zu: got %d \"%s\", want %d containing \"%s\"", i, ret, err,
				 bad[i].want, bad[i].msg_part);
		assert_null(dc);
		assert_int_equal(n, 0);
	}
}

static void test_client_no_engine(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/podscope-test-docker-XXXXXX", err[512];
	struct docker_container dc, *arr;
	struct docker_client *c;
	int fd, n;

	(void)state;
	assert_null(docker_client__new("/nonexistent/docker.sock", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "docker socket /nonexistent/docker.sock: No such file or "
				 "directory");
	assert_null(docker_client__new("/etc/hostname", err, sizeof(err)));
	assert_int_equal(errno, ENOTSOCK);

	/* a socket file whose listener is gone: connection refused */
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/docker.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	setenv("DOCKER_HOST", "unix:///nonexistent", 1);
	assert_null(docker_client__new(NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent"));
	unsetenv("DOCKER_HOST");
	c = docker_client__new(sa.sun_path, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_non_null(strstr(docker_client__describe(c), "docker-api unix:/tmp/"));
	assert_int_equal(docker_client__inspect(c, ID64, &dc, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "inspect " ID64 ": "));
	assert_null(strchr(err, '\n'));
	assert_int_equal(docker_client__list_containers(c, &arr, &n, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_null(arr);
	/* ids that could walk the URL are refused before any request */
	assert_int_equal(docker_client__inspect(c, "../../info", &dc, err, sizeof(err)), -EINVAL);
	assert_int_equal(docker_client__inspect(c, "a?b", &dc, err, sizeof(err)), -EINVAL);
	assert_int_equal(docker_client__inspect(c, "", &dc, err, sizeof(err)), -EINVAL);
	assert_int_equal(docker_client__inspect(c, NULL, &dc, err, sizeof(err)), -EINVAL);
	docker_client__free(c);
	docker_client__free(NULL);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_fixture), cmocka_unit_test(test_list_fixture),
		cmocka_unit_test(test_truncated),	cmocka_unit_test(test_inspect_bad),
		cmocka_unit_test(test_list_bad),	cmocka_unit_test(test_client_no_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
