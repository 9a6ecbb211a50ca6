"""The process's stdio, from the monitor's side: three pipes, or a pty the runtime sends back.

Lifecycle, as the monitor drives it:

    stdio = Stdio(selector, directory, tty=…, stdin=…, console_size=…, on_output=callback)
    stdio.prepare()                       # pipes, or a socket for the pty's master
    stdio.run_with(lambda: runtime…)      # the runtime's children inherit the process's ends
    stdio.runtime_ran()                   # take the pty; close our copies of the process's ends
    stdio.watch_output()                  # output now reaches callback(stream, bytes) from the loop
    stdio.process_started()               # stdin buffered so far flows to the process

Stdin arrives with `feed` (bytes from an attached client) and ends with `end_stdin` (a StdinOnce
client's EOF). When the process has exited, `drain` reads what it left in the pipes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import socket
import time
from typing import Callable

from . import protocol

log = logging.getLogger(__name__)

READ_SIZE = 65536


class Stdio:
    """The monitor's ends of one process's stdin, stdout and stderr, on the monitor's selector."""

    def __init__(self, selector: selectors.BaseSelector, directory: str, *, tty: bool, stdin: bool,
                 console_size, on_output: Callable[[int, bytes], None]):
        self.selector = selector
        self.dir = directory
        self.tty = tty
        self.stdin = stdin                       # does the process get a stdin at all
        self.console_size = console_size
        self.on_output = on_output
        self.outputs: dict[int, int] = {}        # fd → stream (1 stdout, 2 stderr)
        self.stdin_fd: int | None = None
        self.stdin_buffer = bytearray()
        self.stdin_closing = False
        self.started = False                     # stdin is only written once the process runs
        self.child_fds: list[int] = []           # the container's ends, until it has them
        self.console_listener = None
        self.console_path = ""
        self.master: int | None = None

    # before and around the runtime
    def prepare(self) -> None:
        """The process's stdio: a pty (received from the runtime later) or three pipes."""
        if self.tty:
            path = os.path.join(self.dir, "console.sock")
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.console_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console_listener.bind(path)
            self.console_listener.listen(1)
            self.console_path = path
            null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
            self.child_fds = [null, null, null]
            return
        if self.stdin:
            r, w = os.pipe2(os.O_CLOEXEC)
            self.stdin_fd = w
            os.set_blocking(w, False)
            child_in = r
        else:
            child_in = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        for fd, stream in ((out_r, protocol.STDOUT), (err_r, protocol.STDERR)):
            os.set_blocking(fd, False)
            self.outputs[fd] = stream
        self.child_fds = [child_in, out_w, err_w]

    def options(self, cls):
        """The runtime's create or exec options: with a TTY, where to send the pty's master."""
        return cls(console_socket=self.console_path) if self.tty else cls()

    def run_with(self, action):
        """Run ``action`` with the process's stdio on fds 0-2, which the runtime's children inherit."""
        saved = [os.dup(fd) for fd in (0, 1, 2)]
        try:
            for target, fd in enumerate(self.child_fds):
                os.dup2(fd, target)
            return action()
        finally:
            for target, fd in enumerate(saved):
                os.dup2(fd, target)
                os.close(fd)

    def runtime_ran(self) -> None:
        """The runtime has set the process up: take the pty's master (with a TTY), and close our
        copies of the process's ends, so that its output ends (EOF) when the process's copies go."""
        if self.tty:
            self._receive_console()
        self.release_child()

    def release_child(self) -> None:
        """Close our copies of the process's ends (it has them, or it never will)."""
        for fd in set(self.child_fds):
            os.close(fd)
        self.child_fds = []

    def _receive_console(self) -> None:
        from ..runtime import console

        master = console.receive_master(self.console_listener)
        self.console_listener.close()
        os.unlink(self.console_path)
        h, w = self.console_size or (0, 0)
        if h and w:
            console.set_size(master, h, w)
        os.set_blocking(master, False)
        self.outputs[master] = protocol.STDOUT
        self.stdin_fd = master if self.stdin else None
        self.master = master

    def resize(self, h, w) -> None:
        """Set the pty's size; without a pty (yet), nothing to do."""
        if self.tty and self.master is not None:
            from ..runtime import console

            console.set_size(self.master, int(h), int(w))

    # stdin
    def feed(self, data: bytes) -> None:
        """Bytes for the process's stdin: buffered, and written once the process has started."""
        if self.stdin_fd is None:
            return
        self.stdin_buffer += data
        if self.started:
            self.flush_stdin()

    def process_started(self) -> None:
        """The process runs: write what was buffered for its stdin before it started."""
        self.started = True
        if self.stdin_fd is not None and self.stdin_buffer:
            self.flush_stdin()

    def end_stdin(self) -> None:
        """Close the process's stdin, once what is buffered for it has been written."""
        self.stdin_closing = True
        self.flush_stdin()

    def flush_stdin(self, *_args) -> None:
        fd = self.stdin_fd
        if fd is None:
            return
        while self.stdin_buffer:
            try:
                n = os.write(fd, self.stdin_buffer)
            except BlockingIOError:
                break
            except OSError:
                self.stdin_buffer.clear()
                break
            del self.stdin_buffer[:n]
        if self.stdin_buffer:
            self._watch_stdin(True)
            return
        self._watch_stdin(False)
        if self.stdin_closing:
            os.close(fd)
            self.stdin_fd = None

    def _watch_stdin(self, on: bool) -> None:
        if self.tty:
            return   # the master is registered for reading already; a full pty buffer is rare
        with contextlib.suppress(KeyError, ValueError):
            if on:
                self.selector.register(self.stdin_fd, selectors.EVENT_WRITE, self.flush_stdin)
            else:
                self.selector.unregister(self.stdin_fd)

    # output
    def watch_output(self) -> None:
        for fd in self.outputs:
            self.selector.register(fd, selectors.EVENT_READ, self._on_readable)

    def _on_readable(self, fd, _events) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:     # EIO: the pty's other side has gone
                log.warning("reading output: %s", exc)
            data = b""
        if not data:
            self._close_output(fd)
            return
        self.on_output(self.outputs[fd], data)

    def drain(self, seconds: float) -> None:
        """Read what the process wrote before it died, until EOF (or a grandchild keeps it open)."""
        deadline = time.monotonic() + seconds
        while self.outputs and time.monotonic() < deadline:
            for fd in list(self.outputs):
                self._on_readable(fd, selectors.EVENT_READ)
            if self.outputs:
                time.sleep(0.005)

    def close_outputs(self) -> None:
        for fd in list(self.outputs):
            self._close_output(fd)

    def _close_output(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(fd)
        self.outputs.pop(fd, None)
        if fd != self.stdin_fd:
            os.close(fd)
