#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Loopback stand-ins for the APIs podscope reads, for test_api_sources.sh.

k8s mode: an HTTPS server on 127.0.0.1 answering GET /api/v1/pods like a
Kubernetes API server: it insists on fieldSelector=spec.nodeName=<node>
(400 Status otherwise), authenticates by bearer token (read from
--token-file on every request, so tests can rotate it) or by a client
certificate signed by --client-ca, and answers 401/403 with Status objects.
Node "node-a" gets the PodList fixture, "garbage-node" a non-JSON body,
"html-node" a 502 HTML page, any other node an empty PodList.

docker mode: HTTP on a unix socket answering the Docker Engine API's
GET /v1.41/containers/<id>/json and /v1.41/containers/json from fixtures;
404 {"message": ...} for unknown ids, a garbage body for id "badbadbad".

Writes the chosen TCP port (k8s) to --port-file when ready; standard
library only.
"""
import argparse
import json
import os
import socketserver
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("API_SERVER_LOG"):
            sys.stderr.write("api_server: " + (fmt % args) + "\n")

    def send(self, code, body, ctype="application/json"):
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class K8sHandler(Handler):
    def authenticated(self):
        opts = self.server.opts
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with open(opts.token_file) as f:
                return auth[len("Bearer "):] == f.read().strip()
        cert = self.connection.getpeercert()
        if cert:
            subject = dict(x[0] for x in cert.get("subject", ()))
            return subject.get("commonName") == "podscope-test"
        return False

    def do_GET(self):
        opts = self.server.opts
        url = urlsplit(self.path)
        if url.path != "/api/v1/pods":
            return self.send(404, status_obj(404, "NotFound", "the server could not find "
                                             "the requested resource"))
        if self.headers.get("Accept") != "application/json":
            return self.send(406, status_obj(406, "NotAcceptable", "want Accept: "
                                             "application/json"))
        if not self.authenticated():
            return self.send(401, status_obj(401, "Unauthorized", "Unauthorized"))
        sel = parse_qs(url.query).get("fieldSelector", [])
        if len(sel) != 1 or not sel[0].startswith("spec.nodeName="):
            return self.send(400, status_obj(400, "BadRequest",
                                             "test server: fieldSelector=spec.nodeName=<node> "
                                             "required, got %r" % (url.query,)))
        node = sel[0][len("spec.nodeName="):]
        if node == "forbidden-node":
            return self.send(403, status_obj(403, "Forbidden", 'pods is forbidden: User '
                                             '"system:serviceaccount:default:podscope" cannot '
                                             'list resource "pods"'))
        if node == "garbage-node":
            return self.send(200, b'{"kind":"PodList","items":[{"metadata":')
        if node == "html-node":
            return self.send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if node == opts.node:
            with open(opts.podlist, "rb") as f:
                return self.send(200, f.read())
        return self.send(200, {"kind": "PodList", "apiVersion": "v1",
                               "metadata": {"resourceVersion": "1"}, "items": []})


class DockerHandler(Handler):
    def address_string(self):
        return "unix"

    def do_GET(self):
        opts = self.server.opts
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if path == "/v1.41/containers/json":
            with open(opts.docker_list, "rb") as f:
                return self.send(200, f.read())
        if len(parts) == 4 and parts[0] == "v1.41" and parts[1] == "containers" \
                and parts[3] == "json":
            cid = parts[2]
            if cid == "badbadbad":
                return self.send(200, b"this is not json")
            for fixture in opts.docker_inspect:
                with open(fixture, "rb") as f:
                    body = f.read()
                full = json.loads(body)["Id"]
                if len(cid) >= 12 and full.startswith(cid):
                    return self.send(200, body)
            return self.send(404, {"message": "No such container: %s" % cid})
        return self.send(404, {"message": "page not found"})


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["k8s", "docker"])
    ap.add_argument("--port-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--token-file")
    ap.add_argument("--node", default="node-a")
    ap.add_argument("--podlist")
    ap.add_argument("--socket")
    ap.add_argument("--docker-list")
    ap.add_argument("--docker-inspect", action="append", default=[])
    opts = ap.parse_args()

    if opts.mode == "k8s":
        srv = ThreadingHTTPServer(("127.0.0.1", 0), K8sHandler)
        srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
        ctx.load_verify_locations(opts.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.opts = opts
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(tmp, opts.port_file)
    else:
        if os.path.exists(opts.socket):
            os.unlink(opts.socket)
        srv = UnixServer(opts.socket, DockerHandler)
        srv.opts = opts
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
