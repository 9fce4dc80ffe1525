/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TCP sockets of another process's network namespace, through
 * NETLINK_SOCK_DIAG.
 */
#ifndef PODSCOPE_SOCKDIAG_H
#define PODSCOPE_SOCKDIAG_H

#include <stdint.h>
#include <sys/types.h>

#define SOCKDIAG_ESTABLISHED (1u << 1)	/* TCP_ESTABLISHED */
#define SOCKDIAG_LISTEN	     (1u << 10) /* TCP_LISTEN */

/*
 * One socket. Addresses: 16 bytes, IPv4 in the first 4 (network order); an
 * IPv6 socket whose two ends are IPv4-mapped is reported as AF_INET, as the
 * BPF side reports it. Ports in host order.
 */
struct sockdiag_sock {
	int family;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint8_t state;	     /* TCP_* */
	unsigned long inode; /* as in /proc/<pid>/fd: socket:[inode] */
};

typedef int (*sockdiag_fn)(void *ctx, const struct sockdiag_sock *s);

/*
 * sockdiag_tcp - call @fn for every TCP socket (IPv4 and IPv6) in one of
 * the @states (SOCKDIAG_*) of the network namespace of @pid. The kernel walks
 * only the tables those states live in: LISTEN alone never touches the
 * established hash, which /proc/<pid>/net/tcp walks whole on every read (on
 * a busy node milliseconds per netns and rescan).
 *
 * The calling thread enters the namespace only to open the netlink socket
 * and returns to its own at once. Returns the number of sockets reported, or
 * a negative errno (-ENOENT: the process is gone); @fn returning non-zero
 * stops the walk with that value.
 */
int sockdiag_tcp(pid_t pid, uint32_t states, sockdiag_fn fn, void *ctx);

#endif
