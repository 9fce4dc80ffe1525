/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The collector: the one place that reads the kernel side (edge-side
 * aggregates, drop reasons, loss counters, on-CPU time) into the model.
 * Views read the model only.
 */
#ifndef PODSCOPE_COLLECT_H
#define PODSCOPE_COLLECT_H

#include "conn.h"
#include "model.h"
#include "reqs.h"
#include "watchset.h"

/*
 * Refresh @m from the BPF maps of @ws's tracker and @ct; rebuild edges. 0 or
 * -errno. The loss counters include podscope's own programs' recursion
 * misses: the programs are listed (through this process's file descriptors)
 * into @progs (AGENT_MAX_PROGS entries; NULL: a buffer of its own), with the
 * kernel's counters (run time and count only while kernel.bpf_stats_enabled
 * is 1; recursion misses always, Linux 5.12+), and their number stored in
 * *@nprogs (NULL: not wanted; 0 when they could not be listed).
 */
int collect__refresh(struct model *m, struct watchset *ws, struct conn_tracer *ct,
		     struct bpf_prog_stat *progs, int *nprogs);

/*
 * The kernel keeps a program's recursion misses with the program, so a sum
 * over the programs loaded now falls when one is unloaded (the packet tracer
 * stopping, a tracer reloaded), and a Prometheus counter must not fall. The
 * tally remembers each program's last count; a program gone from the list
 * leaves its count behind in @retired.
 */
struct prog_miss_tally {
	struct {
		uint32_t id;
		uint64_t misses;
	} seen[AGENT_MAX_PROGS];
	int nseen;
	uint64_t retired;
};

/*
 * Recursion misses of every program in @progs[0..@n) now and of every
 * program in an earlier call that is gone: a total that never decreases.
 * @n < 0 (the list could not be read) or @n >= AGENT_MAX_PROGS (it may be cut
 * short): the last total, nothing retired.
 */
uint64_t collect__tally_misses(struct prog_miss_tally *t, const struct bpf_prog_stat *progs, int n);

/* Requests waiting longer than this without a response count as unanswered. */
#define COLLECT_REQUEST_MAX_AGE_NS 30000000000ULL

/* Expire stale requests of @rt (NULL: nothing to do) and put its counters in @m. */
void collect__requests(struct model *m, struct req_tracker *rt);

#endif /* PODSCOPE_COLLECT_H */
