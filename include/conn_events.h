/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Structures shared by bpf/conn.bpf.c and src/conn.c: per-connection state,
 * per-edge-side aggregates (counters and log2 histograms, updated in the
 * kernel), and the lifecycle events (connect, accept, adopt, close) that are
 * the only per-connection traffic to user space. Fixed-width types,
 * explicit padding, no pointers.
 */
#ifndef PODSCOPE_CONN_EVENTS_H
#define PODSCOPE_CONN_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CONN_MAX_CONNS	 32768
#define CONN_MAX_SIDES	 4096
#define CONN_MAX_THREADS 16384
#define CONN_HIST_SLOTS	 32
#define CONN_SAMPLE_MAX	 256 /* payload bytes sampled per call (power of two) */

enum conn_role {
	CONN_ROLE_CLIENT = 1,
	CONN_ROLE_SERVER = 2,
};

enum conn_close_reason {
	CLOSE_NORMAL = 0,
	CLOSE_RESET = 1,
	CLOSE_TIMEOUT = 2,
	CLOSE_ERROR = 3,
};

/*
 * One side of an edge as the kernel can name it. The client side is
 * (client tgid, address it dialed); the server side is (server tgid, its
 * local port, the client's tgid when the client is a target, else the
 * client's address, and the address the client dialed when known). User
 * space joins the two sides on (client tgid, dialed address).
 * Addresses: 16 bytes, IPv4 in the first 4 (network order).
 */
struct side_key {
	__u32 tgid;
	__u32 peer_tgid; /* 0: peer not a target (or not known) */
	__u32 netns;	 /* netns inode of the local socket */
	__u16 dialed_port;
	__u16 server_port; /* server side: the local (listening) port; client side: 0 */
	__u8 role;	   /* enum conn_role */
	__u8 family;	   /* AF_INET / AF_INET6 */
	__u8 pad[2];
	__u8 dialed_addr[16];
	__u8 peer_addr[16]; /* server side with unknown peer: client address; else zero */
};

struct conn_hist {
	__u64 slots[CONN_HIST_SLOTS]; /* slot i counts values in [2^i, 2^(i+1)); slot 0 also 0 */
};

struct side_metrics {
	/* touched by every read or write: first, so they share one or two cache lines */
	__u64 write_count, write_bytes, read_count, read_bytes;
	__u64 rtt_count, rtt_sum_us;
	__u64 write_ns, read_ns;
	/* per connection event, or rare */
	__u64 connect_count, connect_ns, connect_errors;
	__u64 close_count, close_ns, close_timed;
	__u64 retransmits, drops, resets, timeouts;
	__u64 write_untimed, read_untimed; /* calls in progress at attach: bytes, no time */
	__u64 http1_conns;		   /* connections whose payload sample looked like HTTP/1 */
	__u64 pad[3];			   /* size: a multiple of 64 bytes */
	struct conn_hist write_hist;	   /* ns in the write/send call */
	struct conn_hist read_hist;	   /* ns in the read/recv call */
	struct conn_hist connect_hist;	   /* ns from SYN sent to established (client) */
	struct conn_hist close_hist;	   /* ns from local close (FIN) to TCP_CLOSE */
	struct conn_hist rtt_hist;	   /* us, smoothed RTT at each write */
};

/*
 * Per-connection state (socket storage under tp_btf, else the conns map).
 * The fields every read or write uses come first: in socket storage they
 * then share one cache line with the storage's own header.
 */
struct conn_state {
	__u32 owner_tgid;
	__u32 owner_gen;   /* 1 + target-set generation of the owner's last check; 0: never */
	__u32 owner_flags; /* the owner's TARGET_F_* at that check */
	__u32 side_id;	   /* 1 + index into sides; 0: not resolved yet */
	__u8 last_dir;	   /* direction of the last data-carrying call: 1 send, 2 recv */
	__u8 proto;	   /* enum conn_proto */
	__u8 ignore;	   /* not a TCP connection: a target's UDP or unix socket, never counted */
	__u8 role;	   /* enum conn_role */
	__u32 container_idx;
	/*
	 * Bytes moved so far in each direction: the stream offsets of payload
	 * samples. Counted on every call of a connection that can be sampled;
	 * calls answered from the socket cache (struct sk_cache_slot, never a
	 * sampled connection's) count only in the edge side.
	 */
	__u64 bytes_sent;
	__u64 bytes_recv;
	/* connection events and samples */
	struct side_key side;
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u8 reset;
	__u8 adopted;
	__u8 established;
	__u8 pad;
	__u64 start_ns;
	__u64 established_ns;
	__u64 close_start_ns;
	__u32 retransmits;
	__u32 drops;
};

/*
 * The socket cache (tp_btf only): per CPU, a direct-mapped table from a
 * socket's cookie to what a read or write on a tracked connection needs -
 * its edge side and its owner - so the common call costs one cache line
 * instead of the three that socket storage chains through (the socket's
 * last line, the storage, its element). Filled on the slow path for
 * connections that are never sampled; a cookie is never reused, so a slot
 * left behind by a closed socket can never match again. Read and written
 * only in process context on its own CPU; @cookie is cleared before and set
 * after the other fields, and a reader checks it again after reading them,
 * so a program preempted in between sees either the old slot or the new.
 */
#define SK_CACHE_BITS  9
#define SK_CACHE_SLOTS (1 << SK_CACHE_BITS) /* per CPU: 16 KiB */

struct sk_cache_slot {
	__u64 cookie; /* 0: empty */
	__u32 side_id;
	__u32 owner_tgid;
	__u32 owner_gen;
	__u32 cache_gen; /* sk_cache_gen when filled */
	__u8 ignore;
	__u8 pad[7];
};

struct sk_cache {
	struct sk_cache_slot slot[SK_CACHE_SLOTS];
};

struct drop_key {
	struct side_key side;
	__u32 reason; /* enum skb_drop_reason of the running kernel */
	__u32 pad;
};

enum conn_event_type {
	CEV_CONNECT = 1, /* client connection established */
	CEV_ACCEPT,	 /* server connection established */
	CEV_ADOPT,	 /* connection already open when podscope started, seen at first I/O */
	CEV_CLOSE,
};

struct conn_event {
	__u64 ts_ns;
	__u64 sock_id; /* opaque socket identity for this run */
	struct side_key side;
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u32 type;
	__u32 container_idx;
	__u32 tgid; /* process that did the operation (close: owner) */
	__u64 connect_ns;
	__u64 duration_ns;
	__u32 retransmits, drops;
	__u8 role;
	__u8 close_reason;
	__u8 adopted;
	__u8 pad[5];
};

/* What the payload sampler decided about a connection. */
enum conn_proto {
	CONN_PROTO_UNKNOWN = 0, /* nothing sampled yet */
	CONN_PROTO_HTTP1 = 1,	/* first bytes looked like an HTTP/1 start line */
	CONN_PROTO_OTHER = 2,	/* did not: never sampled again */
};

/*
 * A sampled read or write (payload_samples ring buffer): the first bytes of
 * a data-carrying call on a connection of a sampled process, taken only when
 * the call reverses the connection's direction (the first write after
 * reads, the first read after writes) - where request/response protocols
 * start a message. stream_off counts the bytes this direction carried
 * before the call, so user space knows how much it did not see.
 */
struct sample_event {
	__u64 ts_ns;	/* call returned */
	__u64 start_ns; /* call entered (0: entered before podscope attached) */
	__u64 sock_id;
	__u64 stream_off;
	__u64 conn_start_ns; /* connect() or accept of the connection */
	__u64 connect_ns;    /* client: SYN to established; 0 otherwise */
	__u32 tgid, tid;
	__u32 container_idx;
	__u32 peer_tgid; /* from the side key: the watched peer process, or 0 */
	__u32 bytes;	 /* moved by the call */
	__u16 sample_len;
	__u8 dir;  /* 1 send, 2 recv */
	__u8 role; /* enum conn_role */
	__u16 lport, rport;
	__u8 family;
	__u8 adopted;
	__u8 pad[2];
	__u8 laddr[16];
	__u8 raddr[16];
	__u8 data[CONN_SAMPLE_MAX];
};

enum conn_stat {
	CSTAT_RINGBUF_DROPS = 0, /* lifecycle events lost: ring buffer full */
	CSTAT_CONNS_FULL,	 /* a connection could not be tracked: conns map full */
	CSTAT_SIDES_FULL,	 /* an edge side could not be created: sides map full */
	CSTAT_THREADS_FULL,	 /* an in-flight syscall could not be tracked */
	CSTAT_DROPS_FULL,	 /* a drop reason could not be counted */
	CSTAT_NOT_TCP,		 /* I/O on a socket by a target that is not an established TCP
				    connection (ignored; with socket storage: once per socket) */
	CSTAT_SAMPLE_DROPS,	 /* payload samples lost: ring buffer full */
	CSTAT_SAMPLES,		 /* payload samples taken */
	CSTAT_IO_UNCACHED,	 /* reads and writes accounted without the socket cache (tp_btf:
				    sampled connections, first calls, after target-set changes) */
	CSTAT_OTHER_LOOKUPS,	 /* socket I/O by a process found by a target_tgids lookup not
				    to be a target (the per-CPU memory of such processes missed) */
	CSTAT__COUNT,
};

/* Key of the listeners map: (netns, port) -> owning target. */
struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

/* Key of the client_ends map: a client's local endpoint. */
struct end_key {
	__u32 netns; /* 0 unless the address is loopback (pod IPs are node-unique) */
	__u16 port;
	__u16 family;
	__u8 addr[16];
};

/*
 * Key of synack_rtx: a connection still in its handshake, by the client's
 * end (as in end_key) and the server's port.
 */
struct handshake_key {
	struct end_key client;
	__u16 server_port;
	__u16 pad[3];
};

struct end_value {
	__u32 tgid;
	__u32 container_idx;
	__u8 dialed_addr[16];
	__u16 dialed_port;
	__u16 pad;
	__u32 pad2;
};

struct owner_value {
	__u32 tgid;
	__u32 container_idx;
};

#endif /* PODSCOPE_CONN_EVENTS_H */
