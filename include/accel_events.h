/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structures shared by bpf/accel.bpf.c and src/accel.c: the socket-redirect
 * maps' keys and the counters `podscope accel status` shows.
 */
#ifndef PODSCOPE_ACCEL_EVENTS_H
#define PODSCOPE_ACCEL_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ACCEL_MAX_SOCKS 65536

/* A socket, by its own view of the connection. Addresses: IPv4 in the first 4 bytes. */
struct accel_sock_key {
	__u64 netns; /* netns cookie */
	__u8 lip[16];
	__u8 rip[16];
	__u16 lport; /* host order */
	__u16 rport; /* host order */
	__u32 family;
};

/* One endpoint (address, port) in a netns: index from an endpoint to its socket. */
struct accel_end_key {
	__u64 netns; /* 0 for pod IPs when pod-to-pod redirection is on (node-unique) */
	__u8 ip[16];
	__u16 port;
	__u16 family;
	__u32 pad;
};

enum accel_stat {
	ASTAT_SOCKS_ACTIVE = 0, /* client sockets added to the sockhash */
	ASTAT_SOCKS_PASSIVE,	/* server sockets added */
	ASTAT_SOCKS_REMOVED,	/* sockets whose close removed their index entries */
	ASTAT_MSGS_REDIRECTED,	/* sendmsg calls delivered straight to the peer socket */
	ASTAT_BYTES_REDIRECTED,
	ASTAT_MSGS_PASSED, /* no peer known (or not pod-local): normal TCP/IP path */
	ASTAT_BYTES_PASSED,
	ASTAT_REDIRECT_FAILED, /* peer vanished between lookup and redirect: normal path */
	ASTAT_MAP_FULL,	       /* a socket could not be added: normal path */
	ASTAT__COUNT,
};

#endif /* PODSCOPE_ACCEL_EVENTS_H */
