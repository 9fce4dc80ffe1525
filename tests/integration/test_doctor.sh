#!/usr/bin/env bash
# podscope doctor tells the truth on this machine, and the CLI rejects bad
# input with one line and exit status 2. Needs root.
set -u
. "$(dirname "$0")/lib.sh"

# What this project's machines lack (see DEVELOPERS.md): no kprobes built in,
# fentry refused with EPERM. Override for another kernel.
EXPECT_UNAVAILABLE=${PODSCOPE_EXPECT_UNAVAILABLE:-fentry kprobe}

tracefs_before=$(awk '$3 == "tracefs" && $2 == "/sys/kernel/tracing"' /proc/mounts | wc -l)

out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$PODSCOPE" doctor --json >"$out"
rc=$?
check_eq "doctor --json exits 0 (minimum set present)" 0 "$rc"
check "doctor --json is valid JSON" jq empty "$out"
check_eq "schema" "podscope.doctor/v1" "$(jq -r .schema "$out")"
check_eq "ready" true "$(jq -r .ready "$out")"
check_eq "nothing missing" 0 "$(jq '.missing | length' "$out")"
check_eq "BTF present" true "$(jq -r .btf.available "$out")"
check_eq "tracefs present" true "$(jq -r .tracefs.available "$out")"
if [ "$tracefs_before" -eq 0 ]; then
	check_eq "tracefs was absent: doctor says it mounted it" true \
		"$(jq -r .tracefs.mounted_by_podscope "$out")"
	check_eq "and unmounts it on exit" 0 \
		"$(awk '$3 == "tracefs" && $2 == "/sys/kernel/tracing"' /proc/mounts | wc -l)"
fi

for hook in tp_btf raw_tp tracepoint fentry kprobe uprobe sockops sk_msg tc; do
	want=true
	for u in $EXPECT_UNAVAILABLE; do [ "$u" == "$hook" ] && want=false; done
	check_eq "hook $hook available=$want" "$want" "$(jq -r ".hooks.$hook.available" "$out")"
done
# Cross-check kprobe against the kernel's own interfaces.
if [ -e /sys/bus/event_source/devices/kprobe ]; then kp=true; else kp=false; fi
check_eq "kprobe verdict agrees with /sys/bus/event_source/devices/kprobe" "$kp" \
	"$(jq -r .hooks.kprobe.available "$out")"
check_eq "fentry failure carries an errno" true \
	"$(jq -r '.hooks.fentry.available or (.hooks.fentry.errno != null)' "$out")"
# 6.18: the socket cache's helper loads from tp_btf, so no degradation is named for it
check_eq "bpf_get_socket_cookie usable from tp_btf" true \
	"$(jq -r .helpers.get_socket_cookie_tracing.available "$out")"
check_eq "no degradation named for it" 0 \
	"$(jq '[.degraded[] | select(.feature == "helper:get_socket_cookie")] | length' "$out")"
check_eq "degradation for fentry+kprobe named" 1 \
	"$(jq '[.degraded[] | select(.feature == "hook:fentry+kprobe")] | length' "$out")"

# Tracepoints: each required one present; tracefs answer matches the filesystem.
check_eq "all required tracepoints present" 0 \
	"$(jq '[.tracepoints[] | select(.required and (.tracefs or .btf | not))] | length' "$out")"
mnt=$(mktemp -d)
mount -t tracefs tracefs "$mnt"
mismatch=0
while IFS=' ' read -r name tfs; do
	cat=${name%%:*}
	ev=${name#*:}
	if [ -d "$mnt/events/$cat/$ev" ]; then real=true; else real=false; fi
	[ "$real" == "$tfs" ] || mismatch=$((mismatch + 1))
done < <(jq -r '.tracepoints[] | "\(.name) \(.tracefs)"' "$out")
umount "$mnt"
rmdir "$mnt"
check_eq "tracefs presence of every tracepoint matches events/ on disk" 0 "$mismatch"

# cgroup layout matches /proc/self/mountinfo.
if awk '$9 == "cgroup2" && $5 == "/sys/fs/cgroup"' /proc/self/mountinfo | grep -q .; then
	want=v2
elif awk '$9 == "cgroup2"' /proc/self/mountinfo | grep -q .; then
	want=hybrid
else
	want=v1
fi
check_eq "cgroup layout" "$want" "$(jq -r .cgroup.layout "$out")"
check_eq "bpf_stats sysctl" "$(cat /proc/sys/kernel/bpf_stats_enabled)" "$(jq -r .bpf_stats.sysctl "$out")"

# Human output has a verdict line.
check "text report has a verdict" bash -c "'$PODSCOPE' doctor | grep -q '^Verdict: ready'"

# Nothing left behind.
# Program teardown is RCU-deferred: give the kernel a moment before counting.
ours_loaded() { bpftool prog show 2>/dev/null | grep -cE ' name ps_probe_'; }
for _ in $(seq 20); do [ "$(ours_loaded)" -eq 0 ] && break; sleep 0.1; done
check_eq "no doctor BPF program left loaded" 0 "$(ours_loaded)"
check_eq "no probe cgroup left" 0 "$(find /sys/fs/cgroup -maxdepth 2 -name 'podscope-doctor-*' | wc -l)"

# Bad input: one line on stderr, exit 2.
bad_input() {
	local err rc
	err=$("$PODSCOPE" "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] && [ -n "$err" ] && [ "$(printf '%s\n' "$err" | grep -c 'error')" -eq 1 ]
}
check "unknown command -> exit 2, one error line" bad_input frobnicate
check "unknown doctor flag -> exit 2, one error line" bad_input doctor --bogus
check "unexpected doctor argument -> exit 2" bad_input doctor extra
check "unknown global flag -> exit 2" bad_input --nope doctor
check "no command -> exit 2, one error line" bad_input
check "--help exits 0" bash -c "'$PODSCOPE' --help | grep -q Usage"
check "doctor --help exits 0" bash -c "'$PODSCOPE' doctor --help | grep -q Usage"
check "help doctor exits 0" bash -c "'$PODSCOPE' help doctor | grep -q Usage"

finish
