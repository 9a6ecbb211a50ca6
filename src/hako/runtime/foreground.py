"""`run` and `exec` without --detach: the CLI stays as the container process's parent.

The CLI makes itself a child subreaper before forking, so the process (a grandchild) is
reparented to it and its exit status can be collected. With a terminal and no --console-socket,
the CLI receives the pty master itself and copies between it and its own stdio, as runc does.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket

from ..linux import syscalls as sc
from . import console
from .errors import ConfigError
from .runtime import Runtime, wait_for_exit

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                     signal.SIGUSR1, signal.SIGUSR2)


def run_container(runtime: Runtime, container_id: str, bundle: str, options, detach: bool, keep: bool) -> int:
    terminal = _wants_terminal(bundle)
    if detach:
        if terminal and not options.console_socket:
            raise ConfigError("cannot allocate tty if hako-runtime will detach without setting console socket")
        runtime.create(container_id, bundle, options)
        runtime.start(container_id)
        return 0
    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    with _ConsoleListener(terminal and not options.console_socket) as listener:
        if listener.path:
            options.console_socket = listener.path
        state = runtime.create(container_id, bundle, options)
        try:
            master = listener.receive()
            _forward_signals(state.pid, master)
            runtime.start(container_id)
            status = _proxy_tty(master, state.pid) if master is not None else wait_for_exit(state.pid)
        finally:
            if not keep:
                runtime.delete(container_id, force=True)
    return status


def exec_in_container(runtime: Runtime, container_id: str, process: dict, args) -> int:
    from .exec import ExecOptions

    terminal = bool(process.get("terminal"))
    if args.detach:
        if terminal and not args.console_socket:
            raise ConfigError("cannot allocate tty if hako-runtime will detach without setting console socket")
    else:
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    with _ConsoleListener(terminal and not args.console_socket and not args.detach) as listener:
        if listener.path and process.get("terminal"):
            size = console.get_size(0)
            if size:
                process["consoleSize"] = {"height": size[0], "width": size[1]}
        options = ExecOptions(console_socket=listener.path or args.console_socket, pid_file=args.pid_file,
                              preserve_fds=args.preserve_fds)
        pid = runtime.exec(container_id, process, options)
        if args.detach:
            return 0
        master = listener.receive()
        _forward_signals(pid, master)
        return _proxy_tty(master, pid) if master is not None else wait_for_exit(pid)


def _wants_terminal(bundle: str) -> bool:
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            return bool(json.load(f).get("process", {}).get("terminal"))
    except (OSError, ValueError, AttributeError):
        return False  # create reports the problem with the config properly


class _ConsoleListener:
    """A private console socket for when the CLI itself holds the pty master."""

    def __init__(self, wanted: bool):
        self.path = None
        self._dir = None
        self._sock = None
        if wanted:
            import tempfile

            self._dir = tempfile.mkdtemp(prefix="hako-console-")
            self.path = os.path.join(self._dir, "console.sock")
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.bind(self.path)
            self._sock.listen(1)

    def receive(self) -> int | None:
        if self._sock is None:
            return None
        self._sock.settimeout(10)
        return console.receive_master(self._sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._sock is not None:
            self._sock.close()
            os.unlink(self.path)
            os.rmdir(self._dir)


def _forward_signals(pid: int, master: int | None) -> None:
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED_SIGNALS:
        signal.signal(sig, forward)
    if master is not None:
        def resize(_signum, _frame):
            size = console.get_size(0)
            if size:
                console.set_size(master, *size)

        signal.signal(signal.SIGWINCH, resize)
        resize(None, None)


def _proxy_tty(master: int, pid: int) -> int:
    """Copy stdin to the pty and the pty to stdout until the process exits."""
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
    stdin_open = True
    status = None
    try:
        while True:
            readers = [master] + ([0] if stdin_open else [])
            try:
                ready, _, _ = select.select(readers, [], [], 0.1)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every slave fd is closed
                    data = b""
                if data:
                    os.write(1, data)
                else:
                    status = wait_for_exit(pid)  # every slave fd closed: the process is ending
                    break
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    stdin_open = False
            if status is None and not ready:
                status = _exited(pid)
                if status is not None:
                    _drain(master)
                    break
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)
    return status if status is not None else wait_for_exit(pid)


def _exited(pid: int) -> int | None:
    try:
        done, raw = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 255
    if not done:
        return None
    return os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else 128 + os.WTERMSIG(raw)


def _drain(master: int) -> None:
    while select.select([master], [], [], 0)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        os.write(1, data)
