"""HTTP/1.1 over a unix (or TCP) socket: just what the Engine API needs.

Why not `http.client`: importing it costs ~29 ms here (it pulls in `ssl` and the `email` parser),
more than the rest of the CLI's start-up together. The API needs a small slice of HTTP:

- requests with a JSON body (``Content-Length``) or a streamed upload (``Transfer-Encoding:
  chunked``, for `import`);
- responses with ``Content-Length``, chunked bodies (streams: logs, events, pull progress, wait)
  or bodies that end when the server closes;
- keep-alive, so `create`, `wait` … can share one connection;
- upgrades (``101``) for attach and exec, after which the socket is a raw byte pipe
  (`Connection.detach` hands it over with any bytes already read past the headers).

A `Connection` carries one request at a time; open another for concurrent calls::

    conn = Connection(parse_host("unix:///run/hako/hako.sock"))
    resp = conn.request("GET", "/v1.41/containers/json")
    body = resp.read()          # the connection is reusable once the body is read
"""

from __future__ import annotations

import _socket
import os

from .errors import DaemonUnreachable, ProtocolError

USER_AGENT = "hako-cli/0.1 (linux)"
_RECV = 65536

# How a response body is delimited.
_NONE, _LENGTH, _CHUNKED, _CLOSE = range(4)


class Connection:
    """One socket to the daemon, reconnected on demand."""

    def __init__(self, host) -> None:
        self.host = host
        self.sock = None
        self.buf = bytearray()  # bytes received but not yet consumed
        self.reused = False     # True once a request completed on this socket

    # -- socket -------------------------------------------------------------------------------

    def connect(self) -> None:
        try:
            if self.host.scheme == "unix":
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                try:
                    sock.connect(self.host.address)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = _connect_tcp(*self.host.address)
        except OSError as exc:
            raise DaemonUnreachable(self.host.url, str(exc)) from exc
        self.sock, self.buf, self.reused = sock, bytearray(), False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buf = bytearray()

    def detach(self):
        """Give up the socket (after a 101): returns ``(socket, bytes_already_read)``."""
        sock, rest = self.sock, bytes(self.buf)
        self.sock, self.buf = None, bytearray()
        return sock, rest

    def recv_more(self) -> bool:
        """Append what the socket has to the buffer; False at end of stream."""
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self.buf += data
        return True

    # -- requests -----------------------------------------------------------------------------

    def request(self, method: str, target: str, headers: dict | None = None, body=None) -> "Response":
        """Send a request and read the response head. ``body`` is bytes (sent with a length) or
        an iterable of bytes chunks (sent chunked). A reused socket that the server had already
        closed is reconnected once, for bodies that can be sent again."""
        can_retry = body is None or isinstance(body, (bytes, bytearray))
        if self.sock is None:
            self.connect()
        try:
            return self._exchange(method, target, headers, body)
        except (ConnectionError, _EmptyReply):
            if not (self.reused and can_retry):
                self.close()
                raise ProtocolError("the daemon closed the connection") from None
            self.close()
            self.connect()
            try:
                return self._exchange(method, target, headers, body)
            except (ConnectionError, _EmptyReply):
                self.close()
                raise ProtocolError("the daemon closed the connection") from None

    def _exchange(self, method, target, headers, body) -> "Response":
        self.send(method, target, headers, body)
        return self._read_head(method)

    def send(self, method: str, target: str, headers: dict | None = None, body=None) -> None:
        """Only send a request; read its response later with `read_response`. For calls whose
        reply may come late (``wait``) while other calls go on other connections."""
        if self.sock is None:
            self.connect()
        lines = [f"{method} {target} HTTP/1.1", "Host: api.moby.localhost", f"User-Agent: {USER_AGENT}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        chunked = body is not None and not isinstance(body, (bytes, bytearray))
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if chunked:
            self.sock.sendall(head)
            for piece in body:
                if piece:
                    self.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.sock.sendall(b"0\r\n\r\n")
        else:
            self.sock.sendall(head + bytes(body or b""))

    def read_response(self, method: str) -> "Response":
        """The response head of a request sent with `send`."""
        try:
            return self._read_head(method)
        except (ConnectionError, _EmptyReply):
            self.close()
            raise ProtocolError("the daemon closed the connection") from None

    def _read_head(self, method: str) -> "Response":
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > 1 << 20:
                raise ProtocolError("response head too large")
            if not self.recv_more():
                if not self.buf:
                    raise _EmptyReply()
                raise ProtocolError("connection closed in the middle of a response head")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ProtocolError(f"malformed status line: {status_line!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Response(self, int(parts[1]), parts[2] if len(parts) > 2 else "", headers, method)


class _EmptyReply(Exception):
    """The server closed the socket before sending anything (an idle keep-alive timeout)."""


class Response:
    """The status, headers and body of one response; read the body with `read`, `read_some` or
    `lines`. Once the body is read to its end the connection takes the next request."""

    def __init__(self, conn: Connection, status: int, reason: str, headers: dict, method: str) -> None:
        self.conn = conn
        self.status = status
        self.reason = reason
        self.headers = headers
        self._chunk_left = 0
        self._left = 0
        if method == "HEAD" or status < 200 or status in (204, 304):
            self._mode = _NONE
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._mode = _CHUNKED
        elif "content-length" in headers:
            self._mode = _LENGTH
            self._left = int(headers["content-length"])
        else:
            self._mode = _CLOSE
        self.done = False
        if self._mode == _NONE or (self._mode == _LENGTH and self._left == 0):
            self._finish()

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def read_some(self, limit: int = _RECV) -> bytes:
        """The next bytes of the body (at most ``limit``), waiting for at least one; b"" at end."""
        while not self.done:
            if self._mode == _CHUNKED and self._chunk_left == 0:
                if not self._next_chunk():
                    continue
            data = self._take(limit)
            if data:
                return data
        return b""

    def read(self) -> bytes:
        """The whole (rest of the) body."""
        parts = []
        while True:
            data = self.read_some()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def copy_to(self, fd: int) -> None:
        """Write the (rest of the) body to the file descriptor ``fd`` as it arrives."""
        while True:
            data = self.read_some()
            if not data:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]

    def lines(self):
        """Yield the body line by line (for newline-delimited JSON streams), without the b"\\n"."""
        pending = b""
        while True:
            data = self.read_some()
            if not data:
                if pending.strip():
                    yield pending
                return
            pending += data
            *complete, pending = pending.split(b"\n")
            for line in complete:
                if line.strip():
                    yield line

    def close(self) -> None:
        """Stop reading: the rest of the body is abandoned with the socket."""
        if not self.done:
            self.done = True
            self.conn.close()

    # -- body framing -------------------------------------------------------------------------

    def _take(self, limit: int) -> bytes:
        conn = self.conn
        if not conn.buf:
            if not conn.recv_more():
                if self._mode == _CLOSE:
                    self._finish()
                    return b""
                self.close()
                raise ProtocolError("connection closed in the middle of a response body")
        want = limit
        if self._mode == _LENGTH:
            want = min(want, self._left)
        elif self._mode == _CHUNKED:
            want = min(want, self._chunk_left)
        data = bytes(conn.buf[:want])
        del conn.buf[:want]
        if self._mode == _LENGTH:
            self._left -= len(data)
            if self._left == 0:
                self._finish()
        elif self._mode == _CHUNKED:
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                self._expect_crlf()
        return data

    def _next_chunk(self) -> bool:
        """Read a chunk-size line; on the last (zero) chunk, skip trailers and finish."""
        size_line = self._line()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self.close()
            raise ProtocolError(f"bad chunk size line {size_line!r}") from None
        if size == 0:
            while self._line():  # trailers end with an empty line
                pass
            self._finish()
            return False
        self._chunk_left = size
        return True

    def _expect_crlf(self) -> None:
        if self._line():
            self.close()
            raise ProtocolError("missing CRLF after a chunk")

    def _line(self) -> bytes:
        conn = self.conn
        while True:
            end = conn.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(conn.buf[:end])
                del conn.buf[:end + 2]
                return line
            if not conn.recv_more():
                self.close()
                raise ProtocolError("connection closed in the middle of a chunked body")

    def _finish(self) -> None:
        self.done = True
        keep = (self._mode != _CLOSE and self.status != 101
                and "close" not in self.headers.get("connection", "").lower())
        if keep:
            self.conn.reused = True
        elif self.status != 101:
            self.conn.close()


def _connect_tcp(host: str, port: int):
    last = None
    for family, kind, proto, _, addr in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.connect(addr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot resolve {host}")
