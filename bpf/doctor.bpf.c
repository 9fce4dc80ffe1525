// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tiny programs, one per hook type, that `podscope doctor` loads and attaches
 * to find out what this kernel really allows. A feature counts as present only
 * when its program loaded and attached (and, where we can trigger it cheaply,
 * fired). Nothing here observes anything; every program returns at once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TC_ACT_OK 0

/* tgid of the doctor process: the syscall probes count only our own hits. */
const volatile __u32 doctor_tgid = 0;

__u64 hits_tp_btf = 0;
__u64 hits_raw_tp = 0;
__u64 hits_tracepoint = 0;
__u64 hits_uprobe = 0;

static __always_inline int is_doctor(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == doctor_tgid;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ps_probe_tp_btf, struct pt_regs *regs, long id)
{
	if (is_doctor())
		__sync_fetch_and_add(&hits_tp_btf, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int ps_probe_raw_tp(void *ctx)
{
	if (is_doctor())
		__sync_fetch_and_add(&hits_raw_tp, 1);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int ps_probe_tracepoint(void *ctx)
{
	if (is_doctor())
		__sync_fetch_and_add(&hits_tracepoint, 1);
	return 0;
}

/*
 * The connection programs' socket cache gives a socket its cookie from
 * tp_btf (bpf_get_socket_cookie in tracing programs, 5.12). Without it their
 * tp_btf variant does not load and raw_tp is used. (Attached for a moment:
 * a socket changing state then gets its cookie early, which is harmless.)
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ps_probe_cookie, struct sock *sk, int oldstate, int newstate)
{
	return bpf_get_socket_cookie(sk) == 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(ps_probe_fentry, struct sock *sk)
{
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(ps_probe_kprobe, struct sock *sk)
{
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ps_probe_uprobe)
{
	if (is_doctor())
		__sync_fetch_and_add(&hits_uprobe, 1);
	return 0;
}

SEC("sockops")
int ps_probe_sockops(struct bpf_sock_ops *skops)
{
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} probe_sockhash SEC(".maps");

SEC("sk_msg")
int ps_probe_sk_msg(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("tc")
int ps_probe_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
