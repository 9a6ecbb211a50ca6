"""The message channel between the runtime and the processes it forks into the container.

One socketpair carries newline-delimited JSON objects, e.g. ``{"type": "pid", "pid": 123}``. The
child end is close-on-exec, so the parent reads EOF when the container process execs.
"""

from __future__ import annotations

import json
import os
import socket

from .errors import ContainerError


class Channel:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buffer = b""

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return cls(parent), cls(child)

    def send(self, kind: str, **fields) -> None:
        fields["type"] = kind
        self.sock.sendall(json.dumps(fields).encode() + b"\n")

    def recv(self) -> dict | None:
        """The next message, or None at EOF (the peer exec'd or died)."""
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def expect(self, kind: str) -> dict:
        """Wait for a message of ``kind``; a child's error message becomes a ContainerError."""
        message = self.recv()
        if message is None:
            raise ContainerError(f"container init exited before {kind}")
        if message["type"] == "error":
            raise ContainerError(message["message"])
        if message["type"] != kind:
            raise ContainerError(f"container init: expected {kind}, got {message['type']}")
        return message

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


def child_fail(channel: Channel, message: str) -> None:
    """Report an error to the runtime and end the child process without running atexit handlers."""
    try:
        channel.send("error", message=message)
    finally:
        os._exit(1)
