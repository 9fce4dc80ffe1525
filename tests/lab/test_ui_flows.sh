#!/usr/bin/env bash
# The packet waterfall in a real browser: `podscope run --trace-pod default/reviews`
# on the pod lab, a few curls through the chain, then tests/ui/flows_test.mjs
# drives headless Chromium (as test_ui.sh): the flow list shows the flows of
# /api/v1/flows, and the waterfall of a loadgen -> reviews flow has one packet row
# per packet and one hop row per hop of that flow in the API, in order. Screenshot
# to build/ui-waterfall.png. Needs node, npm, chromium (tools/install-deps.sh).
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
SHOT=$ROOT/build/ui-waterfall.png
. "$(dirname "$0")/ui_lib.sh"
ui_require

lab_lock
TMP=$(mktemp -d)
PROFILE=$TMP/chromium-profile
AGENT_PID=
NODE_PID=
trap ui_cleanup EXIT
APORT=$(free_port)
AGENT=http://127.0.0.1:$APORT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
"$PODSCOPE" run --pods-file "$TMP/pods.json" --all-sidecar-pods --trace-pod default/reviews \
	--listen "127.0.0.1:$APORT" --duration 150s >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
check "agent answers /healthz" wait_http "$AGENT/healthz"
fails=0
for _ in 1 2 3; do nsenter --net=/run/netns/psl-loadgen curl -sf -o /dev/null --max-time 5 http://198.18.0.11:9080/ || fails=$((fails + 1)); done
check_eq "3 requests through the chain" 0 "$fails"
sleep 2.5 # assembled into the model
check "/api/v1/flows has a loadgen -> reviews flow" \
	sh -c "curl -sf '$AGENT/api/v1/flows' | jq -e '[.flows[] | select(.server == \"198.18.0.11:9080\")] | length > 0'"

rm -f "$SHOT"
TMPDIR=$TMP timeout 120 node "$UI/flows_test.mjs" "$AGENT" "$SHOT" "$PROFILE" >"$TMP/ui.out" 2>"$TMP/ui.err" </dev/null &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
sed -n 's/^diag: /# /p' "$TMP/ui.out"
sed 's/^/# stderr: /' "$TMP/ui.err" | head -20
v() { sed -n "s/^$1=//p" "$TMP/ui.out" | tail -1; }
check_eq "browser test exited 0" 0 "$rc"
check_eq "no exception in the browser test" "" "$(v exception)"
check_eq "page served by the agent (HTTP 200)" 200 "$(v http_status)"
check "the API has flows" test "$(v api_flows)" -gt 0
check_eq "one row per flow of /api/v1/flows" "$(v api_flows)" "$(v ui_flows)"
check_eq "listed flows are the API's" true "$(v flow_ids_match)"
check "the picked flow has packets" test "$(v api_packets)" -gt 0
check_eq "waterfall: one packet row per packet of the flow" "$(v api_packets)" "$(v ui_packet_rows)"
check "the picked flow has hops" test "$(v api_hops)" -gt 0
check_eq "waterfall: as many hop rows as the API's flow has hops" "$(v api_hops)" "$(v ui_hop_rows)"
check_eq "waterfall: hop rows are the flow's hops, in order" true "$(v hop_rows_match)"
check_eq "waterfall: a bar per hop row" "$(v api_hops)" "$(v hop_bars)"
check_eq "no page errors" 0 "$(v page_errors)"
check_eq "no request outside 127.0.0.1" 0 "$(v blocked_requests)"
check "screenshot written ($SHOT)" sh -c "[ -s '$SHOT' ] && head -c 8 '$SHOT' | od -An -tx1 | grep -q '89 50 4e 47'"
sleep 0.5
check_eq "no browser process left" "" "$(browser_pids | tr '\n' ' ')"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_eq "agent: SIGTERM exits 0" 0 "$?"
AGENT_PID=
for _ in $(seq 30); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
check_eq "no podscope BPF program left" 0 "$(bpftool prog show | grep -c ' name ps_')"
finish
