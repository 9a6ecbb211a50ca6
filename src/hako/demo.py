"""The quick start's main job: hakod runs a container from the local busybox image, which greets.

It starts hakod on its default socket if none answers there (and leaves it running, as a service
would be), imports busybox:latest built from the host's static busybox if the image is missing,
then runs the greeting with the hako CLI.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse

from .images.busybox import build_rootfs

SOCKET = "/run/hako/hako.sock"
LOG = "/var/log/hako/hakod.log"
GREETING = (
    'echo "Hello from hako! I am PID $$ in container $(hostname), '
    'started by hakod from the local busybox image."'
)


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=60)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.socket_path)


def _call(method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = _Unix(SOCKET)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _ping() -> bool:
    try:
        return _call("GET", "/_ping")[0] == 200
    except OSError:
        return False


def _start_hakod() -> None:
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "hako.hakod"], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    print(f"started hakod (log: {LOG})", file=sys.stderr)


def _import_busybox() -> None:
    top = tempfile.mkdtemp(prefix="hako-busybox-")
    try:
        rootfs = build_rootfs(os.path.join(top, "rootfs"))
        tar_path = os.path.join(top, "busybox.tar")
        with tarfile.open(tar_path, "w") as tar:
            tar.add(rootfs, arcname=".")
        changes = urllib.parse.quote('CMD ["sh"]')
        with open(tar_path, "rb") as f:
            status, body = _call("POST", f"/images/create?fromSrc=-&repo=busybox&tag=latest&changes={changes}", f.read())
        if status != 200:
            raise RuntimeError(f"importing busybox failed: {body.decode(errors='replace')}")
        print(f"imported busybox:latest ({json.loads(body.splitlines()[-1])['status'][7:19]})", file=sys.stderr)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def main() -> int:
    if not _ping():
        _start_hakod()
        deadline = time.monotonic() + 30
        while not _ping():
            if time.monotonic() > deadline:
                print(f"hakod did not start; see {LOG}", file=sys.stderr)
                return 1
            time.sleep(0.05)
    if _call("GET", "/images/busybox:latest/json")[0] == 404:
        _import_busybox()
    hako = os.path.join(os.path.dirname(sys.executable), "hako")
    return subprocess.run([hako, "run", "--rm", "--hostname", "hako-demo", "busybox", "sh", "-c", GREETING]).returncode


if __name__ == "__main__":
    sys.exit(main())
