"""The zygote: a single-threaded fork server that hakod starts once, so hakod never forks itself.

hakod is multi-threaded (asyncio plus worker threads); fork() there can leave a child holding a
lock some other thread owned (DESIGN.md, decision 1). The zygote is a fresh interpreter that
imports the monitor and the runtime up front, then waits on a SOCK_SEQPACKET socket. Each request
is one JSON message carrying a monitor spec, with the write end of a status pipe attached
(SCM_RIGHTS). The zygote forks; the child starts a new session and forks the monitor, then exits,
so the monitor is reparented away from hakod and the zygote and survives both.

hakod side: `Zygote.start(...)` and `Zygote.spawn(spec) -> status read fd`.
"""

from __future__ import annotations

import array
import importlib
import json
import logging
import os
import socket
import subprocess
import sys

MAX_REQUEST = 1 << 20

# What a monitor runs on, imported by the zygote before it forks any (see main()).
WARM_MODULES = (
    "hako.monitor.monitor", "hako.monitor.stdio", "hako.monitor.clients", "hako.monitor.server",
    "hako.monitor.forked", "hako.monitor.signals",
    "hako.containers.logs",
    "hako.runtime.create", "hako.runtime.exec", "hako.runtime.runtime", "hako.runtime.console",
    "hako.runtime.init", "hako.runtime.seccomp",
)

log = logging.getLogger(__name__)


class Zygote:
    """hakod's handle on its zygote process."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen, log_path: str):
        self.sock = sock
        self.process = process
        self.log_path = log_path

    @classmethod
    def start(cls, log_path: str) -> "Zygote":
        return cls(*cls._launch(log_path), log_path)

    @staticmethod
    def _launch(log_path: str) -> tuple[socket.socket, subprocess.Popen]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "hako.monitor.zygote", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                env=env, close_fds=True)
        theirs.close()
        ready = ours.recv(64)
        if ready != b"ready":
            ours.close()
            process.kill()
            process.wait()
            raise RuntimeError(f"the zygote did not start (see {log_path})")
        return ours, process

    def spawn(self, spec: dict) -> int:
        """Ask for a monitor; returns the read end of its status pipe (JSON lines).

        A zygote that died (killed by hand, or the OOM killer) is replaced once, here: without
        it no container could start again until hakod restarts. Monitors do not depend on it."""
        try:
            return self._request(spec)
        except (BrokenPipeError, ConnectionError):
            code = self.process.poll()
            log.warning("the zygote is gone (exit status %s): starting a new one", code)
            self.sock.close()
            if code is None:
                self.process.kill()
            self.process.wait()
            self.sock, self.process = self._launch(self.log_path)
            return self._request(spec)

    def _request(self, spec: dict) -> int:
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            self.sock.sendmsg([json.dumps(spec).encode()],
                              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))])
        except OSError:
            os.close(r)
            raise
        finally:
            os.close(w)
        return r

    def stop(self) -> None:
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(sock: socket.socket) -> None:
    """The zygote's loop: one request, one double fork, until hakod closes its end."""
    while True:
        fds = array.array("i")
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(MAX_REQUEST, socket.CMSG_SPACE(4 * fds.itemsize))
        except InterruptedError:
            continue
        if not data:
            return
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        status_fd = fds[0]
        try:
            spec = json.loads(data)
        except ValueError:
            os.close(status_fd)
            continue
        _fork_monitor(sock, spec, status_fd)
        os.close(status_fd)


def _fork_monitor(sock: socket.socket, spec: dict, status_fd: int) -> None:
    child = os.fork()
    if child == 0:
        code = 1
        try:
            sock.close()
            os.setsid()
            if os.fork() == 0:
                code = _monitor_main(spec, status_fd)
            else:
                code = 0
        finally:
            os._exit(code)
    os.waitpid(child, 0)


def _monitor_main(spec: dict, status_fd: int) -> int:
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.makedirs(spec["dir"], exist_ok=True)
    log_fd = os.open(os.path.join(spec["dir"], "monitor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null)
    os.close(log_fd)
    os.set_inheritable(status_fd, False)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s monitor[%(process)d] %(message)s")
    from .monitor import Monitor

    try:
        return Monitor(spec, status_fd).run()
    except BaseException:  # noqa: BLE001 - log it; the monitor is a process of its own
        logging.getLogger("hako.monitor").exception("monitor failed")
        return 1


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    # Import everything a monitor needs now, once, so each fork starts warm.
    for name in WARM_MODULES:
        importlib.import_module(name)
    import gc

    # Monitors are copies of this process. Moving every object to the permanent generation keeps
    # the collector from touching (and so copying) the pages the monitors share with us.
    gc.collect()
    gc.freeze()
    sock.send(b"ready")
    serve(sock)


if __name__ == "__main__":
    main()
