// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connections and socket metrics of target processes (M2, M4).
 *
 * Only connections created, accepted or used by a target are tracked, and
 * only they cost more than a couple of loads (other processes are looked up
 * once per CPU and target-set change, then remembered: struct other_tgids):
 *   - sock:inet_sock_set_state: connect (SYN_SENT by a target, in process
 *     context), accept (child ESTABLISHED on a target's listening port, in
 *     softirq: identified by socket, never by the current task), close;
 *   - raw_syscalls sys_enter/sys_exit, only for the socket I/O syscalls, and
 *     sock:sock_{send,recv}_length in between: bytes and time in the call;
 *     srtt of the socket at each write;
 *   - tcp:tcp_retransmit_skb, tcp:tcp_retransmit_synack (counted at accept),
 *     tcp:tcp_{send,receive}_reset, skb:kfree_skb.
 * Per-connection state lives in socket storage under tp_btf (found from the
 * socket with a few loads, freed with the socket) and in an LRU hash keyed by
 * the socket address under raw_tp or with --syscall-time, whose sys_exit knows
 * the socket only as a number. Counters and log2 histograms are aggregated
 * per edge side in a per-CPU array, so the cost of a read or write does not
 * depend on the number of connections. A read or write on a tracked
 * connection by its owner costs no hash lookup at all: the owner's target
 * check is cached in the connection and repeated only when the target set
 * changes (target_gen). Under tp_btf, the common call does not even reach
 * the socket storage: a per-CPU socket cache (struct sk_cache_slot) answers
 * it from one cache line.
 * Lifecycle events go to user space through a ring buffer; losses counted.
 *
 * Every program exists twice (tp_btf preferred, raw_tp fallback); all kernel
 * memory is read with CO-RE probe reads so one body serves both.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bits.bpf.h"
#include "conn_events.h"
#include "target_maps.bpf.h"

#define AF_INET	     2
#define AF_INET6     10
#define ETIMEDOUT    110
#define ECONNRESET   104
#define EINVAL	     22
#define EAGAIN	     11
#define ENOMEM	     12
#define EBUSY	     16
#define EHOSTUNREACH 113
#define MSG_PEEK     2

/* Salt for the opaque socket ids handed to user space (set by the loader). */
const volatile __u64 sock_id_salt = 0;
/* Payload sampling for request metrics (#5): off, sidecar processes only, or all targets. */
const volatile bool sample_payload = false;
const volatile bool sample_all_targets = false;
const volatile __u32 sample_wakeup_bytes = 1024 * 1024;
/*
 * Time in the call (--syscall-time): raw_syscalls sys_enter/sys_exit run for
 * every syscall of the node, which is most of podscope's cost on a busy
 * node. Without it, bytes, counts and payload samples come from
 * sock_{send,recv}_length alone, which fire only for socket I/O.
 */
const volatile bool syscall_time = true;

/* Edge sides handed out so far (index into sides). */
__u32 side_count = 0;
/*
 * Bumped when a socket that may sit in the socket cache starts a new
 * connection (a second connect() on one socket): every slot filled before
 * is stale then. Slots record the value they were filled under.
 */
__u32 sk_cache_gen = 0;

/* Connection state under tp_btf (see sks()). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct conn_state);
} conn_store SEC(".maps");

/* Connection state under raw_tp and with --syscall-time (the loader shrinks it otherwise). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONN_MAX_CONNS);
	__type(key, __u64); /* struct sock address */
	__type(value, struct conn_state);
} conns SEC(".maps");

/*
 * Edge sides: side_ids names each side once (key -> index), sides holds its
 * per-CPU aggregates at that index. A connection caches its index, so a
 * read or write costs one array lookup, not a hash of the 56-byte key.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CONN_MAX_SIDES);
	__type(key, struct side_key);
	__type(value, __u32);
} side_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CONN_MAX_SIDES);
	__type(key, __u32);
	__type(value, struct side_metrics);
} sides SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct drop_key);
	__type(value, __u64);
} drop_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct owner_value);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONN_MAX_CONNS);
	__type(key, struct end_key);
	__type(value, struct end_value);
} client_ends SEC(".maps");

/*
 * SYN-ACKs sent again for connections not accepted yet, counted on the
 * server side when the connection is accepted (there is no full socket,
 * and the client's end may not be known, before that).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct handshake_key);
	__type(value, __u32);
} synack_rtx SEC(".maps");

/* How the user buffer of an in-flight call is described (for sampling). */
enum buf_kind {
	BUF_NONE = 0, /* sendfile, splice, mmsg: no payload to sample */
	BUF_PLAIN,    /* read, write, sendto, recvfrom: a pointer */
	BUF_IOV,      /* readv, writev: an iovec array (the first one is sampled) */
	BUF_MSG,      /* sendmsg, recvmsg: a msghdr */
};

/* A target thread inside a socket I/O syscall. */
struct inflight {
	__u64 start_ns;
	__u64 sk;
	__u64 bytes;
	__u64 buf; /* user address, see buf_kind */
	__u8 dir;  /* 1 send, 2 recv */
	__u8 buf_kind;
	__u8 sample; /* this thread's process is sampled */
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONN_MAX_THREADS);
	__type(key, __u32); /* tid */
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} conn_events SEC(".maps");

/* Lifecycle events: the reader is woken each time this much is unread (see batch_wakeup). */
#define EVENT_WAKEUP_BYTES (64 * 1024)

/*
 * Payload samples: 384 bytes each, tens of thousands per second on a busy
 * sidecar. User space sizes the ring (conn_tracer_opts.sample_ring_bytes,
 * 8 MiB by default: at 128 connections a saturated lab kept the reader off
 * the CPU long enough to fill 4 MiB) and sets sample_wakeup_bytes, the
 * unread amount at which the reader is woken (1 MiB, or a quarter of a
 * smaller ring: on the lab, waking it every 256 KiB instead took its CPU
 * from ~2.3 % to ~3.5 % of a core, each wakeup refilling its caches for a
 * smaller batch). A page when nothing is sampled.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} payload_samples SEC(".maps");

/* See struct sk_cache_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sk_cache);
} sk_cache SEC(".maps");

/*
 * Processes found not to be targets, per CPU: a direct-mapped table of
 * (tgid, target generation + 1), packed in one u64 so that a program
 * preempted by another on its CPU never reads half a slot. An entry holds
 * only while target_gen is unchanged, and every addition to the target set
 * bumps it after the map update (target_events.h): a process remembered as
 * "other" under generation g was not a target when g was read. Such a
 * process's socket I/O is never counted, so every program that would hash
 * its tgid into target_tgids asks this table first. On a real node most
 * socket I/O is other pods': this keeps it at two loads.
 */
#define OTHER_TGID_BITS 6

struct other_tgids {
	__u64 slot[1 << OTHER_TGID_BITS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct other_tgids);
} other_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CSTAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} conn_stats SEC(".maps");

/* Zero values to create map entries from (map-value pointers, not stack). */
const struct conn_state zero_conn = {};

/*
 * Where connection state lives: socket storage when the program has the
 * socket as a typed pointer (tp_btf) and no sys_exit program needs to find a
 * connection from a bare socket address (--syscall-time off). @btf is a
 * compile-time constant, syscall_time a load-time one: either way the
 * verifier sees one branch.
 */
static __always_inline bool sks(bool btf)
{
	return btf && !syscall_time;
}

static __always_inline struct conn_state *conn_get(const struct sock *sk, bool btf)
{
	__u64 skaddr = (__u64)sk;

	if (sks(btf))
		return bpf_sk_storage_get(&conn_store, (struct sock *)sk, NULL, 0);
	return bpf_map_lookup_elem(&conns, &skaddr);
}

static __always_inline void conn_del(const struct sock *sk, bool btf)
{
	__u64 skaddr = (__u64)sk;

	if (sks(btf))
		bpf_sk_storage_delete(&conn_store, (struct sock *)sk);
	else
		bpf_map_delete_elem(&conns, &skaddr);
}

/* The target set's generation; read it before the target lookup it validates. */
static __always_inline __u64 target_gen_now(void)
{
	__u32 zero = 0;
	__u64 *g = bpf_map_lookup_elem(&target_gen, &zero);

	return g ? *g : 0;
}

/* Remember that @c's owner passed the target check under generation @gen. */
static __always_inline void conn_owner_checked(struct conn_state *c, const struct target_ref *t,
					       __u64 gen)
{
	c->owner_flags = t->flags;
	c->owner_gen = (__u32)gen + 1; /* 0: never checked */
}

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&conn_stats, &which);

	if (v)
		*v += 1;
}

/* This CPU's slot of @tgid in other_tgids, or NULL. */
static __always_inline __u64 *other_slot(__u32 tgid)
{
	struct other_tgids *o;
	__u32 zero = 0;

	o = bpf_map_lookup_elem(&other_tgids, &zero);
	if (!o)
		return NULL;
	return &o->slot[((tgid * 0x9e3779b1U) >> (32 - OTHER_TGID_BITS)) &
			((1 << OTHER_TGID_BITS) - 1)];
}

static __always_inline __u64 other_tag(__u32 tgid, __u64 gen)
{
	return (__u64)((__u32)gen + 1) << 32 | tgid;
}

/*
 * Is @tgid a target under generation @gen? NULL when it is not (remembered
 * in @slot, the caller's other_slot(), for the next call). Read @gen before.
 */
static __always_inline struct target_ref *target_lookup(__u32 tgid, __u64 gen, __u64 *slot)
{
	struct target_ref *t = bpf_map_lookup_elem(&target_tgids, &tgid);

	if (!t) {
		stat_inc(CSTAT_OTHER_LOOKUPS);
		if (slot)
			*slot = other_tag(tgid, gen);
	}
	return t;
}

/* Known not to be a target under generation @gen (no map hashed). */
static __always_inline bool known_other(const __u64 *slot, __u32 tgid, __u64 gen)
{
	return slot && *slot == other_tag(tgid, gen);
}

/*
 * The start of every program that checks the current process: the target
 * generation into @gen, @tgid's other_tgids slot into @slot (for
 * target_lookup), and true when @tgid is known not to be a target.
 */
static __always_inline bool other_process(__u32 tgid, __u64 *gen, __u64 **slot)
{
	*gen = target_gen_now();
	*slot = other_slot(tgid);
	return known_other(*slot, tgid, *gen);
}

static __always_inline void hist_add(struct conn_hist *h, __u64 v)
{
	__u32 slot = log2_u64(v);

	if (slot >= CONN_HIST_SLOTS)
		slot = CONN_HIST_SLOTS - 1;
	h->slots[slot & (CONN_HIST_SLOTS - 1)] += 1;
}

/* 1 + the index of edge side @key, creating it; 0 when the sides are full. */
static __always_inline __u32 side_id_of(const struct side_key *key)
{
	__u32 *id = bpf_map_lookup_elem(&side_ids, key);
	__u32 idx;

	if (id)
		return *id;
	idx = __sync_fetch_and_add(&side_count, 1);
	if (idx >= CONN_MAX_SIDES) {
		stat_inc(CSTAT_SIDES_FULL);
		return 0;
	}
	idx += 1;
	if (bpf_map_update_elem(&side_ids, key, &idx, BPF_NOEXIST)) {
		/* a concurrent insert won (its index is used; ours stays empty) or full */
		id = bpf_map_lookup_elem(&side_ids, key);
		if (!id) {
			stat_inc(CSTAT_SIDES_FULL);
			return 0;
		}
		return *id;
	}
	return idx;
}

/* The aggregates of @c's edge side (its side key must be filled in). */
/* This CPU's aggregates of edge side @side_id (1 + index; 0: none). */
static __always_inline struct side_metrics *side_metrics_of(__u32 side_id)
{
	__u32 idx = side_id - 1;

	return side_id ? bpf_map_lookup_elem(&sides, &idx) : NULL;
}

static __always_inline struct side_metrics *conn_metrics(struct conn_state *c)
{
	if (!c->side_id)
		c->side_id = side_id_of(&c->side);
	return side_metrics_of(c->side_id);
}

static __always_inline bool is_loopback(const __u8 *addr, __u16 family)
{
	if (family == AF_INET)
		return addr[0] == 127;
	/* ::1 */
	for (int i = 0; i < 15; i++)
		if (addr[i])
			return false;
	return addr[15] == 1;
}

/*
 * Read family, addresses and ports of @sk. IPv4-mapped IPv6 sockets are
 * reported as IPv4 so both ends of a connection use the same form.
 */
static __always_inline __u16 read_tuple(const struct sock *sk, __u8 *laddr, __u8 *raddr,
					__u16 *lport, __u16 *rport)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__builtin_memset(laddr, 0, 16);
	__builtin_memset(raddr, 0, 16);
	if (family == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(laddr, &s, 4);
		__builtin_memcpy(raddr, &d, 4);
		return AF_INET;
	}
	if (family == AF_INET6) {
		struct in6_addr s = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr d = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		__u32 *sw = (__u32 *)&s, *dw = (__u32 *)&d;

		if (sw[0] == 0 && sw[1] == 0 && sw[2] == bpf_htonl(0xffff) && dw[0] == 0 &&
		    dw[1] == 0 && dw[2] == bpf_htonl(0xffff)) {
			__builtin_memcpy(laddr, &sw[3], 4);
			__builtin_memcpy(raddr, &dw[3], 4);
			return AF_INET;
		}
		__builtin_memcpy(laddr, &s, 16);
		__builtin_memcpy(raddr, &d, 16);
		return AF_INET6;
	}
	return 0;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP &&
	       (family == AF_INET || family == AF_INET6);
}

static __always_inline void end_key_of(struct end_key *k, __u32 netns, const __u8 *addr, __u16 port,
				       __u16 family)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->netns = is_loopback(addr, family) ? netns : 0;
	k->port = port;
	k->family = family;
	__builtin_memcpy(k->addr, addr, 16);
}

/* Fill the tuple and the side key of a connection whose role is known. */
static __always_inline void conn_describe(struct conn_state *c, const struct sock *sk)
{
	__u16 family = read_tuple(sk, c->laddr, c->raddr, &c->lport, &c->rport);
	struct side_key *s = &c->side;

	__builtin_memset(s, 0, sizeof(*s));
	s->tgid = c->owner_tgid;
	s->netns = sk_netns(sk);
	s->role = c->role;
	s->family = family;
	if (c->role == CONN_ROLE_CLIENT) {
		__builtin_memcpy(s->dialed_addr, c->raddr, 16);
		s->dialed_port = c->rport;
		return;
	}
	s->server_port = c->lport;
	{
		struct end_key ek;
		struct end_value *peer;

		end_key_of(&ek, s->netns, c->raddr, c->rport, family);
		peer = bpf_map_lookup_elem(&client_ends, &ek);
		if (peer) {
			s->peer_tgid = peer->tgid;
			__builtin_memcpy(s->dialed_addr, peer->dialed_addr, 16);
			s->dialed_port = peer->dialed_port;
		} else {
			__builtin_memcpy(s->peer_addr, c->raddr, 16);
			__builtin_memcpy(s->dialed_addr, c->laddr, 16);
			s->dialed_port = c->lport;
		}
	}
}

static __always_inline void handshake_key_of(struct handshake_key *k, __u32 netns,
					     const __u8 *raddr, __u16 rport, __u16 family,
					     __u16 lport)
{
	__builtin_memset(k, 0, sizeof(*k));
	end_key_of(&k->client, netns, raddr, rport, family);
	k->server_port = lport;
}

static __always_inline void register_client_end(const struct conn_state *c)
{
	struct end_value v = {};
	struct end_key k;

	end_key_of(&k, c->side.netns, c->laddr, c->lport, c->side.family);
	v.tgid = c->owner_tgid;
	v.container_idx = c->container_idx;
	__builtin_memcpy(v.dialed_addr, c->raddr, 16);
	v.dialed_port = c->rport;
	bpf_map_update_elem(&client_ends, &k, &v, BPF_ANY);
}

/* What a record of @size bytes takes in a ring buffer: an 8-byte header, rounded up to 8. */
#define RINGBUF_RECORD_BYTES(size) (((size) + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL)

/*
 * Submit flags for a record of @record bytes (RINGBUF_RECORD_BYTES) just
 * reserved in @rb: wake the reader once per batch, when this record takes the
 * unread data (which includes it) across @mark. Not on every record past the
 * mark: until the reader runs, each forced wakeup costs microseconds in the
 * writing task. The window is one record wide, so a writer alone on the ring
 * cannot step over it; a wakeup missed in a race between CPUs costs nothing,
 * as user space also drains the rings at every poll timeout.
 */
static __always_inline __u64 batch_wakeup(void *rb, __u64 record, __u64 mark)
{
	__u64 unread = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);

	return unread >= mark && unread < mark + record ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit(__u32 type, __u64 skaddr, const struct conn_state *c, __u64 now,
				 __u8 close_reason)
{
	struct conn_event *e = bpf_ringbuf_reserve(&conn_events, sizeof(*e), 0);

	if (!e) {
		stat_inc(CSTAT_RINGBUF_DROPS);
		return;
	}
	e->ts_ns = now;
	{
		/* under tp_btf skaddr is a typed pointer, and no math is allowed on
		 * it: read it back as a plain number first */
		__u64 id = 0;

		bpf_probe_read_kernel(&id, sizeof(id), &skaddr);
		e->sock_id = id ^ sock_id_salt;
	}
	__builtin_memcpy(&e->side, &c->side, sizeof(e->side));
	__builtin_memcpy(e->laddr, c->laddr, 16);
	__builtin_memcpy(e->raddr, c->raddr, 16);
	e->lport = c->lport;
	e->rport = c->rport;
	e->type = type;
	e->container_idx = c->container_idx;
	e->tgid = c->owner_tgid;
	e->connect_ns = c->established_ns && c->role == CONN_ROLE_CLIENT && !c->adopted
				? c->established_ns - c->start_ns
				: 0;
	e->duration_ns = now - c->start_ns;
	e->retransmits = c->retransmits;
	e->drops = c->drops;
	e->role = c->role;
	e->close_reason = close_reason;
	e->adopted = c->adopted;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, batch_wakeup(&conn_events, RINGBUF_RECORD_BYTES(sizeof(*e)),
					   EVENT_WAKEUP_BYTES));
}

/* Track a new connection of a target; returns its state or NULL. */
static __always_inline struct conn_state *conn_new(const struct sock *sk, __u32 tgid, __u32 idx,
						   __u8 role, __u64 now, bool btf)
{
	__u64 skaddr = (__u64)sk;
	struct conn_state *c;

	if (sks(btf)) {
		c = bpf_sk_storage_get(&conn_store, (struct sock *)sk, NULL,
				       BPF_SK_STORAGE_GET_F_CREATE);
		if (!c) {
			stat_inc(CSTAT_CONNS_FULL); /* no memory, or the socket is going away */
			return NULL;
		}
		__builtin_memset(c, 0, sizeof(*c)); /* a socket reused by a second connect() */
	} else {
		if (bpf_map_update_elem(&conns, &skaddr, &zero_conn, BPF_ANY)) {
			stat_inc(CSTAT_CONNS_FULL);
			return NULL;
		}
		c = bpf_map_lookup_elem(&conns, &skaddr);
		if (!c)
			return NULL;
	}
	c->owner_tgid = tgid;
	c->container_idx = idx;
	c->role = role;
	c->start_ns = now;
	return c;
}

static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, bool btf)
{
	__u64 skaddr = (__u64)sk, now;
	struct conn_state *c;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	now = bpf_ktime_get_ns();

	switch (newstate) {
	case TCP_SYN_SENT: {
		/* process context: connect() by the current task */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u64 gen = target_gen_now();
		struct target_ref *t = bpf_map_lookup_elem(&target_tgids, &tgid);

		if (!t)
			return 0;
		/*
		 * A socket with a cookie may be in a socket cache under its
		 * last connection, whose edge side this one need not share.
		 */
		if (sks(btf) && BPF_CORE_READ(sk, __sk_common.skc_cookie.counter))
			__sync_fetch_and_add(&sk_cache_gen, 1);
		c = conn_new(sk, tgid, t->container_idx, CONN_ROLE_CLIENT, now, btf);
		if (!c)
			return 0;
		conn_owner_checked(c, t, gen);
		/*
		 * connect() has set the address it dials: the side is known
		 * now, so a SYN retransmitted or dropped before the handshake
		 * completes counts on it (the local port follows at ESTABLISHED).
		 */
		conn_describe(c, sk);
		return 0;
	}
	case TCP_LISTEN: {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct target_ref *t = bpf_map_lookup_elem(&target_tgids, &tgid);
		struct listen_key lk = {.netns = sk_netns(sk),
					.port = BPF_CORE_READ(sk, __sk_common.skc_num)};
		struct owner_value ov;

		if (!t)
			return 0;
		ov.tgid = tgid;
		ov.container_idx = t->container_idx;
		bpf_map_update_elem(&listeners, &lk, &ov, BPF_ANY);
		return 0;
	}
	case TCP_ESTABLISHED:
		break;
	case TCP_FIN_WAIT1:
	case TCP_LAST_ACK:
		c = conn_get(sk, btf);
		if (c && !c->close_start_ns)
			c->close_start_ns = now;
		return 0;
	case TCP_CLOSE:
		goto close;
	default:
		return 0;
	}

	/* ESTABLISHED */
	if (oldstate == TCP_SYN_SENT) {
		struct side_metrics *m;

		c = conn_get(sk, btf);
		if (!c)
			return 0;
		c->established = 1;
		c->established_ns = now;
		conn_describe(c, sk);
		c->side_id = 0; /* named again with the final addresses: the same side, as a rule */
		register_client_end(c);
		m = conn_metrics(c);
		if (m) {
			m->connect_count += 1;
			m->connect_ns += now - c->start_ns;
			hist_add(&m->connect_hist, now - c->start_ns);
		}
		emit(CEV_CONNECT, skaddr, c, now, 0);
		return 0;
	}
	if (oldstate == TCP_SYN_RECV) {
		/* softirq: the accepted child; the owner is whoever listens on the port */
		struct listen_key lk = {.netns = sk_netns(sk),
					.port = BPF_CORE_READ(sk, __sk_common.skc_num)};
		struct owner_value *ov = bpf_map_lookup_elem(&listeners, &lk);
		struct side_metrics *m;

		if (!ov)
			return 0;
		c = conn_new(sk, ov->tgid, ov->container_idx, CONN_ROLE_SERVER, now, btf);
		if (!c)
			return 0;
		c->established = 1;
		c->established_ns = now;
		conn_describe(c, sk);
		m = conn_metrics(c);
		if (m)
			m->connect_count += 1; /* accepts; handshake time is not seen here */
		{
			struct handshake_key hk;
			__u32 *rtx;

			handshake_key_of(&hk, lk.netns, c->raddr, c->rport, c->side.family,
					 c->lport);
			rtx = bpf_map_lookup_elem(&synack_rtx, &hk);
			if (rtx) {
				c->retransmits += *rtx;
				if (m)
					m->retransmits += *rtx;
				bpf_map_delete_elem(&synack_rtx, &hk);
			}
		}
		emit(CEV_ACCEPT, skaddr, c, now, 0);
	}
	return 0;

close:
	if (oldstate == TCP_LISTEN) {
		struct listen_key lk = {.netns = sk_netns(sk),
					.port = BPF_CORE_READ(sk, __sk_common.skc_num)};

		bpf_map_delete_elem(&listeners, &lk);
		return 0;
	}
	c = conn_get(sk, btf);
	if (!c)
		return 0;
	{
		int err = BPF_CORE_READ(sk, sk_err);
		__u8 reason = CLOSE_NORMAL;
		struct side_metrics *m;

		/* a timeout first: keepalive expiry sends an RST on its way out */
		if (err == ETIMEDOUT)
			reason = CLOSE_TIMEOUT;
		else if (c->reset || err == ECONNRESET)
			reason = CLOSE_RESET;
		else if (err)
			reason = CLOSE_ERROR;
		else if (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT)
			/*
			 * Straight to CLOSE, no error, no reset received: closed
			 * abortively here (SO_LINGER 0, unread data; the kernel
			 * sends the RST just after this state change, so
			 * tcp_send_reset comes too late to mark it), or a socket
			 * in TCP_REPAIR closed (no RST; ECONNABORTED is set
			 * after the change): an error then.
			 */
			reason = BPF_CORE_READ_BITFIELD_PROBED((struct tcp_sock *)sk, repair)
					 ? CLOSE_ERROR
					 : CLOSE_RESET;
		if (!c->established) {
			/* connect that never completed (refused, timed out) */
			conn_describe(c, sk);
			c->side_id = 0;
		}
		m = conn_metrics(c);
		if (m) {
			if (!c->established)
				m->connect_errors += 1;
			m->close_count += 1;
			if (c->close_start_ns) {
				m->close_timed += 1;
				m->close_ns += now - c->close_start_ns;
				hist_add(&m->close_hist, now - c->close_start_ns);
			}
			if (reason == CLOSE_RESET)
				m->resets += 1;
			else if (reason == CLOSE_TIMEOUT)
				m->timeouts += 1;
		}
		emit(CEV_CLOSE, skaddr, c, now, reason);
		if (c->role == CONN_ROLE_CLIENT) {
			struct end_key ek;

			end_key_of(&ek, c->side.netns, c->laddr, c->lport, c->side.family);
			bpf_map_delete_elem(&client_ends, &ek);
		}
		conn_del(sk, btf);
	}
	return 0;
}

/* Socket I/O syscalls (only these pay for an in-flight record). */
static __always_inline bool is_io_syscall(long id)
{
#if defined(__TARGET_ARCH_x86)
	switch (id) {
	case 0:	  /* read */
	case 1:	  /* write */
	case 19:  /* readv */
	case 20:  /* writev */
	case 40:  /* sendfile */
	case 44:  /* sendto */
	case 45:  /* recvfrom */
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 275: /* splice */
	case 299: /* recvmmsg */
	case 307: /* sendmmsg */
		return true;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (id) {
	case 63:  /* read */
	case 64:  /* write */
	case 65:  /* readv */
	case 66:  /* writev */
	case 71:  /* sendfile */
	case 76:  /* splice */
	case 206: /* sendto */
	case 207: /* recvfrom */
	case 211: /* sendmsg */
	case 212: /* recvmsg */
	case 243: /* recvmmsg */
	case 269: /* sendmmsg */
		return true;
	}
#else
	return true; /* numbers unknown here: every syscall pays the in-flight record */
#endif
	return false;
}

/* How syscall @id passes its buffer (x86-64 and arm64 numbers). */
static __always_inline __u8 buf_kind_of(long id)
{
#if defined(__TARGET_ARCH_x86)
	switch (id) {
	case 0:	 /* read */
	case 1:	 /* write */
	case 44: /* sendto */
	case 45: /* recvfrom */
		return BUF_PLAIN;
	case 19: /* readv */
	case 20: /* writev */
		return BUF_IOV;
	case 46: /* sendmsg */
	case 47: /* recvmsg */
		return BUF_MSG;
	}
#elif defined(__TARGET_ARCH_arm64)
	switch (id) {
	case 63:  /* read */
	case 64:  /* write */
	case 206: /* sendto */
	case 207: /* recvfrom */
		return BUF_PLAIN;
	case 65: /* readv */
	case 66: /* writev */
		return BUF_IOV;
	case 211: /* sendmsg */
	case 212: /* recvmsg */
		return BUF_MSG;
	}
#endif
	return BUF_NONE;
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
{
	struct target_ref *t;
	__u64 pid_tgid, gen, *other;
	__u32 tgid, tid;
	struct inflight *f;
	__u8 kind = BUF_NONE, sample;
	__u64 buf = 0;

	if (!is_io_syscall(id))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	if (other_process(tgid, &gen, &other))
		return 0;
	t = target_lookup(tgid, gen, other);
	if (!t)
		return 0;
	sample = sample_payload && (sample_all_targets || (t->flags & TARGET_F_SIDECAR));
	if (sample) {
		kind = buf_kind_of(id);
		if (kind != BUF_NONE)
			buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	}
	tid = (__u32)pid_tgid;
	f = bpf_map_lookup_elem(&inflight, &tid);
	if (f) {
		f->start_ns = bpf_ktime_get_ns();
		f->sk = 0;
		f->bytes = 0;
		f->dir = 0;
		f->buf = buf;
		f->buf_kind = kind;
		f->sample = sample;
		return 0;
	}
	{
		struct inflight n = {.start_ns = bpf_ktime_get_ns(),
				     .buf = buf,
				     .buf_kind = kind,
				     .sample = sample};

		if (bpf_map_update_elem(&inflight, &tid, &n, BPF_ANY))
			stat_inc(CSTAT_THREADS_FULL);
	}
	return 0;
}

enum io_timing {
	IO_NOTIME = 0, /* --syscall-time off: the duration is not measured */
	IO_TIMED,      /* enter and exit seen */
	IO_UNTIMED,    /* the call was in progress at attach */
};

static __always_inline void account_io(struct conn_state *c, const struct sock *sk, __u32 dir,
				       __u64 bytes, __u64 dt, enum io_timing timing, bool btf_sk);
static __always_inline void side_io(struct side_metrics *m, const struct sock *sk, __u32 dir,
				    __u64 bytes, __u64 dt, enum io_timing timing, bool btf_sk);
static __always_inline void sample_call(struct conn_state *c, __u64 skaddr, __u8 dir, __u64 bytes,
					__u64 buf, __u8 kind, __u64 start_ns, __u64 now,
					__u64 pid_tgid);
static __always_inline struct conn_state *conn_adopt(const struct sock *sk, __u32 tgid,
						     const struct target_ref *t, __u64 gen,
						     __u64 now, bool btf);

/* The compiler must not move loads or stores of a cache slot across this. */
#define compiler_barrier() asm volatile("" ::: "memory")

/* This CPU's socket cache slot for @cookie (tp_btf only); NULL for no cookie. */
static __always_inline struct sk_cache_slot *sk_cache_slot(__u64 cookie)
{
	struct sk_cache *cache;
	__u32 zero = 0;

	if (!cookie)
		return NULL;
	cache = bpf_map_lookup_elem(&sk_cache, &zero);
	if (!cache)
		return NULL;
	/*
	 * Cookies come from per-CPU batches of 4096 consecutive numbers, so
	 * the k-th socket of two batches would share a slot if the low bits
	 * chose it: the top bits of a Fibonacci hash do.
	 */
	return &cache->slot[(cookie * 0x9e3779b97f4a7c15ULL) >> (64 - SK_CACHE_BITS)];
}

/*
 * A read or write by @tgid accounted from the socket cache (tp_btf, see
 * struct sk_cache_slot). False: not cached, or cached under another owner,
 * target set or connection; the caller takes the slow path.
 */
static __always_inline bool sk_cache_io(const struct sock *sk, __u32 tgid, __u64 gen, __u8 dir,
					__u64 bytes)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter; /* 0 until someone asks for it */
	struct sk_cache_slot *s = sk_cache_slot(cookie);
	__u32 side_id, owner, owner_gen, cache_gen;
	struct side_metrics *m;
	__u8 ignore;

	if (!s || s->cookie != cookie)
		return false;
	side_id = s->side_id;
	owner = s->owner_tgid;
	owner_gen = s->owner_gen;
	cache_gen = s->cache_gen;
	ignore = s->ignore;
	compiler_barrier();
	if (s->cookie != cookie) /* refilled while this program was preempted */
		return false;
	if (cache_gen != sk_cache_gen)
		return false;
	if (ignore)
		return true;
	if (owner != tgid || owner_gen != (__u32)gen + 1)
		return false;
	m = side_metrics_of(side_id);
	if (!m)
		return false;
	side_io(m, sk, dir, bytes, 0, IO_NOTIME, true);
	return true;
}

/* Remember connection @c of @sk in this CPU's socket cache (tp_btf). */
static __always_inline void sk_cache_fill(const struct sock *sk, const struct conn_state *c)
{
	/* gives the socket its cookie if it has none yet */
	__u64 cookie = bpf_get_socket_cookie((void *)sk);
	struct sk_cache_slot *s = sk_cache_slot(cookie);

	if (!s)
		return;
	s->cookie = 0;
	compiler_barrier();
	s->side_id = c->side_id;
	s->owner_tgid = c->owner_tgid;
	s->owner_gen = c->owner_gen;
	s->cache_gen = sk_cache_gen;
	s->ignore = c->ignore;
	compiler_barrier();
	s->cookie = cookie;
}

/*
 * Without --syscall-time: one socket read or write, accounted here. Under
 * tp_btf (@btf) the payload is sampled from the syscall's arguments in the
 * task's user registers; the raw_tp variant cannot reach them, so the loader
 * turns --syscall-time on when it has to sample there.
 */
static __always_inline int on_sock_io(const struct sock *sk, int ret, __u8 dir, bool btf)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), skaddr = (__u64)sk, gen, *other;
	__u32 tgid = pid_tgid >> 32, flags;
	struct target_ref *t;
	struct conn_state *c;
	bool sampled;

	if (ret <= 0)
		return 0;
	gen = target_gen_now();
	/* the common case: a call on a tracked, never sampled connection by its owner */
	if (sks(btf) && sk_cache_io(sk, tgid, gen, dir, (__u64)ret))
		return 0;
	/* the common case on a real node: a call by some other pod's process */
	other = other_slot(tgid);
	if (known_other(other, tgid, gen))
		return 0;
	/*
	 * Socket first: on a tracked connection its owner is a known target and
	 * no map is hashed. Anything else needs the target check by process
	 * (softirq never gets here: these are process-context calls).
	 */
	c = conn_get(sk, btf);
	if (c && c->ignore) {
		if (sks(btf))
			sk_cache_fill(sk, c);
		return 0;
	}
	if (c && c->owner_tgid == tgid && c->owner_gen == (__u32)gen + 1) {
		flags = c->owner_flags;
	} else {
		t = target_lookup(tgid, gen, other);
		if (!t)
			return 0;
		flags = t->flags;
		if (!c) {
			c = conn_adopt(sk, tgid, t, gen, bpf_ktime_get_ns(), btf);
			if (!c)
				return 0;
		} else if (c->owner_tgid == tgid) {
			conn_owner_checked(c, t, gen);
		}
	}
	sampled = sample_payload && c->proto != CONN_PROTO_OTHER &&
		  (sample_all_targets || (flags & TARGET_F_SIDECAR));
	if (btf && sampled && dir != c->last_dir) {
		/* a trusted pointer: its fields are plain loads, not probe reads */
		struct pt_regs *regs =
			(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		long nr = 0;
		__u64 buf = 0;
		__u8 kind;

#if defined(__TARGET_ARCH_x86)
		nr = regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
		nr = regs->syscallno;
#endif
		kind = buf_kind_of(nr);
		if (kind != BUF_NONE) {
#if defined(__TARGET_ARCH_x86)
			buf = regs->si; /* second syscall argument */
#elif defined(__TARGET_ARCH_arm64)
			buf = regs->regs[1];
#else
			buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
#endif
		}
		sample_call(c, skaddr, dir, (__u64)ret, buf, kind, 0, bpf_ktime_get_ns(), pid_tgid);
	}
	c->last_dir = dir;
	account_io(c, sk, dir, (__u64)ret, 0, IO_NOTIME, btf);
	/*
	 * Sampled connections stay on this path: their samples need the
	 * connection's byte offsets and direction, kept here. The sample
	 * above may just have found the connection not to be HTTP.
	 */
	sampled = sampled && c->proto != CONN_PROTO_OTHER;
	if (sks(btf) && !sampled && c->owner_tgid == tgid && c->owner_gen == (__u32)gen + 1 &&
	    c->side_id)
		sk_cache_fill(sk, c);
	return 0;
}

static __always_inline int on_sock_length(const struct sock *sk, int ret, int flags, __u32 dir,
					  bool btf)
{
	__u64 pid_tgid, gen, *other;
	__u32 tid, tgid;
	struct inflight *f;

	if (dir == 2 && (flags & MSG_PEEK))
		return 0;
	if (!syscall_time)
		return on_sock_io(sk, ret, dir, btf);
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	if (other_process(tgid, &gen, &other))
		return 0;
	tid = (__u32)pid_tgid;
	f = bpf_map_lookup_elem(&inflight, &tid);
	if (!f || !f->start_ns) {
		/*
		 * Not inside a syscall we saw enter: the call was already in
		 * progress when podscope attached (a worker blocked in read()).
		 * Count its bytes now; its duration is unknown.
		 */
		struct target_ref *t;
		struct conn_state *c;

		if (ret <= 0)
			return 0;
		t = target_lookup(tgid, gen, other);
		if (!t)
			return 0;
		c = conn_get(sk, btf);
		if (!c)
			c = conn_adopt(sk, tgid, t, gen, bpf_ktime_get_ns(), btf);
		if (c && !c->ignore)
			account_io(c, sk, dir, (__u64)ret, 0, IO_UNTIMED, btf);
		return 0;
	}
	if (f->sk && f->sk != (__u64)sk)
		return 0; /* one socket per call is all we attribute */
	f->sk = (__u64)sk;
	f->dir = dir;
	if (ret > 0)
		f->bytes += ret;
	return 0;
}

/*
 * First I/O by target @t on a socket podscope does not track yet: a
 * connection opened before podscope watched it, or not a TCP connection.
 */
static __always_inline struct conn_state *conn_adopt(const struct sock *sk, __u32 tgid,
						     const struct target_ref *t, __u64 gen,
						     __u64 now, bool btf)
{
	__u64 skaddr = (__u64)sk;
	struct listen_key lk = {};
	struct conn_state *c;
	__u8 role;

	if (!is_tcp(sk)) {
		stat_inc(CSTAT_NOT_TCP);
		if (sks(btf)) {
			/* a UDP or unix socket: remember it, so the next call returns early */
			c = conn_new(sk, tgid, t->container_idx, 0, now, btf);
			if (c)
				c->ignore = 1;
		}
		return NULL;
	}
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_ESTABLISHED) {
		stat_inc(CSTAT_NOT_TCP);
		return NULL;
	}
	lk.netns = sk_netns(sk);
	lk.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	role = bpf_map_lookup_elem(&listeners, &lk) ? CONN_ROLE_SERVER : CONN_ROLE_CLIENT;
	c = conn_new(sk, tgid, t->container_idx, role, now, btf);
	if (!c)
		return NULL;
	conn_owner_checked(c, t, gen);
	c->adopted = 1;
	c->established = 1;
	conn_describe(c, sk);
	if (role == CONN_ROLE_CLIENT)
		register_client_end(c);
	emit(CEV_ADOPT, skaddr, c, now, 0);
	return c;
}

/* The syscall number at sys_exit (sys_exit's arguments do not carry it). */
static __always_inline long exit_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return 0; /* is_io_syscall() accepts everything on such architectures */
#endif
}

/* Does @p (4 bytes) start an HTTP/1 request or status line? */
static __always_inline bool looks_http1(const __u8 *p)
{
	__u32 w = (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;

#define W(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)
	switch (w) {
	case W('G', 'E', 'T', ' '):
	case W('P', 'O', 'S', 'T'):
	case W('P', 'U', 'T', ' '):
	case W('H', 'E', 'A', 'D'):
	case W('D', 'E', 'L', 'E'):
	case W('P', 'A', 'T', 'C'):
	case W('O', 'P', 'T', 'I'):
	case W('C', 'O', 'N', 'N'):
	case W('T', 'R', 'A', 'C'):
	case W('H', 'T', 'T', 'P'):
		return true;
	}
#undef W
	return false;
}

/*
 * Sample the call that just moved @bytes in direction @dir on @c: header,
 * and up to CONN_SAMPLE_MAX bytes of the first buffer the call used. The
 * first sample decides the connection's protocol; a connection that does
 * not start like HTTP/1 is never sampled again.
 */
static __always_inline void sample_call(struct conn_state *c, __u64 skaddr, __u8 dir, __u64 bytes,
					__u64 buf, __u8 kind, __u64 start_ns, __u64 now,
					__u64 pid_tgid)
{
	struct sample_event *e = bpf_ringbuf_reserve(&payload_samples, sizeof(*e), 0);
	__u64 n = bytes, id = 0;

	if (!e) {
		stat_inc(CSTAT_SAMPLE_DROPS);
		return;
	}
	stat_inc(CSTAT_SAMPLES);
	if (kind == BUF_MSG && buf) {
		struct user_msghdr *msg = (struct user_msghdr *)buf;
		__u64 iov = 0;

		bpf_probe_read_user(&iov, sizeof(iov), &msg->msg_iov);
		buf = iov;
		kind = BUF_IOV;
	}
	if (kind == BUF_IOV && buf) {
		struct iovec v = {};

		bpf_probe_read_user(&v, sizeof(v), (void *)buf);
		buf = (__u64)v.iov_base;
		if (n > v.iov_len)
			n = v.iov_len;
	}
	if (!buf)
		n = 0;
	if (n > CONN_SAMPLE_MAX)
		n = CONN_SAMPLE_MAX;
	if (n && bpf_probe_read_user(e->data, n, (void *)buf))
		n = 0;
	e->sample_len = n;
	if (c->proto == CONN_PROTO_UNKNOWN && n >= 4) {
		c->proto = looks_http1(e->data) ? CONN_PROTO_HTTP1 : CONN_PROTO_OTHER;
		if (c->proto == CONN_PROTO_HTTP1) {
			struct side_metrics *m = conn_metrics(c);

			if (m)
				m->http1_conns += 1;
		}
	}

	e->ts_ns = now;
	e->start_ns = start_ns;
	bpf_probe_read_kernel(&id, sizeof(id), &skaddr);
	e->sock_id = id ^ sock_id_salt;
	e->stream_off = dir == 1 ? c->bytes_sent : c->bytes_recv;
	e->conn_start_ns = c->start_ns;
	e->connect_ns = c->established_ns && c->role == CONN_ROLE_CLIENT && !c->adopted
				? c->established_ns - c->start_ns
				: 0;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->container_idx = c->container_idx;
	e->peer_tgid = c->side.peer_tgid;
	e->bytes = bytes > 0xffffffffULL ? 0xffffffff : (__u32)bytes;
	e->dir = dir;
	e->role = c->role;
	e->lport = c->lport;
	e->rport = c->rport;
	e->family = c->side.family;
	e->adopted = c->adopted;
	e->pad[0] = e->pad[1] = 0;
	__builtin_memcpy(e->laddr, c->laddr, 16);
	__builtin_memcpy(e->raddr, c->raddr, 16);
	bpf_ringbuf_submit(e, batch_wakeup(&payload_samples, RINGBUF_RECORD_BYTES(sizeof(*e)),
					   sample_wakeup_bytes));
}

static __always_inline int on_sys_exit(long nr)
{
	__u64 pid_tgid, now, dt, skaddr, bytes, buf, start_ns, gen, *other;
	struct inflight *f;
	struct conn_state *c;
	__u8 dir, kind, sample;
	__u32 tid, tgid;

	/* every syscall of the node passes here: leave before any map lookup */
	if (!is_io_syscall(nr))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	if (other_process(tgid, &gen, &other))
		return 0;
	tid = (__u32)pid_tgid;
	f = bpf_map_lookup_elem(&inflight, &tid);

	if (!f || !f->sk)
		return 0;
	skaddr = f->sk;
	bytes = f->bytes;
	dir = f->dir;
	buf = f->buf;
	kind = f->buf_kind;
	sample = f->sample;
	start_ns = f->start_ns;
	now = bpf_ktime_get_ns();
	dt = now - start_ns;
	f->sk = 0;
	f->start_ns = 0;
	if (!bytes)
		return 0; /* EAGAIN, EOF or error: no data moved */
	c = bpf_map_lookup_elem(&conns, &skaddr);
	if (!c) {
		struct target_ref *t = target_lookup(tgid, gen, other);

		if (!t)
			return 0;
		c = conn_adopt((const struct sock *)skaddr, tgid, t, gen, now, false);
		if (!c)
			return 0;
	}
	if (sample && dir != c->last_dir && c->proto != CONN_PROTO_OTHER)
		sample_call(c, skaddr, dir, bytes, buf, kind, start_ns, now, pid_tgid);
	c->last_dir = dir;
	account_io(c, (const struct sock *)skaddr, dir, bytes, dt, IO_TIMED, false);
	return 0;
}

/*
 * Add one data-carrying call to edge side @m. @btf_sk: @sk is a typed
 * pointer (tp_btf), so the RTT is a plain load; otherwise it is probe-read.
 */
static __always_inline void side_io(struct side_metrics *m, const struct sock *sk, __u32 dir,
				    __u64 bytes, __u64 dt, enum io_timing timing, bool btf_sk)
{
	if (dir == 1) {
		m->write_count += 1;
		m->write_bytes += bytes;
		if (timing == IO_TIMED) {
			m->write_ns += dt;
			hist_add(&m->write_hist, dt);
		} else if (timing == IO_UNTIMED) {
			m->write_untimed += 1;
		}
		{
			__u32 srtt = 0;

			if (btf_sk) {
				struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

				if (tp)
					srtt = tp->srtt_us >> 3;
			} else {
				srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
			}
			if (srtt) {
				m->rtt_count += 1;
				m->rtt_sum_us += srtt;
				hist_add(&m->rtt_hist, srtt);
			}
		}
	} else {
		m->read_count += 1;
		m->read_bytes += bytes;
		if (timing == IO_TIMED) {
			m->read_ns += dt;
			hist_add(&m->read_hist, dt);
		} else if (timing == IO_UNTIMED) {
			m->read_untimed += 1;
		}
	}
}

/*
 * Add one data-carrying call to the connection and its edge side (every
 * call not answered from the socket cache).
 */
static __always_inline void account_io(struct conn_state *c, const struct sock *sk, __u32 dir,
				       __u64 bytes, __u64 dt, enum io_timing timing, bool btf_sk)
{
	struct side_metrics *m = conn_metrics(c);

	stat_inc(CSTAT_IO_UNCACHED);
	if (dir == 1)
		c->bytes_sent += bytes;
	else
		c->bytes_recv += bytes;
	if (m)
		side_io(m, sk, dir, bytes, dt, timing, btf_sk);
}

/*
 * Segments sent again: one tcp_retransmit_skb can carry several (a GSO skb
 * lost whole, e.g. dropped as one on a veth path), and the kernel's
 * TcpRetransSegs counts each (tcp_skb_pcount), so retransmits do too.
 */
static __always_inline int on_retransmit(const struct sock *sk, const struct sk_buff *skb, bool btf)
{
	struct conn_state *c = conn_get(sk, btf);
	const struct tcp_skb_cb *cb;
	struct side_metrics *m;
	__u32 segs;

	if (!c || c->ignore)
		return 0;
	cb = (const struct tcp_skb_cb *)__builtin_preserve_access_index(&skb->cb);
	segs = BPF_CORE_READ(cb, tcp_gso_segs);
	if (!segs)
		segs = 1;
	c->retransmits += segs;
	m = conn_metrics(c);
	if (m)
		m->retransmits += segs;
	return 0;
}

/*
 * A SYN-ACK sent again by a target's listener (@rsk: the request socket,
 * whose sock_common has the connection's ends): remembered until accept.
 */
static __always_inline int on_synack_retransmit(const struct sock *rsk)
{
	struct listen_key lk = {.netns = sk_netns(rsk),
				.port = BPF_CORE_READ(rsk, __sk_common.skc_num)};
	__u8 laddr[16], raddr[16];
	struct handshake_key hk;
	__u16 lport, rport, family;
	__u32 *rtx, one = 1;

	if (!bpf_map_lookup_elem(&listeners, &lk))
		return 0;
	family = read_tuple(rsk, laddr, raddr, &lport, &rport);
	handshake_key_of(&hk, lk.netns, raddr, rport, family, lport);
	rtx = bpf_map_lookup_elem(&synack_rtx, &hk);
	if (rtx)
		__sync_fetch_and_add(rtx, 1);
	else
		bpf_map_update_elem(&synack_rtx, &hk, &one, BPF_NOEXIST);
	return 0;
}

static __always_inline int on_reset(const struct sock *sk, bool btf)
{
	struct conn_state *c = conn_get(sk, btf);

	if (c)
		c->reset = 1;
	return 0;
}

static __always_inline int on_drop(struct sk_buff *skb, __u32 reason, struct sock *rx_sk, bool btf)
{
	struct drop_key dk = {};
	struct side_metrics *m;
	struct conn_state *c;
	struct sock *sk;
	__u64 *cnt;

	if (sks(btf))
		sk = skb->sk; /* a typed pointer, as socket storage needs */
	else
		sk = (struct sock *)BPF_CORE_READ(skb, sk);
	if (!sk)
		sk = rx_sk;
	if (!sk)
		return 0;
	c = conn_get(sk, btf);
	if (!c || c->ignore)
		return 0;
	c->drops += 1;
	m = conn_metrics(c);
	if (m)
		m->drops += 1;
	__builtin_memcpy(&dk.side, &c->side, sizeof(dk.side));
	dk.reason = reason;
	cnt = bpf_map_lookup_elem(&drop_reasons, &dk);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		return 0;
	}
	{
		__u64 one = 1;

		if (!bpf_map_update_elem(&drop_reasons, &dk, &one, BPF_NOEXIST))
			return 0;
		cnt = bpf_map_lookup_elem(&drop_reasons, &dk); /* lost a race: add to theirs */
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		else
			stat_inc(CSTAT_DROPS_FULL);
	}
	return 0;
}

/*
 * Where tcp_retransmit_skb carries the attempt's result (@err; Linux 6.18
 * has it), it fires for every attempt, also those __tcp_retransmit_skb gave
 * up on before anything was sent: the original still in a host queue
 * (-EBUSY), no window (-EAGAIN), no memory to trim or split it (-ENOMEM),
 * no route (-EHOSTUNREACH), -EINVAL. TcpRetransSegs counts none of those,
 * and neither do we. A failure of the transmission itself (-EPERM when
 * netfilter drops the segment on the way out) counts in both: the segment
 * was sent again and lost. (Where the tracepoint has no @err, it fires only
 * for attempts that transmitted successfully.)
 */
static __always_inline int on_retransmit_result(const struct sock *sk, const struct sk_buff *skb,
						int err, bool btf)
{
	if (err == -EBUSY || err == -EAGAIN || err == -ENOMEM || err == -EHOSTUNREACH ||
	    err == -EINVAL)
		return 0;
	return on_retransmit(sk, skb, btf);
}

#define CONN_PROGS(mech, sec, btf)                                                                 \
	SEC(sec "/inet_sock_set_state")                                                            \
	int BPF_PROG(ps_state_##mech, const struct sock *sk, int oldstate, int newstate)           \
	{                                                                                          \
		return on_state(sk, oldstate, newstate, btf);                                      \
	}                                                                                          \
	SEC(sec "/sys_enter")                                                                      \
	int BPF_PROG(ps_sysent_##mech, struct pt_regs *regs, long id)                              \
	{                                                                                          \
		return on_sys_enter(regs, id);                                                     \
	}                                                                                          \
	SEC(sec "/sock_send_length")                                                               \
	int BPF_PROG(ps_send_##mech, struct sock *sk, int ret, int flags)                          \
	{                                                                                          \
		return on_sock_length(sk, ret, flags, 1, btf);                                     \
	}                                                                                          \
	SEC(sec "/sock_recv_length")                                                               \
	int BPF_PROG(ps_recv_##mech, struct sock *sk, int ret, int flags)                          \
	{                                                                                          \
		return on_sock_length(sk, ret, flags, 2, btf);                                     \
	}                                                                                          \
	SEC(sec "/tcp_retransmit_skb")                                                             \
	int BPF_PROG(ps_retrans_##mech, const struct sock *sk, const struct sk_buff *skb, int err) \
	{                                                                                          \
		return on_retransmit_result(sk, skb, err, btf);                                    \
	}                                                                                          \
	/* the same where the tracepoint has no result argument (conn.c chooses) */                \
	SEC(sec "/tcp_retransmit_skb")                                                             \
	int BPF_PROG(ps_retrans2_##mech, const struct sock *sk, const struct sk_buff *skb)         \
	{                                                                                          \
		return on_retransmit(sk, skb, btf);                                                \
	}                                                                                          \
	SEC(sec "/tcp_retransmit_synack")                                                          \
	int BPF_PROG(ps_rtxsyn_##mech, void *listener, struct request_sock *req)                   \
	{                                                                                          \
		return on_synack_retransmit((const struct sock *)req);                             \
	}                                                                                          \
	SEC(sec "/tcp_send_reset")                                                                 \
	int BPF_PROG(ps_sndrst_##mech, const struct sock *sk)                                      \
	{                                                                                          \
		return on_reset(sk, btf);                                                          \
	}                                                                                          \
	SEC(sec "/tcp_receive_reset")                                                              \
	int BPF_PROG(ps_rcvrst_##mech, struct sock *sk)                                            \
	{                                                                                          \
		return on_reset(sk, btf);                                                          \
	}                                                                                          \
	SEC(sec "/kfree_skb")                                                                      \
	int BPF_PROG(ps_drop_##mech, struct sk_buff *skb, void *location,                          \
		     enum skb_drop_reason reason, struct sock *rx_sk)                              \
	{                                                                                          \
		return on_drop(skb, reason, rx_sk, btf);                                           \
	}                                                                                          \
	/* the same before Linux 6.11, which has no receiving socket (conn.c chooses) */           \
	SEC(sec "/kfree_skb")                                                                      \
	int BPF_PROG(ps_drop3_##mech, struct sk_buff *skb, void *location,                         \
		     enum skb_drop_reason reason)                                                  \
	{                                                                                          \
		return on_drop(skb, reason, NULL, btf);                                            \
	}

CONN_PROGS(btf, "tp_btf", true)
CONN_PROGS(raw, "raw_tp", false)

/*
 * sys_exit runs for every syscall on the node. Under tp_btf the registers
 * are a trusted pointer and the syscall number is a plain load; raw_tp has
 * to probe-read it.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(ps_sysexit_btf, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	return on_sys_exit(regs->orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return on_sys_exit(regs->syscallno);
#else
	return on_sys_exit(0);
#endif
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ps_sysexit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(exit_syscall_nr(regs));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
