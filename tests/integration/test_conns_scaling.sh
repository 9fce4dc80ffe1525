#!/usr/bin/env bash
# bench/conns-scaling runs end to end at a small size (a benchmark is not a
# timed test: this checks only that it works, rejects bad input with one line,
# and leaves nothing behind; its figures are in docs/benchmarks.md).
set -u
. "$(dirname "$0")/lib.sh"
B=$ROOT/bench/conns-scaling
lab_lock # the benchmark switches bpf_stats on; PODSCOPE_LAB_LOCKED=1 from here on
STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

"$B" --counts "5 x" >"$OUT" 2>&1
check_eq "bad --counts: exit 2" 2 $?
check_eq "bad --counts: one line" 1 "$(wc -l <"$OUT")"
"$B" --rounds 5 >"$OUT" 2>&1
check_eq "--rounds below 1000: exit 2" 2 $?

"$B" --counts "4 40" --rounds 2000 --repeat 1 >"$OUT" 2>&1
rc=$?
check_eq "a small run exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$OUT"
check_eq "a row per mode and K" 4 "$(grep -cE '^(one|all) +(4|40) +[0-9]+ ' "$OUT")"
# every call on 40 connections in turn: the first call of each socket on each
# CPU is not in the socket cache, so 'all' at K=40 has more uncached calls than
# 'one'; each at least its own K's sockets' first calls
check "uncached calls: 'all' K=40 >= 80 (each of its 80 sockets once)" \
	awk '$1 == "all" && $2 == 40 { exit !($6 >= 80) }' "$OUT"
check "ns per run is a measurement (> 0) in every row" \
	awk '/^(one|all) / { if ($3 <= 0) bad = 1; n++ } END { exit !(n == 4 && !bad) }' "$OUT"
check_eq "nothing left: netns" 0 "$(ip netns list | grep -c psl-conns-scaling)"
check_eq "nothing left: BPF programs" 0 "$(bpftool prog show | grep -c ' name ps_')"
check_eq "nothing left: connfan processes" 0 "$(pgrep -c -x connfan)"
check_eq "bpf_stats back as it was" "$STATS0" "$(cat /proc/sys/kernel/bpf_stats_enabled)"
finish
