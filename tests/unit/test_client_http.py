"""hako.client.http against a raw unix-socket server that sends scripted bytes, so each body
framing (length, chunked, until-close), keep-alive reuse, stale connections and the 101 upgrade
are exercised byte for byte."""

from __future__ import annotations

import socket
import threading

import pytest

from hako.client.errors import DaemonUnreachable, NotFound, ProtocolError
from hako.client.hosts import parse_host
from hako.client.http import Connection
from hako.client.api import APIClient


class RawServer:
    """Accepts connections; for each request received calls ``script(n, request_bytes)`` which
    returns the bytes to answer (and may return None to close the connection)."""

    def __init__(self, tmp_path, script):
        self.path = str(tmp_path / "raw.sock")
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                body = b""
                if b"Transfer-Encoding: chunked" in head:
                    while b"0\r\n\r\n" not in buf:
                        buf += conn.recv(65536)
                    body, _, buf = buf.partition(b"0\r\n\r\n")
                request = head + b"\r\n\r\n" + body
                self.requests.append(request)
                answer = self.script(len(self.requests), request)
                if answer is None:
                    return
                conn.sendall(answer)
                if b"Connection: close" in answer.split(b"\r\n\r\n")[0]:
                    return

    @property
    def host(self):
        return parse_host("unix://" + self.path)

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(tmp_path):
    servers = []

    def make(script):
        s = RawServer(tmp_path, script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_content_length_body_and_keep_alive(raw):
    srv = raw(lambda n, req: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    conn = Connection(srv.host)
    for _ in range(3):
        resp = conn.request("GET", "/v1.41/x")
        assert (resp.status, resp.read()) == (200, b"hello")
    assert srv.connections == 1  # one socket for sequential calls
    assert srv.requests[0].startswith(b"GET /v1.41/x HTTP/1.1\r\nHost: api.moby.localhost\r\n")


def test_chunked_body_with_extensions_and_trailers(raw):
    body = b"4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: y\r\n\r\n"
    srv = raw(lambda n, req: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    conn = Connection(srv.host)
    resp = conn.request("GET", "/a")
    assert resp.read() == b"Wikipedia in \r\n\r\nchunks."
    assert conn.request("GET", "/b").read().endswith(b"chunks.")
    assert srv.connections == 1


def test_lines_of_a_json_stream(raw):
    srv = raw(lambda n, req: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\n{\"a\":\r\n9\r\n1}\n{\"b\":2\r\n3\r\n}\n\n\r\n0\r\n\r\n")
    resp = Connection(srv.host).request("GET", "/events")
    assert list(resp.lines()) == [b'{"a":1}', b'{"b":2}']


def test_body_until_close(raw):
    srv = raw(lambda n, req: b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nall of it" if n == 1 else None)
    conn = Connection(srv.host)
    resp = conn.request("GET", "/export")
    assert resp.read() == b"all of it"
    assert conn.sock is None  # not reusable


def test_no_body_for_204_and_head(raw):
    srv = raw(lambda n, req: b"HTTP/1.1 204 No Content\r\n\r\n" if n == 1
              else b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nApi-Version: 1.41\r\n\r\n")
    conn = Connection(srv.host)
    assert conn.request("POST", "/start").read() == b""
    resp = conn.request("HEAD", "/_ping")
    assert resp.read() == b"" and resp.header("API-VERSION") == "1.41"


def test_stale_keep_alive_connection_is_retried_once(raw):
    # The server answers the first request, then closes the idle connection.
    def script(n, req):
        if n == 2:
            return None
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    srv = raw(script)
    conn = Connection(srv.host)
    assert conn.request("GET", "/1").read() == b"ok"
    assert conn.request("GET", "/2").read() == b"ok"
    assert srv.connections == 2


def test_chunked_upload(raw):
    srv = raw(lambda n, req: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    Connection(srv.host).request("POST", "/images/create", {"Content-Type": "text/plain"},
                                 iter([b"abc", b"", b"defgh"])).read()
    assert srv.requests[0].endswith(b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n")


def test_upgrade_keeps_bytes_sent_after_the_101(raw):
    srv = raw(lambda n, req: b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                             b"\x01\0\0\0\0\0\0\x02hi")
    conn = Connection(srv.host)
    resp = conn.request("POST", "/attach", {"Connection": "Upgrade", "Upgrade": "tcp"})
    assert resp.status == 101
    sock, rest = conn.detach()
    try:
        assert rest == b"\x01\0\0\0\0\0\0\x02hi"
    finally:
        sock.close()


def test_api_client_errors_and_hijack_refusal(raw):
    def script(n, req):
        if req.startswith(b"HEAD /_ping"):
            return b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n"
        if b"/containers/nope/json" in req:
            msg = b'{"message":"No such container: nope"}'
            return b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(msg), msg)
        if b"GET /v1.41/oops" in req:
            return b"HTTP/1.1 500 Oops\r\nContent-Length: 9\r\n\r\n bad day\n"
        return b"HTTP/1.1 400 Bad\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    srv = raw(script)
    client = APIClient(srv.host)
    with pytest.raises(NotFound) as info:
        client.get_json("/containers/nope/json")
    assert (info.value.status, info.value.message) == (404, "No such container: nope")
    with pytest.raises(Exception) as info:
        client.get_json("/oops")
    assert str(info.value) == "bad day"
    with pytest.raises(ProtocolError, match="unable to upgrade to tcp, received 400"):
        client.hijack("/containers/x/attach", {"detachKeys": "bogus"})
    assert client.version == "1.41"


def test_unreachable_socket(tmp_path):
    with pytest.raises(DaemonUnreachable) as info:
        Connection(parse_host(f"unix://{tmp_path}/none.sock")).request("GET", "/")
    assert str(info.value) == f"Cannot connect to the hako daemon at unix://{tmp_path}/none.sock. Is the hako daemon running?"


def test_malformed_status_line(raw):
    srv = raw(lambda n, req: b"SMTP ready\r\n\r\n")
    with pytest.raises(ProtocolError, match="malformed status line"):
        Connection(srv.host).request("GET", "/")
