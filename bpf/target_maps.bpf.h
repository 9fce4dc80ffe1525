/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The target set as the kernel sees it, declared once for every object that
 * uses it: targets.bpf.c owns the maps, the connection tracer reuses them
 * (bpf_map__reuse_fd), so their definitions must be identical.
 */
#ifndef PODSCOPE_TARGET_MAPS_BPF_H
#define PODSCOPE_TARGET_MAPS_BPF_H

#include "target_events.h"

/* tgid -> target (container index, TARGET_F_*). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TARGET_MAX_TGIDS);
	__type(key, __u32);
	__type(value, struct target_ref);
} target_tgids SEC(".maps");

/* Generation of target_tgids (see target_events.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} target_gen SEC(".maps");

#endif
