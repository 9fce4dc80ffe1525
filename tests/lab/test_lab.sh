#!/usr/bin/env bash
# single-quoted bash -c / jq programs are intended:
# shellcheck disable=SC2016
# Integration test of the pod lab (lab/podscope-lab). Needs root.
# Prints TAP-ish lines and a final "N passed, M failed"; exit 1 on failure.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=${PSL_LAB:-$REPO/lab/podscope-lab}
STATE=/run/podscope-lab
# shellcheck source=tests/lab/lib.sh
source "$HERE/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
	echo "not ok 1 - tests/lab/test_lab.sh must run as root"
	echo "0 passed, 1 failed"
	exit 1
fi

# one lab per machine: hold it for the whole test (see tests/integration/lib.sh)
exec 9>/run/podscope-lab.lock
flock -w 900 9 || { echo "not ok 1 - could not get the lab lock"; echo "0 passed, 1 failed"; exit 1; }
export PODSCOPE_LAB_LOCKED=1

cleanup() { "$LAB" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

PODS=(loadgen reviews ratings)
declare -A IP=([loadgen]=198.18.0.10 [reviews]=198.18.0.11 [ratings]=198.18.0.12)
declare -A CTRS=([loadgen]="loadgen" [reviews]="app istio-proxy" [ratings]="app istio-proxy")
REVIEWS_SIZE=2048 # lab defaults

# ---- baseline of the machine (to prove `down` restores it)
mapfile -t CG_ROOTS < <(t_cg_roots)
declare -A HAD_KUBEPODS=()
for r in "${CG_ROOTS[@]}"; do
	[[ -d $r/kubepods ]] && HAD_KUBEPODS[$r]=1
	[[ -d $r/kubepods/burstable ]] && HAD_KUBEPODS[$r/burstable]=1
done
BASE_IPT=$(t_root_iptables)
diag "cgroup hierarchies: ${CG_ROOTS[*]}"

# ---- CLI errors
bad_cli() { # exit 2 and exactly one line on stderr
	local err rc=0
	err=$("$LAB" "$@" 2>&1 >/dev/null) || rc=$?
	[[ $rc -eq 2 && $(wc -l <<<"$err") -eq 1 ]] || { echo "rc=$rc stderr=$err"; return 1; }
}
ok "unknown subcommand exits 2 with one error line" bad_cli frobnicate
ok "unknown up flag exits 2 with one error line" bad_cli up --frob
ok "bad load duration exits 2 with one error line" bad_cli load --duration 10h
ok "--help works" "$LAB" --help

# ---- up (from whatever state the machine is in; the lab removes leftovers)
ok "lab up" "$LAB" up
ok "status exits 0 when healthy" "$LAB" status

JSON=$("$LAB" status --json 2>/dev/null || true)
ok "status --json is a PodList with 3 pods" jq -e \
	'.apiVersion == "v1" and .kind == "PodList" and (.items | length) == 3' <<<"$JSON"
check_pod_json() {
	local pod=$1 node
	node=$(hostname)
	jq -e --arg p "$pod" --arg ip "${IP[$pod]}" --arg node "$node" --arg ctrs "${CTRS[$pod]}" '
		.items[] | select(.metadata.name == $p) |
		.metadata.namespace == "default" and
		(.metadata.uid | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) and
		.spec.nodeName == $node and .status.podIP == $ip and .status.phase == "Running" and
		([.spec.containers[].name] | join(" ")) == $ctrs and
		([.status.containerStatuses[].name] | join(" ")) == $ctrs and
		all(.status.containerStatuses[]; .ready == true and
		    (.containerID | test("^containerd://[0-9a-f]{64}$")))' <<<"$JSON"
}
for pod in "${PODS[@]}"; do ok "PodList entry for default/$pod" check_pod_json "$pod"; done

# pid of every container, from the cgroup (last hierarchy = v2 if present)
ctr_cg_rel() { # POD CTR -> kubepods/burstable/pod<uid>/<cid>
	local uid cid
	uid=$(jq -r --arg p "$1" '.items[] | select(.metadata.name == $p) | .metadata.uid' <<<"$JSON")
	cid=$(jq -r --arg p "$1" --arg c "$2" '.items[] | select(.metadata.name == $p) |
		.status.containerStatuses[] | select(.name == $c) | .containerID | sub("containerd://"; "")' <<<"$JSON")
	echo "kubepods/burstable/pod$uid/$cid"
}
check_container() { # POD CTR : cgroups everywhere, expected processes, netns
	local pod=$1 c=$2 rel r procs first="" pid comm uid gid want_comm t nsino
	rel=$(ctr_cg_rel "$pod" "$c")
	for r in "${CG_ROOTS[@]}"; do
		[[ -d $r/$rel ]] || { echo "missing cgroup $r/$rel"; return 1; }
		procs=$(sort -n "$r/$rel/cgroup.procs" | tr '\n' ' ')
		[[ -n $procs ]] || { echo "empty $r/$rel/cgroup.procs"; return 1; }
		[[ -z $first || $procs == "$first" ]] || { echo "procs differ: $r: $procs vs $first"; return 1; }
		first=$procs
	done
	nsino=$(stat -Lc %i "/run/netns/psl-$pod")
	case $c in
	app) want_comm="podscope-labapp" ;;
	istio-proxy) want_comm="haproxy" ;;
	loadgen) want_comm="sleep" ;;
	esac
	for pid in $first; do
		comm=$(cat "/proc/$pid/comm")
		[[ $comm == "$want_comm" ]] || { echo "pid $pid comm '$comm', want $want_comm"; return 1; }
		uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")
		gid=$(awk '/^Gid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")
		if [[ $c == istio-proxy ]]; then
			[[ $uid == 1337133713371337 && $gid == 1337133713371337 ]] ||
				{ echo "pid $pid uid/gid $uid/$gid, want 1337"; return 1; }
			[[ $(awk '/^Groups:/ { print $2 }' "/proc/$pid/status") == "" ]] ||
				{ echo "pid $pid has supplementary groups"; return 1; }
		else
			[[ $uid == 0000 ]] || { echo "pid $pid uid $uid, want 0"; return 1; }
		fi
		[[ $(stat -Lc %i "/proc/$pid/ns/net") == "$nsino" ]] ||
			{ echo "pid $pid not in netns psl-$pod"; return 1; }
		grep -q "^0::/$rel\$" "/proc/$pid/cgroup" || [[ ${CG_ROOTS[-1]} != */unified && ${CG_ROOTS[-1]} != /sys/fs/cgroup ]] ||
			{ echo "pid $pid: /proc/pid/cgroup lacks 0::/$rel"; cat "/proc/$pid/cgroup"; return 1; }
		# every thread in the container's cgroup (v1 'tasks' lists threads)
		for t in /proc/"$pid"/task/*; do
			t=${t##*/}
			grep -qx "$t" "${CG_ROOTS[0]}/$rel/tasks" 2>/dev/null ||
				[[ ! -f ${CG_ROOTS[0]}/$rel/tasks ]] || { echo "thread $t not in ${CG_ROOTS[0]}/$rel/tasks"; return 1; }
		done
	done
}
for pod in "${PODS[@]}"; do
	for c in ${CTRS[$pod]}; do
		ok "container $pod/$c: kubelet cgroups in all hierarchies, expected processes" check_container "$pod" "$c"
	done
done

nspid_count() { # PID -> number of NSpid entries
	awk '/^NSpid:/ { print NF - 1 }' "/proc/$1/status"
}
check_nspid() { # POD WANT
	local c pid n rel r
	r=${CG_ROOTS[-1]}
	for c in ${CTRS[$1]}; do
		rel=$(ctr_cg_rel "$1" "$c")
		while read -r pid; do
			n=$(nspid_count "$pid")
			[[ $n == "$2" ]] || { echo "$1/$c pid $pid: $n NSpid entries, want $2"; grep NSpid "/proc/$pid/status"; return 1; }
		done <"$r/$rel/cgroup.procs"
	done
}
ok "ratings processes run in a nested PID namespace (2 NSpid entries)" check_nspid ratings 2
ok "reviews processes run in the root PID namespace (1 NSpid entry)" check_nspid reviews 1

check_capture_rules() {
	local pod=$1 rules
	rules=$(ip netns exec "psl-$pod" iptables -t nat -S)
	local want
	for want in '-A PSL_INBOUND -p tcp -m tcp --dport 9080 -j REDIRECT --to-ports 15006' \
		'-A PSL_OUTPUT -d 127.0.0.1/32 -j RETURN' \
		'-A PSL_OUTPUT -m owner --uid-owner 1337 -j RETURN' \
		'-A PSL_OUTPUT -p tcp -j REDIRECT --to-ports 15001' \
		'-A PREROUTING -p tcp -j PSL_INBOUND' '-A OUTPUT -p tcp -j PSL_OUTPUT'; do
		grep -qxF -- "$want" <<<"$rules" || { echo "missing: $want"; echo "$rules"; return 1; }
	done
}
ok "reviews netns has the Istio-style capture rules" check_capture_rules reviews
ok "ratings netns has the Istio-style capture rules" check_capture_rules ratings
ok "root namespace iptables untouched by up" test "$(t_root_iptables)" == "$BASE_IPT"
ok "no default route in the pods" bash -c '! ip -n psl-reviews route | grep -q default && ! ip -n psl-loadgen route | grep -q default'

# ---- the chain, request by request
app_stat() { # POD FIELD
	nsenter --net="/run/netns/psl-$1" curl -fsS -m 2 http://127.0.0.1:9080/labapp/stats | jq -r ".$2"
}
RV_LOG=$STATE/reviews/istio-proxy.access.log
RT_LOG=$STATE/ratings/istio-proxy.access.log
settled() { # wait until neither app's request counter moves; prints "RV RT"
	local a b i
	a="$(app_stat reviews requests) $(app_stat ratings requests)"
	for ((i = 0; i < 30; i++)); do
		sleep 0.2
		b="$(app_stat reviews requests) $(app_stat ratings requests)"
		[[ $a == "$b" ]] && break
		a=$b
	done
	echo "$a"
}
read -r rv0 rt0 < <(settled)
rvl0=$(t_lines_stable "$RV_LOG")
rtl0=$(t_lines_stable "$RT_LOG")

curl_host_50() {
	local i out
	for ((i = 1; i <= 50; i++)); do
		out=$(curl -sS -m 5 -H 'Connection: close' -o /dev/null \
			-w '%{http_code} %{size_download} %header{x-upstream-status} %{num_connects}' \
			"http://${IP[reviews]}:9080/") || { echo "request $i: curl failed"; return 1; }
		[[ $out == "200 $REVIEWS_SIZE 200 1" ]] || { echo "request $i: '$out'"; return 1; }
	done
}
ok "50 fresh-connection requests from the root ns: 200, $REVIEWS_SIZE B, ratings called" curl_host_50
ok "50 fresh-connection requests from the loadgen pod (load --curl 50)" "$LAB" load --curl 50

check_body() {
	local want got
	want=$(awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%c", 97 + i % 26 }')
	got=$(curl -fsS -m 5 "http://${IP[reviews]}:9080/?size=$1")
	[[ $got == "$want" ]] || { echo "body mismatch (len ${#got})"; return 1; }
}
ok "body content is the deterministic a..z pattern (?size=1000 override)" check_body 1000

read -r rv1 rt1 < <(settled)
rvl1=$(t_lines_stable "$RV_LOG")
rtl1=$(t_lines_stable "$RT_LOG")
is "reviews app served 101 requests" "$((rv1 - rv0))" 101
is "ratings app served as many requests as reviews" "$((rt1 - rt0))" "$((rv1 - rv0))"
is "ratings sidecar logged one inbound line per request" "$((rtl1 - rtl0))" 101
is "reviews sidecar logged inbound + outbound lines" "$((rvl1 - rvl0))" 202
outbound_dst() {
	tail -n 202 "$RV_LOG" | awk -v want="server=${IP[ratings]}:9080" \
		'/fe=outbound/ { n++; if ($0 !~ want " ") bad++ } END { print n " outbound, " bad + 0 " elsewhere"; exit !(n == 101 && bad == 0) }'
}
ok "reviews outbound sidecar connected to the original destination ${IP[ratings]}:9080" outbound_dst
ok "access log lines carry timings (TR Tw Tc Tr Ta) and status" \
	bash -c "tail -n1 '$RT_LOG' | grep -qE 'status=200 bytes=[0-9]+ .*TR=[0-9-]+ Tw=[0-9-]+ Tc=[0-9-]+ Tr=[0-9-]+ Ta=[0-9]+'"

# original-destination routing with a shared server-side pool: alternate
# destinations through the same outbound listener, each must reach its target
alternate_dst() {
	local i dst want got
	for i in 1 2 3 4 5 6; do
		if ((i % 2)); then dst=${IP[ratings]} want=ratings; else dst=${IP[reviews]} want=reviews; fi
		got=$(nsenter --net=/run/netns/psl-reviews curl -fsS -m 5 -o /dev/null -D - "http://$dst:9080/" |
			tr -d '\r' | awk -F': ' 'tolower($1) == "x-labapp" { print $2 }')
		[[ $got == "$want" ]] || { echo "request $i to $dst answered by '$got'"; return 1; }
	done
}
ok "outbound 15001 forwards to each original destination (pooled)" alternate_dst

pooled() { # the inbound sidecars reuse connections to the apps
	local c
	c=$(app_stat ratings connections_total)
	((c < 40)) || { echo "ratings app saw $c connections for >100 requests"; return 1; }
}
ok "sidecars pool connections to the app (keep-alive)" pooled

garbage() {
	local line
	line=$(nsenter --net=/run/netns/psl-reviews bash -c \
		'exec 3<>/dev/tcp/127.0.0.1/9080; printf "\x01\x02garbage\r\n\r\n" >&3; head -n1 <&3' | tr -d '\r')
	[[ $line == "HTTP/1.1 400 Bad Request" ]] || { echo "got '$line'"; return 1; }
	nsenter --net=/run/netns/psl-reviews curl -fsS -m 2 -o /dev/null http://127.0.0.1:9080/healthz
}
ok "labapp answers garbage with 400 and keeps serving" garbage

# ---- bounded load from the loadgen pod
read -r rv0 rt0 < <(settled)
LOAD_OUT=$("$LAB" load --duration 3s --connections 8 2>&1)
LOAD_RC=$?
is "load --duration 3s exits 0" "$LOAD_RC" 0
ok "load: wrk summary, no errors" bash -c \
	'grep -q "requests in" <<<"$1" && ! grep -qE "Non-2xx|Socket errors" <<<"$1"' _ "$LOAD_OUT"
diag "$(grep -E 'Requests/sec|requests in' <<<"$LOAD_OUT" | tr -s ' ' | tr '\n' ';')"
read -r rv2 rt2 < <(settled)
is "during load: ratings served as many requests as reviews" "$((rt2 - rt0))" "$((rv2 - rv0))"
ok "during load: reviews served at least what wrk counted" test "$((rv2 - rv0))" -ge "$(awk '/requests in/ { print $1 }' <<<"$LOAD_OUT")"

lab_pids() { # every pid the lab knows about: pid files + all our cgroups
	cat "$STATE"/*/*.pid 2>/dev/null
	cat "${CG_ROOTS[-1]}"/kubepods/burstable/pod*/cgroup.procs \
		"${CG_ROOTS[-1]}"/kubepods/burstable/pod*/*/cgroup.procs 2>/dev/null
}
# ---- up again (idempotent: tears down and rebuilds)
OLD_UID=$(jq -r '.items[0].metadata.uid' <<<"$JSON")
mapfile -t OLD_PIDS < <(lab_pids)
ok "up twice works" "$LAB" up
JSON2=$("$LAB" status --json 2>/dev/null || true)
ok "second up: 3 pods, new uids" jq -e --arg old "$OLD_UID" \
	'(.items | length) == 3 and .items[0].metadata.uid != $old and
	 all(.items[].status.containerStatuses[]; .ready)' <<<"$JSON2"
old_gone() {
	local p new
	new=" $(lab_pids | tr '\n' ' ') "
	for p in "${OLD_PIDS[@]}"; do
		[[ $new == *" $p "* ]] && continue # pid reused by the new run
		if t_alive "$p"; then
			echo "old pid $p still alive: $(tr '\0' ' ' <"/proc/$p/cmdline")"
			return 1
		fi
	done
}
ok "processes of the first run are gone" old_gone
ok "chain works after the second up" "$LAB" load --curl 5 --from host

# ---- down: nothing of ours remains
mapfile -t LAST_PIDS < <(lab_pids)
ok "down" "$LAB" down
ok "no psl-* network namespaces" bash -c '! ip netns list | grep -q "^psl"'
ok "no psl* links" bash -c '! ip -o link show | awk -F": " "{print \$2}" | grep -q "^psl"'
no_procs() {
	local p
	for p in "${LAST_PIDS[@]}"; do
		t_alive "$p" && { echo "pid $p alive: $(tr '\0' ' ' <"/proc/$p/cmdline")"; return 1; }
	done
	for p in $(pgrep -f 'podscope-labapp|/run/podscope-lab/'); do
		t_alive "$p" && [[ $p != "$$" ]] && { echo "lab process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; return 1; }
	done
	return 0
}
ok "no lab processes left" no_procs
no_cgroups() {
	local r
	for r in "${CG_ROOTS[@]}"; do
		if [[ -z ${HAD_KUBEPODS[$r]:-} ]]; then
			[[ ! -e $r/kubepods ]] || { echo "$r/kubepods left behind"; return 1; }
		elif [[ -z ${HAD_KUBEPODS[$r/burstable]:-} ]]; then
			[[ ! -e $r/kubepods/burstable ]] || { echo "$r/kubepods/burstable left behind"; return 1; }
		fi
		if [[ -d $r/kubepods/burstable ]]; then
			for uid in $(jq -r '.items[].metadata.uid' <<<"$JSON2"); do
				[[ ! -e $r/kubepods/burstable/pod$uid ]] || { echo "$r/.../pod$uid left behind"; return 1; }
			done
		fi
	done
}
ok "no cgroup directories left (kubepods only if it pre-existed)" no_cgroups
ok "no state dir" test ! -e "$STATE"
ok "root namespace iptables unchanged" test "$(t_root_iptables)" == "$BASE_IPT"
ok "down twice works" "$LAB" down
ok "status on a down lab exits 1" bash -c '! "$1" status >/dev/null' _ "$LAB"

t_summary
