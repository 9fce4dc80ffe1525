#!/usr/bin/env bash
# The trace exporters (src/otlp.c) against a loopback OTLP/HTTP receiver
# (tests/tools/otlp_receiver.py, which validates every request against the
# OTLP JSON encoding), driven by build/otlp-send: delivery of 500 traces
# with exact trace and span counts, endpoint path handling, flush at close,
# the one retry, a receiver answering 503 or not there at all (failed
# counted, no hang), the queue bound under a slow receiver (every trace
# either queued or dropped, submit never waits), the Jaeger file, and the
# receiver's own validator rejecting near-miss encodings. Needs neither the
# pod lab nor BPF. Network: 127.0.0.1 only. PODSCOPE_SAN=1 runs the
# ASan/UBSan build of otlp-send.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

OUT=${OUTPUT:-$ROOT/build}
TMP=$(mktemp -d /tmp/podscope-otlptest.XXXXXX)
RECEIVER=$ROOT/tests/tools/otlp_receiver.py
RX_PID=""
PORT=""
# loopback only: no proxy may see these requests
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

stop_receiver() {
	if [ -n "$RX_PID" ]; then
		kill -TERM "$RX_PID" 2>/dev/null
		wait "$RX_PID" 2>/dev/null
		RX_PID=""
	fi
}
cleanup() {
	stop_receiver
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_receiver NAME [receiver options]: requests are logged to $TMP/NAME.jsonl
start_receiver() {
	local name=$1
	shift
	rm -f "$TMP/port"
	python3 "$RECEIVER" --out "$TMP/$name.jsonl" --port-file "$TMP/port" --max-seconds 120 \
		"$@" >"$TMP/$name.log" 2>&1 &
	RX_PID=$!
	for _ in $(seq 100); do
		[ -s "$TMP/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$TMP/port" 2>/dev/null)
	[ -n "$PORT" ]
}

# rx FILE METRIC: what the receiver saw (accepted = answered 200)
rx() {
	python3 - "$@" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ok = [l for l in lines if l["status"] == 200]
m = {
    "requests": len(lines),
    "invalid": sum(1 for l in lines if not l["valid"]),
    "traces": len({t for l in ok for t in l["traces"]}),
    "trace_total": sum(len(l["traces"]) for l in ok),
    "spans": sum(l["spans"] for l in ok),
    "unavailable": sum(1 for l in lines if l["status"] == 503),
    "paths": ",".join(sorted({l["path"] for l in lines})),
    "reasons": "; ".join(l["reason"] for l in lines if l["reason"]),
}
print(m[sys.argv[2]])
EOF
}

# js FILE KEY: a value of otlp-send's JSON output
js() {
	python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# send NAME [otlp-send options]: stats to $TMP/NAME.out, stderr to $TMP/NAME.err, bounded
send() {
	local name=$1
	shift
	timeout 60 "$SEND" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	local rc=$?
	if grep -q -E 'Sanitizer|runtime error' "$TMP/$name.err"; then
		not_ok "otlp-send $name: sanitizer report"
		sed 's/^/# /' "$TMP/$name.err" | head -30
	fi
	return $rc
}

# --- build ---------------------------------------------------------------------

SEND=$OUT/otlp-send
if [ "${PODSCOPE_SAN:-0}" == 1 ]; then
	SEND=$OUT/otlp-send-san
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if ! make -s OUTPUT="$OUT" "$SEND" >/dev/null; then
	not_ok "build $SEND"
	finish
	exit 1
fi
ok "build $(basename "$SEND")"

# --- delivery -------------------------------------------------------------------

check "receiver starts on 127.0.0.1" start_receiver basic
send basic --endpoint "http://127.0.0.1:$PORT" --traces 500 --spans 3 --resources 3 \
	--batch 64 --flush-ms 200
check_eq "500 traces: otlp-send exits 0" 0 $?
check_eq "stats: queued 500" 500 "$(js "$TMP/basic.out" queued)"
check_eq "stats: sent 500" 500 "$(js "$TMP/basic.out" sent)"
check_eq "stats: failed 0" 0 "$(js "$TMP/basic.out" failed)"
check_eq "stats: dropped 0" 0 "$(js "$TMP/basic.out" dropped)"
check_eq "receiver: no invalid request" 0 "$(rx "$TMP/basic.jsonl" invalid)"
check_eq "receiver: 500 distinct traces" 500 "$(rx "$TMP/basic.jsonl" traces)"
check_eq "receiver: no trace twice" 500 "$(rx "$TMP/basic.jsonl" trace_total)"
check_eq "receiver: 1500 spans" 1500 "$(rx "$TMP/basic.jsonl" spans)"
check_eq "receiver: as many requests as stats.posts" "$(js "$TMP/basic.out" posts)" \
	"$(rx "$TMP/basic.jsonl" requests)"
check "batches of at most 64 traces (>= 8 posts)" \
	test "$(js "$TMP/basic.out" posts)" -ge 8
check "submit took < 50 ms at worst" test "$(js "$TMP/basic.out" max_submit_us)" -lt 50000
# one payload: three resources, each once, resource 0 without namespace/container
check_eq "a payload groups its traces into 3 resourceSpans (empty attributes left out)" \
	"3 svc-0:2 svc-1:4 svc-2:4" "$(python3 -c '
import json, sys
p = json.loads(open(sys.argv[1]).readline())["payload"]
res = sorted("%s:%d" % (next(kv["value"]["stringValue"] for kv in rs["resource"]["attributes"]
                             if kv["key"] == "service.name"), len(rs["resource"]["attributes"]))
             for rs in p["resourceSpans"])
print(len(res), " ".join(res))' "$TMP/basic.jsonl")"

send path --endpoint "http://127.0.0.1:$PORT/v1/traces" --traces 5 --flush-ms 50
send slash --endpoint "http://127.0.0.1:$PORT/" --traces 5 --flush-ms 50
check_eq "endpoint .../v1/traces and .../ both POST to /v1/traces" "/v1/traces" \
	"$(rx "$TMP/basic.jsonl" paths)"
check_eq "... and all 510 traces arrived" 510 "$(rx "$TMP/basic.jsonl" traces)"
stop_receiver

# free() flushes: nothing is due before close (big batch, long interval)
start_receiver flush
send flush --endpoint "http://127.0.0.1:$PORT" --traces 300 --queue 1000 --batch 1000 \
	--flush-ms 60000 --no-wait --close-ms 5000
check_eq "close-time flush: nothing sent before free()" 0 "$(js "$TMP/flush.out" sent)"
check_eq "close-time flush: receiver got all 300 traces" 300 "$(rx "$TMP/flush.jsonl" traces)"
check "close-time flush: free() took < 5 s" test "$(js "$TMP/flush.out" close_ms)" -lt 5000
stop_receiver

# --- failures -------------------------------------------------------------------

start_receiver retry --fail-first 1
send retry --endpoint "http://127.0.0.1:$PORT" --traces 100 --batch 50 --flush-ms 1000
check_eq "503 once: the retry delivers all (sent 100)" 100 "$(js "$TMP/retry.out" sent)"
check_eq "503 once: failed 0" 0 "$(js "$TMP/retry.out" failed)"
check_eq "503 once: 2 batches + 1 retry = 3 posts" 3 "$(js "$TMP/retry.out" posts)"
check_eq "503 once: receiver accepted 100 traces" 100 "$(rx "$TMP/retry.jsonl" traces)"
stop_receiver

start_receiver unavailable --fail-first 1000
send unavailable --endpoint "http://127.0.0.1:$PORT" --traces 100 --batch 50 --flush-ms 1000
check_eq "always 503: failed 100" 100 "$(js "$TMP/unavailable.out" failed)"
check_eq "always 503: sent 0" 0 "$(js "$TMP/unavailable.out" sent)"
check_eq "always 503: one retry per batch (4 posts)" 4 "$(js "$TMP/unavailable.out" posts)"
check_eq "always 503: receiver saw 4 requests" 4 "$(rx "$TMP/unavailable.jsonl" requests)"
check_eq "always 503: the payloads were valid all the same" 0 \
	"$(rx "$TMP/unavailable.jsonl" invalid)"
stop_receiver

# the receiver is gone: connection refused on its old port
DEAD_PORT=$PORT
start=$(date +%s%N)
send down --endpoint "http://127.0.0.1:$DEAD_PORT" --traces 200 --batch 64 --flush-ms 100 \
	--timeout-ms 2000
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check_eq "receiver down: otlp-send exits 0 (no crash, no hang)" 0 "$rc"
check_eq "receiver down: failed 200" 200 "$(js "$TMP/down.out" failed)"
check_eq "receiver down: sent 0" 0 "$(js "$TMP/down.out" sent)"
check_eq "receiver down: settled" true "$(js "$TMP/down.out" settled)"
check "receiver down: done in < 10 s (${elapsed_ms} ms)" test "$elapsed_ms" -lt 10000

# slow receiver, queue of 10: the worker holds at most one batch of 5, the rest is dropped
start_receiver slow --delay-ms 1500
send slow --endpoint "http://127.0.0.1:$PORT" --traces 100 --queue 10 --batch 5 \
	--flush-ms 500 --wait-ms 20000
queued=$(js "$TMP/slow.out" queued)
dropped=$(js "$TMP/slow.out" dropped)
check_eq "queue bound: queued + dropped = 100" 100 $((queued + dropped))
check_eq "queue bound: dropped = -ENOSPC returns" "$(js "$TMP/slow.out" enospc)" "$dropped"
check_eq "queue bound: queued = accepted" "$(js "$TMP/slow.out" accepted)" "$queued"
check "queue bound: 10 <= queued <= 15 ($queued)" test "$queued" -ge 10 -a "$queued" -le 15
check_eq "queue bound: everything queued was sent" "$queued" "$(js "$TMP/slow.out" sent)"
check_eq "queue bound: receiver got exactly the sent traces" "$queued" \
	"$(rx "$TMP/slow.jsonl" traces)"
check "queue bound: submit never waited for the slow POST (< 100 ms)" \
	test "$(js "$TMP/slow.out" max_submit_us)" -lt 100000
stop_receiver

send badurl --endpoint "ftp://127.0.0.1:1" --traces 1
check_eq "ftp:// endpoint: refused (exit 2)" 2 $?
check "ftp:// endpoint: EINVAL reported" grep -q "Invalid argument" "$TMP/badurl.err"

# --- Jaeger file ----------------------------------------------------------------

mkdir -p "$TMP/jaeger"
send jaeger --jaeger "$TMP/jaeger/traces.json" --jaeger-max 40 --traces 50 --spans 4
check_eq "jaeger: otlp-send exits 0" 0 $?
check_eq "jaeger: 10 over the bound dropped" 10 "$(js "$TMP/jaeger.out" jaeger_dropped)"
check_eq "jaeger: only the file, no temp file left" "traces.json" "$(ls "$TMP/jaeger")"
check_eq "jaeger: 40 traces, 160 spans, chained CHILD_OF references, us times" "40 160 ok" \
	"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["data"]
spans = [s for t in d for s in t["spans"]]
good = all(t["processes"]["p1"]["serviceName"] == "svc-0" and len(t["spans"]) == 4 and
           t["spans"][0]["references"] == [] and
           all(s["references"] == [{"refType": "CHILD_OF", "traceID": t["traceID"],
                                    "spanID": t["spans"][i - 1]["spanID"]}]
               for i, s in enumerate(t["spans"]) if i) and
           all(s["processID"] == "p1" and len(str(s["startTime"])) == 16 and
               s["duration"] > 0 for s in t["spans"]) for t in d)
print(len(d), len(spans), "ok" if good else "bad")' "$TMP/jaeger/traces.json")"

# --- the validator itself: near misses must be rejected --------------------------

start_receiver selfcheck
check_eq "receiver rejects near-miss encodings, accepts the original" "ok" "$(python3 - \
	"$PORT" "$TMP/basic.jsonl" <<'EOF'
import base64, copy, json, sys, urllib.request, urllib.error
port, sample = sys.argv[1], sys.argv[2]
good = json.loads(open(sample).readline())["payload"]

def post(body, ctype="application/json"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/traces", data=body,
                                 headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def span(p, i=0):
    return p["resourceSpans"][0]["scopeSpans"][0]["spans"][i]

def mutate(f):
    p = copy.deepcopy(good)
    f(p)
    return json.dumps(p).encode()

def child(p):
    return next(s for s in p["resourceSpans"][0]["scopeSpans"][0]["spans"] if "parentSpanId" in s)

bad = {
    "snake_case field": mutate(lambda p: p["resourceSpans"][0].__setitem__(
        "scope_spans", p["resourceSpans"][0].pop("scopeSpans"))),
    "base64 traceId": mutate(lambda p: span(p).__setitem__(
        "traceId", base64.b64encode(bytes.fromhex(span(p)["traceId"])).decode())),
    "uppercase hex": mutate(lambda p: span(p).__setitem__("spanId", span(p)["spanId"].upper())),
    "short spanId": mutate(lambda p: span(p).__setitem__("spanId", "abcd")),
    "zero traceId": mutate(lambda p: span(p).__setitem__("traceId", "0" * 32)),
    "time as number": mutate(lambda p: span(p).__setitem__(
        "startTimeUnixNano", int(span(p)["startTimeUnixNano"]))),
    "intValue as number": mutate(lambda p: next(
        kv for kv in span(p)["attributes"] if "intValue" in kv["value"])["value"].__setitem__(
        "intValue", 200)),
    "kind as name": mutate(lambda p: span(p).__setitem__("kind", "SPAN_KIND_SERVER")),
    "kind out of range": mutate(lambda p: span(p).__setitem__("kind", 6)),
    "status code as bool": mutate(lambda p: span(p).__setitem__("status", {"code": True})),
    "end before start": mutate(lambda p: span(p).__setitem__(
        "endTimeUnixNano", str(int(span(p)["startTimeUnixNano"]) - 1))),
    "dangling parent": mutate(lambda p: child(p).__setitem__("parentSpanId", "1" * 16)),
    "empty parentSpanId": mutate(lambda p: span(p).__setitem__("parentSpanId", "")),
    "two AnyValue fields": mutate(lambda p: span(p)["attributes"][0]["value"].__setitem__(
        "boolValue", True)),
    "no service.name": mutate(lambda p: p["resourceSpans"][0]["resource"].__setitem__(
        "attributes", [])),
    "empty envelope": mutate(lambda p: p["resourceSpans"][0].__setitem__("scopeSpans", [])),
    "NaN literal": json.dumps(good).replace('"kind": 2', '"kind": NaN', 1).encode(),
}
errors = []
for what, body in bad.items():
    code, _ = post(body)
    if code != 400:
        errors.append(f"{what}: {code}")
code, _ = post(json.dumps(good).encode(), "application/x-protobuf")
if code != 415:
    errors.append(f"protobuf content type: {code}")
code, answer = post(json.dumps(good).encode())
if code != 200 or json.loads(answer) != {"partialSuccess": {}}:
    errors.append(f"original: {code} {answer!r}")
print("; ".join(errors) or "ok")
EOF
)"
stop_receiver

check "receiver stopped, nothing of this test left running" \
	test -z "$(pgrep -f "$TMP" 2>/dev/null)"
finish
