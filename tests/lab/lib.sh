# shellcheck shell=bash
# TAP-ish helpers for the lab tests. Source me.
T_PASS=0
T_FAIL=0
T_N=0

# ok DESCRIPTION CMD... : run CMD, report ok/not ok
ok() {
	local desc=$1 out rc=0
	shift
	T_N=$((T_N + 1))
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		T_PASS=$((T_PASS + 1))
		echo "ok $T_N - $desc"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $desc (rc=$rc)"
		[[ -n $out ]] && head -n 40 <<<"$out" | while IFS= read -r l; do echo "#   $l"; done
	fi
	return 0
}

# is DESCRIPTION GOT WANT
is() {
	T_N=$((T_N + 1))
	if [[ $2 == "$3" ]]; then
		T_PASS=$((T_PASS + 1))
		echo "ok $T_N - $1"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $1"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
	fi
}

diag() { echo "# $*"; }

t_summary() {
	echo "$T_PASS passed, $T_FAIL failed"
	((T_FAIL == 0))
}

# the cgroup hierarchies, found independently of the lab script
t_cg_roots() {
	awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/self/mounts | sort -u
	if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
		echo /sys/fs/cgroup
	else
		awk '$2 == "/sys/fs/cgroup/unified" && $3 == "cgroup2" { print $2 }' /proc/self/mounts
	fi
}

# root-ns iptables rules without counters (to prove the lab leaves them alone)
t_root_iptables() {
	{ iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } |
		grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}

# wait_stable FILE : wait until the line count of FILE stops changing
t_lines_stable() {
	local f=$1 a b i
	a=$(wc -l <"$f")
	for ((i = 0; i < 20; i++)); do
		sleep 0.1
		b=$(wc -l <"$f")
		[[ $a == "$b" ]] && break
		a=$b
	done
	echo "$a"
}

# t_alive PID: exists and is not a zombie
t_alive() {
	local st
	st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}
