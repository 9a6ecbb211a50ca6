"""Attached clients: connections that receive the process's output and may write to its stdin.

An `attach` request (protocol.py) turns its connection into a `Client`. From then on the monitor
writes to it the streams it asked for, as Docker's multiplexed frames (raw bytes with a TTY), and
reads from it bytes for the process's stdin, until hakod shuts its side down (stdin's EOF).

Nothing here blocks: each client has its own output buffer, flushed whenever its socket is
writable. A client whose buffer grows past MAX_CLIENT_BUFFER has stopped reading and is let go,
so one stuck reader never holds up the process, the log or the other clients.
"""

from __future__ import annotations

import contextlib
import selectors
import socket

from . import protocol
from .stdio import READ_SIZE, Stdio

MAX_CLIENT_BUFFER = 8 << 20


class Client:
    """One attached connection."""

    def __init__(self, sock: socket.socket, request: dict):
        self.sock = sock
        self.stdout = bool(request.get("stdout"))
        self.stderr = bool(request.get("stderr"))
        self.stdin = bool(request.get("stdin"))
        self.out = bytearray()


class Clients:
    """Every attached client of one process, on the monitor's selector."""

    def __init__(self, selector: selectors.BaseSelector, stdio: Stdio, *, tty: bool, stdin_once: bool):
        self.selector = selector
        self.stdio = stdio
        self.tty = tty
        self.stdin_once = stdin_once
        self.attached: list[Client] = []

    def attach(self, conn: socket.socket, request: dict, rest: bytes) -> None:
        """Take ``conn`` on as a client; ``rest`` is what it sent after its request line (stdin)."""
        client = Client(conn, request)
        self.attached.append(client)
        self.selector.register(conn, selectors.EVENT_READ, self._on_client)
        if rest:
            self._stdin_data(client, rest)

    def broadcast(self, stream: int, data: bytes) -> None:
        """Send the process's output on ``stream`` to every client that asked for it."""
        framed = data if self.tty else protocol.frame(stream, data)
        for client in list(self.attached):
            if (stream == protocol.STDOUT and client.stdout) or (stream == protocol.STDERR and client.stderr):
                if len(client.out) > MAX_CLIENT_BUFFER:
                    self._remove(client)   # a reader that stopped reading: let it go
                    continue
                client.out += framed
                self._flush(client)

    def pending_output(self) -> bool:
        return any(c.out for c in self.attached)

    def close_all(self) -> None:
        """The monitor is ending: hand each client what is left for it (briefly), then hang up."""
        for client in self.attached:
            try:
                client.sock.setblocking(True)
                client.sock.settimeout(1.0)
                if client.out:
                    client.sock.sendall(client.out)
                client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.sock.close()

    def _on_client(self, conn, events) -> None:
        client = next((c for c in self.attached if c.sock is conn), None)
        if client is None:
            return
        if events & selectors.EVENT_WRITE:
            self._flush(client)
        if events & selectors.EVENT_READ:
            try:
                data = conn.recv(READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data:
                self._stdin_data(client, data)
                return
            # hakod shut down its side: the client's stdin ended. With StdinOnce that closes the
            # process's stdin - but only without a TTY, as dockerd (container/stream/attach.go:
            # `cfg.CloseStdin && !cfg.TTY`): a terminal's session just ends (a detach), and the
            # shell in it goes on.
            if client.stdin and self.stdin_once and not self.tty:
                self.stdio.end_stdin()
            client.stdin = False
            self._modify(client)

    def _stdin_data(self, client: Client, data: bytes) -> None:
        if client.stdin:
            self.stdio.feed(data)

    def _modify(self, client: Client) -> None:
        """Watch the client's socket for what it is waiting on: writable with output buffered,
        readable while its stdin is open; neither, and it is left alone."""
        events = selectors.EVENT_WRITE if client.out else 0
        if client.stdin:
            events |= selectors.EVENT_READ
        try:
            if events:
                self.selector.modify(client.sock, events, self._on_client)
            else:
                self.selector.unregister(client.sock)
        except (KeyError, ValueError):
            if events:
                self.selector.register(client.sock, events, self._on_client)

    def _flush(self, client: Client) -> None:
        while client.out:
            try:
                n = client.sock.send(client.out)
            except BlockingIOError:
                break
            except OSError:
                self._remove(client)
                return
            del client.out[:n]
        self._modify(client)

    def _remove(self, client: Client) -> None:
        if client in self.attached:
            self.attached.remove(client)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(client.sock)
        client.sock.close()
