#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Write the seed corpus of tests/fuzz/fuzz_http1.c to tests/fuzz/corpus/http1/.

Each seed is a list of calls in the target's record format (see the comment
at the top of fuzz_http1.c): flags, sample length, 16-bit gap, sample bytes.
The seeds are realistic exchanges cut the ways the kernel cuts them, so that
the fuzzer starts from deep parser states. Deterministic: rerunning rewrites
the same files.
"""
import os
import random

REQ, RESP = 0, 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "http1")


def call(d, data, gap=0, detect=False, unsampled=False):
    """One call: @data sampled (at most 255 bytes), @gap more bytes moved."""
    flags = d | (2 if detect else 0)
    if unsampled:
        flags |= 8
        data = b""
    if gap >= 1 << 16:
        flags |= 4
        gap >>= 8
    assert len(data) <= 255
    return bytes([flags, len(data), gap & 0xFF, gap >> 8]) + data


def whole(d, data, detect=True):
    """A message fully sampled, cut into calls of at most 255 bytes."""
    out = b""
    for i in range(0, len(data), 255):
        out += call(d, data[i:i + 255], detect=detect and i == 0)
    return out


def sampled(d, data, moved, limit=200):
    """One call that moved @moved bytes of which the first @limit were sampled."""
    s = data[:limit]
    return call(d, s, moved - len(s), detect=True)


def seeds():
    rnd = random.Random(1)
    get = b"GET /users/42/orders/7f3a9c2e1b?x=1 HTTP/1.1\r\nHost: svc\r\nAccept: */*\r\n\r\n"
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    yield "get_200", whole(REQ, get) + whole(RESP, ok)

    post = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n"
    yield "post_gaps", (call(REQ, post + b"x" * 40, 4000 - 40, True) +
                        call(REQ, b"", 3000, unsampled=True) + call(REQ, b"", 3000, unsampled=True) +
                        whole(RESP, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") +
                        whole(REQ, get))

    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: y\r\n\r\n")
    big = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + b"z" * 10
    yield "chunked", (whole(REQ, get) + whole(RESP, chunked) + whole(REQ, get) +
                      call(RESP, big, 4096 - 10, True) + whole(RESP, b"\r\n0\r\n\r\n" + ok))

    reqs = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    resps = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
             b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
             b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    yield "pipelined", whole(REQ, reqs) + whole(RESP, resps)

    yield "no_body", (whole(REQ, b"HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\n"
                                 b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n") +
                      whole(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
                                  b"HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n") +
                      whole(REQ, b"data") +
                      whole(RESP, b"HTTP/1.1 204 No Content\r\n\r\n"))

    yield "http10", (whole(REQ, b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") +
                     whole(RESP, b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nabc") +
                     call(RESP, b"", 5000, unsampled=True) +
                     whole(REQ, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"))

    split = b"POST /a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    yield "split_headers", (call(REQ, split[:22]) + call(REQ, split[22:]) +
                            call(RESP, ok[:30]) + call(RESP, ok[30:]))

    pad = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"0" * 400 + b"\r\nContent-Length: 20\r\n\r\n"
    longreq = b"GET /two/" + b"7" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    yield "lost_resync", (whole(REQ, get) + sampled(RESP, pad, len(pad) + 20, 64) +
                          call(RESP, b"", 500, unsampled=True) + sampled(REQ, longreq, len(longreq)) +
                          whole(REQ, get) + whole(RESP, ok))

    yield "garbage", (call(REQ, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 506, True) +
                      whole(REQ, b"GET / HTTP/1.1\r\nbad header\r\n\r\n") + whole(REQ, get) +
                      whole(RESP, b"HTTP/1.1 999 No\r\n\r\n") + whole(RESP, ok))

    yield "upgrade", (whole(REQ, b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n") +
                      whole(RESP, b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello") +
                      whole(REQ, b"\x81\x85....GET / HTTP/1.1\r\n\r\n"))

    yield "connect", (whole(REQ, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n") +
                      whole(RESP, b"HTTP/1.1 200 Connection established\r\n\r\n") +
                      call(REQ, b"\x16\x03\x01", 300))

    ka = b""
    for i in range(12):
        body = (i % 5) * 700
        r = b"PUT /items/%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (i, body)
        ka += call(REQ, r, body, True)
        h = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (body + 1)
        ka += call(RESP, h + b"{", body)
    yield "keep_alive", ka

    # fully sampled exchanges cut at random points: food for the split check
    stream_req = get + reqs + split
    stream_resp = ok + chunked + resps
    for n in range(4):
        out = b""
        i = j = 0
        while i < len(stream_req) or j < len(stream_resp):
            if i < len(stream_req):
                k = rnd.randint(1, 60)
                out += call(REQ, stream_req[i:i + k])
                i += k
            if j < len(stream_resp):
                k = rnd.randint(1, 60)
                out += call(RESP, stream_resp[j:j + k])
                j += k
        yield "random_split_%d" % n, out

    # one byte per call: every split point of these exchanges at once
    yield "bytewise", (b"".join(call(REQ, get[i:i + 1]) for i in range(len(get))) +
                       b"".join(call(RESP, chunked[i:i + 1]) for i in range(len(chunked))) +
                       b"".join(call(REQ, split[i:i + 1]) for i in range(len(split))) +
                       b"".join(call(RESP, ok[i:i + 1]) for i in range(len(ok))))
    # calls cut right before and right after each CR and LF
    cuts = b""
    for d, data in ((REQ, reqs), (RESP, resps)):
        start = 0
        for i, ch in enumerate(data):
            if ch in b"\r\n" and i > start:
                cuts += call(d, data[start:i])
                cuts += call(d, data[i:i + 1])
                start = i + 1
        cuts += call(d, data[start:])
    yield "crlf_cuts", cuts

    # lines longer than the parser keeps, over sampled calls
    longline = (b"GET /q/" + b"5" * 400 + b"?x=1 HTTP/1.0\r\nCookie: " + b"6" * 700 +
                b"\r\nContent-Length: 4\r\n\r\nbody")
    longresp = b"HTTP/1.1 200 " + b"O" * 400 + b"\r\nContent-Length: 0\r\n\r\n"
    yield "long_lines", (b"".join(call(REQ, longline[i:i + 200]) for i in range(0, len(longline), 200)) +
                         b"".join(call(RESP, longresp[i:i + 200]) for i in range(0, len(longresp), 200)))

    # more requests in flight than the method FIFO holds
    deep = b"".join(b"HEAD /%d HTTP/1.1\r\n\r\n" % i for i in range(40))
    yield "deep_pipeline", (whole(REQ, deep) +
                            b"".join(whole(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
                                     for _ in range(10)))

    yield "detect_only", (call(REQ, b"OPTIONS * HTTP/1.1\r\n\r\n", 0, True) +
                          call(REQ, b"GET http://h:8080/p/123?q HTTP/1.1\r\n\r\n", 0, True) +
                          call(RESP, b"HTTP/1.1 200 ", 0, True))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
