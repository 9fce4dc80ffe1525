#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A loopback OTLP/HTTP JSON trace receiver that checks what it is sent.

Serves POST /v1/traces on 127.0.0.1 (--port, 0 = pick one; the chosen
address is printed as "listening on 127.0.0.1:PORT" and written to
--port-file). Each body is validated as an ExportTraceServiceRequest in the
OTLP JSON encoding (opentelemetry-proto docs/specification.md, "JSON Protobuf
Encoding", and the trace/common/resource .proto files):

  * only the proto's field names, in lowerCamelCase, for
    ExportTraceServiceRequest, ResourceSpans, Resource, ScopeSpans,
    InstrumentationScope, Span, Span.Event, Span.Link, Status, KeyValue,
    AnyValue (exactly one of its oneof), ArrayValue, KeyValueList;
  * traceId / spanId / parentSpanId as lowercase hex of exactly 32 / 16
    characters, not all zero;
  * 64-bit integers (intValue, *TimeUnixNano) as strings of decimal digits
    in range; uint32/fixed32 fields as JSON integers in range;
  * enums as integers in range (kind 0..5, status.code 0..2);
  * endTimeUnixNano >= startTimeUnixNano; span ids unique in a trace; a
    parentSpanId names a span of the same trace in the same request;
  * attribute keys non-empty and unique per list; every resource has a
    string service.name; no empty ResourceSpans/ScopeSpans envelopes;
  * no duplicate JSON keys, no NaN/Infinity literals.

This is stricter than a real collector on purpose (a collector ignores
unknown fields, accepts uppercase hex, numbers for 64-bit integers and an
empty parentSpanId): it exists to catch an exporter that gets the encoding
almost right. Valid requests get 200 {"partialSuccess":{}}, invalid ones
400 with a google.rpc.Status-shaped JSON body carrying the reason.

--out FILE gets one JSON line per request: the verdict, the trace ids and
span count, and the payload. --fail-first N answers 503 to the first N
requests (after recording them); --delay-ms makes every answer slow.
Exits on SIGTERM/SIGINT or after --max-seconds. Standard library only.
"""
import argparse
import base64
import binascii
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAX_BODY = 20 * 1024 * 1024  # the specification's recommended limit

HEX32 = re.compile(r"[0-9a-f]{32}\Z")
HEX16 = re.compile(r"[0-9a-f]{16}\Z")
DIGITS = re.compile(r"(0|[1-9][0-9]*)\Z")
SIGNED_DIGITS = re.compile(r"-?(0|[1-9][0-9]*)\Z")

# message -> {lowerCamelCase field: kind}; from the .proto files
MESSAGES = {
    "ExportTraceServiceRequest": {"resourceSpans": "[ResourceSpans]"},
    "ResourceSpans": {"resource": "Resource", "scopeSpans": "[ScopeSpans]", "schemaUrl": "string"},
    "Resource": {"attributes": "[KeyValue]", "droppedAttributesCount": "uint32",
                 "entityRefs": "[EntityRef]"},
    "EntityRef": {"schemaUrl": "string", "type": "string", "idKeys": "[string]",
                  "descriptionKeys": "[string]"},
    "ScopeSpans": {"scope": "InstrumentationScope", "spans": "[Span]", "schemaUrl": "string"},
    "InstrumentationScope": {"name": "string", "version": "string", "attributes": "[KeyValue]",
                             "droppedAttributesCount": "uint32"},
    "Span": {"traceId": "traceid", "spanId": "spanid", "traceState": "string",
             "parentSpanId": "spanid", "flags": "fixed32", "name": "string",
             "kind": "enum:5", "startTimeUnixNano": "fixed64", "endTimeUnixNano": "fixed64",
             "attributes": "[KeyValue]", "droppedAttributesCount": "uint32",
             "events": "[Event]", "droppedEventsCount": "uint32", "links": "[Link]",
             "droppedLinksCount": "uint32", "status": "Status"},
    "Event": {"timeUnixNano": "fixed64", "name": "string", "attributes": "[KeyValue]",
              "droppedAttributesCount": "uint32"},
    "Link": {"traceId": "traceid", "spanId": "spanid", "traceState": "string",
             "attributes": "[KeyValue]", "droppedAttributesCount": "uint32",
             "flags": "fixed32"},
    "Status": {"message": "string", "code": "enum:2"},
    "KeyValue": {"key": "string", "value": "AnyValue"},
    "AnyValue": {"stringValue": "string", "boolValue": "bool", "intValue": "int64",
                 "doubleValue": "double", "arrayValue": "ArrayValue",
                 "kvlistValue": "KeyValueList", "bytesValue": "bytes"},
    "ArrayValue": {"values": "[AnyValue]"},
    "KeyValueList": {"values": "[KeyValue]"},
}
REQUIRED = {
    "Span": ("traceId", "spanId", "name", "startTimeUnixNano", "endTimeUnixNano"),
    "KeyValue": ("key", "value"),
    "Link": ("traceId", "spanId"),
}


class Invalid(Exception):
    pass


def snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def check_scalar(kind, v, where):
    if kind == "string":
        ok = isinstance(v, str)
    elif kind == "bool":
        ok = isinstance(v, bool)
    elif kind in ("uint32", "fixed32"):
        ok = type(v) is int and 0 <= v < 2**32
    elif kind == "fixed64":
        ok = isinstance(v, str) and DIGITS.match(v) and int(v) < 2**64
    elif kind == "int64":
        ok = isinstance(v, str) and SIGNED_DIGITS.match(v) and -(2**63) <= int(v) < 2**63
    elif kind == "double":
        ok = (type(v) in (int, float)) or v in ("NaN", "Infinity", "-Infinity")
    elif kind == "bytes":
        try:
            ok = isinstance(v, str) and base64.b64decode(v, validate=True) is not None
        except (binascii.Error, ValueError):
            ok = False
    elif kind.startswith("enum:"):
        ok = type(v) is int and 0 <= v <= int(kind[5:])
    elif kind == "traceid":
        ok = isinstance(v, str) and HEX32.match(v) and v != "0" * 32
    elif kind == "spanid":
        ok = isinstance(v, str) and HEX16.match(v) and v != "0" * 16
    else:
        raise AssertionError(kind)
    if not ok:
        what = {"fixed64": "a string of decimal digits (64-bit)",
                "int64": "a string of decimal digits (64-bit)",
                "traceid": "32 lowercase hex digits, not all zero",
                "spanid": "16 lowercase hex digits, not all zero"}.get(kind, kind)
        raise Invalid(f"{where}: {json.dumps(v)[:80]} is not {what}")


def check(msg, obj, where):
    """Validate @obj as message @msg (field names and value types)."""
    if not isinstance(obj, dict):
        raise Invalid(f"{where}: expected a JSON object for {msg}")
    fields = MESSAGES[msg]
    for key, v in obj.items():
        if key not in fields:
            hint = ""
            camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
            if camel in fields:
                hint = f" (the JSON name is {camel!r})"
            raise Invalid(f"{where}: unknown field {key!r} in {msg}{hint}")
        kind = fields[key]
        if kind.startswith("["):
            if not isinstance(v, list):
                raise Invalid(f"{where}.{key}: expected an array")
            for i, item in enumerate(v):
                sub = kind[1:-1]
                if sub in MESSAGES:
                    check(sub, item, f"{where}.{key}[{i}]")
                else:
                    check_scalar(sub, item, f"{where}.{key}[{i}]")
        elif kind in MESSAGES:
            check(kind, v, f"{where}.{key}")
        else:
            check_scalar(kind, v, f"{where}.{key}")
    for key in REQUIRED.get(msg, ()):
        if key not in obj:
            raise Invalid(f"{where}: {msg} without {key!r}")
    if msg == "AnyValue" and len(obj) != 1:
        raise Invalid(f"{where}: AnyValue must set exactly one of its oneof, has {sorted(obj)}")
    if msg == "KeyValue" and not obj["key"]:
        raise Invalid(f"{where}: empty attribute key")
    for key in ("attributes", "values"):
        if key in obj and msg != "ArrayValue":
            keys = [kv.get("key") for kv in obj[key]]
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                raise Invalid(f"{where}.{key}: duplicate keys {sorted(dup)}")


def validate(req):
    """Check @req (parsed JSON); returns ({traceId: span count}, spans) or raises Invalid."""
    check("ExportTraceServiceRequest", req, "request")
    spans_by_trace = {}  # traceId -> {spanId: parentSpanId or None}
    nspans = 0
    for r, rs in enumerate(req.get("resourceSpans", [])):
        where = f"resourceSpans[{r}]"
        attrs = rs.get("resource", {}).get("attributes", [])
        svc = [kv for kv in attrs if kv["key"] == "service.name"]
        if not svc or "stringValue" not in svc[0]["value"]:
            raise Invalid(f"{where}.resource: no string service.name attribute")
        if not rs.get("scopeSpans"):
            raise Invalid(f"{where}: empty envelope (no scopeSpans)")
        for s, ss in enumerate(rs["scopeSpans"]):
            if not ss.get("spans"):
                raise Invalid(f"{where}.scopeSpans[{s}]: empty envelope (no spans)")
            for i, sp in enumerate(ss["spans"]):
                w = f"{where}.scopeSpans[{s}].spans[{i}]"
                if int(sp["endTimeUnixNano"]) < int(sp["startTimeUnixNano"]):
                    raise Invalid(f"{w}: endTimeUnixNano before startTimeUnixNano")
                trace = spans_by_trace.setdefault(sp["traceId"], {})
                if sp["spanId"] in trace:
                    raise Invalid(f"{w}: spanId {sp['spanId']} repeated in trace {sp['traceId']}")
                trace[sp["spanId"]] = sp.get("parentSpanId")
                nspans += 1
    for tid, spans in spans_by_trace.items():
        for sid, parent in spans.items():
            if parent is not None and parent not in spans:
                raise Invalid(f"span {sid}: parentSpanId {parent} is not a span of trace {tid}")
    return {tid: len(s) for tid, s in spans_by_trace.items()}, nspans


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise Invalid(f"duplicate JSON keys {sorted(dup)}")
    return dict(pairs)


def no_constants(name):
    raise Invalid(f"{name} is not JSON")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("OTLP_RECEIVER_LOG"):
            sys.stderr.write("otlp_receiver: " + (fmt % args) + "\n")

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(405, {"code": 12, "message": "POST only"})

    def do_POST(self):
        srv = self.server
        path = urlsplit(self.path).path
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None:
            self.close_connection = True
            return self.answer(411, {"code": 3, "message": "Content-Length required"})
        if int(length) > MAX_BODY:
            self.close_connection = True
            return self.answer(413, {"code": 8, "message": "body too large"})
        raw = self.rfile.read(int(length))
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()

        status, reason, payload, traces, nspans = 200, None, None, {}, 0
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            status, reason = 400, "body is not UTF-8"
        if path != "/v1/traces":
            status, reason = 404, f"no such path {path!r}: OTLP traces go to /v1/traces"
        elif ctype != "application/json":
            status, reason = 415, f"Content-Type {ctype!r}, expected application/json"
        elif status == 200:
            try:
                payload = json.loads(text, object_pairs_hook=no_duplicates,
                                     parse_constant=no_constants)
                traces, nspans = validate(payload)
            except Invalid as e:
                status, reason = 400, str(e)
            except ValueError as e:
                status, reason = 400, f"not JSON: {e}"
        valid = status == 200
        with srv.lock:
            srv.seq += 1
            seq = srv.seq
            if srv.fail_left > 0:
                srv.fail_left -= 1
                status = 503
        line = {"seq": seq, "time": time.time(), "path": self.path, "status": status,
                "valid": valid, "reason": reason, "traces": traces, "spans": nspans,
                "payload": payload if payload is not None else text}
        with srv.lock:
            srv.out.write(json.dumps(line) + "\n")
            srv.out.flush()
        if srv.delay:
            time.sleep(srv.delay)
        if status == 200:
            self.answer(200, {"partialSuccess": {}})
        elif status == 503:
            self.answer(503, {"code": 14, "message": "unavailable (--fail-first)"})
        else:
            self.answer(status, {"code": 3, "message": reason})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=300)
    opts = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.seq = 0
    srv.fail_left = opts.fail_first
    srv.delay = opts.delay_ms / 1000.0
    srv.out = open(opts.out, "a", encoding="utf-8")

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if opts.max_seconds > 0:
        timer = threading.Timer(opts.max_seconds, stop)
        timer.daemon = True
        timer.start()
    port = srv.server_address[1]
    if opts.port_file:
        with open(opts.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(opts.port_file + ".tmp", opts.port_file)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()
    srv.out.close()


if __name__ == "__main__":
    main()
