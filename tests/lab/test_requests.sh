#!/usr/bin/env bash
# shellcheck disable=SC2016
# Requests stitched through the sidecars (#5), on the pod lab, against ground
# truth podscope does not control: the delay the lab app is told to add, the
# sidecar's (haproxy's) own per-request timers and request count in its access
# log, an OTLP receiver that checks the payload against the OTLP JSON mapping,
# and the Jaeger file's parent links.
set -u
. "$(dirname "$0")/../integration/lib.sh"
LAB=$ROOT/lab/podscope-lab
lab_lock
TMP=$(mktemp -d)
RECV_PID=
cleanup() {
	# CONT first: a SIGTERM stays pending on a stopped process
	[ -n "${WATCH_PID:-}" ] && kill -CONT "$WATCH_PID" 2>/dev/null && kill "$WATCH_PID" 2>/dev/null
	[ -n "${ACCEL_PID:-}" ] && kill -9 "$ACCEL_PID" 2>/dev/null
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LAB" up >/dev/null || {
	not_ok "lab up"
	finish
	exit 1
}
"$LAB" status --json >"$TMP/pods.json"
LOG_RATINGS=/run/podscope-lab/ratings/istio-proxy.access.log
LOG_REVIEWS=/run/podscope-lab/reviews/istio-proxy.access.log
in_loadgen() { nsenter --net=/run/netns/psl-loadgen "$@"; }

# the connection and target programs of a watch
ours() { bpftool prog show | grep -cE ' name ps_(state|sysent|sysexit|exit|send|recv|retrans|sndrst|rcvrst|drop|fork|exec|cgattach|switch)_'; }
# the access log lines written since offset $2 (bytes) of file $1
log_since() { tail -c +"$(($2 + 1))" "$1"; }
# jq expression on a JSON file, as text
jv() { jq -r "$2" "$1"; }
# awk-based float comparison: ge A B, le A B
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# wrk script: unique paths /P/<n> with a random app delay 0..MAX us
wrk_script() { # wrk_script PREFIX MAX_DELAY_US
	cat >"$TMP/req.lua" <<EOF
counter = 0
math.randomseed(7)
request = function()
	counter = counter + 1
	return wrk.format("GET", "$1" .. counter .. "?delay_us=" .. math.random(0, $2))
end
EOF
}

# --- 1. the app's known delay: ratings' app part matches it -------------------
N=40
start_watch "$TMP/d.json" 6s --pod default/ratings --json --requests-out "$TMP/d.jsonl"
off=$(stat -c %s "$LOG_RATINGS")
for i in $(seq "$N"); do
	in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/delay/$i?delay_us=3000"
done
wait_watch
check_eq "delay: watch exits 0" 0 $?
log_since "$LOG_RATINGS" "$off" >"$TMP/d.log"
check_eq "delay: one record per request" "$N" "$(grep -c '"path":"/delay/' "$TMP/d.jsonl")"
g='.requests[] | select(.pod == "default/ratings" and .direction == "inbound")'
check_eq "delay: snapshot counts $N inbound requests at ratings" "$N" "$(jv "$TMP/d.json" "$g | .count")"
check_eq "delay: all 2xx" "$N" "$(jv "$TMP/d.json" "$g | .status[\"2xx\"]")"
app_p50=$(jv "$TMP/d.json" "$g | .app.p50_ns")
diag "ratings app part p50 ${app_p50} ns for an injected 3000 us"
check "delay: app p50 within 1 ms of the injected 3 ms" \
	awk -v v="$app_p50" 'BEGIN { d = v / 1e6 - 3; exit !(d >= -1 && d <= 1) }'
check "delay: app part >= injected delay in every request" \
	test "$(jq -r 'select(.path | startswith("/delay/")) | select(.app_ns < 3000000) | .path' "$TMP/d.jsonl" | wc -l)" -eq 0
check "delay: sidecar part < 3 ms p50 (it does not absorb the app's delay)" \
	le "$(jv "$TMP/d.json" "$g | .sidecar.p50_ns")" 3000000
check "delay: parts sum to the total in every record" \
	test "$(jq -r 'select(.sidecar_inbound_ns + .app_ns + .sidecar_outbound_ns != .total_ns) | .path' "$TMP/d.jsonl" | wc -l)" -eq 0
check_eq "delay: route templated" "/delay/{id}" "$(jq -r 'select(.path == "/delay/1") | .route' "$TMP/d.jsonl")"
check_eq "delay: upstream is the app over loopback" "127.0.0.1:9080" \
	"$(jq -r 'select(.path == "/delay/1") | .upstream' "$TMP/d.jsonl")"
check_eq "delay: nothing lost" "0 0 0" \
	"$(jv "$TMP/d.json" '.lost.requests | "\(.payload_samples_ringbuf) \(.orphan_responses) \(.unmatched_upstream)"')"

# --- 2. haproxy's own timers, wrk with 16 connections, pooling on and off -------
# Counts are checked at 16 connections (saturating the 2 CPUs); timings at 4,
# where haproxy's own clock is trustworthy: it reads the time once per event-loop
# pass and reports whole milliseconds, so under saturation its Ta/Tr drift by a
# loop pass — the ground truth's limit, not podscope's.
compare_haproxy() { # compare_haproxy LABEL PREFIX DURATION CONNECTIONS
	local label=$1 prefix=$2 dur=$3 conns=$4 off sum
	wrk_script "$prefix" 4000
	start_watch "$TMP/$label.json" 9s --pod default/ratings --json --requests-out "$TMP/$label.jsonl"
	off=$(stat -c %s "$LOG_RATINGS")
	in_loadgen wrk -t1 -c"$conns" -d"$dur" -s "$TMP/req.lua" http://198.18.0.12:9080/ >"$TMP/$label.wrk" 2>&1
	wait_watch
	check_eq "$label: watch exits 0" 0 $?
	log_since "$LOG_RATINGS" "$off" >"$TMP/$label.log"
	python3 "$ROOT/tests/lab/reqcheck.py" "$TMP/$label.jsonl" "$TMP/$label.log" "$prefix" >"$TMP/$label.sum"
	sum=$TMP/$label.sum
	diag "$label: $(cat "$sum")"
	check "$label: >= 1000 requests in the access log" ge "$(jv "$sum" .log_ok)" 1000
	check "$label: stitched >= 99.5 % of the access log's requests" ge "$(jv "$sum" .matched_fraction)" 0.995
	check_eq "$label: no record without an access-log line" 0 "$(jv "$sum" .extra_records)"
	check_eq "$label: no request stitched twice" 0 "$(jv "$sum" .duplicates)"
	# the sidecar's write returns after the data reached the app: when the CPUs are saturated
	# the sidecar can be held up in between, so a few requests show an app part a little
	# below the delay the app slept
	check_eq "$label: app part never 0.5 ms below the injected delay" 0 "$(jv "$sum" .app_below_delay_by_0_5ms)"
	check "$label: app part below the injected delay in <= 0.1 % of requests" \
		le "$(jv "$sum" .app_below_delay)" "$(($(jv "$sum" .matched) / 1000))"
	check_eq "$label: parts sum to the total" 0 "$(jv "$sum" .parts_not_summing)"
	[ "$conns" -le 4 ] || return 0
	check "$label: |haproxy Ta-Tr - sidecar| p50 <= 0.5 ms" le "$(jv "$sum" .sidecar_diff_p50_ms)" 0.5
	check "$label: |haproxy Ta-Tr - sidecar| p99 <= 2 ms" le "$(jv "$sum" .sidecar_diff_p99_ms)" 2
	check "$label: |haproxy Tr - app| p50 <= 1 ms" le "$(jv "$sum" .app_tr_diff_p50_ms)" 1
	check "$label: |haproxy Tr - app| p99 <= 2 ms" le "$(jv "$sum" .app_tr_diff_p99_ms)" 2
}
compare_haproxy pooled /pooled/ 4s 16
sum=$TMP/pooled.sum
check "pooled: few new upstream connections (pooling)" le "$(jv "$sum" .new_upstream_connections)" 16

# --- 2b. the sample ring: sized as asked, and a small one works -----------------
# (Under saturating load a small ring loses samples, counted, whenever the
# reader gets less CPU than the samples need for longer than the ring lasts:
# 1 MiB lost 0 % in 4 runs of the wrk load above and 4 % in a fifth.)
ring_sizes() { bpftool map show -j | jq -r '[.[] | select(.name == "payload_samples") | .max_entries] | join(" ")'; }
start_watch "$TMP/r0.json" 2s --pod default/ratings --json --no-requests
check_eq "sample ring: one page with --no-requests" "$(getconf PAGESIZE)" "$(ring_sizes)"
wait_watch
start_watch "$TMP/r8.json" 2s --pod default/ratings --json
check_eq "sample ring: 8 MiB by default" 8388608 "$(ring_sizes)"
wait_watch
start_watch "$TMP/ring.json" 6s --pod default/ratings --json --requests-out "$TMP/ring.jsonl" --sample-ring 64K
check_eq "sample ring: --sample-ring 64K" 65536 "$(ring_sizes)"
off=$(stat -c %s "$LOG_RATINGS")
for i in $(seq 100); do in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/ring/$i?delay_us=200"; done
wait_watch
check_eq "64K ring: watch exits 0" 0 $?
log_since "$LOG_RATINGS" "$off" >"$TMP/ring.log"
python3 "$ROOT/tests/lab/reqcheck.py" "$TMP/ring.jsonl" "$TMP/ring.log" /ring/ >"$TMP/ring.sum"
check_eq "64K ring: all 100 requests stitched, none lost" "100 100 0" \
	"$(jv "$TMP/ring.sum" .log_ok) $(jv "$TMP/ring.sum" .matched) $(jv "$TMP/ring.json" .lost.requests.payload_samples_ringbuf)"
# A reader that stops: the same small ring, the watch stopped (SIGSTOP) while
# 100 requests pass (4 samples each at the ratings sidecar: 400 records of 384
# bytes against a ring of ~170): the kernel must count what it could not
# queue, and the requests those samples belonged to must be missing, not made up.
start_watch "$TMP/ringstop.json" 8s --pod default/ratings --json --requests-out "$TMP/ringstop.jsonl" --sample-ring 64K
kill -STOP "$WATCH_PID"
for i in $(seq 100); do in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/ringstop/$i"; done
kill -CONT "$WATCH_PID"
wait_watch
check_eq "stopped reader: watch exits 0" 0 $?
diag "stopped reader: $(jq -c '.lost.requests | {payload_samples, payload_samples_ringbuf, stitched, unanswered, orphan_responses, unmatched_upstream}' "$TMP/ringstop.json"); records $(grep -c '"path":"/ringstop/' "$TMP/ringstop.jsonl")"
check "stopped reader: samples the full ring refused are counted (payload_samples_ringbuf > 0)" \
	jq -e '.lost.requests.payload_samples_ringbuf > 0' "$TMP/ringstop.json"
check "stopped reader: queued + refused covers the 400 samples the requests made" \
	jq -e '.lost.requests | .payload_samples + .payload_samples_ringbuf >= 400' "$TMP/ringstop.json"
check "stopped reader: fewer than 100 requests reported, none twice" \
	bash -c "n=\$(grep -c '\"path\":\"/ringstop/' '$TMP/ringstop.jsonl'); u=\$(grep -o '\"path\":\"/ringstop/[0-9]*' '$TMP/ringstop.jsonl' | sort -u | wc -l); [ \$n -lt 100 ] && [ \$n -eq \$u ]"
"$LAB" pooling ratings off >/dev/null 2>&1
"$LAB" status --json >"$TMP/pods.json" # new pids
compare_haproxy pooled-c4 /pooled-c4/ 4s 4
compare_haproxy unpooled /unpooled/ 4s 16
sum=$TMP/unpooled.sum
check_eq "unpooled: every request opened its upstream connection" "$(jv "$sum" .matched)" \
	"$(jv "$sum" .new_upstream_connections)"
check "unpooled: upstream connect time measured" \
	ge "$(jv "$TMP/unpooled.json" '.requests[] | select(.pod == "default/ratings") | .upstream_connect.count')" 1000
compare_haproxy unpooled-c4 /unpooled-c4/ 4s 4
"$LAB" pooling ratings on >/dev/null 2>&1
"$LAB" status --json >"$TMP/pods.json"

# --- 3. the two-sidecar chain: inbound and outbound at reviews -----------------
N=20
start_watch "$TMP/c.json" 6s --pod default/reviews --pod default/ratings --json --requests-out "$TMP/c.jsonl"
off_rv=$(stat -c %s "$LOG_REVIEWS")
for i in $(seq "$N"); do
	in_loadgen curl -s -o /dev/null "http://198.18.0.11:9080/chain/$i"
done
wait_watch
cnt() { jv "$TMP/c.json" "[.requests[] | select(.pod == \"$1\" and .direction == \"$2\") | .count] | add // 0"; }
check_eq "chain: reviews inbound = curl requests" "$N" "$(cnt default/reviews inbound)"
check_eq "chain: reviews outbound = the app's calls to ratings" "$N" "$(cnt default/reviews outbound)"
check_eq "chain: ratings inbound = reviews' calls" "$N" "$(cnt default/ratings inbound)"
log_since "$LOG_REVIEWS" "$off_rv" >"$TMP/c.log"
check_eq "chain: reviews access log: $N inbound /chain/ requests" "$N" \
	"$(grep -c 'fe=inbound .*uri="/chain/[0-9]*" status=200' "$TMP/c.log")"
check_eq "chain: reviews access log: outbound lines = podscope's outbound count" \
	"$(grep -c 'fe=outbound .*status=200' "$TMP/c.log")" "$(cnt default/reviews outbound)"
grep -v '/chain/\|uri="/ratings"' "$TMP/c.log" | cut -c1-200 | while IFS= read -r l; do diag "other log line: $l"; done
check_eq "chain: outbound requests go upstream to ratings' address" "$N" \
	"$(jq -r 'select(.pod == "default/reviews" and .direction == "outbound") | .upstream' "$TMP/c.jsonl" | grep -c '^198.18.0.12:9080$')"
check_eq "chain: the sidecar -> app edge is HTTP" HTTP \
	"$(jq -r '[.edges[] | select(.client.container == "istio-proxy" and .server.pod == "default/reviews" and .server.container == "app")] | first | .protocol' "$TMP/c.json")"
check "chain: reviews inbound total covers its outbound call" \
	ge "$(jv "$TMP/c.json" '.requests[] | select(.pod == "default/reviews" and .direction == "inbound") | .total.p50_ns')" \
	"$(jv "$TMP/c.json" '.requests[] | select(.pod == "default/reviews" and .direction == "outbound") | .total.p50_ns')"

# --- 3b. with socket-redirect acceleration on the sidecar -> app hop ----------
# (docs/accel.md) the sidecar's reads and writes skip the TCP stack; stitching
# must not notice. Fresh ratings processes so that every connection is redirected.
"$LAB" restart ratings >/dev/null 2>&1
"$LAB" status --json >"$TMP/pods.json"
"$PODSCOPE" accel run --pods-file "$TMP/pods.json" --pod default/ratings --json >"$TMP/accel.json" 2>"$TMP/accel.err" &
ACCEL_PID=$!
for _ in $(seq 100); do bpftool link show 2>/dev/null | grep -q 'attach_type cgroup_sock_ops' && break; sleep 0.05; done
start_watch "$TMP/a.json" 5s --pod default/ratings --json --requests-out "$TMP/a.jsonl"
off=$(stat -c %s "$LOG_RATINGS")
for i in $(seq 30); do in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/accel/$i?delay_us=1000"; done
wait_watch
kill -INT "$ACCEL_PID"
wait "$ACCEL_PID"
ACCEL_PID=
log_since "$LOG_RATINGS" "$off" >"$TMP/a.log"
python3 "$ROOT/tests/lab/reqcheck.py" "$TMP/a.jsonl" "$TMP/a.log" /accel/ >"$TMP/a.sum"
diag "accel: $(jq -c '{messages_redirected, redirect_failed}' "$TMP/accel.json") $(cat "$TMP/a.sum")"
check "accel: messages were redirected" test "$(jq .messages_redirected "$TMP/accel.json")" -gt 0
check_eq "accel: every request stitched" "30 30" "$(jv "$TMP/a.sum" '"\(.log_ok) \(.matched)"')"
check "accel: |haproxy Tr - app| p50 <= 1 ms" le "$(jv "$TMP/a.sum" .app_tr_diff_p50_ms)" 1
check_eq "accel: app part never below the injected delay" 0 "$(jv "$TMP/a.sum" .app_below_delay)"
# redirected connections keep the sk_msg program until they close (docs/accel.md)
"$LAB" restart ratings >/dev/null 2>&1
"$LAB" status --json >"$TMP/pods.json"
for _ in $(seq 50); do bpftool prog show | grep -q ' name ps_accel' || break; sleep 0.1; done
check_eq "accel: nothing of it left once its connections closed" 0 "$(bpftool prog show | grep -c ' name ps_accel')"

# --- 4. traces: OTLP/HTTP JSON to a checking receiver, and a Jaeger file -------
python3 "$ROOT/tests/tools/otlp_receiver.py" --port 0 --port-file "$TMP/port" --out "$TMP/otlp.jsonl" \
	--max-seconds 60 >"$TMP/recv.log" 2>&1 &
RECV_PID=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port" 2>/dev/null)
N=25
start_watch "$TMP/t.json" 5s --pod default/ratings --json --otlp-endpoint "http://127.0.0.1:$PORT" \
	--trace-file "$TMP/jaeger.json" --trace-sample 1
for i in $(seq "$N"); do
	in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/trace/$i"
done
wait_watch
check_eq "traces: watch exits 0" 0 $?
check_eq "traces: every OTLP payload valid" 0 "$(jq -r 'select(.valid == false) | .reason' "$TMP/otlp.jsonl" 2>/dev/null | wc -l)"
check_eq "traces: one OTLP trace per request" "$N" \
	"$(jq -r 'select(.valid == true) | .payload.resourceSpans[].scopeSpans[].spans[] | select((.parentSpanId // "") == "") | .name' "$TMP/otlp.jsonl" | grep -c '^GET /trace/{id}$')"
check_eq "traces: k8s resource attributes" "default ratings istio-proxy" \
	"$(jq -r 'select(.valid == true) | .payload.resourceSpans[0].resource.attributes | from_entries | "\(."k8s.namespace.name".stringValue) \(."k8s.pod.name".stringValue) \(."k8s.container.name".stringValue)"' "$TMP/otlp.jsonl" 2>/dev/null | head -1)" 2>/dev/null
check_eq "traces: Jaeger file has one trace per request" "$N" "$(jq '.data | length' "$TMP/jaeger.json")"
check_eq "traces: none dropped or undelivered" "0 0" \
	"$(jv "$TMP/t.json" '"\(.lost.requests.traces_dropped) \(.lost.requests.traces_failed)"')"
check_eq "traces: every Jaeger parent reference names a span of the same trace" 0 \
	"$(jq '[.data[] | . as $t | [$t.spans[].spanID] as $ids | $t.spans[] | .references[] | select((.traceID != $t.traceID) or ((.spanID as $s | $ids | index($s)) == null))] | length' "$TMP/jaeger.json")"
check_eq "traces: app span inside the upstream span" "$N" \
	"$(jq '[.data[] | (.spans[] | select(.operationName | startswith("upstream"))) as $u | .spans[] | select(.operationName == "app") | select(.startTime >= $u.startTime and .startTime + .duration <= $u.startTime + $u.duration)] | length' "$TMP/jaeger.json")"
kill "$RECV_PID" 2>/dev/null
wait "$RECV_PID" 2>/dev/null
RECV_PID=

# --- 5. --requests lines, --no-requests, bad input ----------------------------
start_watch "$TMP/l.txt" 4s --pod default/ratings --requests
for i in 1 2 3; do in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/line/$i"; done
wait_watch
check_eq "--requests: one line per request" 3 "$(grep -c '^default/ratings inbound GET /line/[123] 200 total' "$TMP/l.txt")"
start_watch "$TMP/n.json" 3s --pod default/ratings --json --no-requests
in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/none/1"
wait_watch
check_eq "--no-requests: no requests section, no samples" "null null" \
	"$(jv "$TMP/n.json" '"\(.requests) \(.lost.requests)"')"
check_eq "--no-requests: edges are plain TCP" TCP "$(jv "$TMP/n.json" '[.edges[].protocol] | unique | join(",")')"
one_line_fail() {
	local out rc
	out=$("$PODSCOPE" watch --pods-file "$TMP/pods.json" --pod default/ratings "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -q 'error' <<<"$out"
}
check "bad --trace-sample" one_line_fail --trace-sample 2
check "bad --otlp-endpoint" one_line_fail --otlp-endpoint ftp://x
check "--no-requests with --requests" one_line_fail --no-requests --requests
check "--sample-ring not a power of two" one_line_fail --sample-ring 3M
check "--sample-ring below 64K" one_line_fail --sample-ring 32K
check "--sample-ring garbage" one_line_fail --sample-ring 1MB
check "--no-requests with --sample-ring" one_line_fail --no-requests --sample-ring 1M
start_watch "$TMP/down.json" 3s --pod default/ratings --json --otlp-endpoint http://127.0.0.1:9 --trace-sample 1
for i in 1 2 3; do in_loadgen curl -s -o /dev/null "http://198.18.0.12:9080/down/$i"; done
wait_watch
check_eq "OTLP receiver down: watch exits 0" 0 $?
check_eq "OTLP receiver down: the 3 traces count as not delivered" 3 "$(jv "$TMP/down.json" .lost.requests.traces_failed)"
# (the connection and target programs; the full leftover check runs after the suite)
for _ in $(seq 40); do [ "$(ours)" -eq 0 ] && break; sleep 0.1; done # programs are freed after an RCU grace period
check_eq "nothing of ours left attached" 0 "$(ours)"
finish
