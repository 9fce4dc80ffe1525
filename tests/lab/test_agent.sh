#!/usr/bin/env bash
# shellcheck disable=SC2016
# `podscope run` on the pod lab, checked with the real things: a real
# Prometheus (Debian's) scrapes the agent every second; PromQL over its HTTP
# API returns the edge series with the same bytes as the agent's own
# snapshot; container CPU of the reviews app rises under load and its memory
# equals the cgroup file; the run-time API enforces its token and limits;
# targets are added and removed at run time (series appear and disappear);
# SIGHUP re-reads the config; every PromQL expression of the shipped Grafana
# dashboard names exported metrics and evaluates; SIGTERM exits 0 and leaves
# nothing attached.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
command -v prometheus >/dev/null || { not_ok "prometheus installed (Debian package 'prometheus')"; finish; exit 1; }
lab_lock
TMP=$(mktemp -d)
AGENT_PID=
A2_PID=
PROM_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$A2_PID" ] && kill "$A2_PID" 2>/dev/null && wait "$A2_PID" 2>/dev/null
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
APORT=$(free_port)
PPORT=$(free_port)
AGENT=http://127.0.0.1:$APORT
PROM=http://127.0.0.1:$PPORT
promq() { # promq EXPR -> the raw JSON result array
	curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}
promv() { # promv EXPR -> value of the first sample, or "none"
	curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // "none"'
}
wait_prom() { # wait_prom EXPR JQ_TEST: until the result passes the jq test (10 s)
	for _ in $(seq 50); do
		[ "$(promq "$1" | jq -r "$2")" == true ] && return 0
		sleep 0.2
	done
	return 1
}

"$LAB" up >/dev/null || { not_ok "lab up"; finish; exit 1; }
"$LAB" status --json >"$TMP/pods.json"
openssl rand -hex 16 >"$TMP/token"
TOKEN=$(cat "$TMP/token")
: >"$TMP/agent.conf"
STATS_BEFORE=$(cat /proc/sys/kernel/bpf_stats_enabled)

"$PODSCOPE" run --pods-file "$TMP/pods.json" --all-sidecar-pods --listen "127.0.0.1:$APORT" \
	--token-file "$TMP/token" --config "$TMP/agent.conf" --duration 180s >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
check "agent answers /healthz" wait_http "$AGENT/healthz"

cat >"$TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: podscope
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:$APORT"]
EOC
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$TMP/prom.log" 2>&1 &
PROM_PID=$!
check "prometheus is ready" wait_http "$PROM/-/ready"
check "prometheus scrapes the agent (up == 1)" wait_prom 'up{job="podscope"}' '.[0].value[1] == "1"'
check "promtool accepts deploy/prometheus/scrape.yml" promtool check config "$ROOT/deploy/prometheus/scrape.yml"

# --- metrics format and targets ------------------------------------------------
curl -sf "$AGENT/metrics" >"$TMP/metrics.txt"
check "exposition parses (promtool check metrics)" sh -c "promtool check metrics <'$TMP/metrics.txt' 2>&1 | grep -v -i 'counter metrics should have' | grep -q . && exit 1 || exit 0"
check_eq "content type is text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -sf -o /dev/null -w '%{content_type}' "$AGENT/metrics")"
check_eq "both sidecar pods are watched" "default/ratings default/reviews" \
	"$(curl -sf "$AGENT/api/v1/targets" | jq -r '[.targets[].pod] | sort | join(" ")')"
check "podscope_build_info in Prometheus" wait_prom 'podscope_build_info' 'length == 1'

# --- load, then compare Prometheus with the agent's snapshot ---------------------
APP_Q='container_cpu_usage_seconds_total{pod="reviews",container="app"}'
CPU0=$(promv "$APP_Q")
"$LAB" load --duration 3s --connections 8 >/dev/null 2>&1 || diag "load reported errors"
sleep 2.5 # idle: the counters stop moving; Prometheus scrapes at least twice
CPU1=$(promv "$APP_Q")
diag "reviews app CPU seconds: $CPU0 -> $CPU1"
check "container CPU of the reviews app rose under load" awk -v a="$CPU0" -v b="$CPU1" 'BEGIN { exit !(a != "none" && b - a > 0.05) }'
SNAP=$(curl -sf "$AGENT/api/v1/snapshot")
SNAP_BYTES=$(jq -r '[.edges[] | select(.client.pod == "default/reviews" and .client.container == "istio-proxy" and .server.pod == "default/reviews" and .server.container == "app") | .client_side.write.bytes] | add // 0' <<<"$SNAP")
sleep 1.5
PROM_BYTES=$(promv 'sum(podscope_edge_write_bytes_total{pod="reviews",container="istio-proxy",side="client",peer_pod="reviews",peer_container="app"})')
diag "sidecar -> app bytes written: snapshot $SNAP_BYTES, Prometheus $PROM_BYTES"
check "sidecar -> app bytes moved under load" test "$SNAP_BYTES" -gt 100000
check_eq "Prometheus has the snapshot's sidecar -> app bytes" "$SNAP_BYTES" "$PROM_BYTES"
SRV_BYTES=$(promv 'sum(podscope_edge_read_bytes_total{pod="reviews",container="app",side="server",peer_container="istio-proxy"})')
check_eq "server side read what the client side wrote" "$SNAP_BYTES" "$SRV_BYTES"
check "pod -> pod edge series (reviews sidecar -> ratings sidecar)" wait_prom \
	'podscope_edge_write_bytes_total{pod="reviews",container="istio-proxy",side="client",peer_pod="ratings",peer_container="istio-proxy"}' 'length == 1 and (.[0].value[1] | tonumber) > 0'
check "RTT histogram has observations and +Inf == count" wait_prom \
	'sum(podscope_edge_rtt_seconds_bucket{pod="reviews",container="istio-proxy",le="+Inf"}) - sum(podscope_edge_rtt_seconds_count{pod="reviews",container="istio-proxy"}) == 0 and sum(podscope_edge_rtt_seconds_count{pod="reviews",container="istio-proxy"}) > 0' 'length == 1'
check "histogram_quantile over RTT is a number" wait_prom \
	'histogram_quantile(0.5, sum by (le) (podscope_edge_rtt_seconds_bucket{pod="reviews"}))' '(.[0].value[1] // "0") | tonumber > 0'
SNAP_REQ=$(jq -r '[.requests[] | select(.pod == "default/reviews" and .direction == "inbound") | .count] | add // 0' <<<"$SNAP")
PROM_REQ=$(promv 'sum(podscope_requests_total{pod="reviews",direction="inbound"})')
diag "reviews inbound requests: snapshot $SNAP_REQ, Prometheus $PROM_REQ"
check "requests stitched under load" test "$SNAP_REQ" -gt 1000
check_eq "Prometheus has the snapshot's request count" "$SNAP_REQ" "$PROM_REQ"
check "sidecar-added latency p50 (PromQL) is between 1 us and 100 ms" wait_prom \
	'histogram_quantile(0.5, sum by (le) (podscope_request_duration_seconds_bucket{pod="reviews",direction="inbound",part="sidecar"}))' \
	'(.[0].value[1] // "0") | tonumber | (. > 0.000001 and . < 0.1)'
check "no per-connection or per-PID labels" sh -c "! grep -E '(pid|sport|cookie)=' '$TMP/metrics.txt'"
check "BPF run time of podscope's programs is measured" wait_prom 'sum(podscope_bpf_program_run_seconds_total) > 0' 'length == 1'
curl -sf "$PROM/api/v1/targets" | jq -r '.data.activeTargets[] | "scrape: \(.health) \(.lastError) \(.lastScrapeDuration)"' | while read -r l; do diag "$l"; done
check "lost events are exported (all zero)" wait_prom 'sum(podscope_lost_events_total{reason!="non_tcp_io_ignored"})' '.[0].value[1] == "0"'
check "request stitching losses are among them" wait_prom 'podscope_lost_events_total{reason=~"payload_samples_ringbuf|requests_orphan_responses|requests_parser_lost_sync"}' 'length == 3'
check "pod network counters of reviews rose" wait_prom 'container_network_receive_bytes_total{pod="reviews",interface="eth0"} > 100000' 'length == 1'

# memory equals the cgroup file (v1 memory controller, else v2 memory.current)
CG=$(jq -r '.items[] | select(.metadata.name == "reviews") | .metadata.annotations["podscope-lab/cgroup-parent"]' "$TMP/pods.json")
APP_ID=$(jq -r '.items[] | select(.metadata.name == "reviews") | .status.containerStatuses[] | select(.name == "app") | .containerID | sub(".*://"; "")' "$TMP/pods.json")
if [ -f "/sys/fs/cgroup/memory/$CG/$APP_ID/memory.usage_in_bytes" ]; then
	MEMFILE=/sys/fs/cgroup/memory/$CG/$APP_ID/memory.usage_in_bytes
else
	MEMFILE=$(find /sys/fs/cgroup -path "*$APP_ID/memory.current" | head -1)
fi
AGENT_MEM=$(curl -sf "$AGENT/metrics" | awk '/^container_memory_usage_bytes\{namespace="default",pod="reviews",container="app"\}/ { print $2 }')
FILE_MEM=$(cat "$MEMFILE" 2>/dev/null)
diag "reviews app memory: agent $AGENT_MEM, $MEMFILE $FILE_MEM"
check "memory usage equals the cgroup file (within 64 KiB)" awk -v a="$AGENT_MEM" -v b="$FILE_MEM" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 65536) }'

# --- the run-time API: token, limits, errors --------------------------------------
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
check_eq "POST without token: 401" 401 "$(code -X POST -d '{"pod":"default/loadgen"}' "$AGENT/api/v1/targets")"
check_eq "POST with a wrong token: 401" 401 "$(code -X POST -H 'Authorization: Bearer nope' -d '{"pod":"default/loadgen"}' "$AGENT/api/v1/targets")"
check_eq "DELETE without token: 401" 401 "$(code -X DELETE "$AGENT/api/v1/targets/default/reviews")"
check_eq "GET targets without token (loopback): 200" 200 "$(code "$AGENT/api/v1/targets")"
AUTH="Authorization: Bearer $TOKEN"
check_eq "malformed JSON: 400" 400 "$(code -X POST -H "$AUTH" -d '{"pod":' "$AGENT/api/v1/targets")"
check "the 400 body is a JSON error" jq -e '.error | length > 0' "$TMP/body"
check_eq "wrong shape: 400" 400 "$(code -X POST -H "$AUTH" -d '{"pod":3}' "$AGENT/api/v1/targets")"
check_eq "oversized body: 413" 413 "$(head -c 5000 /dev/zero | tr '\0' ' ' | code -X POST -H "$AUTH" --data-binary @- "$AGENT/api/v1/targets")"
check_eq "unknown pod: 404" 404 "$(code -X POST -H "$AUTH" -d '{"pod":"default/nope"}' "$AGENT/api/v1/targets")"
check_eq "unknown route: 404" 404 "$(code "$AGENT/api/v1/nope")"
check_eq "pod watched already: 409" 409 "$(code -X POST -H "$AUTH" -d '{"pod":"default/reviews"}' "$AGENT/api/v1/targets")"
check "target add without a token fails with one line" sh -c "! '$PODSCOPE' target add default/loadgen --agent '$AGENT' 2>'$TMP/err' && [ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'HTTP 401' '$TMP/err'"

# --- add and remove a target at run time -------------------------------------------
LG='container_cpu_usage_seconds_total{pod="loadgen"}'
check "loadgen is not watched yet" wait_prom "$LG" 'length == 0'
check "podscope target add default/loadgen" "$PODSCOPE" target add default/loadgen --agent "$AGENT" --token-file "$TMP/token"
check "target ls lists loadgen" sh -c "'$PODSCOPE' target ls --agent '$AGENT' | grep -q '^default/loadgen'"
check "loadgen's series appear in Prometheus" wait_prom "$LG" 'length == 1'
check "podscope target rm default/loadgen" "$PODSCOPE" target rm default/loadgen --agent "$AGENT" --token-file "$TMP/token"
check "loadgen's series disappear from Prometheus" wait_prom "$LG" 'length == 0'
check_eq "rm again: 404" 404 "$(code -X DELETE -H "$AUTH" "$AGENT/api/v1/targets/default/loadgen")"
RPID=$(jq -r '.items[] | select(.metadata.name == "loadgen") | .status.containerStatuses[0].pids[0]' "$TMP/pods.json")
check_eq "add by pid: 201" 201 "$(code -X POST -H "$AUTH" -d "{\"pid\":$RPID}" "$AGENT/api/v1/targets")"
check_eq "add by pid names its pod" default/loadgen "$(jq -r .added "$TMP/body")"
check_eq "remove it again: 200" 200 "$(code -X DELETE -H "$AUTH" "$AGENT/api/v1/targets/default/loadgen")"

# --- SIGHUP re-reads the config --------------------------------------------------------
echo "pod=default/loadgen" >"$TMP/agent.conf"
kill -HUP "$AGENT_PID"
check "SIGHUP: the config's pod is watched" sh -c "for i in \$(seq 50); do curl -sf '$AGENT/api/v1/targets' | jq -e '[.targets[].pod] | index(\"default/loadgen\")' >/dev/null && exit 0; sleep 0.1; done; exit 1"
: >"$TMP/agent.conf"
kill -HUP "$AGENT_PID"
check "SIGHUP: removed from the config, no longer watched" sh -c "for i in \$(seq 50); do curl -sf '$AGENT/api/v1/targets' | jq -e '[.targets[].pod] | index(\"default/loadgen\") == null' >/dev/null && exit 0; sleep 0.1; done; exit 1"

# --- the Grafana dashboard's queries ---------------------------------------------------
"$PODSCOPE" run --list-metrics >"$TMP/exported"
DASH=$ROOT/deploy/grafana/podscope.json
check "dashboard is valid JSON with namespace and pod variables" jq -e '[.templating.list[].name] | index("namespace") and index("pod")' "$DASH"
# panels marked PENDING wait for metrics a later issue adds: not checked
jq -r '[.. | objects | select(has("targets") and ((.description // "") | test("PENDING") | not)) | .targets[].expr] | .[]' "$DASH" >"$TMP/exprs"
jq -r '.templating.list[] | .definition // empty' "$DASH" >>"$TMP/exprs"
check "dashboard has queries" test "$(wc -l <"$TMP/exprs")" -gt 15
unknown=$(grep -oE '\b(podscope|container|process)_[a-z_]+' "$TMP/exprs" | sort -u | grep -vxFf "$TMP/exported" | tr '\n' ' ')
check_eq "every dashboard metric is one podscope exports" "" "$unknown"
bad=0 empty=0
while IFS= read -r e; do
	q=${e//\$namespace/.*}
	q=${q//\$pod/.*}
	case $q in label_values*) continue ;; esac
	r=$(curl -sf --get "$PROM/api/v1/query" --data-urlencode "query=$q") || { bad=$((bad + 1)); diag "query failed: $q"; continue; }
	[ "$(jq -r .status <<<"$r")" == success ] || { bad=$((bad + 1)); diag "query error: $q"; }
	[ "$(jq '.data.result | length' <<<"$r")" -gt 0 ] || { empty=$((empty + 1)); diag "no data: ${q:0:100}"; }
done <"$TMP/exprs"
check_eq "every dashboard query evaluates in Prometheus" 0 "$bad"
diag "dashboard queries with no data on the lab right now: $empty (drops, retransmits, resets need faults)"

# --- a target removed while its connections stay open --------------------------------------
# The kernel caches a connection owner's target check; removing the target must invalidate
# it. A second agent with an explicit pod list (no auto-discovery to re-add the pod): the
# ratings app's read bytes from its sidecar (pooled keep-alive connections that stay open
# throughout) must count the requests before the removal and after the re-add, never those
# in between.
A2PORT=$(free_port)
A2=http://127.0.0.1:$A2PORT
printf 'pod=default/reviews\npod=default/ratings\n' >"$TMP/agent2.conf"
"$PODSCOPE" run --pods-file "$TMP/pods.json" --config "$TMP/agent2.conf" --listen "127.0.0.1:$A2PORT" \
	--token-file "$TMP/token" --duration 120s >"$TMP/agent2.log" 2>&1 &
A2_PID=$!
check "second agent answers /healthz" wait_http "$A2/healthz"
RB='podscope_edge_read_bytes_total{namespace="default",pod="ratings",container="app",side="server",peer_namespace="default",peer_pod="ratings",peer_container="istio-proxy",peer_addr="",server_port="9080"}'
rb_now() { curl -sf "$A2/metrics" | grep -F "$RB" | awk '{ print $2 }'; }
rb_wait() { # rb_wait EXPECTED: the series reaches it (10 s)
	for _ in $(seq 100); do [ "$(rb_now)" == "$1" ] && return 0; sleep 0.1; done
	return 1
}
"$LAB" load --curl 5 >/dev/null
sleep 2.5
RB0=$(rb_now)
"$LAB" load --curl 20 >/dev/null
sleep 2.5
RB1=$(rb_now)
PER=$(( (RB1 - RB0) / 20 ))
check "ratings app: 20 requests read the same number of bytes each" \
	test "$PER" -gt 0 -a $((RB0 + 20 * PER)) -eq "$RB1"
check "second agent: target rm default/ratings" \
	"$PODSCOPE" target rm default/ratings --agent "$A2" --token-file "$TMP/token"
check "ratings' series are gone" sh -c "for i in \$(seq 50); do curl -sf '$A2/metrics' | grep -qF 'pod=\"ratings\",container=\"app\"' || exit 0; sleep 0.1; done; exit 1"
"$LAB" load --curl 50 >/dev/null
check "second agent: target add default/ratings" \
	"$PODSCOPE" target add default/ratings --agent "$A2" --token-file "$TMP/token"
sleep 1
"$LAB" load --curl 20 >/dev/null
check "re-added: exactly the 20 requests after it are counted, not the 50 in between" \
	rb_wait $((RB1 + 20 * PER))
diag "ratings app bytes: $RB0 -> $RB1 -> $(rb_now) ($PER per request)"
kill -INT "$A2_PID"
wait "$A2_PID"
check_eq "second agent: SIGINT exit status 0" 0 "$?"
A2_PID=

# --- graceful stop ------------------------------------------------------------------------
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_eq "SIGTERM: exit status 0" 0 "$?"
AGENT_PID=
check_eq "bpf_stats_enabled is back to its old value" "$STATS_BEFORE" "$(cat /proc/sys/kernel/bpf_stats_enabled)"
for _ in $(seq 30); do [ "$(bpftool prog show | grep -c ' name ps_')" -eq 0 ] && break; sleep 0.1; done
check_eq "no podscope BPF program left" 0 "$(bpftool prog show | grep -c ' name ps_')"
check "agent log has no errors" sh -c "! grep -i 'error' '$TMP/agent.log'"

# --- bad flags: one error line, exit 2, nothing loaded ------------------------------------
run_fails() {
	local out rc
	out=$("$PODSCOPE" run --pods-file "$TMP/pods.json" --pod default/reviews --duration 1s "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -q 'error' <<<"$out"
}
check "run: --sample-ring not a power of two" run_fails --sample-ring 3M
check "run: --sample-ring above 256M" run_fails --sample-ring 512M
check "run: --no-requests with --sample-ring" run_fails --no-requests --sample-ring 1M
finish
