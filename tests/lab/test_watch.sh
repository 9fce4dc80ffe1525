#!/usr/bin/env bash
# shellcheck disable=SC2016
# `podscope watch` on the pod lab, asserting numbers it could get wrong:
# accepts equal the connections the client opened, the two ends of every
# pod-local edge agree to the byte, byte totals equal what the proxy and the
# client counted, retransmits and drops appear exactly when a lab rule drops
# packets (reason NETFILTER_DROP), IPv6 works, and nothing stays attached.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
N=30
cleanup() {
	[ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "${V6_SERVER:-}" ] && kill "$V6_SERVER" 2>/dev/null
	[ -n "${V6_CLIENT:-}" ] && kill "$V6_CLIENT" 2>/dev/null
	[ -n "${RC_CLIENT:-}" ] && kill "$RC_CLIENT" 2>/dev/null
	[ -n "${RC_SERVER:-}" ] && kill "$RC_SERVER" 2>/dev/null
	[ -n "${SYN_CLIENT:-}" ] && kill "$SYN_CLIENT" 2>/dev/null
	[ -n "${SYN_SERVER:-}" ] && kill "$SYN_SERVER" 2>/dev/null
	[ -n "${RTX_CLIENT:-}" ] && kill "$RTX_CLIENT" 2>/dev/null
	[ -n "${RTX_SERVER:-}" ] && kill "$RTX_SERVER" 2>/dev/null
	[ -n "${TTY_PID:-}" ] && kill "$TTY_PID" 2>/dev/null
	[ -n "${CR_CLIENT:-}" ] && kill "$CR_CLIENT" 2>/dev/null
	[ -n "${CR_SERVER:-}" ] && kill "$CR_SERVER" 2>/dev/null
	ip netns del psl-syn-test 2>/dev/null
	ip netns del psl-close-test 2>/dev/null
	ip netns del psl-rtx-a 2>/dev/null
	ip netns del psl-rtx-b 2>/dev/null
	[ -d "$TMP/tracefs/instances/psl-rtx-test" ] && rmdir "$TMP/tracefs/instances/psl-rtx-test"
	mountpoint -q "$TMP/tracefs" 2>/dev/null && umount "$TMP/tracefs"
	drop_rules -D 2>/dev/null
	freeze_rules -D 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
ACCESS_REVIEWS=/run/podscope-lab/reviews/istio-proxy.access.log
ACCESS_RATINGS=/run/podscope-lab/ratings/istio-proxy.access.log

edge() { # edge FILE CLIENT_POD CLIENT_CONTAINER SERVER_POD SERVER_CONTAINER -> one edge object
	jq -c --arg cp "$2" --arg cc "$3" --arg sp "$4" --arg sc "$5" \
		'[.edges[] | select((.client.pod // "") == $cp and (.client.container // "") == $cc and .server.pod == $sp and .server.container == $sc)] | first' "$1"
}

# Bytes the kernel counted (ss -ti) on the app-side sockets of sidecar -> app
# connections in a pod: "sent received", summed over established sockets.
ss_app_bytes() {
	nsenter --net="/run/netns/psl-$1" ss -tinH state established '( sport = :9080 )' |
		awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^bytes_sent:/) { split($i, a, ":"); s += a[2] }
			if ($i ~ /^bytes_received:/) { split($i, b, ":"); r += b[2] } } }
			END { print s + 0, r + 0 }'
}

# --- 1. N fresh connections through the two-sidecar chain --------------------
# CPU the kernel charged to the reviews containers (cgroup v1 cpuacct, ns)
RUID=$(jq -r '.items[] | select(.metadata.name == "reviews") | .metadata.uid' "$TMP/pods.json")
cpuacct() { # cpuacct CONTAINER
	local cid
	cid=$(jq -r --arg c "$1" '.items[] | select(.metadata.name == "reviews") | .status.containerStatuses[] | select(.name == $c) | .containerID | sub("containerd://"; "")' "$TMP/pods.json")
	cat "/sys/fs/cgroup/cpuacct/kubepods/burstable/pod$RUID/$cid/cpuacct.usage"
}
# curl_loop: N requests through the chain, one fresh connection each; sets
# ok_requests, curl_bytes (headers + bodies received) and curl_req (sent).
curl_loop() {
	local out code hdr body req
	curl_bytes=0 curl_req=0 ok_requests=0
	for _ in $(seq $N); do
		out=$(curl -s -o /dev/null -w '%{http_code} %{size_header} %{size_download} %{size_request}' \
			http://198.18.0.11:9080/)
		read -r code hdr body req <<<"$out"
		[ "$code" == 200 ] && ok_requests=$((ok_requests + 1))
		curl_bytes=$((curl_bytes + hdr + body))
		curl_req=$((curl_req + req))
	done
}

# log_bytes_agree LABEL ACCESS_LOG LINES_BEFORE EDGE: the server side's bytes
# against the sums of HAProxy's %B (to the client) and %U (from the client) of
# the inbound requests logged since. HAProxy counts its internal (HTX) form of
# the messages, not the wire: on the lab %B is 5 bytes per request below what
# the socket carried and %U 3 above (the socket counts equal curl's and
# ss -ti exactly, above). So: within 8 bytes per request, and not 0.
log_bytes_agree() {
	local l=$1 log=$2 before=$3 e=$4 sums n b u w r
	sums=$(tail -n +"$((before + 1))" "$log" | grep 'fe=inbound' |
		sed -E 's/.* bytes=([0-9]+) up_bytes=([0-9]+) .*/\1 \2/' | awk '{ n++; b += $1; u += $2 } END { print n + 0, b + 0, u + 0 }')
	read -r n b u <<<"$sums"
	read -r w r < <(jq -r '.server_side | "\(.write.bytes) \(.read.bytes)"' <<<"$e")
	diag "$l: access log: $n requests, %B $b, %U $u; the socket: written $w, read $r"
	check "$l: bytes agree with the proxy's access log (%B, %U) within 8 bytes per request" \
		awk -v n="$n" -v b="$b" -v u="$u" -v w="$w" -v r="$r" \
		'BEGIN { d1 = b - w; d2 = u - r; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2; exit !(n > 0 && w > 0 && r > 0 && d1 <= 8 * n && d2 <= 8 * n) }'
}

# chain_checks FILE LABEL SS_BEFORE SS_AFTER LOG_BEFORE RATINGS_LOG_BEFORE: what one watch window
# over curl_loop must show, to the byte.
chain_checks() {
	local f=$1 l=$2 sb rb sa ra e inbound pod
	check_eq "$l: all $N requests succeeded" "$N" "$ok_requests"
	check "$l: snapshot is valid JSON" jq empty "$f"
	check_eq "$l: schema" podscope.snapshot/v1 "$(jq -r .schema "$f")"
	check_eq "$l: two-sidecar topology: 5 edges" 5 "$(jq '.edges | length' "$f")"

	inbound=$(jq -c '[.edges[] | select(.server.pod == "default/reviews" and .server.container == "istio-proxy" and .server.port == 15006)] | first' "$f")
	check_eq "$l: inbound edge: accepts at the reviews sidecar = $N curl connections" "$N" \
		"$(jq .server_side.connect.count <<<"$inbound")"
	check_eq "$l: inbound edge: client is outside (node root ns, 198.18.0.1)" "198.18.0.1 null" \
		"$(jq -r '"\(.client.addr) \(.client.pid)"' <<<"$inbound")"
	check_eq "$l: inbound edge: sidecar wrote exactly what curl received (headers + bodies)" \
		"$curl_bytes" "$(jq .server_side.write.bytes <<<"$inbound")"
	check_eq "$l: inbound edge: sidecar read exactly what curl sent" \
		"$curl_req" "$(jq .server_side.read.bytes <<<"$inbound")"
	check_eq "$l: inbound edge: $N requests in the sidecar's access log" "$N" \
		"$(tail -n +"$(($5 + 1))" "$ACCESS_REVIEWS" | grep -c 'fe=inbound')"
	check_eq "$l: inbound edge: closes = $N, all normal" "$N 0 0" \
		"$(jq -r '.server_side | "\(.close.count) \(.resets) \(.timeouts)"' <<<"$inbound")"
	log_bytes_agree "$l: inbound edge" "$ACCESS_REVIEWS" "$5" "$inbound"

	e=$(edge "$f" default/reviews istio-proxy default/reviews app)
	read -r sb rb <<<"$3"
	read -r sa ra <<<"$4"
	check_eq "$l: reviews app: written/read bytes agree with the kernel's own socket counters (ss -ti)" \
		"$((sa - sb)) $((ra - rb))" "$(jq -r '"\(.server_side.write.bytes) \(.server_side.read.bytes)"' <<<"$e")"
	for pod in reviews ratings; do
		e=$(edge "$f" "default/$pod" istio-proxy "default/$pod" app)
		check "$l: $pod: sidecar -> app edge exists with both sides, at least $N calls each way" \
			jq -e --argjson n "$N" '.client_side != null and .server_side != null and
				.client_side.write.count >= $n and .server_side.write.count >= $n' <<<"$e"
		check_eq "$l: $pod: sidecar write bytes == app read bytes (exact)" \
			"$(jq .client_side.write.bytes <<<"$e")" "$(jq .server_side.read.bytes <<<"$e")"
		check_eq "$l: $pod: app write bytes == sidecar read bytes (exact)" \
			"$(jq .server_side.write.bytes <<<"$e")" "$(jq .client_side.read.bytes <<<"$e")"
		# pooled: the connection may predate the window (then adopted, 0 connects)
		check "$l: $pod: keep-alive pooling: at most 2 connects sidecar -> app for $N requests" \
			jq -e '.client_side.connect.count <= 2 and .server_side.connect.count <= 2' <<<"$e"
		check_eq "$l: $pod: dialed 127.0.0.1:9080" "127.0.0.1:9080" "$(jq -r .dialed <<<"$e")"
	done
	# reviews app -> its sidecar's outbound listener (REDIRECT: dialed ratings, served on 15001)
	e=$(edge "$f" default/reviews app default/reviews istio-proxy)
	check "$l: outbound capture: edge with both sides, at least $N writes each way" \
		jq -e --argjson n "$N" '.client_side.write.count >= $n and .server_side.write.count >= $n' <<<"$e"
	check_eq "$l: outbound capture: app dialed ratings, sidecar served on 15001" "198.18.0.12:9080 15001" \
		"$(jq -r '"\(.dialed) \(.server.port)"' <<<"$e")"
	check_eq "$l: outbound capture: bytes agree both ways" \
		"$(jq '[.client_side.write.bytes, .client_side.read.bytes] | join(" ")' <<<"$e" | tr -d '"')" \
		"$(jq '[.server_side.read.bytes, .server_side.write.bytes] | join(" ")' <<<"$e" | tr -d '"')"
	e=$(edge "$f" default/reviews istio-proxy default/ratings istio-proxy)
	check "$l: sidecar -> sidecar across pods: edge with both sides, at least $N writes each way" \
		jq -e --argjson n "$N" '.client_side.write.count >= $n and .server_side.write.count >= $n' <<<"$e"
	log_bytes_agree "$l: sidecar -> sidecar, at the ratings sidecar" "$ACCESS_RATINGS" "$6" "$e"
	check_eq "$l: sidecar -> sidecar across pods: bytes agree both ways" \
		"$(jq '[.client_side.write.bytes, .client_side.read.bytes] | join(" ")' <<<"$e" | tr -d '"')" \
		"$(jq '[.server_side.read.bytes, .server_side.write.bytes] | join(" ")' <<<"$e" | tr -d '"')"
	check_eq "$l: ratings served $N requests: its app read $N requests' worth of calls" "$N" \
		"$(edge "$f" default/ratings istio-proxy default/ratings app | jq .server_side.read.count)"
}

ss_before=$(ss_app_bytes reviews)
cpu_app0=$(cpuacct app)
cpu_prx0=$(cpuacct istio-proxy)
# the first run measures the time in each call too (--syscall-time: sys_enter/exit)
start_watch "$TMP/w1.json" 6s --pod default/reviews --pod default/ratings --json --syscall-time --oncpu
sys_progs() { bpftool prog show | grep -cE ' name ps_sys(ent|exit)_'; }
check_eq "--syscall-time: sys_enter and sys_exit programs attached" 2 "$(sys_progs)"
log_before=$(wc -l <"$ACCESS_REVIEWS")
rlog_before=$(wc -l <"$ACCESS_RATINGS")
curl_loop
wait_watch
check_eq "watch --json exits 0" 0 $?
cpu_app=$(($(cpuacct app) - cpu_app0))
cpu_prx=$(($(cpuacct istio-proxy) - cpu_prx0))
for c in app:$cpu_app istio-proxy:$cpu_prx; do
	name=${c%%:*}
	kernel=${c#*:}
	bpf=$(jq --arg c "$name" '.pods[] | select(.name == "reviews") | .containers[] | select(.name == $c) | .oncpu_ns' "$TMP/w1.json")
	diag "reviews $name: on-CPU (sched_switch) ${bpf} ns, cgroup cpuacct ${kernel} ns"
	# on-CPU counts softirq work done while the task is current (loopback
	# networking), which cpuacct leaves out: same order of magnitude, not equal
	check "reviews $name: BPF on-CPU time within 0.5x..3x of the cgroup's CPU time" \
		awk -v b="$bpf" -v k="$kernel" 'BEGIN { exit !(k > 0 && b >= 0.5 * k && b <= 3 * k) }'
done
chain_checks "$TMP/w1.json" "--syscall-time" "$ss_before" "$(ss_app_bytes reviews)" "$log_before" "$rlog_before"
check_eq "no retransmits without a drop rule" 0 "$(jq '[.edges[] | (.client_side.retransmits // 0), (.server_side.retransmits // 0)] | add' "$TMP/w1.json")"
check_eq "no drops without a drop rule" 0 "$(jq '[.edges[] | (.client_side.drops // 0), (.server_side.drops // 0)] | add' "$TMP/w1.json")"
check_eq "nothing lost" 0 "$(jq '[.lost[] | numbers] | add' "$TMP/w1.json")"
check "lost: the kernel's count of skipped BPF runs is reported" \
	jq -e '.lost.bpf_recursion_misses | type == "number"' "$TMP/w1.json"
check_eq "hot paths on tp_btf (doctor says it works here)" "tp_btf tp_btf" \
	"$(jq -r '"\(.probes.targets) \(.probes.connections)"' "$TMP/w1.json")"
check_eq "processes: the 4 proxies and apps" "app app istio-proxy istio-proxy" \
	"$(jq -r '[.processes[].container] | sort | join(" ")' "$TMP/w1.json")"
check "RTT measured on writes" jq -e '[.edges[].client_side.rtt_us.count // 0] | add > 0' "$TMP/w1.json"
check "write time histogram filled" jq -e '[.edges[].client_side.write.hist // [] | add // 0] | add > 0' "$TMP/w1.json"
check_eq "with --syscall-time: every write is timed" 0 \
	"$(jq '[.edges[] | .client_side // empty | .write | select(.count != (.hist | add // 0) + .untimed)] | length' "$TMP/w1.json")"

# --- 1b. the same, on the default probes: the socket cache ---------------------
# Without --syscall-time and without payload sampling, every read or write on a
# tracked connection by its owner after the first one on each CPU is answered
# from the per-CPU socket cache (docs/connections.md): the exact byte counts
# above must hold there too, and the cache must actually carry the calls.
ss_before=$(ss_app_bytes reviews)
start_watch "$TMP/w1b.json" 6s --pod default/reviews --pod default/ratings --json --no-requests
log_before=$(wc -l <"$ACCESS_REVIEWS")
rlog_before=$(wc -l <"$ACCESS_RATINGS")
curl_loop
wait_watch
check_eq "socket cache: watch --json exits 0" 0 $?
chain_checks "$TMP/w1b.json" "socket cache" "$ss_before" "$(ss_app_bytes reviews)" "$log_before" "$rlog_before"
calls=$(jq '[.edges[] | (.client_side, .server_side) | select(. != null) | .write.count + .read.count] | add' "$TMP/w1b.json")
conns=$(jq '.connections | .connects + .accepts + .adopted' "$TMP/w1b.json")
uncached=$(jq .probes.uncached_io_calls "$TMP/w1b.json")
ncpu=$(nproc)
diag "socket cache: $calls calls on $conns connections, $uncached not answered by the cache ($ncpu CPUs)"
# A connection's first call on each CPU misses; so may a few more when two live
# sockets share a slot (512 per CPU). Without the cache every call would miss.
check "socket cache: about one uncached call per connection and CPU ($uncached of $calls, $conns connections)" \
	test "$uncached" -le $((conns * ncpu + 16)) -a $((uncached * 3)) -lt "$calls"
check_eq "socket cache: nothing lost" 0 "$(jq '[.lost[] | numbers] | add' "$TMP/w1b.json")"

# --- 1c. other processes cost no hash lookup per call ---------------------------
# A process that is not a target is remembered per CPU after one target_tgids
# lookup, until the target set changes (docs/connections.md). 2000 socket
# calls by this test's own python (not in a watched pod) on a socket pair may
# cost one lookup per CPU, plus whatever else on the machine did socket I/O
# during the window; without the memory, 2000 (3 programs per call with
# --syscall-time: still one lookup each). Both probe sets.
for mode in default --syscall-time; do
	args=(--no-requests)
	[ "$mode" = default ] || args=("$mode")
	start_watch "$TMP/w1c.json" 3s --pod default/reviews --json "${args[@]}"
	python3 -c '
import socket
a, b = socket.socketpair()
for _ in range(1000):
    a.send(b"x" * 10)
    b.recv(10)
'
	wait_watch
	check_eq "other processes ($mode): watch --json exits 0" 0 $?
	lookups=$(jq .probes.other_process_lookups "$TMP/w1c.json")
	diag "other processes ($mode): $lookups target lookups for 2000 calls by a non-target"
	check "other processes ($mode): at most a few target lookups for 2000 calls ($lookups)" \
		test "$lookups" -ge 1 -a "$lookups" -lt 300
done

# --- 1d. the live table on a terminal ------------------------------------------
# Without --json/--csv on a terminal, watch redraws its table every --interval.
# Under script(1) (a pseudo-terminal), 20 fresh-connection requests while it
# runs: the frames must name the two-sidecar chain by pod and container, show
# the counts moving, and the last frame exactly 20 accepts at the sidecar.
for _ in $(seq 50); do bpftool prog show | grep -q ' name ps_state_' || break; sleep 0.1; done
script -qfec "$PODSCOPE watch --pods-file $TMP/pods.json --pod default/reviews --pod default/ratings --duration 6s --interval 1s" \
	"$TMP/tty.out" >/dev/null 2>&1 &
TTY_PID=$!
for _ in $(seq 100); do bpftool prog show | grep -q ' name ps_state_' && break; sleep 0.05; done
sleep 0.3
for _ in $(seq 20); do curl -s -o /dev/null http://198.18.0.11:9080/; sleep 0.1; done
wait "$TTY_PID"
check_eq "live table: watch on a terminal exits 0" 0 $?
TTY_PID=
frames=$(grep -c 'podscope watch: ' "$TMP/tty.out")
# the inbound row's connections (CONN) in each frame that has it
inbound_conns=$(sed -nE 's/^198\.18\.0\.1 +default\/reviews:istio-proxy\(haproxy [0-9]+\) +15006 server +([0-9]+) .*/\1/p' "$TMP/tty.out" | tr '\n' ' ')
diag "live table: $frames frames, inbound connections per frame: $inbound_conns"
check "live table: redrawn (clear-screen) once per second: at least 4 frames" \
	test "$(grep -o $'\e\\[H\e\\[2J' "$TMP/tty.out" | wc -l)" -ge 4 -a "$frames" -ge 4
check "live table: counts move between frames (one frame between 0 and 20)" \
	awk -v a="$inbound_conns" 'BEGIN { n = split(a, v, " "); for (i = 1; i <= n; i++) if (v[i] > 0 && v[i] < 20) exit 0; exit 1 }'
check_eq "live table: the last frame: 5 edges" "5 edges" \
	"$(grep 'podscope watch: ' "$TMP/tty.out" | tail -1 | sed -E 's/.* ([0-9]+ edges),.*/\1/')"
last=$(awk '/podscope watch: /{ buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$TMP/tty.out")
for pod in reviews ratings; do
	check "live table: default/$pod sidecar -> app row, named by pod and container" \
		grep -qE "^default/$pod:istio-proxy\(haproxy [0-9]+\) +default/$pod:app\(" <<<"$last"
done
check "live table: the inbound row from the node at the reviews sidecar, 20 connections" \
	grep -qE "^198\.18\.0\.1 +default/reviews:istio-proxy\(haproxy [0-9]+\) +15006 server +20 " <<<"$last"

# --- 2. lab rules drop packets between reviews and ratings -------------------
# 30% of reviews' packets to ratings are dropped at random in OUTPUT. Locally
# generated segments dropped there are not retransmitted (TCP sends them again
# as new data); only a lost ACK that no later one covers in time makes ratings
# retransmit, so retransmits after this rule alone are a matter of luck (a CI
# run saw 9 drops and none). The second rule makes them certain, as a lossy
# wire would: every 10th of ratings' data segments arriving in reviews is
# dropped, and ratings must send each of those again. Both drops happen in the
# reviews netns on the reviews sidecar's socket: client-side NETFILTER_DROP.
# Both rules are on eth0: the app's captured connection to ratings runs over lo
# to the sidecar, and its replies carry ratings' address after the reverse NAT,
# so without -i eth0 the app's own leg would lose and retransmit too.
# podscope's retransmits must equal the kernel's own TcpRetransSegs in each pod.
drop_rules() { # drop_rules -A|-D: both rules; fails if either fails
	local rc=0
	nsenter --net=/run/netns/psl-reviews iptables "$1" OUTPUT -o eth0 -p tcp -d 198.18.0.12 --dport 9080 \
		-m statistic --mode random --probability 0.3 -j DROP || rc=1
	nsenter --net=/run/netns/psl-reviews iptables "$1" INPUT -i eth0 -p tcp -s 198.18.0.12 --sport 9080 \
		-m length --length 100:65535 -m statistic --mode nth --every 10 --packet 0 -j DROP || rc=1
	return $rc
}
# freeze_rules -I|-D: ACCEPT that hop ahead of the drop rules (-I puts them
# first), so that the drop rules' counters stop before they are read
freeze_rules() {
	nsenter --net=/run/netns/psl-reviews iptables "$1" OUTPUT -o eth0 -p tcp -d 198.18.0.12 --dport 9080 -j ACCEPT
	nsenter --net=/run/netns/psl-reviews iptables "$1" INPUT -i eth0 -p tcp -s 198.18.0.12 --sport 9080 -j ACCEPT
}
retrans() { nsenter --net="/run/netns/psl-$1" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ { print $2 }'; }
drop_rules -A || { not_ok "lab drop rules"; finish; exit 1; }
# The lost packets wait for retransmission timers (backing off), so the loop
# takes 3-10 s, and a segment lost near its end can be sent again seconds
# later. The kernel's counters are read inside podscope's window: after it
# attached, and after the rules are gone and the counters have stood still
# for 2 s (at most 20 s), before it stops.
start_watch "$TMP/w2.json" 90s --pod default/reviews --pod default/ratings --json
rv0=$(retrans reviews)
rt0=$(retrans ratings)
check_eq "default: no sys_enter/sys_exit program (no per-syscall cost)" 0 "$(sys_progs)"
check_eq "default: no sched_switch program (on-CPU time is opt-in)" 0 "$(bpftool prog show | grep -c ' name ps_switch_')"
t0=$SECONDS
for _ in $(seq 40); do curl -s -m 5 -o /dev/null http://198.18.0.11:9080/; done
diag "40 requests through the lossy hop took $((SECONDS - t0)) s"
freeze_rules -I
wire_lost=$(nsenter --net=/run/netns/psl-reviews iptables -L INPUT -v -n -x | awk '/mode nth/ { print $1 }')
out_lost=$(nsenter --net=/run/netns/psl-reviews iptables -L OUTPUT -v -n -x | awk '/mode random/ { print $1 }')
drop_rules -D
freeze_rules -D
last="" still=0
for _ in $(seq 40); do
	now_rtx="$(retrans reviews) $(retrans ratings)"
	if [ "$now_rtx" = "$last" ]; then still=$((still + 1)); else still=0; fi
	last=$now_rtx
	[ "$still" -ge 4 ] && break
	sleep 0.5
done
rv=$(($(retrans reviews) - rv0))
rt=$(($(retrans ratings) - rt0))
kill -INT "$WATCH_PID"
wait_watch
e=$(edge "$TMP/w2.json" default/reviews istio-proxy default/ratings istio-proxy)
diag "kernel TcpRetransSegs during the window: reviews $rv, ratings $rt; edge: $(jq -c '{c: .client_side | {retransmits, drops, drop_reasons}, s: .server_side | {retransmits, drops}}' <<<"$e")"
# The kernel counts per netns: compare with the retransmits of every side that
# belongs to a process of that pod (all of them should be on the edge above;
# any other edge with retransmits is listed)
pod_rtx() { # pod_rtx FILE POD: retransmits of all sides of the pod's processes
	jq --arg p "$2" '[.edges[] | (if .client.pod == $p then .client_side.retransmits // 0 else 0 end),
		(if .server.pod == $p then .server_side.retransmits // 0 else 0 end)] | add' "$1"
}
diag "edges with retransmits: $(jq -c '[.edges[] | select((.client_side.retransmits // 0) + (.server_side.retransmits // 0) > 0) | {c: "\(.client.pod // .client.addr):\(.client.container // "")", s: "\(.server.pod // .server.addr):\(.server.container // "")", cr: .client_side.retransmits, sr: .server_side.retransmits}]' "$TMP/w2.json")"
check_eq "retransmits equal the kernel's counters (reviews sender, ratings sender)" "$rv $rt" \
	"$(pod_rtx "$TMP/w2.json" default/reviews) $(pod_rtx "$TMP/w2.json" default/ratings)"
check "with the drop rule: retransmits > 0" test $((rv + rt)) -gt 0
check "ratings retransmitted each of its ${wire_lost:-?} segments lost on the wire" \
	test "$(jq '.server_side.retransmits' <<<"$e")" -ge "${wire_lost:-1000000}" -a "${wire_lost:-0}" -gt 0
check "with the drop rule: drops > 0 with reason NETFILTER_DROP" \
	jq -e '.client_side.drop_reasons.NETFILTER_DROP > 0 and ([.client_side.drop_reasons[]] | add) == .client_side.drops' <<<"$e"
# The rules match only the reviews sidecar -> ratings hop. Every segment the
# INPUT rule drops (data, >= 100 bytes) reaches an established socket of that
# edge; of the OUTPUT rule's, a few may have no tracked socket any more (an ACK
# from TIME_WAIT, the RST of a pooled connection HAProxy just closed). So the
# edge's NETFILTER_DROP lies between the INPUT count and the sum of both.
nf=$(jq '.client_side.drop_reasons.NETFILTER_DROP' <<<"$e")
check "with the drop rule: NETFILTER_DROP ($nf) within the rules' counters: INPUT ${wire_lost:-?} .. INPUT + OUTPUT ${out_lost:-?}" \
	test "${wire_lost:-0}" -gt 0 -a "$nf" -ge "${wire_lost:-0}" -a "$nf" -le $((${out_lost:-0} + ${wire_lost:-0}))
e=$(edge "$TMP/w2.json" default/reviews istio-proxy default/reviews app)
check_eq "the sidecar -> app edge is untouched: 0 drops" 0 "$(jq '.client_side.drops + .server_side.drops' <<<"$e")"
check_eq "without --oncpu: on-CPU time absent (null), not 0" null \
	"$(jq -c '[.pods[].containers[].oncpu_ns] | unique | .[0]' "$TMP/w2.json")"
check_eq "without --syscall-time: call times absent (null), not 0" "null null null" \
	"$(jq -r '"\(.client_side.write.time_ns) \(.client_side.write.hist) \(.server_side.read.time_ns)"' <<<"$e")"

# --- 2b. the raw_tp fallback gives the same numbers ----------------------------
PODSCOPE_FORCE_RAW_TP=1 start_watch "$TMP/w2b.json" 4s --pod default/reviews --json
for _ in $(seq 10); do curl -s -o /dev/null http://198.18.0.11:9080/; done
wait_watch
check_eq "raw_tp fallback: both probe sets on raw_tp" "raw_tp raw_tp" \
	"$(jq -r '"\(.probes.targets) \(.probes.connections)"' "$TMP/w2b.json")"
check_eq "raw_tp fallback: 10 accepts at the reviews sidecar" 10 \
	"$(jq '[.edges[] | select(.server.port == 15006)] | first | .server_side.connect.count' "$TMP/w2b.json")"
e=$(edge "$TMP/w2b.json" default/reviews istio-proxy default/reviews app)
check_eq "raw_tp fallback: sidecar -> app bytes exact" \
	"$(jq .client_side.write.bytes <<<"$e")" "$(jq .server_side.read.bytes <<<"$e")"

# --- 2b'. the program variants for older kernels --------------------------------
# kfree_skb has no receiving socket before Linux 6.11, tcp_retransmit_skb no
# result before 6.18; podscope reads which from the kernel's BTF and loads the
# matching programs. PODSCOPE_TP_COMPAT=1 loads the older variants here (they
# attach to the newer tracepoints too): drops and retransmits must still count.
drop_rules -A || not_ok "lab drop rules (variants)"
PODSCOPE_TP_COMPAT=1 start_watch "$TMP/w2c.json" 10s --pod default/reviews --pod default/ratings --json
check_eq "older-kernel variants: ps_drop3 and ps_retrans2 attached, not the newer two" "1 1 0 0" \
	"$(for p in drop3 retrans2 drop retrans; do bpftool prog show | grep -c " name ps_${p}_btf "; done | tr '\n' ' ' | sed 's/ $//')"
for _ in $(seq 15); do curl -s -m 5 -o /dev/null http://198.18.0.11:9080/; done
drop_rules -D
wait_watch
e=$(edge "$TMP/w2c.json" default/reviews istio-proxy default/ratings istio-proxy)
diag "older-kernel variants: edge $(jq -c '{c: .client_side | {retransmits, drops, drop_reasons}, s: .server_side | {retransmits, drops}}' <<<"$e")"
check "older-kernel variants: drops > 0 with reason NETFILTER_DROP, retransmits > 0" \
	jq -e '.client_side.drop_reasons.NETFILTER_DROP > 0 and .client_side.retransmits + .server_side.retransmits > 0' <<<"$e"

# --- 2c. the ASan/UBSan build of the agent runs the same path cleanly ---------
if [ -x "$ROOT/build/podscope-san" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
		"$ROOT/build/podscope-san" watch --pods-file "$TMP/pods.json" --pod default/reviews \
		--pod default/ratings --duration 3s --json >"$TMP/san.json" 2>"$TMP/san.err" &
	san=$!
	sleep 1.5
	for _ in $(seq 5); do curl -s -o /dev/null http://198.18.0.11:9080/; done
	wait "$san"
	check_eq "ASan/UBSan build: watch exits 0 with no sanitizer report" "0 0" \
		"$? $(grep -c -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$TMP/san.err")"
	check_eq "ASan/UBSan build: same topology" 5 "$(jq '.edges | length' "$TMP/san.json")"
fi

# --- 3. CSV -------------------------------------------------------------------
start_watch "$TMP/w3.csv" 3s --pod default/reviews --csv
csv_bytes=0
for _ in $(seq 5); do
	read -r hdr body < <(curl -s -o /dev/null -w '%{size_header} %{size_download}' http://198.18.0.11:9080/)
	csv_bytes=$((csv_bytes + hdr + body))
done
wait_watch
check_eq "CSV header" client_pid "$(head -1 "$TMP/w3.csv" | cut -d, -f1)"
check "CSV has rows for client and server sides" bash -c "grep -c ',client,' '$TMP/w3.csv' | grep -qv '^0$' && grep -c ',server,' '$TMP/w3.csv' | grep -qv '^0$'"
# the inbound edge's server row: port 15006 (column 11), side (14), write_bytes (16), connect_count (21)
check_eq "CSV: the inbound row: 5 accepts, the bytes curl received" "5 $csv_bytes" \
	"$(awk -F, '$11 == 15006 && $14 == "server" { print $21, $16 }' "$TMP/w3.csv")"

# --- 4. IPv6 (root-namespace loopback, bare processes as targets) --------------
python3 -m http.server --bind ::1 18080 --directory "$TMP" >/dev/null 2>&1 &
V6_SERVER=$!
echo hello-v6 >"$TMP/v6.txt"
GO=$TMP/go
bash -c "while [ ! -e '$GO' ]; do sleep 0.05; done; for i in 1 2 3 4 5; do curl -s -6 -o /dev/null -w '%{size_header} %{size_download} %{size_request}\n' 'http://[::1]:18080/v6.txt' >>'$TMP/v6.sizes'; done; sleep 30" &
V6_CLIENT=$!
for _ in $(seq 50); do ss -ltnpH 'sport = :18080' | grep -q "pid=$V6_SERVER," && break; sleep 0.1; done
check "IPv6: our server listens on [::1]:18080" bash -c "ss -ltnpH 'sport = :18080' | grep -q 'pid=$V6_SERVER,'"
start_watch "$TMP/w4.json" 4s --pid "$V6_SERVER" --pid "$V6_CLIENT" --json
touch "$GO"
wait_watch
# each curl is its own process, so each is its own edge: add them up
v6=$(jq -c '[.edges[] | select(.dialed == "[::1]:18080")] | {n: length,
	connects: (map(.client_side.connect.count // 0) | add), accepts: (map(.server_side.connect.count // 0) | add),
	cread: (map(.client_side.read.bytes // 0) | add), swrite: (map(.server_side.write.bytes // 0) | add),
	cwrite: (map(.client_side.write.bytes // 0) | add), sread: (map(.server_side.read.bytes // 0) | add),
	servers: (map(.server.pid) | unique), comms: (map(.client.comm) | unique)}' "$TMP/w4.json")
check_eq "IPv6: 5 edges, one per curl process" 5 "$(jq .n <<<"$v6")"
check_eq "IPv6: 5 connects from the client's curl children" 5 "$(jq .connects <<<"$v6")"
check_eq "IPv6: 5 accepts at the server" 5 "$(jq .accepts <<<"$v6")"
read -r v6_resp v6_req < <(awk '{ r += $1 + $2; q += $3 } END { print r + 0, q + 0 }' "$TMP/v6.sizes")
check "IPv6: curl reported its 5 requests" test "$(wc -l <"$TMP/v6.sizes")" -eq 5
check_eq "IPv6: server wrote = client read = what curl received; client wrote = server read = what curl sent" \
	"$v6_resp $v6_resp $v6_req $v6_req" \
	"$(jq -r '"\(.swrite) \(.cread)"' <<<"$v6") $(jq -r '"\(.cwrite) \(.sread)"' <<<"$v6")"
check_eq "IPv6: the server is the python process" "[$V6_SERVER]" "$(jq -c .servers <<<"$v6")"
check_eq "IPv6: short-lived clients keep their names" '["curl"]' "$(jq -c .comms <<<"$v6")"
kill "$V6_SERVER" "$V6_CLIENT" 2>/dev/null
V6_SERVER=
V6_CLIENT=

# --- 4b. one socket, two connections ------------------------------------------
# A client sends 10 x 100 bytes to port A, disconnects the socket (connect with
# AF_UNSPEC), connects the same socket to port B and sends 10 x 300 bytes. The
# socket keeps its cookie, so the socket cache must forget what it knew about
# the first connection: each edge gets exactly its own bytes.
# two_servers.py PORTFILE [PORT_A PORT_B]: drains every connection to two
# listening ports on 127.0.0.1 (chosen by the kernel unless given), written to
# PORTFILE once both listen.
cat >"$TMP/two_servers.py" <<'PY'
import socket, sys, threading, time
def drain(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
def serve(l):
    while True:
        c, _ = l.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()
ls = []
for port in sys.argv[2:4] or (0, 0):
    l = socket.socket()
    l.bind(("127.0.0.1", int(port)))
    l.listen()
    ls.append(l)
    threading.Thread(target=serve, args=(l,), daemon=True).start()
with open(sys.argv[1], "w") as f:
    f.write("%d %d\n" % (ls[0].getsockname()[1], ls[1].getsockname()[1]))
time.sleep(60)
PY
cat >"$TMP/reconnect.py" <<'PY'
import ctypes, os, socket, struct, sys, time
go, pa, pb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
while not os.path.exists(go):
    time.sleep(0.05)
s = socket.socket()
s.connect(("127.0.0.1", pa))
for _ in range(10):
    s.sendall(b"a" * 100)
    time.sleep(0.01)
unspec = struct.pack("=H14s", socket.AF_UNSPEC, b"")
if ctypes.CDLL(None, use_errno=True).connect(s.fileno(), unspec, len(unspec)):
    sys.exit("disconnect: errno %d" % ctypes.get_errno())
s.connect(("127.0.0.1", pb))
for _ in range(10):
    s.sendall(b"b" * 300)
    time.sleep(0.01)
time.sleep(30)
PY
python3 "$TMP/two_servers.py" "$TMP/ports" &
RC_SERVER=$!
for _ in $(seq 50); do [ -s "$TMP/ports" ] && break; sleep 0.1; done
read -r PORT_A PORT_B <"$TMP/ports"
rm -f "$GO"
python3 "$TMP/reconnect.py" "$GO" "$PORT_A" "$PORT_B" &
RC_CLIENT=$!
start_watch "$TMP/w4b.json" 3s --pid "$RC_SERVER" --pid "$RC_CLIENT" --json
touch "$GO"
wait_watch
kill "$RC_CLIENT" "$RC_SERVER" 2>/dev/null
wait "$RC_CLIENT" "$RC_SERVER" 2>/dev/null
RC_CLIENT= RC_SERVER=
rc_edge() { jq -c --arg d "127.0.0.1:$1" '[.edges[] | select(.dialed == $d)] | first | [.client_side.write.count, .client_side.write.bytes, .server_side.read.bytes]' "$TMP/w4b.json"; }
check_eq "one socket, two connections: 10 writes, 1000 bytes to port A, read by the server" "[10,1000,1000]" "$(rc_edge "$PORT_A")"
check_eq "one socket, two connections: 10 writes, 3000 bytes to port B, read by the server" "[10,3000,3000]" "$(rc_edge "$PORT_B")"

# --- 4c. SYNs and SYN-ACKs retransmitted before the handshake ---------------------
# In a netns of its own, every other SYN to port 18082 is dropped: each of the
# client's 2 connections there loses its first SYN and completes on the
# retransmit a second later. Both retransmits and both drops belong to the
# client's edge, though the connection had no local port yet when they happened.
# Every other SYN-ACK from port 18083 is dropped too: the server must send the
# first connection's SYN-ACK again (whether the second connection's is dropped
# depends on how many went out for the first), before any full socket exists;
# those count on its side at accept. All of it together must equal the
# netns's own TcpRetransSegs.
SYN_NS=psl-syn-test
ip netns add "$SYN_NS" && ip -n "$SYN_NS" link set lo up
ip netns exec "$SYN_NS" iptables -A OUTPUT -o lo -p tcp --dport 18082 --syn \
	-m statistic --mode nth --every 2 --packet 0 -j DROP &&
	ip netns exec "$SYN_NS" iptables -A OUTPUT -o lo -p tcp --sport 18083 --tcp-flags SYN,ACK SYN,ACK \
		-m statistic --mode nth --every 2 --packet 0 -j DROP ||
	{ not_ok "SYN drop rules"; finish; exit 1; }
cat >"$TMP/syn_client.py" <<'PY'
import os, socket, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
for port in (18082, 18082, 18083, 18083):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"x" * 100)
    s.close()
time.sleep(30)
PY
ip netns exec "$SYN_NS" python3 "$TMP/two_servers.py" "$TMP/syn_ports" 18082 18083 &
SYN_SERVER=$!
rm -f "$GO"
ip netns exec "$SYN_NS" python3 "$TMP/syn_client.py" "$GO" &
SYN_CLIENT=$!
for _ in $(seq 50); do [ -s "$TMP/syn_ports" ] && break; sleep 0.1; done
start_watch "$TMP/w4c.json" 8s --pid "$SYN_SERVER" --pid "$SYN_CLIENT" --json
touch "$GO"
wait_watch
syn_retrans=$(ip netns exec "$SYN_NS" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ { print $2 }')
kill "$SYN_CLIENT" "$SYN_SERVER" 2>/dev/null
wait "$SYN_CLIENT" "$SYN_SERVER" 2>/dev/null
SYN_CLIENT= SYN_SERVER=
ip netns del "$SYN_NS"
e=$(jq -c '[.edges[] | select(.dialed == "127.0.0.1:18082")] | first' "$TMP/w4c.json")
diag "SYN retransmits: kernel $syn_retrans; edge $(jq -c '.client_side | {connect: .connect.count, retransmits, drops, drop_reasons}' <<<"$e"); connections $(jq -c .connections "$TMP/w4c.json"); BPF runs skipped $(jq .lost.bpf_recursion_misses "$TMP/w4c.json")"
# One full run in eight has shown one retransmit fewer than the kernel here.
# Standalone, 4 runs in ~240 lost every event of one connection's handshake
# (retransmit, connect, accept): each time, and never otherwise, those events
# ran in a softirq that interrupted a thread of this VM's PID 1 (outside our
# reach), and the kernel counted no skipped run (lost.bpf_recursion_misses 0).
# A busy process of our own on that CPU: 10 of 10 runs exact. Not understood
# yet (see the issue note): the retransmit checks allow one.
check_eq "SYN retransmits: 2 connects, 200 bytes" "2 200" \
	"$(jq -r '"\(.client_side.connect.count) \(.client_side.write.bytes)"' <<<"$e")"
check "SYN retransmits: the client's edge has 1-2 of the 2" jq -e '.client_side.retransmits | . >= 1 and . <= 2' <<<"$e"
check_eq "SYN retransmits: the 2 dropped SYNs on the client's edge, NETFILTER_DROP" "2 2" \
	"$(jq -r '"\(.client_side.drops) \(.client_side.drop_reasons.NETFILTER_DROP)"' <<<"$e")"
e=$(jq -c '[.edges[] | select(.dialed == "127.0.0.1:18083")] | first' "$TMP/w4c.json")
diag "SYN-ACK retransmits: edge $(jq -c '{client: .client_side | {connect: .connect.count, retransmits}, server: .server_side | {accepts: .connect.count, retransmits}}' <<<"$e")"
check "SYN-ACK retransmits: 2 accepts, SYN-ACKs sent again on the server's side, 200 bytes" \
	jq -e '.server_side.connect.count == 2 and .server_side.retransmits >= 1 and .client_side.write.bytes == 200' <<<"$e"
rtx_sum=$(jq '[.edges[] | (.client_side.retransmits // 0) + (.server_side.retransmits // 0)] | add' "$TMP/w4c.json")
check "SYN and SYN-ACK retransmits: the 2 edges hold the kernel's TcpRetransSegs ($syn_retrans), or one fewer ($rtx_sum)" \
	test "$rtx_sum" -le "$syn_retrans" -a "$rtx_sum" -ge $((syn_retrans - 1)) -a "$syn_retrans" -ge 3
check_eq "SYN retransmits: nothing on an edge of its own" 2 "$(jq '.edges | length' "$TMP/w4c.json")"

# --- 4d. retransmit attempts the kernel gives up on do not count ---------------
# Two netns joined by a veth. The server's ACKs are dropped, so the client's
# 100 bytes are sent again at each timeout; for 3 s in the middle the client
# has no route, and those attempts fail before anything is sent (the
# tracepoint reports them with -EHOSTUNREACH; TcpRetransSegs does not count
# them). Then route and ACKs come back. podscope must equal TcpRetransSegs, and
# that must be fewer than the attempts, which a tracefs instance of our own
# lists with their results (the kernel counts no failure for these).
RA=psl-rtx-a RB=psl-rtx-b
ip netns add "$RA" && ip netns add "$RB" &&
	ip -n "$RA" link add veth-rtx type veth peer name veth-rtx netns "$RB" &&
	ip -n "$RA" addr add 198.19.77.1/30 dev veth-rtx && ip -n "$RB" addr add 198.19.77.2/30 dev veth-rtx &&
	ip -n "$RA" link set veth-rtx up && ip -n "$RB" link set veth-rtx up ||
	{ not_ok "no-route netns"; finish; exit 1; }
cat >"$TMP/rtx_server.py" <<'PY'
import socket, sys
l = socket.socket()
l.bind(("198.19.77.2", 18090))
l.listen(1)
open(sys.argv[1], "w").write("up")
c, _ = l.accept()
while c.recv(65536):
    pass
PY
cat >"$TMP/rtx_client.py" <<'PY'
import os, socket, sys, time
s = socket.create_connection(("198.19.77.2", 18090), timeout=30)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
s.sendall(b"x" * 100)
while not os.path.exists(sys.argv[1] + ".done"):
    time.sleep(0.05)
s.close()
time.sleep(30)
PY
rm -f "$TMP/rtx_up" "$TMP/rtx_go" "$TMP/rtx_go.done"
ip netns exec "$RB" python3 "$TMP/rtx_server.py" "$TMP/rtx_up" &
RTX_SERVER=$!
for _ in $(seq 50); do [ -s "$TMP/rtx_up" ] && break; sleep 0.1; done
ip netns exec "$RA" python3 "$TMP/rtx_client.py" "$TMP/rtx_go" &
RTX_CLIENT=$!
start_watch "$TMP/w4d.json" 12s --pid "$RTX_SERVER" --pid "$RTX_CLIENT" --json
mkdir -p "$TMP/tracefs" && mount -t tracefs tracefs "$TMP/tracefs" &&
	TRI=$TMP/tracefs/instances/psl-rtx-test && mkdir "$TRI" &&
	echo 'dport == 18090' >"$TRI/events/tcp/tcp_retransmit_skb/filter" &&
	echo 1 >"$TRI/events/tcp/tcp_retransmit_skb/enable" ||
	{ not_ok "tracefs instance"; finish; exit 1; }
rtx_before=$(ip netns exec "$RA" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ { print $2 }')
ip netns exec "$RB" iptables -A OUTPUT -p tcp --sport 18090 -j DROP
touch "$TMP/rtx_go"
sleep 0.7
ip -n "$RA" route del 198.19.77.0/30
sleep 3
ip -n "$RA" route add 198.19.77.0/30 dev veth-rtx
ip netns exec "$RB" iptables -D OUTPUT -p tcp --sport 18090 -j DROP
sleep 4 # the next timeout sends it again, and it is acknowledged
rtx_after=$(ip netns exec "$RA" nstat -az TcpRetransSegs | awk '/TcpRetransSegs/ { print $2 }')
echo 0 >"$TRI/events/tcp/tcp_retransmit_skb/enable"
attempts=$(grep -c 'tcp_retransmit_skb:' "$TRI/trace")
gave_up=$(grep -c 'tcp_retransmit_skb:.* err=-113' "$TRI/trace")
rmdir "$TRI"
umount "$TMP/tracefs"
touch "$TMP/rtx_go.done"
wait_watch
kill "$RTX_CLIENT" "$RTX_SERVER" 2>/dev/null
wait "$RTX_CLIENT" "$RTX_SERVER" 2>/dev/null
RTX_CLIENT= RTX_SERVER=
ip netns del "$RA"
ip netns del "$RB"
e=$(jq -c '[.edges[] | select(.dialed == "198.19.77.2:18090")] | first' "$TMP/w4d.json")
diag "no route: $attempts attempts, $gave_up of them -EHOSTUNREACH; kernel TcpRetransSegs $((rtx_after - rtx_before)); edge $(jq -c '.client_side | {retransmits, write: .write.bytes}' <<<"$e")"
check "no route: the kernel sent the segment again at least twice" test $((rtx_after - rtx_before)) -ge 2
check "no route: and gave up on at least one attempt for want of a route" test "$gave_up" -ge 1
check_eq "no route: attempts = sent again + given up" "$attempts" $((rtx_after - rtx_before + gave_up))
check_eq "no route: the client's retransmits equal TcpRetransSegs, not the attempts" \
	"$((rtx_after - rtx_before)) 100" "$(jq -r '"\(.client_side.retransmits) \(.client_side.write.bytes)"' <<<"$e")"

# --- 4e. close reasons and failed connects, each a known number of times ------
# In a netns of its own: 2 connections closed normally, 3 closed by the client
# with SO_LINGER 0 (an RST both ends see), 1 whose peer's ACKs are all dropped
# until TCP_USER_TIMEOUT ends it (ETIMEDOUT), 1 refused (no listener: the RST
# answers the SYN). The first SYN to the timeout port is dropped once, so that
# connect takes a known >= 1 s (the SYN retransmit timer).
CR_NS=psl-close-test
ip netns add "$CR_NS" && ip -n "$CR_NS" link set lo up &&
	ip netns exec "$CR_NS" iptables -A OUTPUT -o lo -p tcp --sport 18085 ! --tcp-flags SYN SYN -j DROP &&
	ip netns exec "$CR_NS" iptables -A OUTPUT -o lo -p tcp --dport 18085 --syn \
		-m statistic --mode nth --every 100 --packet 0 -j DROP ||
	{ not_ok "close-reason netns and rules"; finish; exit 1; }
cat >"$TMP/cr_client.py" <<'PY'
import os, socket, struct, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
for linger in (False, False, True, True, True):
    s = socket.create_connection(("127.0.0.1", 18084), timeout=10)
    s.sendall(b"x" * 100)
    time.sleep(0.1)
    if linger:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
s = socket.create_connection(("127.0.0.1", 18085), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
s.sendall(b"y" * 100)
try:
    s.recv(1)
except OSError as e:
    print("timeout port:", e, flush=True)
s.close()
try:
    socket.create_connection(("127.0.0.1", 18086), timeout=5)
except OSError as e:
    print("refused port:", e, flush=True)
time.sleep(30)
PY
rm -f "$GO" "$TMP/cr_up"
ip netns exec "$CR_NS" python3 "$TMP/two_servers.py" "$TMP/cr_up" 18084 18085 &
CR_SERVER=$!
ip netns exec "$CR_NS" python3 "$TMP/cr_client.py" "$GO" >"$TMP/cr_client.out" 2>&1 &
CR_CLIENT=$!
for _ in $(seq 50); do [ -s "$TMP/cr_up" ] && break; sleep 0.1; done
start_watch "$TMP/w4e.json" 7s --pid "$CR_SERVER" --pid "$CR_CLIENT" --json
touch "$GO"
wait_watch
check_eq "close reasons: watch --json exits 0" 0 $?
kill "$CR_CLIENT" "$CR_SERVER" 2>/dev/null
wait "$CR_CLIENT" "$CR_SERVER" 2>/dev/null
CR_CLIENT= CR_SERVER=
# the kernel's own count of connections that went ESTABLISHED/CLOSE_WAIT -> CLOSE
cr_estab_resets=$(ip netns exec "$CR_NS" nstat -az TcpEstabResets | awk '/TcpEstabResets/ { print $2 }')
ip netns del "$CR_NS"
diag "client: $(tr '\n' ';' <"$TMP/cr_client.out"); connections $(jq -c .connections "$TMP/w4e.json")"
cr_edge() { jq -c --arg d "127.0.0.1:$1" '[.edges[] | select(.dialed == $d)] | first' "$TMP/w4e.json"; }
e=$(cr_edge 18084)
diag "18084: $(jq -c '{c: .client_side | {close, resets, timeouts}, s: .server_side | {close, resets, timeouts}}' <<<"$e")"
check_eq "close reasons: client closed 5, 3 of them by RST, none timed out" "5 3 0" \
	"$(jq -r '.client_side | "\(.close.count) \(.resets) \(.timeouts)"' <<<"$e")"
check_eq "close reasons: the server saw the same 5 closes and 3 resets" "5 3 0" \
	"$(jq -r '.server_side | "\(.close.count) \(.resets) \(.timeouts)"' <<<"$e")"
check_eq "close reasons: the client wrote 500 bytes in 5 connects" "5 500" \
	"$(jq -r '.client_side | "\(.connect.count) \(.write.bytes)"' <<<"$e")"
e=$(cr_edge 18085)
diag "18085: $(jq -c '.client_side | {connect, close, resets, timeouts, retransmits}' <<<"$e")"
check_eq "close reasons: unacknowledged data ends in 1 timeout (TCP_USER_TIMEOUT)" "1 1 0" \
	"$(jq -r '.client_side | "\(.close.count) \(.timeouts) \(.resets)"' <<<"$e")"
check "connect latency: the connect whose first SYN was dropped took 1..3 s" \
	jq -e '.client_side.connect | .count == 1 and .time_ns >= 1000000000 and .time_ns < 3000000000' <<<"$e"
e=$(cr_edge 18086)
diag "18086: $(jq -c '.client_side | {connect, close, resets}' <<<"$e")"
check_eq "refused connect: no connection made, 1 error, closed by the peer's reset" "0 1 1 1" \
	"$(jq -r '.client_side | "\(.connect.count) \(.connect.errors) \(.close.count) \(.resets)"' <<<"$e")"
check_eq "close reasons in total: normal, reset, timeout, error" "4 7 1 0" \
	"$(jq -r '.connections.close_reasons | "\(.normal) \(.reset) \(.timeout) \(.error)"' "$TMP/w4e.json")"
# TcpEstabResets counts every ESTABLISHED/CLOSE_WAIT -> CLOSE: the 3 + 3 resets
# and the timeout; the refused connect never was established
check_eq "close reasons: resets and timeouts of established connections = the kernel's TcpEstabResets" \
	"${cr_estab_resets:-?}" "$(jq '.connections.close_reasons | .reset + .timeout + .error - 1' "$TMP/w4e.json")"

# --- 5. bad input and exits ---------------------------------------------------
one_line_fail() {
	local err rc
	err=$("$PODSCOPE" watch "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -n "$err" ]
}
check "no target" one_line_fail --duration 1s
check "unknown pod" one_line_fail --pods-file "$TMP/pods.json" --pod default/nope --duration 1s
check "vanished pid" one_line_fail --pid 999999 --duration 1s
check "--json with --csv" one_line_fail --pod default/reviews --json --csv
check "bad duration" one_line_fail --pod default/reviews --duration soon
# END: the normal exit, when --duration is over
for sig in END INT TERM KILL; do
	dur=() how="SIG$sig"
	[ "$sig" = END ] && dur=(--duration 2s) how="normal exit (--duration)"
	"$PODSCOPE" watch --pods-file "$TMP/pods.json" --pod default/reviews --json "${dur[@]}" >"$TMP/sig.json" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do bpftool prog show | grep -q ' name ps_state' && break; sleep 0.05; done
	curl -s -o /dev/null http://198.18.0.11:9080/
	[ "$sig" = END ] || kill -s "$sig" "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$sig" != KILL ]; then
		check_eq "$how: exits 0 and still writes its snapshot" "0 podscope.snapshot/v1" \
			"$rc $(jq -r .schema "$TMP/sig.json" 2>/dev/null)"
	fi
	for _ in $(seq 40); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
	check_eq "after $how: no BPF program of ours" 0 "$(bpftool prog show | grep -c ' name ps_')"
	check_eq "after $how: no BPF link of ours" 0 "$(bpftool link show | grep -c 'ps_')"
done
check_eq "the chain still works after all that" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' http://198.18.0.11:9080/)"

finish
