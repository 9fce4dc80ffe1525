#!/usr/bin/env bash
# shellcheck disable=SC2016
# Packet tracing inside the agent: `podscope run --trace-pod default/reviews`
# on the pod lab, a few curls through the two-sidecar chain, then
# podscope_packet_hop_seconds in /metrics has counts for hops the request
# must cross (host veth -> pod eth0, pod tc ingress -> TCP, the sidecar -> app
# hop over lo), every histogram is cumulative with +Inf == _count, promtool
# accepts the exposition, /api/v1/flows has the flows (bounded), memory does
# not grow with traffic, and after SIGTERM nothing stays attached. Without
# --trace-pod there is no such metric and /api/v1/flows answers 404.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
tcx_links() { bpftool link show | grep -Ec '^[0-9]+: (tcx|type 11) '; }
lgcurl() { nsenter --net=/run/netns/psl-loadgen curl "$@"; }

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
tcx_before=$(tcx_links)
APORT=$(free_port)
AGENT=http://127.0.0.1:$APORT

# --- 1. off by default ---------------------------------------------------------------
"$PODSCOPE" run --pods-file "$TMP/pods.json" --pod default/reviews --listen "127.0.0.1:$APORT" \
	--duration 60s >"$TMP/agent0.log" 2>&1 &
AGENT_PID=$!
check "agent without --trace-pod answers" wait_http "$AGENT/healthz"
check_eq "without --trace-pod: /api/v1/flows is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$AGENT/api/v1/flows")"
check_eq "without --trace-pod: no podscope_packet_hop_seconds" 0 "$(curl -s "$AGENT/metrics" | grep -c '^podscope_packet_hop_seconds')"
check_eq "without --trace-pod: no tcx link" "$tcx_before" "$(tcx_links)"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
AGENT_PID=

# --- 2. --trace-pod -------------------------------------------------------------------
"$PODSCOPE" run --pods-file "$TMP/pods.json" --pod default/reviews --trace-pod default/reviews \
	--listen "127.0.0.1:$APORT" --interval 1s --duration 120s >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
check "agent with --trace-pod answers" wait_http "$AGENT/healthz"
check "its tcx links are attached (pod lo, eth0, host veth; both ways)" test "$(tcx_links)" -ge $((tcx_before + 6))
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
codes=
for _ in 1 2 3 4 5; do codes="$codes$(lgcurl -s -o /dev/null -w '%{http_code}' http://198.18.0.11:9080/)"; done
check_eq "5 curls through the chain" 200200200200200 "$codes"
sleep 2.5 # two intervals: assembled into the model
curl -s "$AGENT/metrics" >"$TMP/m1.txt"
curl -s "$AGENT/api/v1/flows" >"$TMP/f1.json"
hop_count() { # FILE FROM TO [INSIDE]: _count summed over directions
	awk -v f="from=\"$2\"" -v t="to=\"$3\"" -v i="inside_pod=\"${4:-false}\"" \
		'/^podscope_packet_hop_seconds_count\{/ && index($0, "pod=\"reviews\"") && index($0, f) && index($0, t) && index($0, i) { s += $NF } END { print s + 0 }' "$1"
}
n_veth=$(hop_count "$TMP/m1.txt" net_dev_start_xmit@node netif_rx@pod)
n_tc=$(hop_count "$TMP/m1.txt" netif_receive_skb@pod tc_ingress@pod)
n_lo=$(hop_count "$TMP/m1.txt" tc_egress@pod net_dev_queue@pod true)
diag "hop counts: host veth xmit -> pod netif_rx $n_veth; pod netif_receive_skb -> tc_ingress $n_tc; inside-pod tc_egress -> net_dev_queue $n_lo"
check "host veth (node) -> pod eth0: count >= 5 x (SYN, ACK, data, FIN...)" test "$n_veth" -ge 15
check "pod netif_receive_skb -> tc_ingress counted" test "$n_tc" -ge 15
check "inside the pod (sidecar <-> app on lo): tc_egress -> net_dev_queue counted" test "$n_lo" -gt 0
check "exposition parses (promtool check metrics)" sh -c "promtool check metrics <'$TMP/m1.txt' 2>&1 | grep -v -i 'counter metrics should have' | grep -q . && exit 1 || exit 0"
# every series: buckets cumulative, +Inf == _count
bad=$(awk '
	/^podscope_packet_hop_seconds_bucket\{/ {
		l = $0; sub(/,le="[^"]*"\}.*/, "", l); v = $NF
		if (l == prev && v + 0 < last + 0) bad++
		prev = l; last = v
		if ($0 ~ /le="\+Inf"/) inf[l] = v
	}
	/^podscope_packet_hop_seconds_count\{/ { l = $0; sub(/\}.*/, "", l); sub(/_count\{/, "_bucket{", l); cnt[l] = $NF; n++ }
	END { for (k in cnt) if (inf[k] != cnt[k]) bad++; print bad + 0, n + 0 }' "$TMP/m1.txt")
check_eq "every hop histogram cumulative, +Inf == _count (series: ${bad#* })" 0 "${bad% *}"
check "bounded labels: from/to are point@pod|node|other" sh -c "! grep '^podscope_packet_hop_seconds_count' '$TMP/m1.txt' | grep -v -E 'from=\"[a-z_]+@(pod|node|other)\",to=\"[a-z_]+@(pod|node|other)\"'"
check "in --list-metrics" sh -c "'$PODSCOPE' run --list-metrics | grep -qx podscope_packet_hop_seconds_bucket"

check_eq "/api/v1/flows: schema" podscope.flows/v1 "$(jq -r .schema "$TMP/f1.json")"
diag "flows: $(jq -c '[.flows[] | "\(.client)>\(.server) \(.inside_pod) \(.packets | length)p \([.packets[].hops | length] | add)h"]' "$TMP/f1.json")"
check "/api/v1/flows: loadgen -> reviews flows with a SYN crossing >= 5 hops" \
	jq -e '[.flows[] | select(.server == "198.18.0.11:9080" and (.client | startswith("198.18.0.10:"))) | .packets[] | select(.flags == "SYN") | .hops | length] | length >= 1 and max >= 5' "$TMP/f1.json"
check "/api/v1/flows: bounded (<= max_flows)" jq -e '(.flows | length) <= .max_flows and .stats.intervals > 0' "$TMP/f1.json"

# --- 3. memory stays bounded under load: the event buffer is reset every interval ----
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status"; }
"$LAB" load --duration 3s --connections 8 >/dev/null 2>&1
sleep 1.5
rss1=$(rss)
"$LAB" load --duration 6s --connections 8 >/dev/null 2>&1
sleep 1.5
rss2=$(rss)
curl -s "$AGENT/api/v1/flows" >"$TMP/f2.json"
diag "agent RSS idle: ${rss0} KiB; after 3 s of load: ${rss1} KiB, after 6 s more: ${rss2} KiB; events assembled: $(jq .stats.events "$TMP/f2.json"), flows: $(jq .stats.flows "$TMP/f2.json"), lost: ring buffer $(jq .stats.lost_ringbuf "$TMP/f2.json"), over caps $(jq .stats.lost_over_cap "$TMP/f2.json")"
check "RSS does not grow with traffic (< +32 MiB over 6 s of load)" test "$((rss2 - rss1))" -lt 32768
check "/api/v1/flows still bounded after load" jq -e '(.flows | length) <= .max_flows and ([.flows[] | .packets | length] | max) <= 24' "$TMP/f2.json"
curl -s "$AGENT/metrics" >"$TMP/m2.txt"
check "counts grew with load" test "$(hop_count "$TMP/m2.txt" net_dev_start_xmit@node netif_rx@pod)" -gt "$n_veth"
diag "p50-ish: $(awk '/^podscope_packet_hop_seconds_sum\{.*pod="reviews".*from="net_dev_start_xmit@node",to="netif_rx@pod"/ { s += $NF } /^podscope_packet_hop_seconds_count\{.*pod="reviews".*from="net_dev_start_xmit@node",to="netif_rx@pod"/ { c += $NF } END { if (c) printf "mean host veth xmit -> pod netif_rx %.2f us over %d packets", s / c * 1e6, c }' "$TMP/m2.txt")"

# --- 4. SIGTERM: nothing left attached --------------------------------------------------
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_eq "SIGTERM: exit status 0" 0 "$?"
AGENT_PID=
for _ in $(seq 30); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
check_eq "no podscope BPF program left" 0 "$(bpftool prog show | grep -c ' name ps_')"
for _ in $(seq 30); do [ "$(tcx_links)" -eq "$tcx_before" ] && break; sleep 0.1; done
check_eq "no tcx link left" "$tcx_before" "$(tcx_links)"
check "agent log has no errors" sh -c "! grep -i 'error' '$TMP/agent.log'"
finish
