"""Helpers for the hakod integration tests: polling, inspecting, hijacked attach, private daemons.

    def test_something(hakod):                     # the shared daemon (tests/conftest.py)
        cid = run_detached(hakod, "sleep", "100")
        wait_for(lambda: state(hakod, cid)["Running"], what="running")

    def test_restart(busybox_image_tar):
        with own_daemon(busybox_image_tar) as daemon:   # a hakod of this test's own, to kill
            daemon.kill9(); daemon.launch()
        # leaving the block removed every container, stopped hakod and asserted no leaks

Tests poll with deadlines (`wait_for`) instead of sleeping: the VM has two CPUs and is noisy.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time

import pytest

from tests import polling

DEFAULT_TIMEOUT = 20.0


def wait_for(predicate, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.05, what: str = "condition"):
    """tests.polling.wait_for, with the longer deadline daemon tests need."""
    return polling.wait_for(predicate, timeout, interval, what)


# ---- the API -------------------------------------------------------------------------------------

def inspect(daemon, ref: str) -> dict:
    resp = daemon.api("GET", f"/containers/{ref}/json")
    assert resp.status == 200, (resp.status, resp.body)
    return resp.json()


def state(daemon, ref: str) -> dict:
    return inspect(daemon, ref)["State"]


def create(daemon, body: dict, name: str | None = None) -> str:
    path = "/containers/create" + (f"?name={name}" if name else "")
    resp = daemon.api("POST", path, {"Image": "busybox", **body})
    assert resp.status == 201, (resp.status, resp.body)
    return resp.json()["Id"]


def start(daemon, cid: str) -> None:
    resp = daemon.api("POST", f"/containers/{cid}/start")
    assert resp.status == 204, (resp.status, resp.body)


def run_detached(daemon, *cmd: str, name: str | None = None, **body) -> str:
    """create + start through the API; returns the id. ``body`` adds create fields (Docker's names)."""
    cid = create(daemon, {"Cmd": list(cmd), **body}, name)
    start(daemon, cid)
    return cid


def docker_ok(daemon, *args: str, **kwargs) -> str:
    """The docker CLI's stdout; fails the test when it exits non-zero."""
    result = daemon.docker(*args, **kwargs)
    assert result.returncode == 0, f"docker {' '.join(args)}: rc={result.returncode} {result.stderr}"
    return result.stdout


def wait_exit(daemon, cid: str, timeout: float = 60) -> int:
    resp = daemon.api("POST", f"/containers/{cid}/wait", timeout=timeout)
    assert resp.status == 200, (resp.status, resp.body)
    return resp.json()["StatusCode"]


def exec_output(daemon, cid: str, *cmd: str) -> tuple[int, str]:
    """Run ``cmd`` in the container through the exec API; (exit code, stdout+stderr)."""
    resp = daemon.api("POST", f"/containers/{cid}/exec", {"Cmd": list(cmd), "AttachStdout": True, "AttachStderr": True})
    assert resp.status == 201, (resp.status, resp.body)
    exec_id = resp.json()["Id"]
    resp = daemon.api("POST", f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})
    assert resp.status == 200, (resp.status, resp.body)
    output = demux(resp.body)
    info = wait_for(lambda: (r := daemon.api("GET", f"/exec/{exec_id}/json").json()) and not r["Running"] and r,
                    what=f"exec {cmd} to end")
    return info["ExitCode"], output.decode(errors="replace")


def demux(data: bytes) -> bytes:
    """The payloads of Docker's multiplexed frames (8-byte header: stream, 0, 0, 0, length)."""
    out = bytearray()
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        out += data[8:8 + size]
        data = data[8 + size:]
    return bytes(out)


def log_text(daemon, cid: str) -> str:
    resp = daemon.api("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
    assert resp.status == 200, (resp.status, resp.body)
    body = resp.body
    return (body if inspect(daemon, cid)["Config"]["Tty"] else demux(body)).decode(errors="replace")


def events(daemon, since: float, until: float | None = None, **filters: list[str]) -> list[dict]:
    query = f"since={since:.9f}&until={(until or time.time()):.9f}"
    if filters:
        from urllib.parse import quote

        query += "&filters=" + quote(json.dumps(filters))
    resp = daemon.api("GET", f"/events?{query}")
    assert resp.status == 200, (resp.status, resp.body)
    return [json.loads(line) for line in resp.body.splitlines() if line.strip()]


# ---- hijacked attach -----------------------------------------------------------------------------

class Attached:
    """A raw attach connection: after `101 UPGRADED` the socket carries the process's stdio."""

    def __init__(self, sock: socket.socket, initial: bytes):
        self.sock = sock
        self.buffer = bytearray(initial)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, marker: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Everything received so far once ``marker`` is in it; fails the test on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"{marker!r} did not arrive; got {bytes(self.buffer)[-500:]!r}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                pytest.fail(f"the stream ended before {marker!r}; got {bytes(self.buffer)[-500:]!r}")
            self.buffer += data
        return bytes(self.buffer)

    def close(self) -> None:
        self.sock.close()


def attach(daemon, cid: str, stdin: bool = True) -> Attached:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(DEFAULT_TIMEOUT)
    sock.connect(daemon.socket)
    query = f"stream=1&stdout=1&stderr=1&stdin={int(stdin)}"
    sock.sendall(f"POST /containers/{cid}/attach?{query} HTTP/1.1\r\nHost: hako\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    head = bytearray()
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            raise AssertionError(f"attach: connection closed: {bytes(head)!r}")
        head += data
    header, _, rest = bytes(head).partition(b"\r\n\r\n")
    assert header.startswith(b"HTTP/1.1 101"), header
    return Attached(sock, rest)


# ---- the host ------------------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def snapshot_dirs(daemon) -> list[str]:
    """The writable snapshots under the data root (one per container)."""
    path = os.path.join(daemon.data_root, "overlay", "rw")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def container_dirs(daemon) -> list[str]:
    found = []
    for parent in (os.path.join(daemon.data_root, "containers"), os.path.join(daemon.exec_root, "containers")):
        if os.path.isdir(parent):
            found += [os.path.join(parent, name) for name in os.listdir(parent)]
    return sorted(found)


def container_ids(daemon) -> list[str]:
    resp = daemon.api("GET", "/containers/json?all=1")
    assert resp.status == 200, resp.body
    return sorted(c["Id"] for c in resp.json())


def footprint(daemon) -> dict:
    """Everything a container leaves on the host while it exists: rows, snapshots, directories,
    mounts, cgroups and monitor processes. Compare before and after an operation that must fail."""
    return {"containers": container_ids(daemon), "snapshots": snapshot_dirs(daemon),
            "dirs": container_dirs(daemon), "leaks": sorted(daemon.leaks())}


@contextlib.contextmanager
def own_daemon(busybox_tar: str):
    """A hakod for this test alone (one it may kill); stopped, checked for leaks and removed after."""
    if os.geteuid() != 0:
        pytest.skip("hakod needs root")
    from tests.daemon import Daemon

    daemon = Daemon.start(busybox_tar)
    try:
        yield daemon
    finally:
        if daemon.process.poll() is not None:
            daemon.launch()       # a test that killed it: the new one must clean up what it had
        daemon.remove_all_containers()
        # A monitor writes its exit record, then takes a moment to end: poll, don't race it.
        deadline = time.monotonic() + 10
        while daemon.leaks() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = daemon.log()
        leaks = daemon.stop()
    assert not leaks, f"hakod leaked: {leaks}\n{log}"
