// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket-redirect acceleration for pod-local TCP (M9).
 *
 * sockops, attached through a bpf_link to a pod's cgroup, puts every
 * established TCP socket of the pod into a sockhash and indexes it:
 *   - a client (active) socket by its local endpoint, which is unique;
 *   - a server (passive) socket by its remote endpoint, i.e. the client's
 *     local endpoint.
 * sk_msg, attached to the sockhash, sends each message of a client straight
 * to the server socket whose remote endpoint is the client's local one, and
 * each message of a server to the client socket whose local endpoint is the
 * server's remote one. Matching on the client's *local* endpoint (never on
 * the address it dialed) is what makes Istio-style REDIRECT work: the app
 * dials ratings:9080, iptables sends the SYN to its sidecar on 127.0.0.1:15001,
 * and the sidecar's socket sees the app's local endpoint as its remote one.
 *
 * Safety: whenever no peer is known or the redirect fails, the message takes
 * the normal TCP/IP path (SK_PASS) — never SK_DROP. Nothing is pinned: when
 * the agent exits the maps are freed and sockets fall back to the normal path.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "accel_events.h"

#define AF_INET	 2
#define AF_INET6 10

/* Redirect between pods of this node too (skips their netfilter rules: opt-in). */
const volatile bool pod_to_pod = false;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, ACCEL_MAX_SOCKS);
	__type(key, struct accel_sock_key);
	__type(value, __u64);
} accel_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ACCEL_MAX_SOCKS);
	__type(key, struct accel_end_key);
	__type(value, struct accel_sock_key);
} accel_clients SEC(".maps"); /* client local endpoint -> client socket */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ACCEL_MAX_SOCKS);
	__type(key, struct accel_end_key);
	__type(value, struct accel_sock_key);
} accel_servers SEC(".maps"); /* server's remote endpoint (= client local) -> server socket */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ASTAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} accel_stats SEC(".maps");

static __always_inline void stat_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&accel_stats, &which);

	if (v)
		*v += n;
}

static __always_inline bool is_loopback(const __u8 *ip, __u32 family)
{
	if (family == AF_INET)
		return ip[0] == 127;
	for (int i = 0; i < 15; i++)
		if (ip[i])
			return false;
	return ip[15] == 1;
}

static __always_inline void end_of(struct accel_end_key *e, __u64 netns, const __u8 *ip, __u16 port,
				   __u32 family)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->netns = (pod_to_pod && !is_loopback(ip, family)) ? 0 : netns;
	__builtin_memcpy(e->ip, ip, 16);
	e->port = port;
	e->family = (__u16)family;
}

/* Fill @k from any context with the sk_msg/sock_ops address fields. */
#define FILL_KEY(k, ctx, ns)                                                   \
	({                                                                     \
		bool __ok = true;                                              \
		__builtin_memset(&(k), 0, sizeof(k));                          \
		(k).netns = (ns);                                              \
		(k).family = (ctx)->family;                                    \
		(k).lport = (__u16)(ctx)->local_port;                          \
		(k).rport = (__u16)bpf_ntohl((ctx)->remote_port);              \
		if ((ctx)->family == AF_INET) {                                \
			__u32 __l = (ctx)->local_ip4, __r = (ctx)->remote_ip4; \
			__builtin_memcpy((k).lip, &__l, 4);                    \
			__builtin_memcpy((k).rip, &__r, 4);                    \
		} else if ((ctx)->family == AF_INET6) {                        \
			__u32 __w[4];                                          \
			__w[0] = (ctx)->local_ip6[0];                          \
			__w[1] = (ctx)->local_ip6[1];                          \
			__w[2] = (ctx)->local_ip6[2];                          \
			__w[3] = (ctx)->local_ip6[3];                          \
			__builtin_memcpy((k).lip, __w, 16);                    \
			__w[0] = (ctx)->remote_ip6[0];                         \
			__w[1] = (ctx)->remote_ip6[1];                         \
			__w[2] = (ctx)->remote_ip6[2];                         \
			__w[3] = (ctx)->remote_ip6[3];                         \
			__builtin_memcpy((k).rip, __w, 16);                    \
		} else {                                                       \
			__ok = false;                                          \
		}                                                              \
		__ok;                                                          \
	})

SEC("sockops")
int ps_accel_sockops(struct bpf_sock_ops *skops)
{
	struct accel_sock_key key;
	struct accel_end_key end;
	__u64 netns;
	__u32 op = skops->op;

	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_STATE_CB)
		return 1;
	netns = bpf_get_netns_cookie(skops);
	if (!FILL_KEY(key, skops, netns))
		return 1;

	if (op == BPF_SOCK_OPS_STATE_CB) {
		/* args[1] is the new state: drop our index entries at close */
		if (skops->args[1] != BPF_TCP_CLOSE)
			return 1;
		end_of(&end, netns, key.lip, key.lport, key.family);
		bpf_map_delete_elem(&accel_clients, &end);
		end_of(&end, netns, key.rip, key.rport, key.family);
		bpf_map_delete_elem(&accel_servers, &end);
		stat_add(ASTAT_SOCKS_REMOVED, 1);
		return 1;
	}
	if (bpf_sock_hash_update(skops, &accel_socks, &key, BPF_ANY)) {
		stat_add(ASTAT_MAP_FULL, 1);
		return 1;
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		end_of(&end, netns, key.lip, key.lport, key.family);
		bpf_map_update_elem(&accel_clients, &end, &key, BPF_ANY);
		stat_add(ASTAT_SOCKS_ACTIVE, 1);
	} else {
		end_of(&end, netns, key.rip, key.rport, key.family);
		bpf_map_update_elem(&accel_servers, &end, &key, BPF_ANY);
		stat_add(ASTAT_SOCKS_PASSIVE, 1);
	}
	return 1;
}

SEC("sk_msg")
int ps_accel_msg(struct sk_msg_md *msg)
{
	struct accel_sock_key key, *peer;
	struct accel_end_key end;
	__u64 netns = bpf_get_netns_cookie(msg);
	__u32 size = msg->size;

	if (!FILL_KEY(key, msg, netns))
		return SK_PASS;
	/* as a client: the server socket whose remote endpoint is my local one */
	end_of(&end, netns, key.lip, key.lport, key.family);
	peer = bpf_map_lookup_elem(&accel_servers, &end);
	if (!peer) {
		/* as a server: the client socket whose local endpoint is my remote one */
		end_of(&end, netns, key.rip, key.rport, key.family);
		peer = bpf_map_lookup_elem(&accel_clients, &end);
	}
	if (!peer) {
		stat_add(ASTAT_MSGS_PASSED, 1);
		stat_add(ASTAT_BYTES_PASSED, size);
		return SK_PASS;
	}
	key = *peer;
	if (bpf_msg_redirect_hash(msg, &accel_socks, &key, BPF_F_INGRESS) != SK_PASS) {
		/* the peer left the sockhash meanwhile: deliver normally */
		stat_add(ASTAT_REDIRECT_FAILED, 1);
		stat_add(ASTAT_BYTES_PASSED, size);
		return SK_PASS;
	}
	stat_add(ASTAT_MSGS_REDIRECTED, 1);
	stat_add(ASTAT_BYTES_REDIRECTED, size);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
