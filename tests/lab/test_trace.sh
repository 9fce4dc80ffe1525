#!/usr/bin/env bash
# shellcheck disable=SC2016
# `podscope trace` on the pod lab: one curl through the two-sidecar chain
# gives a flow whose hops are in a physically possible order in each
# direction (device -> tc -> TCP -> socket on receive, the reverse on send),
# with all TCP phases and monotonic timestamps; inside-pod packets (sidecar
# <-> app over lo) form their own flows; the response waits at least the
# apps' known delays (ground truth); a packet dropped by a lab iptables rule
# ends in kfree_skb with NETFILTER_DROP in the pod; sampling drops
# connections; bad input fails with one line; nothing stays attached after
# SIGINT, SIGTERM or SIGKILL; with redirect acceleration the inside-pod data
# packets disappear from the stack while the handshake and teardown remain.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
DROP_RULE=(INPUT -p tcp -d 198.18.0.11 --dport 9999 -j DROP)
cleanup() {
	[ -n "${TRACE_PID:-}" ] && kill "$TRACE_PID" 2>/dev/null
	[ -n "${ACCEL_PID:-}" ] && kill -9 "$ACCEL_PID" 2>/dev/null
	nsenter --net=/run/netns/psl-reviews iptables -D "${DROP_RULE[@]}" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
lgcurl() { nsenter --net=/run/netns/psl-loadgen curl "$@"; }

# start_trace OUT ARGS...: in the background, return once attached.
start_trace() {
	local out=$1
	shift
	local before
	before=$(bpftool prog show | grep -c ' name ps_')
	"$PODSCOPE" trace --pods-file "$TMP/pods.json" "$@" >"$out" 2>"$out.err" &
	TRACE_PID=$!
	for _ in $(seq 200); do
		[ "$(bpftool prog show | grep -c ' name ps_')" -gt "$before" ] && break
		sleep 0.05
	done
	sleep 0.5 # tcx links come after the tracepoints
}
wait_trace() {
	wait "$TRACE_PID"
	local rc=$?
	TRACE_PID=
	return $rc
}

# --- 1. one request through the chain ------------------------------------------
start_trace "$TMP/t1.json" --pod default/reviews --duration 4s --json
code=$(lgcurl -s -o /dev/null -w '%{http_code}' http://198.18.0.11:9080/)
check_eq "curl through the chain while tracing" 200 "$code"
wait_trace
check_eq "trace exits 0" 0 $?
J=$TMP/t1.json
check_eq "schema" podscope.trace/v1 "$(jq -r .schema "$J")"
check "tcx on the pod's lo and eth0 and the host veth, both directions (>= 3 links each)" \
	jq -e '[.points[] | select(.point == "tc_ingress" or .point == "tc_egress") | .links >= 3] | all' "$J"
check "every point is attached or says why not" \
	jq -e '[.points[] | (.mechanism != null) or (.detail != null)] | all' "$J"
check "no event lost" jq -e '.lost.ringbuf == 0 and .lost.events_over_cap == 0' "$J"

OUT='[.flows[] | select((.client | startswith("198.18.0.10:")) and .server == "198.18.0.11:9080")] | first'
check "the loadgen -> reviews connection is one flow, outside the pod, client known" \
	jq -e "$OUT | .inside_pod == false and .client_known == true" "$J"
for f in SYN 'SYN|ACK' FIN; do
	check "its phases include a $f packet" jq -e --arg f "$f" "$OUT | [.packets[] | select(.flags | split(\"|\") | (. == (\$f | split(\"|\"))) or (\$f == \"FIN\" and index(\"FIN\") != null))] | length > 0" "$J"
done
check "handshake = SYN, SYN|ACK, ACK" \
	jq -e "$OUT | [.packets[] | select(.phase == \"handshake\" and (.hops | map(.point) | index(\"tc_ingress\") != null)) | .flags] | unique == [\"ACK\", \"SYN\", \"SYN|ACK\"]" "$J"
check "data both ways and a teardown" \
	jq -e "$OUT | .phases.data.packets >= 2 and .phases.teardown.packets >= 2" "$J"
check "the SYN goes loadgen eth0 -> host veth tc egress -> reviews eth0 rx -> tc ingress, in order" \
	jq -e "$OUT | .packets[] | select(.flags == \"SYN\" and (.hops | length) > 4) | [.hops[] | \"\(.point)@\(.where)/\(.ifname)\"] as \$h |
		[\$h | index(\"net_dev_queue@default/loadgen/eth0\"), index(\"tc_egress@node/psl-h-reviews\"),
		 index(\"netif_receive_skb@default/reviews/eth0\"), index(\"tc_ingress@default/reviews/eth0\")] |
		(all(. != null)) and (. == sort)" "$J"
check "the request reaches TCP and the socket in the pod after tc ingress" \
	jq -e "$OUT | [.packets[] | select(.dir == \"c2s\" and .phase == \"data\")] | first | [.hops[] | .point] as \$p |
		(\$p | index(\"tc_ingress\")) < (\$p | index(\"tcp_probe\")) and (\$p | index(\"tcp_probe\")) < (\$p | index(\"skb_copy_datagram_iovec\"))" "$J"
check "the response left >= 1.5 ms after the request reached the socket (apps sleep 0.5 + 1 ms)" \
	jq -e "$OUT | [.packets[] | select(.dir == \"s2c\" and .phase == \"data\")] | first | .gap_ns >= 1500000" "$J"
check "outside flow has no hop on lo" jq -e "$OUT | [.packets[].hops[] | select(.ifname == \"lo\")] | length == 0" "$J"

# Physically possible order, checked here independently of podscope's own code:
# runs of consecutive hops in one netns and direction (rx/tx; end points aside)
# rise in layer on receive and fall on send.
ORDER='def rank: {"dev":1,"tc":2,"ip":3,"tcp":4,"sock":5}[.];
	[.flows[].packets[] | [.hops[] | select(.dir != "end" and .netns != 0)] |
	 reduce .[] as $h ({ok: true, key: null, last: 0};
		if ($h.netns|tostring) + $h.dir != .key then .key = ($h.netns|tostring) + $h.dir | .last = ($h.layer|rank)
		elif ($h.dir == "rx" and ($h.layer|rank) < .last) or ($h.dir == "tx" and ($h.layer|rank) > .last) then .ok = false
		else .last = ($h.layer|rank) end) | .ok] | all'
check "every packet of every flow: hops in a physically possible order" jq -e "$ORDER" "$J"
check "every packet of every flow: timestamps monotonic" \
	jq -e '[.flows[].packets[] | [.hops[].ts_ns] | . == sort] | all' "$J"
IN='[.flows[] | select(.inside_pod and .server == "127.0.0.1:9080")] | first'
check "sidecar -> app over lo is a separate inside-pod flow with data both ways" \
	jq -e "$IN | .where == \"default/reviews\" and ([.packets[] | select(.phase == \"data\") | .dir] | unique == [\"c2s\", \"s2c\"])" "$J"
check "inside-pod flow: every device hop is on lo" \
	jq -e "$IN | [.packets[].hops[] | select(.ifindex != 0) | .ifname] | unique == [\"lo\"]" "$J"
diag "per-hop dt_ns, outside flow, request packet: $(jq -c "$OUT | [.packets[] | select(.dir == \"c2s\" and .phase == \"data\")] | first | [.hops[] | {(.point + \"@\" + .ifname): .dt_ns}] | add" "$J")"
diag "per-hop dt_ns, inside flow (sidecar -> app on lo), request packet: $(jq -c "$IN | [.packets[] | select(.dir == \"c2s\" and .phase == \"data\")] | first | [.hops[] | {(.point): .dt_ns}] | add" "$J")"

# --- 2. a packet dropped by a lab rule ------------------------------------------
nsenter --net=/run/netns/psl-reviews iptables -I "${DROP_RULE[@]}"
start_trace "$TMP/t2.json" --pod default/reviews --duration 3s --json
lgcurl -s -o /dev/null --connect-timeout 1 http://198.18.0.11:9999/
nsenter --net=/run/netns/psl-reviews iptables -D "${DROP_RULE[@]}"
wait_trace
DROP='[.flows[] | select(.server == "198.18.0.11:9999") | .packets[] | select(.flags == "SYN")] | first'
check "the SYN to the blocked port is dropped" jq -e "$DROP | .dropped == true" "$TMP/t2.json"
check_eq "... with the kernel's reason" NETFILTER_DROP "$(jq -r "$DROP | .drop_reason" "$TMP/t2.json")"
check_eq "... and died in the pod at kfree_skb" "kfree_skb default/reviews" \
	"$(jq -r "$DROP | .hops[-1] | \"\(.point) \(.where)\"" "$TMP/t2.json")"

# --- 3. sampling ------------------------------------------------------------------
start_trace "$TMP/t3.json" --pod default/reviews --duration 2s --json --packet-sample 1000000
for _ in 1 2 3; do lgcurl -s -o /dev/null http://198.18.0.11:9080/; done
wait_trace
check "--packet-sample 1000000: connections sampled out, counted" \
	jq -e '.lost.sampled_out > 0 and .packet_sample == 1000000' "$TMP/t3.json"

# --- 3b. the raw_tp fallback gives the same path ------------------------------------
PODSCOPE_FORCE_RAW_TP=1 start_trace "$TMP/t3b.json" --pod default/reviews --duration 2s --json
lgcurl -s -o /dev/null http://198.18.0.11:9080/
wait_trace
check "PODSCOPE_FORCE_RAW_TP=1: tracepoints on raw_tp" \
	jq -e '[.points[] | select(.kind == "tracepoint") | .mechanism == "raw_tp"] | all' "$TMP/t3b.json"
check "... and the SYN still crosses host veth tc egress, pod eth0 and tc ingress in order" \
	jq -e "$OUT | .packets[] | select(.flags == \"SYN\" and (.hops | length) > 4) | [.hops[] | \"\(.point)@\(.ifname)\"] as \$h |
		[\$h | index(\"tc_egress@psl-h-reviews\"), index(\"netif_receive_skb@eth0\"), index(\"tc_ingress@eth0\")] |
		(all(. != null)) and (. == sort)" "$TMP/t3b.json"

# --- 4. bad input ----------------------------------------------------------------
one_line_fail() {
	local err rc
	err=$("$PODSCOPE" trace "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -n "$err" ]
}
check "no target" one_line_fail --duration 1s
check "unknown pod" one_line_fail --pods-file "$TMP/pods.json" --pod default/nope --duration 1s
check "--json with --csv" one_line_fail --pod default/reviews --json --csv
check "bad duration" one_line_fail --pod default/reviews --duration soon
check "bad --packet-sample" one_line_fail --pod default/reviews --packet-sample 0

# --- 4b. spans: OTLP/HTTP JSON to the checking receiver, and a Jaeger file ----------
python3 "$ROOT/tests/tools/otlp_receiver.py" --port 0 --port-file "$TMP/oport" --out "$TMP/otlp.jsonl" \
	--max-seconds 60 >"$TMP/recv.log" 2>&1 &
RECV=$!
for _ in $(seq 50); do [ -s "$TMP/oport" ] && break; sleep 0.1; done
start_trace "$TMP/sp.json" --pod default/reviews --duration 3s --json \
	--otlp-endpoint "http://127.0.0.1:$(cat "$TMP/oport")" --trace-file "$TMP/jaeger.json"
lgcurl -s -o /dev/null http://198.18.0.11:9080/
wait_trace
check_eq "spans: trace exits 0" 0 $?
NFLOWS=$(jq '.flows | length' "$TMP/sp.json")
check "spans: flows traced" test "$NFLOWS" -gt 0
check_eq "spans: one Jaeger trace per flow" "$NFLOWS" "$(jq '.data | length' "$TMP/jaeger.json")"
check_eq "spans: every Jaeger reference names a span of its trace" 0 \
	"$(jq '[.data[] | . as $t | [$t.spans[].spanID] as $ids | $t.spans[] | .references[] | select((.traceID != $t.traceID) or ((.spanID as $s | $ids | index($s)) == null))] | length' "$TMP/jaeger.json")"
check_eq "spans: every OTLP payload valid" 0 "$(jq -r 'select(.valid == false) | .reason' "$TMP/otlp.jsonl" | wc -l)"
check_eq "spans: one OTLP root span per flow" "$NFLOWS" \
	"$(jq -r 'select(.valid == true) | .payload.resourceSpans[].scopeSpans[].spans[] | select((.parentSpanId // "") == "") | .name' "$TMP/otlp.jsonl" | wc -l)"
kill "$RECV" 2>/dev/null
wait "$RECV" 2>/dev/null

# --- 5. signals: output still written, nothing left attached ---------------------
# bpftool 7.1 predates tcx: links show as "type 11" and `net show` lists none.
tcx_links() { bpftool link show | grep -Ec '^[0-9]+: (tcx|type 11) '; }
tcx_before=$(tcx_links)
for sig in INT TERM KILL; do
	start_trace "$TMP/sig.csv" --pod default/reviews --csv
	check "SIG$sig run: its tcx links are visible while it runs" test "$(tcx_links)" -gt "$tcx_before"
	lgcurl -s -o /dev/null http://198.18.0.11:9080/
	kill -s "$sig" "$TRACE_PID"
	wait_trace 2>/dev/null
	rc=$?
	if [ "$sig" != KILL ]; then
		check_eq "SIG$sig: exits 0 and still writes its CSV" "0 flow,client,server" \
			"$rc $(head -1 "$TMP/sig.csv" | cut -d, -f1-3)"
		check "SIG$sig: CSV has hop rows" test "$(wc -l <"$TMP/sig.csv")" -gt 10
	fi
	for _ in $(seq 40); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
	check_eq "after SIG$sig: no BPF program of ours" 0 "$(bpftool prog show | grep -c ' name ps_')"
	for _ in $(seq 40); do [ "$(tcx_links)" -eq "$tcx_before" ] && break; sleep 0.1; done
	check_eq "after SIG$sig: no tcx link left" "$tcx_before" "$(tcx_links)"
done
# --- 6. redirect acceleration: inside-pod data leaves the stack ------------------
# With `podscope accel run` on reviews, the sidecar -> app hop (lo, 127.0.0.1:9080)
# sends its bytes socket to socket (docs/accel.md): the connection's handshake and
# teardown still cross lo, its data packets do not. Same request, with and without.
# Pooling off: every request opens a fresh sidecar -> app connection, so both runs
# see its SYN (only connections opened while accelerated are redirected).
"$LAB" pooling reviews off >/dev/null
"$LAB" status --json >"$TMP/pods.json" # new processes, same pod
ACCEL_PID=
accel_on() {
	"$PODSCOPE" accel run --pods-file "$TMP/pods.json" --pod default/reviews --json \
		>"$TMP/accel.json" 2>"$TMP/accel.err" &
	ACCEL_PID=$!
	for _ in $(seq 100); do
		[ "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')" -ge 1 ] && return 0
		sleep 0.05
	done
	return 1
}
# inside-pod flows to the app opened in the window (they have a SYN): "handshake data
# teardown", teardown = FIN or RST packets. haproxy ends a server connection either with
# FIN/FIN/ACK or by answering the app's FIN with a RST, or with a lone RST (seen in CI):
# at least one such packet must cross lo.
INNEW='[.flows[] | select(.inside_pod and .server == "127.0.0.1:9080" and ([.packets[] | select(.flags == "SYN")] | length > 0))]'
inside_counts() {
	jq -r "$INNEW | [length, ([.[].packets[] | select(.phase == \"handshake\")] | length),
		([.[].packets[] | select(.phase == \"data\")] | length),
		([.[].packets[] | select(.phase == \"teardown\" and (.flags | test(\"FIN|RST\")))] | length)] | @tsv" "$1"
}
for mode in plain accel; do
	if [ "$mode" == accel ]; then check "accel: attached to reviews" accel_on; fi
	start_trace "$TMP/a-$mode.json" --pod default/reviews --duration 3s --json
	check_eq "$mode: curl through the chain" 200 "$(lgcurl -s -o /dev/null -w '%{http_code}' http://198.18.0.11:9080/)"
	wait_trace
	read -r n_conn n_hs n_data n_fin <<<"$(inside_counts "$TMP/a-$mode.json")"
	diag "$mode: sidecar -> app connections opened ${n_conn:-?}; packets: handshake ${n_hs:-?}, data ${n_data:-?}, teardown ${n_fin:-?}"
	check "$mode: one new sidecar -> app connection, handshake on lo (SYN, SYN|ACK, ACK)" \
		test "${n_conn:-0}" -ge 1 -a "${n_hs:-0}" -ge 3
	check "$mode: its teardown (FIN or RST) on lo too" test "${n_fin:-0}" -ge 1
	if [ "$mode" == plain ]; then
		check "plain: its request and response are data packets on lo (> 0)" test "${n_data:-0}" -gt 0
		plain_data=${n_data:-0}
	else
		check_eq "accel: no data packet on lo (was $plain_data without)" 0 "${n_data:-x}"
		check "accel: the outside flow still carries data (loadgen -> reviews)" \
			jq -e "$OUT | .phases.data.packets >= 2" "$TMP/a-$mode.json"
	fi
done
kill -INT "$ACCEL_PID"
wait "$ACCEL_PID"
check_eq "accel: exits 0 on SIGINT" 0 $?
ACCEL_PID=
check "accel: the bytes went socket to socket (messages_redirected > 0)" \
	jq -e '.messages_redirected > 0 and .redirect_failed == 0' "$TMP/accel.json"
# The sockops link goes at once; connections already redirected keep
# ps_accel_msg and the sockhash until they close: the pod restart in
# `pooling on` closes every one of them.
for _ in $(seq 30); do [ "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')" -eq 0 ] && break; sleep 0.1; done
check_eq "accel stopped: no sockops link left" 0 "$(bpftool link show | grep -c 'attach_type cgroup_sock_ops')"
"$LAB" pooling reviews on >/dev/null
for _ in $(seq 100); do
	[ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && [ "$(bpftool map show | grep -c ' name accel_')" -eq 0 ] && break
	sleep 0.1
done
check_eq "accel stopped, pod connections closed: no BPF program of ours" 0 "$(bpftool prog show | grep -c ' name ps_')"
check_eq "... and no accel map" 0 "$(bpftool map show | grep -c ' name accel_')"
check_eq "... and no tcx link left" "$tcx_before" "$(tcx_links)"

check_eq "the chain still works after all that" 200 \
	"$(lgcurl -s -o /dev/null -w '%{http_code}' http://198.18.0.11:9080/)"

finish
