"""A monitor: the small parent of one container process (its init, or an exec'd process).

It runs single-threaded on a selector loop, so it may fork safely (the runtime forks to create).
It is a child subreaper, so the process it starts is reparented to it and its exit status reaches
it whatever the runtime's intermediate processes did.

The spec it is given (a dict, from hakod through the zygote):

    mode         "container" (create + start the init) or "exec" (run process in a running container)
    id           the container id; runtime_root: the runtime library's state directory
    dir          where the socket and exit.json live
    bundle       (container) the OCI bundle;  process: (exec) the OCI process object
    tty, stdin, stdin_once, console_size
    log          (container) {"path", "max_size", "max_file"} or None
    start_timeout  seconds to wait for `start` (default START_TIMEOUT); after that, or on an
                 `abort`, the process is never run: a created container is deleted, and the
                 monitor records an exit and ends. This is what frees a monitor whose hakod died,
                 or gave up, between create and start.

This module holds the process's life: create, start, exit, and the loop and requests between.
It delegates to helpers that share its selector (each key's data is the callback for its file):

    stdio.py    the process's pipes or pty, stdin buffering and EOF, output reading and draining
    clients.py  attached clients: output fan-out and framing, stdin from them
    server.py   the monitor's socket: request lines, replies, exit watchers
    forked.py   work done in short-lived children (the runtime's create/exec, bringing up `lo`)
    signals.py  signal handlers and the wakeup pipe that turns SIGCHLD into a loop event
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import time

from ..linux import syscalls as sc
from . import protocol, signals
from .clients import Clients
from .forked import error_message, in_child
from .server import Server
from .stdio import Stdio

log = logging.getLogger("hako.monitor")

DRAIN_SECONDS = 2.0
START_TIMEOUT = 120.0
NEVER_STARTED = 126      # the exit code of a process that never ran (Docker's "cannot invoke")


class Monitor:
    def __init__(self, spec: dict, status_fd: int):
        self.spec = spec
        self.status_fd = status_fd
        self.dir = spec["dir"]
        self.tty = bool(spec.get("tty"))
        self.selector = selectors.DefaultSelector()
        self.stdio = Stdio(self.selector, self.dir, tty=self.tty, stdin=bool(spec.get("stdin")),
                           console_size=spec.get("console_size"), on_output=self._on_output)
        self.clients = Clients(self.selector, self.stdio, tty=self.tty,
                               stdin_once=bool(spec.get("stdin_once")))
        self.server = Server(self.selector, self.dir, on_request=self._dispatch)
        self.pid = 0
        self.exit_record: dict | None = None
        self.started = False
        self.deleted = False
        self.start_deadline = time.monotonic() + float(spec.get("start_timeout") or START_TIMEOUT)
        self.logger = None

    # life
    def run(self) -> int:
        os.makedirs(self.dir, exist_ok=True)
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
        self.selector.register(signals.install(), selectors.EVENT_READ, self._on_signal)
        self.server.listen()
        try:
            self.stdio.prepare()
            if self.spec["mode"] == "container":
                self._create()
            report = {"created": os.getpid(), "init": self.pid}
            if self.started:
                report["pid"] = self.pid
            elif self.spec.get("autostart"):    # an exec: nobody waits to attach first
                report.update(self._start())
            self._report(report)
        except Exception as exc:  # noqa: BLE001 - every failure is reported to hakod, then we go
            self._report({"error": error_message(exc), "kind": getattr(exc, "kind", type(exc).__name__)})
            if self.pid and self.spec["mode"] == "container":
                try:
                    self.runtime.delete(self.spec["id"], force=True)
                except Exception as cleanup_exc:  # noqa: BLE001 - the error above is the one that matters
                    log.warning("deleting %s after a failed start: %s", self.spec["id"], cleanup_exc)
            self.stdio.release_child()
            self.server.close()
            return 1
        os.close(self.status_fd)
        self._loop()
        return 0

    @property
    def runtime(self):
        """The runtime library, made when needed: mostly in short-lived children, and at the end;
        touching it for the container's whole life would only dirty shared pages."""
        from ..runtime.runtime import Runtime

        return Runtime(self.spec["runtime_root"])

    def _report(self, message: dict) -> None:
        try:
            os.write(self.status_fd, protocol.encode(message))
        except OSError:
            pass

    # the process
    def _create(self) -> None:
        """The runtime's create (and start, when asked) in a short-lived child: their parsing of the
        config and state would otherwise dirty this monitor's pages for the container's life."""
        from ..runtime.create import CreateOptions

        autostart = bool(self.spec.get("autostart"))

        def create() -> int:
            state = self.runtime.create(self.spec["id"], self.spec["bundle"], self.stdio.options(CreateOptions))
            if autostart:
                # Nobody waits to attach first: start it here too, which saves hakod a round trip.
                try:
                    self.runtime.start(self.spec["id"])
                except BaseException:
                    self.runtime.delete(self.spec["id"], force=True)
                    raise
            return state.pid

        self.pid = in_child(lambda: self.stdio.run_with(create))
        self.stdio.runtime_ran()
        self._open_logger()
        self.stdio.watch_output()
        if autostart:
            self._started()

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
            def start() -> int:
                self.runtime.start(self.spec["id"])
                return self.pid

            in_child(start)
        else:
            from ..runtime.exec import ExecOptions

            self.pid = in_child(lambda: self.stdio.run_with(
                lambda: self.runtime.exec(self.spec["id"], self.spec["process"], self.stdio.options(ExecOptions))))
            self.stdio.runtime_ran()
            self.stdio.watch_output()
        self._started()
        return {"pid": self.pid}

    def _started(self) -> None:
        self.started = True
        self.stdio.process_started()

    def _on_output(self, stream: int, data: bytes) -> None:
        """What the process wrote: to the json-file log, and to the clients that asked for it."""
        if self.logger is not None:
            self.logger.write("stdout" if stream == protocol.STDOUT else "stderr", data)
        self.clients.broadcast(stream, data)

    # the loop
    def _loop(self) -> None:
        while self.exit_record is None or self.clients.pending_output():
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

    def _dispatch(self, conn: socket.socket, request: dict, rest: bytes) -> None:
        """One request from hakod (protocol.py), its connection and what came after its line."""
        op = request.get("op")
        if op == "attach":
            self.clients.attach(conn, request, rest)
        elif op == "start":
            try:
                reply = self._start()
            except Exception as exc:  # noqa: BLE001 - reported to hakod
                reply = {"error": error_message(exc), "kind": getattr(exc, "kind", type(exc).__name__)}
                self.server.reply(conn, reply)
                self._fail_start(reply)
                return
            self.server.reply(conn, reply)
        elif op == "abort":
            started = self.started
            if not started and self.exit_record is None:
                self._abandon(request.get("reason") or "start aborted")
            self.server.reply(conn, {"started": started, "pid": self.pid, "exit": self.exit_record})
        elif op == "resize":
            self.stdio.resize(request.get("h", 0), request.get("w", 0))
            self.server.reply(conn, {})
        elif op == "watch":
            if self.exit_record is not None:
                self.server.reply(conn, {"exit": self.exit_record})
            else:
                self.server.watch(conn)
        else:
            self.server.reply(conn, {"error": f"unknown op {op!r}"})

    def _abandon(self, reason: str) -> None:
        """The process will never run: delete the created container at once (its init only waits
        for `start`, so there is no output to drain), then end as any exit does."""
        if self.spec["mode"] == "container":
            self._delete_container()
        self.stdio.release_child()
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
        self.stdio.drain(DRAIN_SECONDS)
        oom = False
        if self.spec["mode"] == "container" and not self.deleted:
            oom = self._oom_killed()
            self._delete_container()
        if self.logger is not None:
            self.logger.close()
            self.logger = None
        self.exit_record = {"code": code, "finished": time.time(), "oom": oom, "error": error}
        protocol.write_exit(self.dir, self.exit_record)
        self.server.exited(self.exit_record)

    def _oom_killed(self) -> bool:
        try:
            stats = self.runtime.stats(self.spec["id"])
        except Exception:  # noqa: BLE001 - best effort
            return False
        memory = stats.get("memory", {}) if isinstance(stats, dict) else {}
        return bool(memory.get("oom_kill") or memory.get("oomKill"))

    def _finish(self) -> None:
        self.clients.close_all()
        self.stdio.close_outputs()
        self.server.close()
