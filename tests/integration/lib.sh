# shellcheck shell=bash
# Tiny TAP-like helpers for podscope's integration tests. Each test file
# sources this, calls check/ok/not_ok, and ends with `finish`, which prints
# "N passed, M failed" and returns non-zero on any failure.
PASSED=0
FAILED=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PODSCOPE=${PODSCOPE:-$ROOT/build/podscope}

ok() {
	PASSED=$((PASSED + 1))
	echo "ok $((PASSED + FAILED)) - $*"
}

not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok $((PASSED + FAILED)) - $*"
}

diag() { echo "# $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@" >/dev/null; then ok "$desc"; else not_ok "$desc"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (expected '$2', got '$3')"
	fi
}

# lab_lock: hold the pod lab for the rest of this script. The lab is one per
# machine; tests and benchmarks that bring it up and down must not overlap.
lab_lock() {
	exec 9>/run/podscope-lab.lock
	flock -w 900 9 || { echo "could not get the lab lock /run/podscope-lab.lock"; exit 1; }
	export PODSCOPE_LAB_LOCKED=1 # the lab commands we call must not wait for us
}

finish() {
	echo "$(basename "$0"): $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# start_watch OUTFILE DURATION ARGS...: `podscope watch` on the pods of
# $TMP/pods.json in the background (stdout to OUTFILE, stderr to OUTFILE.err),
# returning once it is attached; wait_watch returns its exit status.
start_watch() {
	local out=$1 dur=$2
	shift 2
	# the previous run's programs are freed after an RCU grace period: let them go first
	for _ in $(seq 50); do bpftool prog show | grep -q ' name ps_state_' || break; sleep 0.1; done
	"$PODSCOPE" watch --pods-file "$TMP/pods.json" --duration "$dur" "$@" >"$out" 2>"$out.err" &
	WATCH_PID=$!
	for _ in $(seq 100); do
		bpftool prog show | grep -q ' name ps_state_' && break
		sleep 0.05
	done
	sleep 0.3 # seeding /proc sockets happens right after attach
}
wait_watch() {
	wait "$WATCH_PID"
	local rc=$?
	WATCH_PID=
	return $rc
}

# free_port: a TCP port nothing listens on (20000-39999), for a test's own server.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# wait_http URL: until URL answers 2xx (15 s).
wait_http() {
	for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
	return 1
}
