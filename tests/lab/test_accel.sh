#!/usr/bin/env bash
# shellcheck disable=SC2016
# Socket-redirect acceleration on the pod lab, with load running: transfers
# arrive intact (checksums), no request fails when acceleration starts, stops
# or is killed with SIGKILL, redirected bytes really skip the TCP/IP stack
# (the kernel's own TCP counters of the socket stay still while podscope
# sees the writes), and nothing of ours stays attached. Needs root.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
ACCEL_PID=
cleanup() {
	[ -n "$ACCEL_PID" ] && kill -9 "$ACCEL_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"

# sha256 of the lab app's deterministic body of N bytes ('a' + i % 26)
expected_sha() {
	python3 -c 'import sys, hashlib
n = int(sys.argv[1]); h = hashlib.sha256(); b = bytes(97 + i % 26 for i in range(26 * 4096))
while n > 0:
    h.update(b[:min(n, len(b))]); n -= min(n, len(b))
print(h.hexdigest())' "$1"
}
# fetch N bytes through the whole chain; prints "<status> <sha256>"
fetch_sha() {
	local code
	code=$(curl -s -m 60 -o "$TMP/body" -w '%{http_code}' "http://198.18.0.11:9080/?size=$1")
	echo "$code $(sha256sum <"$TMP/body" | cut -d' ' -f1)"
}
accel_start() { # accel_start ARGS...: start, wait until its programs are attached
	"$PODSCOPE" accel run --pods-file "$TMP/pods.json" --pod default/reviews --pod default/ratings \
		--json "$@" >"$TMP/accel.json" 2>"$TMP/accel.err" &
	ACCEL_PID=$!
	for _ in $(seq 100); do
		[ "$(bpftool link show 2>/dev/null | grep -c 'attach_type cgroup_sock_ops')" -ge 2 ] && return 0
		sleep 0.05
	done
	return 1
}
accel_stop() { # SIGNAL
	kill -s "$1" "$ACCEL_PID"
	wait "$ACCEL_PID" 2>/dev/null
	ACCEL_PID=
}
# Restart the meshed pods' apps and sidecars so that every connection between
# them is opened anew: only connections set up while accelerated are redirected.
renew_pools() {
	"$LAB" restart reviews >/dev/null 2>&1 && "$LAB" restart ratings >/dev/null 2>&1
}
# When accel stops (any signal), its sockops links go at once: no new connection
# is redirected. Connections already redirected stay redirected until they
# close (unlinking them could drop data queued for the peer), so the kernel
# frees the sockhash and the sk_msg program when the last of them closes:
# restart the pods (closing every lab connection) and see everything go.
nothing_attached() {
	local i
	for i in $(seq 30); do
		[ "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')" -eq 0 ] || return 1
	renew_pools
	for i in $(seq 300); do
		[ "$(bpftool prog show | grep -c ' name ps_accel')" -eq 0 ] &&
			[ "$(bpftool map show | grep -c ' name accel_')" -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}
ss_sent() { # bytes_sent summed over the app-side sockets of sidecar -> app in POD
	nsenter --net="/run/netns/psl-$1" ss -tinH state established '( sport = :9080 )' |
		grep -o 'bytes_sent:[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'
}

# --- 1. transfers arrive intact with acceleration on --------------------------
check "accel starts and attaches to both pods" accel_start
check "the meshed pods restart (fresh connections)" renew_pools
for size in 1024 65536 1048576 16777216 67108864; do
	check_eq "accelerated: $size-byte body intact (200, sha256)" "200 $(expected_sha "$size")" \
		"$(fetch_sha "$size")"
done
# nginx with sendfile on, behind the sidecar in the reviews pod (splice/sendfile
# into a redirected socket is a known sockmap pitfall): random files, checksummed
check "static file server (nginx, sendfile on) in the reviews app container" "$LAB" static reviews
for size in 1024 1048576 67108864; do
	head -c "$size" /dev/urandom >"/run/podscope-lab/reviews/static/f$size"
	want=$(sha256sum <"/run/podscope-lab/reviews/static/f$size" | cut -d' ' -f1)
	got=$(curl -s -m 60 "http://198.18.0.11:9080/static/f$size" | sha256sum | cut -d' ' -f1)
	check_eq "accelerated sendfile: $size-byte file intact" "$want" "$got"
done
check "load with acceleration on: wrk 3s, 16 connections, no error" \
	"$LAB" load --duration 3s --connections 16
accel_stop INT
st=$(cat "$TMP/accel.json")
check "messages were redirected" jq -e '.messages_redirected > 0' <<<"$st"
check "redirected bytes cover both 64 MiB bodies (they crossed the sidecar -> app hop)" \
	jq -e '.bytes_redirected > 134217728' <<<"$st"
check_eq "no redirect failed, sockhash never full" "0 0" "$(jq -r '"\(.redirect_failed) \(.sockhash_full)"' <<<"$st")"
check "SIGINT: nothing of ours stays attached" nothing_attached
check_eq "after acceleration: the chain still works" "200 $(expected_sha 1048576)" "$(fetch_sha 1048576)"

# --- 2. redirected bytes skip the TCP/IP stack ---------------------------------
# With acceleration, the app's writes reach the sidecar's socket directly: the
# TCP byte counters of the app's socket do not move, while podscope's own
# socket metrics (podscope watch) see every byte the app wrote.
accel_start
renew_pools
curl -s -o /dev/null "http://198.18.0.11:9080/?size=1000" # open the new pooled connection
before=$(ss_sent reviews)
"$PODSCOPE" watch --pods-file "$TMP/pods.json" --pod default/reviews --duration 4s --json \
	>"$TMP/watch.json" 2>/dev/null &
wpid=$!
sleep 1.5
for _ in $(seq 10); do curl -s -o /dev/null "http://198.18.0.11:9080/?size=1000000"; done
wait "$wpid"
after=$(ss_sent reviews)
app_written=$(jq '[.edges[] | select(.server.container == "app" and .server.pod == "default/reviews")] | first | .server_side.write.bytes' "$TMP/watch.json")
check "podscope saw the app write the 10 MB of bodies" test "${app_written:-0}" -ge 10000000
check "the app's TCP sockets sent (almost) nothing: $((after - before)) bytes" \
	test $((after - before)) -lt 1000000
accel_stop TERM
check "SIGTERM: nothing of ours stays attached" nothing_attached

# --- 3. start and stop while traffic flows: no failed request ----------------
# Two request loops run while acceleration is switched on and off three times:
# one from inside the reviews app container to ratings (a fresh pod-local
# connection app -> sidecar for every request: some are redirected, some not,
# some live across a switch), one from the node through the whole chain.
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
"$LAB" status --json >"$TMP/pods.json" # restarts changed nothing of the pod identities
ruid=$(jq -r '.items[] | select(.metadata.name == "reviews") | .metadata.uid' "$TMP/pods.json")
rapp=$(jq -r '.items[] | select(.metadata.name == "reviews") | .status.containerStatuses[] | select(.name == "app") | .containerID | sub("containerd://"; "")' "$TMP/pods.json")
in_app() { sh -c 'echo $$ >"$0/cgroup.procs"; exec nsenter --net=/run/netns/psl-reviews "$@"' "$V2/kubepods/burstable/pod$ruid/$rapp" "$@"; }
( for i in $(seq 150); do
	in_app curl -s -m 10 -o /dev/null -w '%{http_code} %{size_download}\n' http://198.18.0.12:9080/ratings
done >"$TMP/loop-pod.out" ) &
loop1=$!
( for i in $(seq 150); do
	curl -s -m 10 -o /dev/null -w '%{http_code} %{size_download}\n' http://198.18.0.11:9080/
done >"$TMP/loop-node.out" ) &
loop2=$!
redirected=0
for _ in 1 2 3; do
	sleep 0.3
	accel_start
	sleep 0.6
	accel_stop INT
	redirected=$((redirected + $(jq .messages_redirected "$TMP/accel.json")))
done
wait "$loop1" "$loop2"
check_eq "switching x3 during 150 in-pod requests (app -> sidecar -> ratings): all 200, full body" \
	150 "$(grep -c '^200 1024$' "$TMP/loop-pod.out")"
check_eq "switching x3 during 150 requests through the chain: all 200, full body" 150 \
	"$(grep -c '^200 2048$' "$TMP/loop-node.out")"
check "some of those in-pod connections were redirected ($redirected messages)" test "$redirected" -gt 0

# --- 4. SIGKILL during load and during a large transfer ------------------------
accel_start
renew_pools
"$LAB" load --duration 4s --connections 16 >"$TMP/wrk.out" 2>&1 &
load=$!
sleep 1.5
accel_stop KILL
wait "$load"
check_eq "SIGKILL during wrk load: no failed request" 0 $?
check "after SIGKILL nothing of ours stays attached" nothing_attached

accel_start
renew_pools
curl -s -m 60 -o "$TMP/big" -w '%{http_code}' "http://198.18.0.11:9080/?size=67108864" >"$TMP/big.code" &
big=$!
sleep 0.15
accel_stop KILL
wait "$big"
check_eq "SIGKILL during a 64 MiB transfer: it completes intact" \
	"200 $(expected_sha 67108864)" "$(cat "$TMP/big.code") $(sha256sum <"$TMP/big" | cut -d' ' -f1)"
check "after SIGKILL nothing of ours stays attached" nothing_attached

accel_start
renew_pools
"$LAB" static reviews >/dev/null 2>&1
head -c 67108864 /dev/urandom >/run/podscope-lab/reviews/static/big
curl -s -m 60 -o "$TMP/big2" http://198.18.0.11:9080/static/big &
big=$!
sleep 0.15
accel_stop KILL
wait "$big"
check_eq "SIGKILL during a 64 MiB sendfile transfer (nginx): it completes intact" \
	"$(sha256sum </run/podscope-lab/reviews/static/big | cut -d' ' -f1)" "$(sha256sum <"$TMP/big2" | cut -d' ' -f1)"
check "after SIGKILL nothing of ours stays attached" nothing_attached

# --- 5. connections opened before enabling keep working (normal path) ---------
curl -s -o /dev/null http://198.18.0.11:9080/ # pooled connections, not accelerated
accel_start
st_ok=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' http://198.18.0.11:9080/; done | grep -c '^200$')
accel_stop INT
check_eq "pre-existing pooled connections keep working once enabled (normal path)" 20 "$st_ok"
check_eq "those stayed on the normal path: nothing redirected" 0 \
	"$(jq .messages_redirected "$TMP/accel.json")"

# --- 6. control through the agent: podscope run --accel-pod, accel enable|disable|status
echo "accel-test-token" >"$TMP/token"
AGENT=http://127.0.0.1:19747
"$PODSCOPE" run --pods-file "$TMP/pods.json" --pod default/reviews --pod default/ratings \
	--accel-pod default/reviews --listen 127.0.0.1:19747 --token-file "$TMP/token" \
	--duration 60s >/dev/null 2>"$TMP/run.err" &
RUN_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$AGENT/healthz" && break; sleep 0.1; done
check_eq "run --accel-pod: reviews accelerated from the start" '["default/reviews"]' \
	"$("$PODSCOPE" accel status --agent "$AGENT" --json | jq -c .enabled)"
check "accel enable --pod default/ratings (with the token)" \
	"$PODSCOPE" accel enable --pod default/ratings --agent "$AGENT" --token-file "$TMP/token"
one_line_http() { # expected HTTP status in the one error line, non-zero exit
	local want=$1 err rc
	shift
	err=$("$PODSCOPE" accel "$@" --agent "$AGENT" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && grep -q "HTTP $want" <<<"$err"
}
check "accel enable without the token: 401, one line" one_line_http 401 enable --pod default/ratings
check "accel enable of an unknown pod: 404, one line" one_line_http 404 enable --pod default/nope --token-file "$TMP/token"
check "accel enable twice: 409, one line" one_line_http 409 enable --pod default/ratings --token-file "$TMP/token"
renew_pools
for _ in $(seq 5); do curl -s -o /dev/null "http://198.18.0.11:9080/?size=100000"; done
check "status through the agent: messages redirected" \
	bash -c "'$PODSCOPE' accel status --agent '$AGENT' --json | jq -e '.messages_redirected > 0 and .bytes_redirected > 500000'"
check "accel disable --pod default/ratings" \
	"$PODSCOPE" accel disable --pod default/ratings --agent "$AGENT" --token-file "$TMP/token"
check_eq "status: only reviews left" '["default/reviews"]' \
	"$("$PODSCOPE" accel status --agent "$AGENT" --json | jq -c .enabled)"
check_eq "the chain works with one pod accelerated" "200 $(expected_sha 1048576)" "$(fetch_sha 1048576)"
kill -9 "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
check "agent SIGKILLed: nothing of ours stays attached" nothing_attached
check_eq "and the chain works" "200 $(expected_sha 1048576)" "$(fetch_sha 1048576)"

# --- 7. pod-to-pod (opt-in): reviews sidecar -> ratings sidecar skips the veths too
accel_start --pod-to-pod
renew_pools
ratings_rx() { nsenter --net=/run/netns/psl-ratings ss -tinH state established '( sport = :15006 )' |
	grep -o 'bytes_received:[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
curl -s -o /dev/null http://198.18.0.11:9080/ # opens the pooled reviews -> ratings connection
rx0=$(ratings_rx)
ok200=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' http://198.18.0.11:9080/; done | grep -c '^200$')
rx1=$(ratings_rx)
accel_stop INT
check_eq "pod-to-pod: 20 requests through the chain succeed" 20 "$ok200"
check "pod-to-pod: the ratings sidecar's TCP sockets received (almost) nothing: $((rx1 - rx0)) bytes for 20 requests" \
	test $((rx1 - rx0)) -lt 200
check "pod-to-pod: status says so" jq -e '.pod_to_pod == true and .messages_redirected > 0' "$TMP/accel.json"
check "pod-to-pod: nothing of ours stays attached" nothing_attached

# --- 8. IPv6: node-wide acceleration over ::1 in the root namespace ------------
head -c 1048576 /dev/urandom >"$TMP/v6.bin"
python3 -m http.server --bind ::1 18081 --directory "$TMP" >/dev/null 2>&1 &
V6=$!
for _ in $(seq 50); do ss -ltnpH 'sport = :18081' | grep -q "pid=$V6," && break; sleep 0.1; done
"$PODSCOPE" accel run --node-wide --json >"$TMP/accel6.json" 2>/dev/null &
ACCEL_PID=$!
for _ in $(seq 100); do [ "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')" -ge 1 ] && break; sleep 0.05; done
got=$(curl -s -6 -m 20 "http://[::1]:18081/v6.bin" | sha256sum | cut -d' ' -f1)
accel_stop INT
kill "$V6" 2>/dev/null
wait "$V6" 2>/dev/null
check_eq "IPv6 (::1), node-wide: 1 MiB file intact" "$(sha256sum <"$TMP/v6.bin" | cut -d' ' -f1)" "$got"
check "IPv6: the file went socket to socket" jq -e '.bytes_redirected >= 1048576' "$TMP/accel6.json"
check "IPv6: nothing of ours stays attached" nothing_attached

# --- 9. bad input --------------------------------------------------------------
one_line_fail() {
	local err rc
	err=$("$PODSCOPE" accel "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -n "$err" ]
}
check "no subcommand" one_line_fail
check "unknown subcommand" one_line_fail frob
check "no target" one_line_fail run
check "unknown pod" one_line_fail run --pods-file "$TMP/pods.json" --pod default/nope --duration 1s

finish
