#!/usr/bin/env bash
# The web UI in a real browser: `podscope run --all-sidecar-pods` on the pod lab,
# bounded curl load through the two-sidecar chain, then tests/ui/ui_test.mjs drives
# headless Chromium (Debian's /usr/bin/chromium, through playwright-core with
# executablePath) against the agent on 127.0.0.1: the page loads from the agent, it
# draws one node per process of the agent's /api/v1/snapshot, one per outside peer and
# one edge per snapshot edge (5 on the lab), clicking each edge opens #edge-panel with
# that edge's client/server write bytes equal to the snapshot's, the browser requests
# nothing but 127.0.0.1, no page errors; a screenshot goes to build/ui-screenshot.png.
# Needs node, npm and chromium (tools/install-deps.sh); a missing one is a failure.
# Installs nothing except `npm ci` in tests/ui when its node_modules is missing.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
SHOT=$ROOT/build/ui-screenshot.png
. "$(dirname "$0")/ui_lib.sh"
ui_require

lab_lock
START=$SECONDS
TMP=$(mktemp -d)
PROFILE=$TMP/chromium-profile
AGENT_PID=
NODE_PID=
trap ui_cleanup EXIT
APORT=$(free_port)
AGENT=http://127.0.0.1:$APORT

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
"$PODSCOPE" run --pods-file "$TMP/pods.json" --all-sidecar-pods --listen "127.0.0.1:$APORT" \
	--duration 150s >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
check "agent answers /healthz" wait_http "$AGENT/healthz"
check_eq "GET / is the UI (text/html)" "text/html; charset=utf-8" \
	"$(curl -sf -o /dev/null -w '%{content_type}' "$AGENT/")"

# bounded load through the chain: node -> reviews sidecar -> app -> sidecar -> ratings
fails=0
for _ in $(seq 40); do curl -sf -o /dev/null --max-time 5 http://198.18.0.11:9080/ || fails=$((fails + 1)); done
check_eq "40 requests through the chain answered" 0 "$fails"
edges=0
for _ in $(seq 50); do
	edges=$(curl -sf "$AGENT/api/v1/snapshot" | jq '.edges | length')
	[ "$edges" == 5 ] && break
	sleep 0.2
done
check_eq "the agent sees the lab's five edges" 5 "$edges"
sleep 1 # idle: counters stop moving

rm -f "$SHOT"
TMPDIR=$TMP timeout 150 node "$UI/ui_test.mjs" "$AGENT" "$SHOT" "$PROFILE" >"$TMP/ui.out" 2>"$TMP/ui.err" </dev/null &
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
check_eq "page title" podscope "$(v title)"
check_eq "one group per pod of the snapshot" "$(v snapshot_pods)" "$(v ui_pod_groups)"
check "the snapshot has processes" test "$(v snapshot_processes)" -gt 0
check_eq "one node per process of the snapshot" "$(v snapshot_processes)" "$(v ui_process_nodes)"
check_eq "process nodes are the snapshot's PIDs" true "$(v process_nodes_match)"
check_eq "one node per outside peer" "$(v snapshot_external_peers)" "$(v ui_external_nodes)"
check_eq "the snapshot has the lab's 5 edges" 5 "$(v snapshot_edges)"
check_eq "as many edges drawn as the snapshot has" "$(v snapshot_edges)" "$(v ui_edges)"
check_eq "drawn edges are the snapshot's edges" true "$(v edge_ids_match)"
check_eq "each edge's panel shows its client/server write bytes" "5/5" "$(v edge_panels_ok)"
check_eq "no page errors" 0 "$(v page_errors)"
check_eq "no request outside 127.0.0.1" 0 "$(v blocked_requests)"
check "screenshot written ($SHOT)" sh -c "[ -s '$SHOT' ] && head -c 8 '$SHOT' | od -An -tx1 | grep -q '89 50 4e 47'"
sleep 0.5
check_eq "no browser process left" "" "$(browser_pids | tr '\n' ' ')"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_eq "agent: SIGTERM exits 0" 0 "$?"
AGENT_PID=
check "agent log has no errors" sh -c "! grep -i 'error' '$TMP/agent.log'"
diag "run time $((SECONDS - START)) s (with the lab lock)"
finish
