#!/usr/bin/env bash
# After the suites: nothing of podscope's or the lab's remains on the node.
# Every BPF program of podscope is named ps_*; every lab object carries psl.
set -u
. "$(dirname "$0")/lib.sh"
# wait for anyone using the lab (a benchmark, another test run) to finish first
lab_lock

for _ in $(seq 30); do
	[ "$(bpftool prog show 2>/dev/null | grep -c ' name ps_')" -eq 0 ] && break
	sleep 0.1
done
check_eq "no podscope BPF program loaded" 0 "$(bpftool prog show 2>/dev/null | grep -c ' name ps_')"
check_eq "no BPF link of ours" 0 "$(bpftool link show 2>/dev/null | grep -c 'ps_')"
check_eq "nothing pinned under /sys/fs/bpf" 0 "$(find /sys/fs/bpf -mindepth 1 2>/dev/null | grep -c podscope)"
check_eq "no lab netns" 0 "$(ip netns list 2>/dev/null | grep -c '^psl')"
check_eq "no lab links" 0 "$(ip -o link show 2>/dev/null | grep -c ': psl')"
check_eq "no tc filter on lo" 0 "$( (tc filter show dev lo ingress; tc filter show dev lo egress) 2>/dev/null | wc -l)"
check_eq "no root-ns iptables rule of the lab" 0 "$(iptables-save 2>/dev/null | grep -ci psl)"
check_eq "no lab state dir" 0 "$(test -e /run/podscope-lab && echo 1 || echo 0)"
# Live (non-zombie) processes of the lab or podscope; give exits a moment to finish.
ours_running() {
	local p
	for p in $(pgrep -f 'podscope-labapp|podscope-lab|build/podscope |psl-' 2>/dev/null); do
		[ "$p" == "$$" ] && continue
		[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" == Z ] && continue
		[ -e "/proc/$p" ] && echo "$p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}
for _ in $(seq 30); do [ -z "$(ours_running)" ] && break; sleep 0.1; done
check_eq "no lab or podscope process" "" "$(ours_running)"
check_eq "no doctor cgroup" 0 "$(find /sys/fs/cgroup -maxdepth 3 -name 'podscope-*' 2>/dev/null | wc -l)"
finish
