"""The monitor's unix socket: where hakod's requests (protocol.py) arrive.

Every connection starts with one JSON line. The server reads it without blocking, then hands the
connection, the request and any bytes that came after the line to ``on_request``. The handler
either answers at once (`reply`), or keeps the connection: as an attached client, or as a watcher
(`watch`), which is answered with the exit record when the process has exited (`exited`).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
from typing import Callable

from . import protocol


class Server:
    """The listening socket, the connections whose request line is still coming, and the watchers."""

    def __init__(self, selector: selectors.BaseSelector, directory: str,
                 on_request: Callable[[socket.socket, dict, bytes], None]):
        self.selector = selector
        self.path = protocol.socket_path(directory)
        self.on_request = on_request
        self.listener: socket.socket | None = None
        self.pending: dict[socket.socket, bytearray] = {}   # connection → its request line so far
        self.watchers: list[socket.socket] = []

    def listen(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.path)
        os.chmod(self.path, 0o600)
        sock.listen(64)
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, self._accept)
        self.listener = sock

    def reply(self, conn: socket.socket, message: dict) -> None:
        """Answer a request and hang up. The reply is small: sent blocking, whatever it costs."""
        conn.setblocking(True)
        try:
            conn.sendall(protocol.encode(message))
        except OSError:
            pass
        conn.close()

    def watch(self, conn: socket.socket) -> None:
        """Answer ``conn`` when the process has exited; until then, notice if it hangs up."""
        self.watchers.append(conn)
        self.selector.register(conn, selectors.EVENT_READ, self._on_watcher)

    def exited(self, exit_record: dict) -> None:
        """The process has exited: answer the watchers, and take no more connections."""
        for conn in self.watchers:
            self.reply(conn, {"exit": exit_record})
        self.watchers.clear()
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.listener)

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
        if self.listener is not None:
            self.listener.close()

    def _accept(self, listener, _events) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.pending[conn] = bytearray()
        self.selector.register(conn, selectors.EVENT_READ, self._on_request_data)

    def _on_request_data(self, conn, _events) -> None:
        buf = self.pending[conn]
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buf += data
        if b"\n" not in buf:
            return
        line, _, rest = bytes(buf).partition(b"\n")
        del self.pending[conn]
        self.selector.unregister(conn)
        try:
            request = json.loads(line)
        except ValueError:
            conn.close()
            return
        self.on_request(conn, request, rest)

    def _on_watcher(self, conn, _events) -> None:
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.watchers.remove(conn)
            self._drop(conn)

    def _drop(self, conn) -> None:
        self.pending.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        conn.close()

