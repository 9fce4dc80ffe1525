// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for target.c on a fake /proc tree: grouping into pods and
 * containers, NSpid, threads, skipping processes that vanished mid-scan,
 * joining names from pod metadata, and lookups.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "target.h"

#define UID_A	"11111111-2222-4333-8444-555555555555"
#define UID_B	"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define CID_APP "aaaa000000000000000000000000000000000000000000000000000000000001"
#define CID_PRX "aaaa000000000000000000000000000000000000000000000000000000000002"
#define CID_B	"bbbb000000000000000000000000000000000000000000000000000000000003"

static char root[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A process: cgroup line, status with NSpid, and thread ids. */
static void fake_proc(int pid, const char *cg, const char *comm, int uid, const char *nspid,
		      const int *tids, int ntids)
{
	char rel[128], text[1024];
	int i;

	snprintf(rel, sizeof(rel), "%d", pid);
	make_dir(rel);
	snprintf(rel, sizeof(rel), "%d/task", pid);
	make_dir(rel);
	for (i = 0; i < ntids; i++) {
		snprintf(rel, sizeof(rel), "%d/task/%d", pid, tids[i]);
		make_dir(rel);
	}
	if (cg) {
		snprintf(rel, sizeof(rel), "%d/cgroup", pid);
		snprintf(text, sizeof(text), "4:memory:%s\n0::%s\n", cg, cg);
		write_file(rel, text);
	}
	if (comm) {
		snprintf(rel, sizeof(rel), "%d/status", pid);
		snprintf(text, sizeof(text),
			 "Name:\t%s\nPPid:\t1\nUid:\t%d\t%d\t%d\t%d\nNSpid:\t%s\n", comm, uid, uid,
			 uid, uid, nspid);
		write_file(rel, text);
	}
}

static int setup(void **state)
{
	static const int t100[] = {100, 101, 102}, t200[] = {200}, t300[] = {300}, t400[] = {400},
			 t500[] = {500};

	(void)state;
	snprintf(root, sizeof(root), "/tmp/podscope-test-proc-XXXXXX");
	assert_non_null(mkdtemp(root));
	fake_proc(100, "/kubepods/burstable/pod" UID_A "/" CID_APP, "labapp", 0, "100", t100, 3);
	fake_proc(200, "/kubepods/burstable/pod" UID_A "/" CID_PRX, "haproxy", 1337, "200", t200,
		  1);
	/* nested pid namespace */
	fake_proc(300, "/kubepods/besteffort/pod" UID_B "/" CID_B, "labapp", 0, "300\t7", t300, 1);
	/* not a pod */
	fake_proc(400, "/system.slice/ssh.service", "sshd", 0, "400", t400, 1);
	/* vanished between reading cgroup and status: no status file */
	fake_proc(500, "/kubepods/burstable/pod" UID_A "/" CID_APP, NULL, 0, "500", t500, 1);
	make_dir("self"); /* non-numeric entries are ignored */
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static struct target_container *container(struct target_pod *pod, const char *id)
{
	int i;

	for (i = 0; i < pod->ncontainers; i++)
		if (!strcmp(pod->containers[i].meta.id, id))
			return &pod->containers[i];
	return NULL;
}

static struct target_pod *pod_by_uid(struct target_set *set, const char *uid)
{
	int i;

	for (i = 0; i < set->npods; i++)
		if (!strcmp(set->pods[i].meta.uid, uid))
			return &set->pods[i];
	return NULL;
}

static void test_scan_groups_and_skips(void **state)
{
	struct target_set set = {0};
	struct target_pod *a, *b;
	struct target_container *app, *prx, *cb;

	(void)state;
	assert_int_equal(target_set__scan_proc(&set, root, ""), 0);
	assert_int_equal(set.npods, 2);
	a = pod_by_uid(&set, UID_A);
	b = pod_by_uid(&set, UID_B);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->ncontainers, 2);
	app = container(a, CID_APP);
	prx = container(a, CID_PRX);
	assert_non_null(app);
	assert_non_null(prx);
	/* pid 500 vanished: only pid 100 */
	assert_int_equal(app->nprocs, 1);
	assert_int_equal(app->procs[0].pid, 100);
	assert_int_equal(app->procs[0].nthreads, 3);
	assert_string_equal(app->procs[0].comm, "labapp");
	assert_true(app->cgroup_v2);
	assert_string_equal(app->cgroup_path, "/kubepods/burstable/pod" UID_A "/" CID_APP);
	assert_int_equal(prx->procs[0].uid, 1337);
	cb = container(b, CID_B);
	assert_non_null(cb);
	assert_int_equal(cb->procs[0].ns_levels, 2);
	assert_int_equal(cb->procs[0].nspid[0], 300);
	assert_int_equal(cb->procs[0].nspid[1], 7);
	assert_true(set.sources[TSRC_PROC].ok);
	target_set__free(&set);
	assert_int_equal(set.npods, 0);
}

static void test_merge_classify_find(void **state)
{
	struct container_meta ca[] = {
		{.name = "app", .id = CID_APP, .runtime = "containerd"},
		{.name = "istio-proxy", .id = CID_PRX, .runtime = "containerd"},
	};
	struct container_meta cz[] = {{.name = "idle", .id = ""}};
	struct pod_meta pods[] = {
		{.namespace_ = "default",
		 .name = "reviews",
		 .uid = UID_A,
		 .pod_ip = "198.18.0.11",
		 .container_count = 2,
		 .containers = ca},
		{.namespace_ = "shop",
		 .name = "cart",
		 .uid = "99999999-2222-4333-8444-555555555555",
		 .container_count = 1,
		 .containers = cz},
	};
	struct pod_meta_list meta = {.count = 2, .pods = pods};
	struct target_set set = {0};
	struct target_pod *pod;
	struct target_container *c;

	(void)state;
	assert_int_equal(target_set__scan_proc(&set, root, ""), 0);
	assert_int_equal(target_set__merge_meta(&set, &meta), 0);
	target_set__classify(&set, NULL);
	assert_int_equal(set.npods, 3); /* 2 found + 1 known only to the API */

	pod = target_set__find_pod(&set, "default/reviews");
	assert_non_null(pod);
	assert_true(pod->name_known);
	assert_string_equal(pod->meta.pod_ip, "198.18.0.11");
	assert_int_equal(container(pod, CID_PRX)->role, ROLE_SIDECAR);
	assert_int_equal(container(pod, CID_APP)->role, ROLE_APP);
	assert_ptr_equal(target_set__find_pod(&set, "reviews"), pod);
	assert_null(target_set__find_pod(&set, "other/reviews"));
	assert_null(target_set__find_pod(&set, "default/nope"));

	pod = target_set__find_pod(&set, "shop/cart");
	assert_non_null(pod);
	assert_int_equal(pod->ncontainers, 1);
	assert_int_equal(pod->containers[0].role, ROLE_OTHER);

	assert_true(target_set__find_pid(&set, 300, &pod, &c));
	assert_false(pod->name_known);
	assert_string_equal(c->meta.id, CID_B);
	assert_false(target_set__find_pid(&set, 400, NULL, NULL));
	target_set__free(&set);
}

static void test_unreadable_root(void **state)
{
	struct target_set set = {0};

	(void)state;
	assert_int_equal(target_set__scan_proc(&set, "/nonexistent-proc", ""), -ENOENT);
	target_set__free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_groups_and_skips),
		cmocka_unit_test(test_merge_classify_find),
		cmocka_unit_test(test_unreadable_root),
	};

	return cmocka_run_group_tests_name("target", tests, setup, teardown);
}
