// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of podscope's socket probes, for bench/overhead: two programs
 * that return at once, on the two tracepoints every socket read and write
 * hits (sock:sock_send_length, sock:sock_recv_length), attached the way
 * podscope attaches its own (tp_btf). What they cost a workload is what the
 * kernel charges for running any program there at all: the tracepoint's
 * call into BPF, with none of podscope's work. Names start with fl_, not
 * ps_, so bench/overhead --bpf-stats does not count them as podscope's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sock_send_length")
int BPF_PROG(fl_send, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(fl_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
