"""A reverse proxy in front of a real registry that misbehaves on purpose: it corrupts or truncates
a blob, stalls in the middle of one, or serves a manifest of an unknown media type. Everything
else passes through unchanged (Range requests too, so resumed downloads can be seen)."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultyProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream          # "127.0.0.1:PORT" of the real registry
        self.fault: str | None = None     # "corrupt", "truncate", "stall", "unknown-manifest"
        self.fault_digest: str | None = None   # the blob the fault applies to (None: any blob)
        self.stalled = threading.Event()       # set once a stalled transfer is waiting
        self.release = threading.Event()
        self.requests: list[tuple[str, str, str | None]] = []   # (method, path, Range)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy._forward(self)

            def do_HEAD(self):
                proxy._forward(self)

            def do_POST(self):
                proxy._forward(self)

            def do_PUT(self):
                proxy._forward(self)

            def do_PATCH(self):
                proxy._forward(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _applies(self, path: str) -> bool:
        return "/blobs/sha256:" in path and (self.fault_digest is None or path.endswith(self.fault_digest))

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.command, handler.path, handler.headers.get("Range")))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        headers["Host"] = self.upstream
        if self.fault == "truncate" and self._applies(handler.path):
            headers.pop("Range", None)       # the short copy is all there is, from the start
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read() if handler.command != "HEAD" else b""
        conn.close()
        status, out_headers = resp.status, [(k, v) for k, v in resp.getheaders()
                                             if k.lower() not in ("transfer-encoding", "connection", "content-length")]
        fault = self.fault if handler.command == "GET" else None
        if fault == "unknown-manifest" and "/manifests/" in handler.path:
            data = b'{"schemaVersion": 2, "mediaType": "application/vnd.example.unknown+json"}'
            out_headers = [(k, v) for k, v in out_headers if k.lower() not in ("content-type", "docker-content-digest")]
            out_headers.append(("Content-Type", "application/vnd.example.unknown+json"))
        elif fault == "corrupt" and status == 200 and self._applies(handler.path) and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        handler.send_response(status)
        for key, value in out_headers:
            handler.send_header(key, value)
        if fault == "truncate" and status == 200 and self._applies(handler.path) and data:
            # A registry whose copy of the blob is short: every answer, resumed or not, is a
            # complete response holding only the first half.
            handler.send_header("Content-Length", str(len(data) // 2))
            handler.end_headers()
            handler.wfile.write(data[: len(data) // 2])
            return
        handler.send_header("Content-Length", str(len(data) if handler.command != "HEAD" else resp.getheader("Content-Length") or 0))
        handler.end_headers()
        if handler.command == "HEAD":
            return
        if fault == "stall" and status in (200, 206) and self._applies(handler.path) and len(data) > 1:
            half = len(data) // 2
            handler.wfile.write(data[:half])
            handler.wfile.flush()
            self.stalled.set()
            self.release.wait(120)
            handler.close_connection = True
            return
        handler.wfile.write(data)
