#!/usr/bin/env bash
# shellcheck disable=SC2016
# `podscope pods` on the pod lab: every pod, container, role and PID is the
# truth the kernel holds (cgroup.procs, NSpid), bad input gets one line, and
# processes started later are picked up live. Needs root.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
cleanup() {
	[ -n "${FOLLOW_PID:-}" ] && kill "$FOLLOW_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)

"$PODSCOPE" pods --pods-file "$TMP/pods.json" --json >"$TMP/out.json"
check_eq "pods --json exits 0" 0 $?
check_eq "schema" podscope.pods/v1 "$(jq -r .schema "$TMP/out.json")"
check_eq "3 lab pods found" "default/loadgen default/ratings default/reviews" \
	"$(jq -r '[.pods[] | "\(.namespace)/\(.name)"] | sort | join(" ")' "$TMP/out.json")"

# For every container of every lab pod: id, role and the exact PID set.
while read -r pod uid ip; do
	check_eq "$pod: uid from the PodList" "$uid" \
		"$(jq -r --arg p "$pod" '.pods[] | select(.name == $p) | .uid' "$TMP/out.json")"
	check_eq "$pod: IP" "$ip" \
		"$(jq -r --arg p "$pod" '.pods[] | select(.name == $p) | .ip' "$TMP/out.json")"
	netns_ino=$(stat -L -c %i "/run/netns/psl-$pod")
	check_eq "$pod: netns inode" "$netns_ino" \
		"$(jq -r --arg p "$pod" '.pods[] | select(.name == $p) | .netns_inode' "$TMP/out.json")"
	while read -r cname cid; do
		sel='.pods[] | select(.name == $p) | .containers[] | select(.name == $c)'
		got_id=$(jq -r --arg p "$pod" --arg c "$cname" "$sel | .id" "$TMP/out.json")
		check_eq "$pod/$cname: container id" "$cid" "$got_id"
		want_role=app
		[ "$cname" == istio-proxy ] && want_role=sidecar
		check_eq "$pod/$cname: role" "$want_role" \
			"$(jq -r --arg p "$pod" --arg c "$cname" "$sel | .role" "$TMP/out.json")"
		procs="$V2/kubepods/burstable/pod$uid/$cid/cgroup.procs"
		want=$(sort -n "$procs" | tr '\n' ' ')
		got=$(jq -r --arg p "$pod" --arg c "$cname" "$sel | .pids | sort | map(tostring) | join(\" \")" \
			"$TMP/out.json")
		check_eq "$pod/$cname: PIDs are exactly cgroup.procs" "${want% }" "$got"
		# ps agrees: the processes whose cgroup names this container
		ps_pids=$(ps -e -o pid=,cgroup:4096= | awk -v id="$cid" 'index($2, id) { print $1 }' | sort -n | tr '\n' ' ')
		check_eq "$pod/$cname: PIDs match ps" "${ps_pids% }" "$got"
		check_eq "$pod/$cname: cgroup id is the v2 directory's" \
			"$(stat -c %i "$V2/kubepods/burstable/pod$uid/$cid")" \
			"$(jq -r --arg p "$pod" --arg c "$cname" "$sel | .cgroup_id" "$TMP/out.json")"
	done < <(jq -r --arg p "$pod" '.items[] | select(.metadata.name == $p) | .status.containerStatuses[] | "\(.name) \(.containerID | sub("containerd://"; ""))"' "$TMP/pods.json")
done < <(jq -r '.items[] | "\(.metadata.name) \(.metadata.uid) \(.status.podIP)"' "$TMP/pods.json")

# Nested PID namespace: ratings' processes carry two NSpid levels, root PID first.
nested_ok=0
nested_n=0
for pid in $(jq -r '.pods[] | select(.name == "ratings") | .containers[].processes[] | "\(.pid):\(.nspid | map(tostring) | join(","))"' "$TMP/out.json"); do
	nested_n=$((nested_n + 1))
	want=$(awk '/^NSpid:/ { $1 = ""; sub(/^ /, ""); gsub(/[ \t]+/, ","); print }' "/proc/${pid%%:*}/status")
	[ "${pid#*:}" == "$want" ] && [ "$(tr ',' '\n' <<<"$want" | wc -l)" -ge 2 ] && nested_ok=$((nested_ok + 1))
done
check "ratings has processes" test "$nested_n" -ge 2
check_eq "ratings: every NSpid chain matches /proc and is nested" "$nested_n" "$nested_ok"
check_eq "reviews: NSpid is flat" 1 \
	"$(jq '[.pods[] | select(.name == "reviews") | .containers[].processes[].nspid | length] | max' "$TMP/out.json")"

# Sidecar reasons and the override.
check_eq "sidecar reason names the rule" "container name istio-proxy" \
	"$(jq -r '.pods[] | select(.name == "reviews") | .containers[] | select(.name == "istio-proxy") | .role_reason' "$TMP/out.json")"
check_eq "sidecar process runs as uid 1337" 1337 \
	"$(jq -r '.pods[] | select(.name == "reviews") | .containers[] | select(.name == "istio-proxy") | .processes[0].uid' "$TMP/out.json")"
check_eq "sidecar listens on 15001 and 15006" "15001 15006" \
	"$(jq -r '.pods[] | select(.name == "reviews") | .containers[] | select(.name == "istio-proxy") | .processes[0].listen_ports | sort | map(tostring) | join(" ")' "$TMP/out.json")"
ovr=$("$PODSCOPE" pods --pods-file "$TMP/pods.json" --json --sidecar-container app --pod default/reviews)
check_eq "--sidecar-container app: app is the sidecar, istio-proxy is not" "app:sidecar istio-proxy:app" \
	"$(jq -r '[.pods[0].containers[] | "\(.name):\(.role)"] | sort | join(" ")' <<<"$ovr")"

# Without names: pods are still found by uid, containers by id.
"$PODSCOPE" pods --source proc --json >"$TMP/noname.json"
for uid in $(jq -r '.items[].metadata.uid' "$TMP/pods.json"); do
	check_eq "no API: pod $uid found by uid, name unknown" false \
		"$(jq -r --arg u "$uid" '.pods[] | select(.uid == $u) | .name_known' "$TMP/noname.json")"
done

# Selectors.
sel_names() { "$PODSCOPE" pods --pods-file "$TMP/pods.json" --json "$@" | jq -r '[.pods[].name] | join(" ")'; }
app_pid=$(jq -r '.pods[] | select(.name == "ratings") | .containers[] | select(.name == "app") | .pids[0]' "$TMP/out.json")
check_eq "--pod default/reviews" reviews "$(sel_names --pod default/reviews)"
check_eq "--pod reviews (namespace default)" reviews "$(sel_names --pod reviews)"
check_eq "--pid of the ratings app" ratings "$(sel_names --pid "$app_pid")"
check_eq "--netns /run/netns/psl-loadgen" loadgen "$(sel_names --netns /run/netns/psl-loadgen)"
ruid=$(jq -r '.items[] | select(.metadata.name == "reviews") | .metadata.uid' "$TMP/pods.json")
check_eq "--cgroup <v2 pod dir>" reviews "$(sel_names --cgroup "$V2/kubepods/burstable/pod$ruid")"

# Bad input: one line, non-zero.
one_line_fail() {
	local err rc
	err=$("$PODSCOPE" pods "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -n "$err" ]
}
echo '{"kind":"PodList","items":[{"metadata":' >"$TMP/garbage.json"
check "unknown pod" one_line_fail --pods-file "$TMP/pods.json" --pod default/nope
check "pid of no pod" one_line_fail --pid 1
check "vanished pid" one_line_fail --pid 999999
check "garbage --pids-file" one_line_fail --pods-file "$TMP/garbage.json"
check "missing --pods-file" one_line_fail --pods-file "$TMP/none.json"
check "--source k8s with no cluster" env -u KUBERNETES_SERVICE_HOST HOME="$TMP" KUBECONFIG= \
	bash -c "'$PODSCOPE' pods --source k8s 2>&1 >/dev/null | wc -l | grep -qx 1 && ! '$PODSCOPE' pods --source k8s >/dev/null 2>&1"
check "unreadable --kubeconfig" one_line_fail --kubeconfig "$TMP/none.yaml"
check "bad --source" one_line_fail --source nope
check "bad --netns" one_line_fail --netns /nonexistent
check "--duration without --follow" one_line_fail --duration 1s

# Live pickup: a process started in the reviews app container after startup
# appears within 2 s; its forked child too; both are reported gone when they exit.
cid=$(jq -r '.items[] | select(.metadata.name == "reviews") | .status.containerStatuses[] | select(.name == "app") | .containerID | sub("containerd://"; "")' "$TMP/pods.json")
procs="$V2/kubepods/burstable/pod$ruid/$cid/cgroup.procs"
"$PODSCOPE" pods --pods-file "$TMP/pods.json" --pod default/reviews --follow --json \
	--duration 8s --rescan 30s >"$TMP/follow.out" 2>"$TMP/follow.err" &
FOLLOW_PID=$!
for _ in $(seq 50); do [ -s "$TMP/follow.out" ] && break; sleep 0.1; done
sleep 0.5
# shellcheck disable=SC2030
sh -c "echo \$\$ >$procs; exec sh -c 'sleep 1.5 & wait'" &
starter=$!
found=""
for _ in $(seq 20); do
	grep -q "\"pid\":$starter," "$TMP/follow.out" && { found=1; break; }
	sleep 0.1
done
check "new process in the container appears within 2 s" test -n "$found"
child=$(pgrep -P "$starter" sleep)
check "its forked child is reported too" bash -c "for i in \$(seq 20); do grep -q '\"event\":\"start\".*\"pid\":$child,' '$TMP/follow.out' && exit 0; sleep 0.1; done; exit 1"
wait "$starter"
check "exits are reported" bash -c "for i in \$(seq 20); do grep -q '\"event\":\"exit\".*\"pid\":$starter,' '$TMP/follow.out' && grep -q '\"event\":\"exit\".*\"pid\":$child,' '$TMP/follow.out' && exit 0; sleep 0.1; done; exit 1"
wait "$FOLLOW_PID"
check_eq "follow ran to its duration and exited 0" 0 $?
FOLLOW_PID=
check_eq "follow reports its losses (none)" '{"ringbuf":0,"map_full":0}' \
	"$(tail -1 "$TMP/follow.out" | jq -c .lost)"
# program teardown is RCU-deferred after exit
for _ in $(seq 30); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
check_eq "follow left no BPF program" 0 "$(bpftool prog show | grep -c ' name ps_')"

# Signals: SIGINT/SIGTERM end --follow cleanly; after SIGKILL the kernel frees
# everything (nothing is pinned), so no program may remain either way.
for sig in INT TERM KILL; do
	"$PODSCOPE" pods --pods-file "$TMP/pods.json" --follow >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do bpftool prog show | grep -q ' name ps_' && break; sleep 0.1; done
	kill -s "$sig" "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$sig" == KILL ] || check_eq "SIG$sig: --follow exits 0" 0 "$rc"
	for _ in $(seq 30); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
	check_eq "after SIG$sig no BPF program of ours" 0 "$(bpftool prog show | grep -c ' name ps_')"
done

finish
