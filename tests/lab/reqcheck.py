#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Join podscope's per-request records (--requests-out JSON lines) with the
sidecar's own access log (haproxy, lab format) by request path, and print
one JSON summary of how far the two disagree.

haproxy's timers are whole milliseconds: Tr (server response headers, from
the upstream connection being established) and Ta (total active time), so
Ta - Tr is the sidecar's share as haproxy sees it (including Tc) and Tr the
upstream's; podscope's are nanoseconds.

usage: reqcheck.py RECORDS ACCESS_LOG PATH_PREFIX
"""
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(q * len(v) + 0.999999) - 1))
    return v[k]


def main():
    rec_path, log_path, prefix = sys.argv[1:4]
    recs = {}
    dup = 0
    with open(rec_path) as f:
        for line in f:
            r = json.loads(line)
            if not r["path"].startswith(prefix):
                continue
            if r["path"] in recs:
                dup += 1
            recs[r["path"]] = r
    log = {}
    pat = re.compile(r'uri="([^"]*)" status=(-?\d+) .* Tc=(-?\d+) Tr=(-?\d+) Ta=(-?\d+)')
    with open(log_path, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            uri, status, tc, tr, ta = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
            u = urlsplit(uri)
            if not u.path.startswith(prefix):
                continue
            q = parse_qs(u.query)
            log[u.path] = {"status": status, "Tc": tc, "Tr": tr, "Ta": ta,
                           "delay_us": int(q.get("delay_us", ["0"])[0])}
    ok_log = {p: v for p, v in log.items() if v["status"] == 200 and v["Tr"] >= 0}
    matched = [p for p in ok_log if p in recs]
    extra = [p for p in recs if p not in log]
    sc_diff, app_diff, app_minus_delay, sums_bad, status_bad = [], [], [], 0, 0
    for p in matched:
        r, l = recs[p], ok_log[p]
        if r.get("upstream") is None:
            continue
        sc_ms = r["sidecar_ns"] / 1e6
        app_ms = r["app_ns"] / 1e6
        sc_diff.append(abs((l["Ta"] - l["Tr"]) - sc_ms))
        app_diff.append(abs(l["Tr"] - app_ms))
        app_minus_delay.append(app_ms - l["delay_us"] / 1000.0)
        parts = r["sidecar_inbound_ns"] + r["app_ns"] + r["sidecar_outbound_ns"]
        if parts != r["total_ns"]:
            sums_bad += 1
        if r["status"] != 200:
            status_bad += 1
    out = {
        "log_requests": len(log),
        "log_ok": len(ok_log),
        "records": len(recs),
        "duplicates": dup,
        "matched": len(matched),
        "extra_records": len(extra),
        "matched_fraction": (len(matched) / len(ok_log)) if ok_log else 0,
        "sidecar_diff_p50_ms": pct(sc_diff, 0.50),
        "sidecar_diff_p99_ms": pct(sc_diff, 0.99),
        "app_tr_diff_p50_ms": pct(app_diff, 0.50),
        "app_tr_diff_p99_ms": pct(app_diff, 0.99),
        "app_below_delay": sum(1 for d in app_minus_delay if d < 0),
        "app_below_delay_by_0_5ms": sum(1 for d in app_minus_delay if d < -0.5),
        "app_minus_delay_min_ms": min(app_minus_delay) if app_minus_delay else None,
        "app_minus_delay_p50_ms": pct(app_minus_delay, 0.50),
        "parts_not_summing": sums_bad,
        "status_not_200": status_bad,
        "new_upstream_connections": sum(1 for p in matched if recs[p].get("new_upstream_connection")),
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
