// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the kernel-view parsers (src/procfs.c): cgroup paths of every
 * runtime and driver kubelet uses, v1/v2 /proc/<pid>/cgroup files, NSpid.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "procfs.h"

#define UID  "7f3c2a10-5b6e-4d2f-9a81-0c4e5f6a7b8c"
#define UID_ "7f3c2a10_5b6e_4d2f_9a81_0c4e5f6a7b8c"
#define CID  "3b1f9e4c2d7a8b6e5f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"

struct path_case {
	const char *path;
	const char *runtime;
	const char *qos;
	int systemd;
};

static void expect_match(const struct path_case *c)
{
	struct cgroup_match m;

	if (cgpath_parse(c->path, &m) != 0)
		fail_msg("no match for %s", c->path);
	assert_string_equal(m.pod_uid, UID);
	assert_string_equal(m.container_id, CID);
	assert_string_equal(m.runtime, c->runtime);
	assert_string_equal(m.qos, c->qos);
	assert_int_equal(m.systemd, c->systemd);
}

static void test_cgroupfs_driver(void **state)
{
	static const struct path_case cases[] = {
		{"/kubepods/burstable/pod" UID "/" CID, "", "burstable", 0},
		{"/kubepods/besteffort/pod" UID "/" CID, "", "besteffort", 0},
		{"/kubepods/pod" UID "/" CID, "", "guaranteed", 0},
		{"/kubepods/burstable/pod" UID "/crio-" CID, "cri-o", "burstable", 0},
		/* minikube (docker driver): the node is itself a docker container */
		{"/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		 "/kubepods/burstable/pod" UID "/" CID,
		 "", "burstable", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_match(&cases[i]);
}

static void test_systemd_driver(void **state)
{
	static const struct path_case cases[] = {
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
		 "cri-"
		 "containerd"
		 "-" CID ".s"
		 "co"
		 "p"
		 "e",
		 "containerd", "burstable", 1},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		 ".slice/crio-" CID ".scope",
		 "cri-o", "besteffort", 1},
		{"/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID ".scope", "docker",
		 "guaranteed", 1},
		/* kind: kubelet runs inside a node container with its own slice names */
		{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
		 "kubelet-kubepods-burstable-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		 "containerd", "burstable", 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_match(&cases[i]);
}

static void test_crio_conmon_flagged(void **state)
{
	struct cgroup_match m;

	(void)state;
	assert_int_equal(cgpath_parse("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-conmon-" CID
				      ".scope",
				      &m),
			 0);
	assert_true(m.conmon);
	assert_string_equal(m.container_id, CID);
}

static void test_pod_level_and_non_pods(void **state)
{
	struct cgroup_match m;

	(void)state;
	/* a process in the pod cgroup itself: pod known, no container */
	assert_int_equal(cgpath_parse("/kubepods/burstable/pod" UID, &m), 0);
	assert_string_equal(m.pod_uid, UID);
	assert_string_equal(m.container_id, "");
	/* not pods */
	assert_int_equal(cgpath_parse("/", &m), -ENOENT);
	assert_int_equal(cgpath_parse("/system.slice/ssh.service", &m), -ENOENT);
	assert_int_equal(cgpath_parse("/user.slice/user-0.slice/session-1.scope", &m), -ENOENT);
	assert_int_equal(cgpath_parse("/kubepods/burstable", &m), -ENOENT);
	/* near misses: bad uid length, non-hex id, stray child of the pod cgroup */
	assert_int_equal(cgpath_parse("/kubepods/pod7f3c2a10-5b6e-4d2f-9a81/" CID, &m), -ENOENT);
	assert_int_equal(cgpath_parse("/kubepods/podzzzzzzzz-5b6e-4d2f-9a81-0c4e5f6a7b8c/" CID, &m),
			 -ENOENT);
	assert_int_equal(cgpath_parse("/kubepods/pod" UID "/not-a-container", &m), -ENOENT);
	assert_int_equal(cgpath_parse(NULL, &m), -EINVAL);
}

static void test_proc_cgroup_v1_v2(void **state)
{
	static const char hybrid[] = "12:pids:/kubepods/burstable/pod" UID "/" CID "\n"
				     "4:memory:/kubepods/burstable/pod" UID "/" CID "\n"
				     "1:name=systemd:/kubepods/burstable/pod" UID "/" CID "\n"
				     "0::/kubepods/burstable/pod" UID "/" CID "\n";
	static const char v1_only[] = "4:memory:/kubepods/pod" UID "/" CID "\n"
				      "3:cpu,cpuacct:/kubepods/pod" UID "/" CID "\n";
	static const char host[] = "0::/init.scope\n";
	struct cgroup_match m;
	char path[256];
	bool v2 = false;

	(void)state;
	assert_int_equal(proc_cgroup_parse(hybrid, &m, path, sizeof(path), &v2), 0);
	assert_true(v2);
	assert_string_equal(path, "/kubepods/burstable/pod" UID "/" CID);
	assert_string_equal(m.container_id, CID);

	assert_int_equal(proc_cgroup_parse(v1_only, &m, path, sizeof(path), &v2), 0);
	assert_false(v2);
	assert_string_equal(m.qos, "guaranteed");

	assert_int_equal(proc_cgroup_parse(host, &m, NULL, 0, NULL), -ENOENT);
	assert_int_equal(proc_cgroup_parse("", &m, NULL, 0, NULL), -EINVAL);
	assert_int_equal(proc_cgroup_parse("garbage without colons\n", &m, NULL, 0, NULL), -EINVAL);
}

static void test_nspid(void **state)
{
	static const char nested[] = "Name:\tlabapp\nTgid:\t4242\nNgid:\t0\nPid:\t4242\n"
				     "PPid:\t4200\nNSpid:\t4242\t7\nNSpgid:\t4242\t1\n";
	static const char flat[] = "Name:\tbash\nNSpid:\t1234\n";
	static const char old_kernel[] = "Name:\tbash\nPid:\t1234\n";
	static const char bad[] = "NSpid:\t12x\n";
	pid_t pids[4] = {0};

	(void)state;
	assert_int_equal(nspid_parse(nested, pids, 4), 2);
	assert_int_equal(pids[0], 4242);
	assert_int_equal(pids[1], 7);
	assert_int_equal(nspid_parse(flat, pids, 4), 1);
	assert_int_equal(pids[0], 1234);
	assert_int_equal(nspid_parse(old_kernel, pids, 4), -ENOENT);
	assert_int_equal(nspid_parse(bad, pids, 4), -EINVAL);
	assert_int_equal(nspid_parse("NSpid:\t\n", pids, 4), -EINVAL);
}

static void test_status_field(void **state)
{
	char v[32];

	(void)state;
	assert_int_equal(status_field("Name:\tnginx\nUid:\t1337\t1337\t1337\t1337\n", "Uid", v,
				      sizeof(v)),
			 0);
	assert_string_equal(v, "1337\t1337\t1337\t1337");
	assert_int_equal(status_field("Name:\tnginx\n", "Uid", v, sizeof(v)), -ENOENT);
	/* key must match a whole field name */
	assert_int_equal(status_field("Uidx:\t1\n", "Uid", v, sizeof(v)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroupfs_driver),
		cmocka_unit_test(test_systemd_driver),
		cmocka_unit_test(test_crio_conmon_flagged),
		cmocka_unit_test(test_pod_level_and_non_pods),
		cmocka_unit_test(test_proc_cgroup_v1_v2),
		cmocka_unit_test(test_nspid),
		cmocka_unit_test(test_status_field),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
