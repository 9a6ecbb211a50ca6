"""Moving bytes between the user's terminal and a hijacked attach/exec connection.

After the ``101`` the socket is a raw pipe: what the container writes comes back (framed by
`mux` unless the session has a TTY), what we send is its stdin, unframed. `pump` runs both
directions in one `select` loop, with no threads:

- output is written to ``out_fd``/``err_fd`` as it arrives (demultiplexed when not a TTY);
- stdin, if given, is forwarded; at its end the write side is shut down (``SHUT_WR``) so the
  container sees EOF, and output is read on until the daemon closes: that is how
  ``echo hi | hako run -i busybox cat`` finishes. Without stdin the write side is shut down at
  once, as docker does;
- an optional `EscapeMatcher` watches stdin for the detach keys (TTY sessions) and ends the pump
  with `Detached`;
- an optional wake-up fd (a signal handler's self-pipe) calls ``on_wakeup`` from the loop, so
  SIGWINCH resizes and forwarded signals are handled between reads; ``on_wakeup`` drains it.

The pump returns when the daemon closes the stream.
"""

from __future__ import annotations

import _socket
import os
import select

from .errors import ProtocolError
from .mux import STDERR, SYSERR, Demuxer

_READ = 32768


class StreamError(ProtocolError):
    """The daemon reported an error inside the stream (a frame on stream 3)."""


def pump(sock, leftover: bytes, *, out_fd: int, err_fd: int, tty: bool,
         stdin_fd: int | None = None, escape=None, wakeup_fd: int | None = None,
         on_wakeup=None) -> None:
    """Run the session until the daemon closes it (see the module docstring)."""
    demux = None if tty else Demuxer()
    sock.setblocking(False)
    pending = bytearray()       # stdin bytes not yet accepted by the socket
    stdin_open = stdin_fd is not None
    if not stdin_open:
        _shutdown_write(sock)

    def deliver(data: bytes) -> None:
        if demux is None:
            _write_all(out_fd, data)
            return
        for stream, payload in demux.feed(data):
            if stream == SYSERR:
                raise StreamError(f"error from daemon in stream: {payload.decode(errors='replace')}")
            _write_all(err_fd if stream == STDERR else out_fd, payload)

    if leftover:
        deliver(leftover)
    while True:
        readers = [sock]
        if stdin_open and not pending:
            readers.append(stdin_fd)
        if wakeup_fd is not None:
            readers.append(wakeup_fd)
        try:
            readable, writable, _ = select.select(readers, [sock] if pending else [], [])
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            continue
        if wakeup_fd is not None and wakeup_fd in readable:
            on_wakeup()
        if sock in readable:
            try:
                data = sock.recv(_READ)
            except BlockingIOError:
                data = None
            except ConnectionResetError:
                data = b""
            if data == b"":
                return
            if data:
                deliver(data)
        if pending and sock in writable:
            try:
                sent = sock.send(pending)
            except BlockingIOError:
                sent = 0
            except (BrokenPipeError, ConnectionResetError):
                pending.clear()
                stdin_open = False
                continue
            del pending[:sent]
            if not pending and not stdin_open:
                _shutdown_write(sock)
        if stdin_open and stdin_fd in readable:
            data = os.read(stdin_fd, _READ)
            if escape is not None and data:
                data = escape.feed(data)  # may raise Detached
                if not data:
                    continue
            if data:
                pending += data
            else:
                stdin_open = False
                if not pending:
                    _shutdown_write(sock)


def _shutdown_write(sock) -> None:
    try:
        sock.shutdown(_socket.SHUT_WR)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]
