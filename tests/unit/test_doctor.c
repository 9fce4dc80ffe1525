// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for doctor's verdict on made-up kernels (src/doctor.c): what is
 * "missing" must stop podscope, what is "degraded" must be named with its cost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doctor.h"

static struct tracepoint_status tps[] = {
	{.category = "sock",
	 .name = "inet_sock_set_state",
	 .used_for = "lifecycle",
	 .required = true,
	 .in_tracefs = true,
	 .in_btf = true},
	{.category = "tcp",
	 .name = "tcp_probe",
	 .used_for = "RTT",
	 .required = false,
	 .in_tracefs = true,
	 .in_btf = true},
	{.category = "syscalls",
	 .name = "sys_enter_connect",
	 .used_for = "connect",
	 .required = false,
	 .in_tracefs = true,
	 .in_btf = false},
};

/* Everything present, as a full-featured kernel. */
static void full_kernel(struct kernel_features *kf)
{
	int i;

	memset(kf, 0, sizeof(*kf));
	kf->btf.available = kf->tracefs.available = true;
	for (i = 0; i < HOOK__COUNT; i++)
		kf->hooks[i].available = true;
	for (i = 0; i < MAPF__COUNT; i++)
		kf->maps[i].available = true;
	kf->msg_redirect_hash.available = true;
	kf->tracing_socket_cookie.available = true;
	kf->tracepoints = tps;
	kf->tracepoint_count = 3;
	kf->cgroup.layout = CGROUP_LAYOUT_V2;
	for (i = 0; i < 3; i++)
		tps[i].in_tracefs = true, tps[i].in_btf = strcmp(tps[i].category, "syscalls");
}

static bool has_item(const struct doctor_item *items, int n, const char *feature)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(items[i].feature, feature))
			return true;
	return false;
}

static void test_full_kernel_ready(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_int_equal(v.missing_count, 0);
	assert_int_equal(v.degraded_count, 0);
}

/* This project's CI kernel: no kprobes, no fentry. Ready, but degraded. */
static void test_no_fentry_no_kprobe(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.hooks[HOOK_FENTRY].available = false;
	kf.hooks[HOOK_KPROBE].available = false;
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_int_equal(v.degraded_count, 1);
	assert_true(has_item(v.degraded, v.degraded_count, "hook:fentry+kprobe"));
}

static void test_no_btf_not_ready(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.btf.available = false;
	doctor_evaluate(&kf, &v);
	assert_false(v.ready);
	assert_true(has_item(v.missing, v.missing_count, "btf"));
}

static void test_raw_tp_fallback(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.hooks[HOOK_TP_BTF].available = false;
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_true(has_item(v.degraded, v.degraded_count, "hook:tp_btf"));
	/* and without raw_tp either, hot paths have nowhere to go */
	kf.hooks[HOOK_RAW_TP].available = false;
	doctor_evaluate(&kf, &v);
	assert_false(v.ready);
	assert_true(has_item(v.missing, v.missing_count, "hook:raw_tp"));
}

static void test_required_tracepoint_missing(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	tps[0].in_tracefs = false;
	tps[0].in_btf = false;
	tps[1].in_tracefs = false;
	tps[1].in_btf = false;
	doctor_evaluate(&kf, &v);
	assert_false(v.ready);
	assert_true(has_item(v.missing, v.missing_count, "tracepoint:sock:inet_sock_set_state"));
	assert_true(has_item(v.degraded, v.degraded_count, "tracepoint:tcp:tcp_probe"));
}

/* A tracefs-only tracepoint is unreachable when classic tracepoints fail. */
static void test_tracefs_only_tracepoint(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.hooks[HOOK_TRACEPOINT].available = false;
	doctor_evaluate(&kf, &v);
	assert_false(v.ready);
	assert_true(has_item(v.missing, v.missing_count, "hook:tracepoint"));
	assert_true(
		has_item(v.degraded, v.degraded_count, "tracepoint:syscalls:sys_enter_connect"));
}

/* Without socket storage the connection tracer still works (hash, raw_tp): degraded, ready. */
static void test_no_sk_storage(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.maps[MAPF_SK_STORAGE].available = false;
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_int_equal(v.missing_count, 0);
	assert_int_equal(v.degraded_count, 1);
	assert_true(has_item(v.degraded, v.degraded_count, "map:sk_storage"));
}

/*
 * Linux 5.11: tp_btf and socket storage, but no bpf_get_socket_cookie in
 * tracing programs, so the connection tracer falls back to raw_tp: said once.
 */
static void test_no_tracing_cookie(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;

	(void)state;
	full_kernel(&kf);
	kf.tracing_socket_cookie.available = false;
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_int_equal(v.degraded_count, 1);
	assert_true(has_item(v.degraded, v.degraded_count, "helper:get_socket_cookie"));
	/* without tp_btf the fallback is already named: not said twice */
	kf.hooks[HOOK_TP_BTF].available = false;
	doctor_evaluate(&kf, &v);
	assert_false(has_item(v.degraded, v.degraded_count, "helper:get_socket_cookie"));
	assert_true(has_item(v.degraded, v.degraded_count, "hook:tp_btf"));
}

static void test_no_accel_pieces(void **state)
{
	struct kernel_features kf;
	struct doctor_verdict v;
	json_t *doc;

	(void)state;
	full_kernel(&kf);
	kf.msg_redirect_hash.available = false;
	kf.hooks[HOOK_UPROBE].available = false;
	doctor_evaluate(&kf, &v);
	assert_true(v.ready);
	assert_true(has_item(v.degraded, v.degraded_count, "accel"));
	assert_true(has_item(v.degraded, v.degraded_count, "hook:uprobe"));

	doc = doctor_to_json(&kf, &v);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "ready")));
	assert_int_equal(json_array_size(json_object_get(doc, "degraded")), 2);
	assert_false(json_is_true(
		json_object_get(json_object_get(json_object_get(doc, "hooks"), "uprobe"), "availabl"
											  "e")));
	json_decref(doc);
}

/* The variants of tracepoints whose arguments grew, by argument count. */
static void test_tracepoint_variants(void **state)
{
	struct tracepoint_status tp = {.category = "skb", .name = "kfree_skb", .nargs = 4};

	(void)state;
	assert_string_equal(tracepoint_variant(&tp), "with the receiving socket");
	tp.nargs = 3;
	assert_non_null(strstr(tracepoint_variant(&tp), "no receiving socket (before Linux 6.11)"));
	tp.nargs = 2;
	assert_non_null(strstr(tracepoint_variant(&tp), "drops are not counted"));
	tp.nargs = -1;
	assert_null(tracepoint_variant(&tp));
	tp.name = "tcp_retransmit_skb";
	tp.nargs = 3;
	assert_string_equal(tracepoint_variant(&tp), "every attempt, with its result");
	tp.nargs = 2;
	assert_non_null(strstr(tracepoint_variant(&tp), "successful attempts only"));
	tp.name = "tcp_probe";
	tp.nargs = 3;
	assert_null(tracepoint_variant(&tp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_kernel_ready),
		cmocka_unit_test(test_tracepoint_variants),
		cmocka_unit_test(test_no_fentry_no_kprobe),
		cmocka_unit_test(test_no_btf_not_ready),
		cmocka_unit_test(test_raw_tp_fallback),
		cmocka_unit_test(test_required_tracepoint_missing),
		cmocka_unit_test(test_tracefs_only_tracepoint),
		cmocka_unit_test(test_no_sk_storage),
		cmocka_unit_test(test_no_tracing_cookie),
		cmocka_unit_test(test_no_accel_pieces),
	};

	return cmocka_run_group_tests_name("doctor", tests, NULL, NULL);
}
