// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP sockets of a netns by NETLINK_SOCK_DIAG (see sockdiag.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "log.h"
#include "sockdiag.h"

/* A netlink socket opened inside @pid's network namespace. */
static int diag_socket_in(pid_t pid)
{
	int self = -1, target = -1, sk = -1, err = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return -errno;
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		err = -errno;
		close(target);
		return err;
	}
	if (setns(target, CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	sk = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (sk < 0)
		err = -errno;
	if (setns(self, CLONE_NEWNET)) {
		/* cannot happen for root; never keep working in the pod's netns */
		pr_error("cannot return to podscope's network namespace: %s", strerror(errno));
		abort();
	}
out:
	close(self);
	close(target);
	return sk >= 0 ? sk : err;
}

/* The socket of @d, IPv4-mapped IPv6 reported as IPv4. */
static void to_sock(const struct inet_diag_msg *d, struct sockdiag_sock *s)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	memset(s, 0, sizeof(*s));
	s->family = d->idiag_family;
	s->state = d->idiag_state;
	s->inode = d->idiag_inode;
	s->lport = ntohs(d->id.idiag_sport);
	s->rport = ntohs(d->id.idiag_dport);
	if (s->family == AF_INET) {
		memcpy(s->laddr, d->id.idiag_src, 4);
		memcpy(s->raddr, d->id.idiag_dst, 4);
		return;
	}
	memcpy(s->laddr, d->id.idiag_src, 16);
	memcpy(s->raddr, d->id.idiag_dst, 16);
	if (!memcmp(s->laddr, mapped, 12) && !memcmp(s->raddr, mapped, 12)) {
		s->family = AF_INET;
		memmove(s->laddr, s->laddr + 12, 4);
		memset(s->laddr + 4, 0, 12);
		memmove(s->raddr, s->raddr + 12, 4);
		memset(s->raddr + 4, 0, 12);
	}
}

static int dump_family(int sk, int family, uint32_t states, sockdiag_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1},
		.req = {.sdiag_family = (uint8_t)family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = states},
	};
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	long buf[8192 / sizeof(long)];
	int n = 0;

	if (sendto(sk, &msg, sizeof(msg), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(sk, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (len == 0)
			return -EPROTO;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *d;
			struct sockdiag_sock s;
			int rc;

			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				/* no IPv6 in this kernel: nothing listens there */
				if (e->error == -ENOENT && family == AF_INET6)
					return n;
				return e->error ? e->error : -EPROTO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
				continue;
			d = NLMSG_DATA(h);
			if (d->idiag_state >= 32 || !(states & (1u << d->idiag_state)))
				continue;
			to_sock(d, &s);
			rc = fn(ctx, &s);
			if (rc)
				return rc;
			n++;
		}
	}
}

int sockdiag_tcp(pid_t pid, uint32_t states, sockdiag_fn fn, void *ctx)
{
	int sk = diag_socket_in(pid), n4, n6;

	if (sk < 0)
		return sk;
	n4 = dump_family(sk, AF_INET, states, fn, ctx);
	n6 = n4 < 0 ? 0 : dump_family(sk, AF_INET6, states, fn, ctx);
	close(sk);
	if (n4 < 0)
		return n4;
	if (n6 < 0)
		return n6;
	return n4 + n6;
}
