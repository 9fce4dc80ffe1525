// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the Kubernetes API source (src/k8s.c): kubeconfig parsing
 * (contexts, relative paths, *-data fields, bad input), base64, Status
 * objects, in-cluster configuration with token rotation, and transport
 * errors against a closed loopback port. Fixtures: tests/fixtures/kube/.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "k8s.h"

static const char *fixtures_dir(void)
{
	const char *dir = getenv("PODSCOPE_FIXTURES");

	return dir ? dir : "tests/fixtures";
}

static char *fixture_path(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", fixtures_dir(), name) < 0)
		return NULL;
	return path;
}

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

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_base64(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{"", ""},
		{"Zg==", "f"},
		{"Zm8=", "fo"},
		{"Zm9v", "foo"},
		{"Zm9vYg", "foob"}, /* padding optional */
		{"Zm9v\nYmFy\n", "foobar"},
		{" Zm9vYmE= ", "fooba"},
	};
	static const char *const bad[] = {"Z", "Zm9vY", "Zm9v!", "Zg=x", "Zg===", "Z===", "Zm9=v"};
	unsigned char *out;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(k8s_base64_decode(good[i].in, strlen(good[i].in), &out, &n), 0);
		assert_int_equal(n, strlen(good[i].out));
		assert_memory_equal(out, good[i].out, n);
		assert_int_equal(out[n], 0);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (k8s_base64_decode(bad[i], strlen(bad[i]), &out, &n) != -EINVAL)
			fail_msg("\"%s\" decoded", bad[i]);
		assert_null(out);
	}
}

static void test_kubeconfig_current_context(void **state)
{
	struct k8s_kubeconfig kc;
	char err[256] = "";
	size_t len;
	char *yaml = fixture_read("kube/config-multi.yaml", &len);

	(void)state;
	assert_int_equal(k8s_kubeconfig_parse(yaml, len, "/cfg", NULL, &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.context, "lab-admin");
	assert_string_equal(kc.cluster, "lab");
	assert_string_equal(kc.user, "lab-admin");
	assert_string_equal(kc.namespace_, "bookinfo");
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	assert_string_equal(kc.ca_file, "/cfg/certs/ca.crt");
	assert_string_equal(kc.cert_file, "/cfg/certs/client.crt");
	assert_string_equal(kc.key_file, "/cfg/./certs/client.key");
	assert_null(kc.token);
	assert_null(kc.token_file);
	assert_null(kc.ca_data);
	assert_false(kc.insecure_skip_tls_verify);
	k8s_kubeconfig__free(&kc);
	assert_null(kc.server);
	k8s_kubeconfig__free(&kc);

	/* another context: absolute CA path kept, token, no base dir */
	assert_int_equal(
		k8s_kubeconfig_parse(yaml, len, NULL, "prod-viewer", &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://prod.example.com:6443");
	assert_string_equal(kc.ca_file, "/etc/prod/ca.crt");
	assert_string_equal(kc.token, "eyJhbGciOiJSUzI1NiIsImtpZCI6InZpZXdlciJ9.payload.sig");
	assert_string_equal(kc.namespace_, "shop");
	assert_null(kc.cert_file);
	k8s_kubeconfig__free(&kc);

	assert_int_equal(k8s_kubeconfig_parse(yaml, len, "rel", "lab-token", &kc, err, sizeof(err)),
			 0);
	assert_string_equal(kc.token_file, "rel/certs/token");
	assert_string_equal(kc.ca_file, "rel/certs/ca.crt");
	assert_null(kc.namespace_);
	k8s_kubeconfig__free(&kc);

	assert_int_equal(k8s_kubeconfig_parse(yaml, len, NULL, "nope", &kc, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "kubeconfig: no context named \"nope\"");
	assert_null(kc.context);
	free(yaml);
}

static void test_kubeconfig_data(void **state)
{
	static const char ca[] = "-----BEGIN CERTIFICATE-----\nMIIBfakeCA==\n"
				 "-----END CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\nMIIBfakeKey\n";
	struct k8s_kubeconfig kc;
	char err[256] = "";
	size_t len;
	char *yaml = fixture_read("kube/config-data.yaml", &len);

	(void)state;
	assert_int_equal(k8s_kubeconfig_parse(yaml, len, "/x", NULL, &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://[::1]:8443/");
	assert_int_equal(kc.ca_data_len, strlen(ca));
	assert_memory_equal(kc.ca_data, ca, strlen(ca));
	assert_int_equal(kc.cert_data_len, strlen("-----BEGIN CERTIFICATE-----\nMIIBfakeCert"));
	assert_int_equal(kc.key_data_len, strlen(key));
	assert_memory_equal(kc.key_data, key, strlen(key));
	assert_null(kc.ca_file);
	assert_null(kc.cert_file);
	k8s_kubeconfig__free(&kc);
	free(yaml);
}

static const struct {
	const char *yaml;
	int want;
	const char *msg_part;
} bad_kc[] = {
	{"", -EBADMSG, "not a YAML map"},
	{"just a string\n", -EBADMSG, "not a YAML map"},
	{"- a\n- b\n", -EBADMSG, "not a YAML map"},
	{"{{{", -EBADMSG, "invalid YAML at line"},
	{"a: [1, 2\nb: c\n", -EBADMSG, "invalid YAML"},
	{"a: b\n\tc: d\n", -EBADMSG, "invalid YAML"},
	{"\x7f\x45\x4c\x46\x02\x01\x01", -EBADMSG, ""},
	{"kind: Pod\n", -EBADMSG, "kind is \"Pod\""},
	{"kind: [Config]\n", -EBADMSG, "expected a string"},
	{"kind: Config\n", -ENOENT, "no current-context"},
	{"current-context: [x]\n", -EINVAL, "current-context: expected a string"},
	{"current-context: c\n", -ENOENT, "no context named \"c\""},
	{"current-context: c\ncontexts: {}\n", -EINVAL, "contexts: expected a list"},
	{"current-context: c\ncontexts: [x]\n", -EINVAL, "entries must be maps"},
	{"current-context: c\ncontexts:\n- name: c\n", -EINVAL, "has no context map"},
	{"current-context: c\ncontexts:\n- name: c\n  context: {user: u}\n", -EINVAL,
	 "names no cluster"},
	{"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n", -ENOENT,
	 "no cluster named \"k\""},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
	 "clusters:\n- {name: k, cluster: {}}\n",
	 -EINVAL, "cluster \"k\": no server"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
	 "clusters:\n- {name: k, cluster: {server: [a]}}\n",
	 -EINVAL, "server: expected a string"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
	 "clusters:\n- {name: k, cluster: {server: ftp://x}}\n",
	 -EINVAL, "not an http(s) URL"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x', "
	 "certificate-authority-data: 'not base64!'}}\n",
	 -EINVAL, "certificate-authority-data is not valid base64"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x', insecure-skip-tls-verify: "
	 "maybe}}\n",
	 -EINVAL, "\"maybe\" is not a boolean"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x'}}\n",
	 -ENOENT, "no user named \"u\""},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x'}}\n"
	 "users:\n- {name: u, user: {client-certificate: a.crt}}\n",
	 -EINVAL, "certificate and key must come together"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x'}}\n"
	 "users:\n- {name: u, user: {client-key-data: '@@'}}\n",
	 -EINVAL, "client-key-data is not valid base64"},
	{"current-context: c\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\n"
	 "clusters:\n- {name: k, cluster: {server: 'https://x'}}\n"
	 "users:\n- {name: u, user: {exec: {command: gke-gcloud-auth-plugin}}}\n",
	 -ENOTSUP, "exec/auth-provider"},
};

static void test_kubeconfig_bad(void **state)
{
	struct k8s_kubeconfig kc;
	char err[256];
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(bad_kc) / sizeof(bad_kc[0]); i++) {
		err[0] = '\0';
		ret = k8s_kubeconfig_parse(bad_kc[i].yaml, strlen(bad_kc[i].yaml), "/d", NULL, &kc,
					   err, sizeof(err));
		if (ret != bad_kc[i].want || !strstr(err, bad_kc[i].msg_part) || !err[0])
			fail_msg("case %zu: got %d \"%s\", want %d containing \"%s\"", i, ret, err,
				 bad_kc[i].want, bad_kc[i].msg_part);
		assert_null(strchr(err, '\n'));
		assert_null(kc.server);
		assert_null(kc.context);
	}
}

static void test_kubeconfig_insecure_and_nulls(void **state)
{
	static const char y[] = "current-context: c\n"
				"contexts:\n- {name: c, context: {cluster: k, user: u, namespace: "
				"~}}\n"
				"clusters:\n- {name: k, cluster: {server: 'http://127.0.0.1:8001', "
				"insecure-skip-tls-verify: yes, certificate-authority: null}}\n"
				"users:\n- {name: u, user: {token: 'abc'}}\n";
	struct k8s_kubeconfig kc;
	char err[256];

	(void)state;
	assert_int_equal(k8s_kubeconfig_parse(y, strlen(y), NULL, NULL, &kc, err, sizeof(err)), 0);
	assert_true(kc.insecure_skip_tls_verify);
	assert_null(kc.ca_file);
	assert_null(kc.namespace_);
	assert_string_equal(kc.token, "abc");
	k8s_kubeconfig__free(&kc);
}

/* Prefixes of a kubeconfig may or may not parse; none may crash or leak. */
static void test_kubeconfig_truncated(void **state)
{
	struct k8s_kubeconfig kc;
	char err[256];
	size_t len, cut;
	char *yaml = fixture_read("kube/config-multi.yaml", &len);
	int ret, ok = 0;

	(void)state;
	for (cut = 0; cut < len; cut++) {
		err[0] = '\0';
		ret = k8s_kubeconfig_parse(yaml, cut, "/d", NULL, &kc, err, sizeof(err));
		if (ret) {
			assert_true(ret < 0);
			assert_true(err[0] != '\0');
			assert_null(strchr(err, '\n'));
			assert_null(kc.server);
		} else {
			ok++;
			assert_non_null(kc.server);
			k8s_kubeconfig__free(&kc);
		}
	}
	/* the complete users entry comes last: only the tail prefixes succeed */
	assert_true(ok > 0 && (size_t)ok < len / 4);
	free(yaml);
}

static void test_parse_status(void **state)
{
	char msg[256];
	size_t len;
	char *json = fixture_read("status_403.json", &len);

	(void)state;
	assert_int_equal(k8s_parse_status(json, len, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "pods is forbidden: User \"system:serviceaccount"));
	free(json);
	json = fixture_read("status_401.json", &len);
	assert_int_equal(k8s_parse_status(json, len, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "Unauthorized");
	free(json);
	json = fixture_read("podlist_empty.json", &len);
	assert_int_equal(k8s_parse_status(json, len, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "");
	free(json);
	json = "{\"kind\":\"Status\",\"reason\":\"NotFound\"}";
	assert_int_equal(k8s_parse_status(json, strlen(json), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "NotFound");
	assert_int_equal(k8s_parse_status("<html>", 6, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(k8s_parse_status("{\"kind\":\"Status\"}", 17, msg, sizeof(msg)), -EINVAL);
}

static void test_client_from_kubeconfig(void **state)
{
	struct k8s_client *c;
	char err[512] = "";
	char *path = fixture_path("kube/config-multi.yaml");

	(void)state;
	c = k8s_client__from_kubeconfig(path, NULL, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_non_null(strstr(k8s_client__describe(c), "(context lab-admin, "
							"https://127.0.0.1:6443)"));
	assert_null(k8s_client__token(c));
	k8s_client__free(c);

	c = k8s_client__from_kubeconfig(path, "lab-token", err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(k8s_client__token(c), "token-from-file");
	k8s_client__free(c);

	/* the CA file it names does not exist on this machine */
	errno = 0;
	assert_null(k8s_client__from_kubeconfig(path, "prod-viewer", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "certificate-authority /etc/prod/ca.crt: No such file"));

	assert_null(k8s_client__from_kubeconfig(path, "gone", err, sizeof(err)));
	assert_non_null(strstr(err, "config-multi.yaml: no context named \"gone\""));
	free(path);

	assert_null(k8s_client__from_kubeconfig("/nonexistent/kubeconfig", NULL, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "kubeconfig /nonexistent/kubeconfig: No such file or directory");

	path = fixture_path("podlist.json"); /* JSON is YAML: a map, but not a kubeconfig */
	assert_null(k8s_client__from_kubeconfig(path, NULL, err, sizeof(err)));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(err, "kind is \"PodList\", not Config"));
	free(path);
	assert_null(k8s_client__from_kubeconfig("/", NULL, err, sizeof(err)));
	assert_int_equal(errno, EISDIR);
}

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/podscope-test-k8s-XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static char *tmpdir_file(struct tmpdir *t, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", t->path, name) > 0);
	return p;
}

static void tmpdir_remove(struct tmpdir *t, const char *const *names)
{
	char *p;

	for (; *names; names++) {
		p = tmpdir_file(t, *names);
		unlink(p);
		free(p);
	}
	rmdir(t->path);
}

static void test_in_cluster_token_rotation(void **state)
{
	static const char *const names[] = {"token", "ca.crt", "namespace", NULL};
	char *token_path, *ca_path, *ns_path, err[512] = "";
	struct k8s_client *c;
	struct tmpdir t;

	(void)state;
	tmpdir_make(&t);
	token_path = tmpdir_file(&t, "token");
	ca_path = tmpdir_file(&t, "ca.crt");
	ns_path = tmpdir_file(&t, "namespace");
	write_file(ca_path, "ca");
	write_file(token_path, "first-token\n");
	write_file(ns_path, "podscope");

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_null(k8s_client__in_cluster(t.path, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST is not set"));

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	setenv("PODSCOPE_SA_DIR", t.path, 1);
	c = k8s_client__in_cluster(NULL, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_non_null(strstr(k8s_client__describe(c), "in-cluster (https://[fd00::1]:6443"));
	assert_non_null(strstr(k8s_client__describe(c), t.path));
	assert_string_equal(k8s_client__token(c), "first-token");

	/* rotated on disk: the cached token stays until the interval passes */
	write_file(token_path, "second-token");
	assert_string_equal(k8s_client__token(c), "first-token");
	k8s_client__set_token_refresh(c, 0);
	assert_string_equal(k8s_client__token(c), "second-token");
	/* a failed re-read keeps the last good token */
	unlink(token_path);
	assert_string_equal(k8s_client__token(c), "second-token");
	k8s_client__free(c);

	/* missing token at start is an error */
	assert_null(k8s_client__in_cluster(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "token file"));
	write_file(token_path, "\n");
	assert_null(k8s_client__in_cluster(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "empty or not one line"));
	unlink(ca_path);
	write_file(token_path, "x");
	assert_null(k8s_client__in_cluster(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "certificate-authority"));

	setenv("KUBERNETES_SERVICE_PORT", "64 43", 1);
	assert_null(k8s_client__in_cluster(t.path, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("PODSCOPE_SA_DIR");
	tmpdir_remove(&t, names);
	free(token_path);
	free(ca_path);
	free(ns_path);
}

/* A loopback port nobody listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_list_pods_connection_refused(void **state)
{
	static const char *const names[] = {"config", NULL};
	struct pod_meta_list l = {.count = 7};
	char *cfg, *yaml, err[512] = "";
	struct k8s_client *c;
	struct tmpdir t;

	(void)state;
	tmpdir_make(&t);
	cfg = tmpdir_file(&t, "config");
	assert_true(asprintf(&yaml,
			     "current-context: c\n"
			     "contexts:\n- {name: c, context: {cluster: k, user: u}}\n"
			     "clusters:\n- {name: k, cluster: {server: 'http://127.0.0.1:%d/'}}\n"
			     "users:\n- {name: u, user: {token: secret}}\n",
			     closed_port()) > 0);
	write_file(cfg, yaml);
	c = k8s_client__from_kubeconfig(cfg, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(k8s_client__list_pods(c, "node a/b", &l, err, sizeof(err)), -ECONNREFUSED);
	assert_int_equal(l.count, 0);
	/* the node name is URL-encoded into the field selector */
	assert_non_null(strstr(err, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode%20a%2Fb: "));
	assert_null(strchr(err, '\n'));
	assert_null(strstr(err, "secret"));
	k8s_client__free(c);
	k8s_client__free(NULL);
	tmpdir_remove(&t, names);
	free(cfg);
	free(yaml);
}

static void test_default_node_name(void **state)
{
	char buf[256], small[4];

	(void)state;
	setenv("NODE_NAME", "worker-7", 1);
	assert_int_equal(k8s_default_node_name(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "worker-7");
	assert_int_equal(k8s_default_node_name(small, sizeof(small)), -ENAMETOOLONG);
	unsetenv("NODE_NAME");
	assert_int_equal(k8s_default_node_name(buf, sizeof(buf)), 0);
	assert_true(buf[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_kubeconfig_current_context),
		cmocka_unit_test(test_kubeconfig_data),
		cmocka_unit_test(test_kubeconfig_bad),
		cmocka_unit_test(test_kubeconfig_insecure_and_nulls),
		cmocka_unit_test(test_kubeconfig_truncated),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_client_from_kubeconfig),
		cmocka_unit_test(test_in_cluster_token_rotation),
		cmocka_unit_test(test_list_pods_connection_refused),
		cmocka_unit_test(test_default_node_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
