"""A monitor: the small parent of one container process (its init, or an exec'd process).

It runs single-threaded on a selector loop, so it may fork safely (the runtime forks to create).
It is a child subreaper, so the process it starts is reparented to it and its exit status reaches
it whatever the runtime's intermediate processes did.

The spec it is given (a dict, from hakod through the zygote):

    mode         "container" (create + start the init) or "exec" (run process in a running container)
    id           the container id; runtime_root: the runtime library's state directory
    dir          where the socket and exit.json live
    bundle       (container) the OCI bundle;  process: (exec) the OCI process object
    tty, stdin, stdin_once, console_size, loopback
    log          (container) {"path", "max_size", "max_file"} or None
    start_timeout  seconds to wait for `start` (default START_TIMEOUT); after that, or on an
                 `abort`, the process is never run: a created container is deleted, and the
                 monitor records an exit and ends. This is what frees a monitor whose hakod died,
                 or gave up, between create and start.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import selectors
import signal
import socket
import struct
import time

from ..linux import syscalls as sc
from . import protocol

log = logging.getLogger("hako.monitor")

MAX_CLIENT_BUFFER = 8 << 20
READ_SIZE = 65536
DRAIN_SECONDS = 2.0
START_TIMEOUT = 120.0
NEVER_STARTED = 126      # the exit code of a process that never ran (Docker's "cannot invoke")


class Client:
    """One attached connection."""

    def __init__(self, sock: socket.socket, request: dict):
        self.sock = sock
        self.stdout = bool(request.get("stdout"))
        self.stderr = bool(request.get("stderr"))
        self.stdin = bool(request.get("stdin"))
        self.out = bytearray()


class ChildFailed(Exception):
    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class Monitor:
    def __init__(self, spec: dict, status_fd: int):
        self.spec = spec
        self.status_fd = status_fd
        self.dir = spec["dir"]
        self.tty = bool(spec.get("tty"))
        self.selector = selectors.DefaultSelector()
        self.clients: list[Client] = []
        self.watchers: list[socket.socket] = []
        self.pending: dict[socket.socket, bytearray] = {}
        self.outputs: dict[int, int] = {}        # fd → stream (1 stdout, 2 stderr)
        self.stdin_fd: int | None = None
        self.stdin_buffer = bytearray()
        self.stdin_closing = False
        self.child_fds: list[int] = []           # the container's ends, until it has them
        self.pid = 0
        self.exit_record: dict | None = None
        self.started = False
        self.deleted = False
        self.start_deadline = time.monotonic() + float(spec.get("start_timeout") or START_TIMEOUT)
        self.logger = None
        self.console_listener = None
        from ..runtime.runtime import Runtime

        self.runtime = Runtime(spec["runtime_root"])

    # life
    def run(self) -> int:
        os.makedirs(self.dir, exist_ok=True)
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
        self._install_signals()
        self.listener = self._listen()
        try:
            self._prepare_stdio()
            if self.spec["mode"] == "container":
                self._create()
            report = {"created": os.getpid(), "init": self.pid}
            if self.spec.get("autostart"):
                # Nobody is waiting to attach first: start now and save hakod a round trip.
                report.update(self._start())
            self._report(report)
        except Exception as exc:  # noqa: BLE001 - every failure is reported to hakod, then we go
            self._report({"error": _message(exc), "kind": getattr(exc, "kind", type(exc).__name__)})
            if self.pid and self.spec["mode"] == "container":
                try:
                    self.runtime.delete(self.spec["id"], force=True)
                except Exception as cleanup_exc:  # noqa: BLE001 - the error above is the one that matters
                    log.warning("deleting %s after a failed start: %s", self.spec["id"], cleanup_exc)
            self._cleanup_failed()
            return 1
        os.close(self.status_fd)
        self._loop()
        return 0

    def _listen(self) -> socket.socket:
        path = protocol.socket_path(self.dir)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(64)
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, self._accept)
        return sock

    def _install_signals(self) -> None:
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.signal_fd = rfd
        signal.set_wakeup_fd(wfd)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # The monitor must survive TERM, INT, HUP and PIPE, but it must not *ignore* them: an
        # ignored signal stays ignored across execve (signal(7)), so the container's process
        # would inherit it, and a shell cannot even trap a signal ignored at entry (POSIX) -
        # `docker stop` would never reach it. A caught signal is reset to its default by execve,
        # so a no-op handler protects the monitor and leaves the container Docker's defaults.
        # The same goes for whatever Python or our launcher left ignored (SIGPIPE, SIGXFSZ,
        # SIGQUIT from a background shell).
        for sig in _ignorable_signals():
            if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE) \
                    or signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, _ignore)
        self.selector.register(rfd, selectors.EVENT_READ, self._on_signal)

    def _report(self, message: dict) -> None:
        try:
            os.write(self.status_fd, protocol.encode(message))
        except OSError:
            pass

    # stdio
    def _prepare_stdio(self) -> None:
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
        if self.spec.get("stdin"):
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

    def _with_child_stdio(self, action):
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

    def _release_child_stdio(self) -> None:
        for fd in set(self.child_fds):
            os.close(fd)
        self.child_fds = []

    def _options(self, cls):
        return cls(console_socket=self.console_path) if self.tty else cls()

    def _receive_console(self) -> None:
        from ..runtime import console

        master = console.receive_master(self.console_listener)
        self.console_listener.close()
        os.unlink(self.console_path)
        h, w = self.spec.get("console_size") or (0, 0)
        if h and w:
            console.set_size(master, h, w)
        os.set_blocking(master, False)
        self.outputs[master] = protocol.STDOUT
        self.stdin_fd = master if self.spec.get("stdin") else None
        self.master = master

    # the process
    def _in_child(self, action) -> int:
        """Run ``action`` (the runtime's create or exec, returning a pid) in a short-lived child.

        The runtime parses the OCI config, the seccomp program and more; done here, all that would
        dirty pages this monitor shares with the zygote and stay for the container's whole life.
        The process it starts is reparented to us (we are its subreaper) when the child exits."""
        r, w = os.pipe2(os.O_CLOEXEC)
        child = os.fork()
        if child == 0:
            os.close(r)
            try:
                message = {"pid": action()}
            except BaseException as exc:  # noqa: BLE001 - reported to the monitor, then to hakod
                message = {"error": _message(exc), "kind": type(exc).__name__}
            os.write(w, json.dumps(message).encode() + b"\n")
            os._exit(0)
        os.close(w)
        # Up to the newline, not EOF: the container's init holds a copy of the write end until it
        # execs (the end is close-on-exec), and it does not exec before `start`.
        chunks = []
        while (chunk := os.read(r, 65536)) and not chunk.endswith(b"\n"):
            chunks.append(chunk)
        chunks.append(chunk)
        os.close(r)
        os.waitpid(child, 0)
        try:
            message = json.loads(b"".join(chunks))
        except ValueError:
            raise ChildFailed("the runtime's child died without a word", "SystemError") from None
        if "error" in message:
            raise ChildFailed(message["error"], message["kind"])
        return message["pid"]

    def _create(self) -> None:
        from ..runtime.create import CreateOptions

        self.pid = self._in_child(lambda: self._with_child_stdio(
            lambda: self.runtime.create(self.spec["id"], self.spec["bundle"], self._options(CreateOptions)).pid))
        if self.tty:
            self._receive_console()
        self._release_child_stdio()
        if self.spec.get("loopback"):
            _loopback_up(self.pid)
        self._open_logger()
        for fd in self.outputs:
            self.selector.register(fd, selectors.EVENT_READ, self._on_output)

    def _open_logger(self) -> None:
        spec = self.spec.get("log")
        if not spec:
            return
        from ..containers.logs import JsonFileWriter

        self.logger = JsonFileWriter(spec["path"], spec.get("max_size"), spec.get("max_file") or 1)

    def _start(self) -> dict:
        if self.started:
            return {"error": "already started"}
        if self.spec["mode"] == "container":
            self.runtime.start(self.spec["id"])
        else:
            from ..runtime.exec import ExecOptions

            self.pid = self._in_child(lambda: self._with_child_stdio(
                lambda: self.runtime.exec(self.spec["id"], self.spec["process"], self._options(ExecOptions))))
            if self.tty:
                self._receive_console()
            self._release_child_stdio()
            for fd in self.outputs:
                self.selector.register(fd, selectors.EVENT_READ, self._on_output)
        self.started = True
        if self.stdin_fd is not None and self.stdin_buffer:
            self._flush_stdin()
        return {"pid": self.pid}

    def _cleanup_failed(self) -> None:
        for fd in set(self.child_fds):
            os.close(fd)
        try:
            os.unlink(protocol.socket_path(self.dir))
        except OSError:
            pass

    # the loop
    def _loop(self) -> None:
        while self.exit_record is None or self._pending_output():
            if self.exit_record is not None:
                timeout = 0.05
            elif not self.started:
                timeout = max(0.0, self.start_deadline - time.monotonic())
            else:
                timeout = None
            for key, events in self.selector.select(timeout):
                key.data(key.fileobj, events)
            if not self.started and self.exit_record is None and time.monotonic() >= self.start_deadline:
                log.warning("%s %s was never started: giving up", self.spec["mode"], self.spec["id"][:12])
                self._abandon("the process was never started")
        self._finish()

    def _pending_output(self) -> bool:
        return any(c.out for c in self.clients)

    def _accept(self, listener, _events) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self.pending[conn] = bytearray()
        self.selector.register(conn, selectors.EVENT_READ, self._on_request)

    def _on_request(self, conn, _events) -> None:
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
        self._dispatch(conn, request, rest)

    def _dispatch(self, conn: socket.socket, request: dict, rest: bytes) -> None:
        op = request.get("op")
        if op == "attach":
            client = Client(conn, request)
            self.clients.append(client)
            self.selector.register(conn, selectors.EVENT_READ, self._on_client)
            if rest:
                self._stdin_data(client, rest)
        elif op == "start":
            try:
                reply = self._start()
            except Exception as exc:  # noqa: BLE001 - reported to hakod
                reply = {"error": _message(exc), "kind": getattr(exc, "kind", type(exc).__name__)}
                self._send_now(conn, reply)
                conn.close()
                self._fail_start(reply)
                return
            self._send_now(conn, reply)
            conn.close()
        elif op == "abort":
            started = self.started
            if not started and self.exit_record is None:
                self._abandon(request.get("reason") or "start aborted")
            self._send_now(conn, {"started": started, "pid": self.pid, "exit": self.exit_record})
            conn.close()
        elif op == "resize":
            if self.tty and hasattr(self, "master"):
                from ..runtime import console

                console.set_size(self.master, int(request.get("h", 0)), int(request.get("w", 0)))
            self._send_now(conn, {})
            conn.close()
        elif op == "watch":
            if self.exit_record is not None:
                self._send_now(conn, {"exit": self.exit_record})
                conn.close()
            else:
                self.watchers.append(conn)
                self.selector.register(conn, selectors.EVENT_READ, self._on_watcher)
        else:
            self._send_now(conn, {"error": f"unknown op {op!r}"})
            conn.close()

    def _abandon(self, reason: str) -> None:
        """The process will never run: delete the created container at once (its init only waits
        for `start`, so there is no output to drain), then end as any exit does."""
        if self.spec["mode"] == "container":
            self._delete_container()
        self._release_child_stdio()
        self._exited(NEVER_STARTED, error=reason)

    def _delete_container(self) -> None:
        if self.deleted:
            return
        self.deleted = True
        try:
            self.runtime.delete(self.spec["id"], force=True)
        except Exception as exc:  # noqa: BLE001 - the exit is still recorded
            log.warning("deleting container %s: %s", self.spec["id"], exc)

    def _fail_start(self, reply: dict) -> None:
        """A start that failed (exec of a missing binary): record it as the process's end."""
        code = 127 if "not found" in reply["error"] or "no such file" in reply["error"].lower() else 126
        self._exited(code, error=reply["error"])

    def _on_watcher(self, conn, _events) -> None:
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.watchers.remove(conn)
            self._drop(conn)

    def _on_client(self, conn, events) -> None:
        client = next((c for c in self.clients if c.sock is conn), None)
        if client is None:
            return
        if events & selectors.EVENT_WRITE:
            self._flush_client(client)
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
            if client.stdin and self.spec.get("stdin_once") and not self.tty:
                self.stdin_closing = True
                self._flush_stdin()
            client.stdin = False
            self._modify(client)

    def _modify(self, client: Client) -> None:
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

    # stdin
    def _stdin_data(self, client: Client, data: bytes) -> None:
        if not client.stdin or self.stdin_fd is None:
            return
        self.stdin_buffer += data
        if self.started:
            self._flush_stdin()

    def _flush_stdin(self, *_args) -> None:
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
        try:
            if on:
                self.selector.register(self.stdin_fd, selectors.EVENT_WRITE, self._flush_stdin)
            else:
                self.selector.unregister(self.stdin_fd)
        except (KeyError, ValueError):
            pass

    # output
    def _on_output(self, fd, _events) -> None:
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
        self._emit(self.outputs[fd], data)

    def _close_output(self, fd: int) -> None:
        try:
            self.selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        self.outputs.pop(fd, None)
        if fd != self.stdin_fd:
            os.close(fd)

    def _emit(self, stream: int, data: bytes) -> None:
        if self.logger is not None:
            self.logger.write("stdout" if stream == protocol.STDOUT else "stderr", data)
        framed = data if self.tty else protocol.frame(stream, data)
        for client in list(self.clients):
            if (stream == protocol.STDOUT and client.stdout) or (stream == protocol.STDERR and client.stderr):
                if len(client.out) > MAX_CLIENT_BUFFER:
                    self._remove_client(client)   # a reader that stopped reading: let it go
                    continue
                client.out += framed
                self._flush_client(client)

    def _flush_client(self, client: Client) -> None:
        while client.out:
            try:
                n = client.sock.send(client.out)
            except BlockingIOError:
                break
            except OSError:
                self._remove_client(client)
                return
            del client.out[:n]
        self._modify(client)

    def _remove_client(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        self._drop(client.sock)

    def _drop(self, conn) -> None:
        self.pending.pop(conn, None)
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _send_now(self, conn: socket.socket, message: dict) -> None:
        conn.setblocking(True)
        try:
            conn.sendall(protocol.encode(message))
        except OSError:
            pass

    # exit
    def _on_signal(self, fd, _events) -> None:
        try:
            os.read(fd, 512)
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid and self.started and self.exit_record is None:
                code = os.waitstatus_to_exitcode(status)
                self._exited(code if code >= 0 else 128 - code)

    def _exited(self, code: int, error: str = "") -> None:
        self._drain()
        oom = False
        if self.spec["mode"] == "container" and not self.deleted:
            oom = self._oom_killed()
            self._delete_container()
        if self.logger is not None:
            self.logger.close()
            self.logger = None
        self.exit_record = {"code": code, "finished": time.time(), "oom": oom, "error": error}
        protocol.write_exit(self.dir, self.exit_record)
        for conn in self.watchers:
            self._send_now(conn, {"exit": self.exit_record})
            conn.close()
        self.watchers.clear()
        try:
            self.selector.unregister(self.listener)
        except (KeyError, ValueError):
            pass

    def _drain(self) -> None:
        """Read what the process wrote before it died, until EOF (or a grandchild keeps it open)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.outputs and time.monotonic() < deadline:
            for fd in list(self.outputs):
                self._on_output(fd, selectors.EVENT_READ)
            if self.outputs:
                time.sleep(0.005)

    def _oom_killed(self) -> bool:
        try:
            stats = self.runtime.stats(self.spec["id"])
        except Exception:  # noqa: BLE001 - best effort
            return False
        memory = stats.get("memory", {}) if isinstance(stats, dict) else {}
        return bool(memory.get("oom_kill") or memory.get("oomKill"))

    def _finish(self) -> None:
        for client in self.clients:
            try:
                client.sock.setblocking(True)
                client.sock.settimeout(1.0)
                if client.out:
                    client.sock.sendall(client.out)
                client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.sock.close()
        for fd in list(self.outputs):
            self._close_output(fd)
        try:
            os.unlink(protocol.socket_path(self.dir))
        except OSError:
            pass
        self.listener.close()


def _loopback_up(pid: int) -> None:
    """Bring up `lo` in the process's new network namespace (what CNI's loopback plugin does)."""
    child = os.fork()
    if child == 0:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            sc.setns(fd, sc.CLONE_NEWNET)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                ifreq = struct.pack("16sH14x", b"lo", 0)
                flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifreq))[1]   # SIOCGIFFLAGS
                fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1))   # SIOCSIFFLAGS, IFF_UP
            os._exit(0)
        except BaseException:  # noqa: BLE001 - the child must never return into the monitor
            os._exit(1)
    _, status = os.waitpid(child, 0)
    if status != 0:
        raise OSError("could not bring up the loopback interface")


def _ignore(_signum, _frame) -> None:
    """A handler that does nothing: the signal is caught, so execve resets it to its default."""


def _ignorable_signals() -> list[int]:
    """Every signal a handler may be installed for: all but KILL and STOP (valid_signals() already
    leaves out the real-time signals glibc keeps for itself)."""
    return sorted(int(s) for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
