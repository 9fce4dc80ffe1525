/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Listening TCP sockets of another process's network namespace, through
 * NETLINK_SOCK_DIAG.
 */
#ifndef PODSCOPE_SOCKDIAG_H
#define PODSCOPE_SOCKDIAG_H

#include <stdint.h>
#include <sys/types.h>

/* One listening socket: its inode (as in /proc/<pid>/fd) and local port. */
typedef int (*sockdiag_listen_fn)(void *ctx, unsigned long inode, uint16_t port);

/*
 * sockdiag_listeners - call @fn for every listening TCP socket (IPv4 and
 * IPv6) of the network namespace of @pid. The kernel is asked for the LISTEN
 * state only, so it walks its listening hash and never the established one;
 * /proc/<pid>/net/tcp walks the whole established hash on every read, which
 * on a busy node costs milliseconds per netns and rescan.
 *
 * The calling thread enters the namespace only to open the netlink socket
 * and returns to its own at once. Returns the number of sockets reported, or
 * a negative errno (-ENOENT: the process is gone); @fn returning non-zero
 * stops the walk with that value.
 */
int sockdiag_listeners(pid_t pid, sockdiag_listen_fn fn, void *ctx);

#endif
