"""A real hakod for tests: its own socket, data root, exec root and cgroup parent.

    daemon = Daemon.start()          # hakod running, busybox:latest imported
    daemon.docker("run", "--rm", "busybox", "true")   # the real docker CLI against it
    daemon.sdk().containers.run(...)                  # the docker SDK against it
    daemon.api("GET", "/containers/json")             # raw HTTP over the unix socket
    daemon.kill9(); daemon.restart()                  # live restore
    daemon.stop()                                     # removes everything, checks for leaks
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid

DOCKER = shutil.which("docker", path="/usr/local/bin:/usr/bin") or "docker"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


HUB_STANDIN = "http://127.0.0.1:9"      # the discard port: nothing listens, connections are refused


class Daemon:
    def __init__(self, base: str, exec_root: str, cgroup_parent: str):
        self.base = base
        self.data_root = os.path.join(base, "data")
        self.exec_root = exec_root
        self.socket = os.path.join(exec_root, "hako.sock")
        self.cgroup_parent = cgroup_parent
        self.host = f"unix://{self.socket}"
        self.env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CLI_HINTS": "false"}
        self.env.pop("DOCKER_CONTEXT", None)
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(base, "hakod.log")
        self.extra_args: list[str] = []      # more hakod flags (registry mirrors, insecure registries)

    @classmethod
    def start(cls, busybox_tar: str | None = None, extra_args: list[str] = ()) -> "Daemon":
        token = uuid.uuid4().hex[:8]
        base = tempfile.mkdtemp(prefix="hako-test-daemon-", dir="/var/tmp")
        daemon = cls(base, f"/run/hako-test-{token}", f"/hako-test-{token}")
        daemon.extra_args = list(extra_args)
        daemon.launch()
        if busybox_tar:
            daemon.import_busybox(busybox_tar)
        return daemon

    def launch(self) -> None:
        args = [sys.executable, "-m", "hako.hakod", "-H", self.host, "--data-root", self.data_root,
                "--exec-root", self.exec_root, "--cgroup-parent", self.cgroup_parent, *self.extra_args]
        log = open(self.log_path, "ab")
        # Docker Hub names resolve to a closed port on loopback: a test never reaches beyond this host.
        self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                        env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"),
                                             "HAKO_DOCKER_HUB_URL": HUB_STANDIN})
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hakod exited with {self.process.returncode}: {self.log()}")
            try:
                if self.api("GET", "/_ping").status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"hakod did not answer: {self.log()}")

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    # clients
    def api(self, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 60) -> Response:
        conn = UnixHTTPConnection(self.socket, timeout)
        try:
            data = body
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def docker(self, *args: str, input: bytes | str | None = None, timeout: float = 60,
               check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([DOCKER, *args], env={**self.env, **(env or {})}, input=input, capture_output=True,
                                timeout=timeout, text=not isinstance(input, bytes))
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def hako(self, *args: str, input: bytes | str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hako.cli.main", "-H", self.host, *args], input=input,
                              capture_output=True, timeout=timeout, text=not isinstance(input, bytes),
                              env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")})

    def sdk(self):
        import docker

        return docker.DockerClient(base_url=self.host, version="1.44", timeout=60)

    def import_busybox(self, tar_path: str, tag: str = "busybox:latest") -> str:
        repo, _, name_tag = tag.rpartition(":")
        changes = _quote('CMD ["sh"]')
        with open(tar_path, "rb") as f:
            resp = self.api("POST", f"/images/create?fromSrc=-&repo={repo}&tag={name_tag}&changes={changes}",
                            body=f.read(),
                            headers={"Content-Type": "application/x-tar"})
        assert resp.status == 200, resp.body
        return json.loads(resp.body.splitlines()[-1])["status"]

    # life
    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.launch()

    def remove_all_containers(self) -> None:
        resp = self.api("GET", "/containers/json?all=1")
        for c in resp.json():
            self.api("DELETE", f"/containers/{c['Id']}?force=1")

    def stop(self) -> list[str]:
        """Remove every container, stop hakod, and return whatever it leaked."""
        leaks: list[str] = []
        if self.process.poll() is None:
            try:
                self.remove_all_containers()
            except OSError:
                pass
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                leaks.append("hakod did not stop on SIGTERM")
        leaks += self.leaks()
        self._force_cleanup()
        return leaks

    def leaks(self) -> list[str]:
        found = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mount_point = line.split()[4]
                if mount_point.startswith(self.base) or mount_point.startswith(self.exec_root):
                    found.append(f"mount {mount_point}")
        for root, _dirs, _files in os.walk("/sys/fs/cgroup"):
            if os.path.basename(root).startswith(self.cgroup_parent.strip("/")) and os.listdir(root):
                for sub in os.listdir(root):
                    if os.path.isdir(os.path.join(root, sub)):
                        found.append(f"cgroup {root}/{sub}")
        for pid in monitor_pids(self.exec_root):
            found.append(f"monitor process {pid}")
        found += network_leaks(self)
        return found

    def bridges(self) -> list[str]:
        """The kernel bridges of this daemon's networks (the default one is named after its exec root)."""
        import hashlib
        import sqlite3

        names = ["hk" + hashlib.sha1(self.exec_root.encode()).hexdigest()[:8]]
        try:
            db = sqlite3.connect(f"file:{os.path.join(self.data_root, 'hako.db')}?mode=ro", uri=True)
            try:
                rows = db.execute("SELECT data FROM networks").fetchall()
            finally:
                db.close()
            names += [json.loads(d)["bridge"] for (d,) in rows if json.loads(d).get("bridge")]
        except sqlite3.Error:
            pass
        return names[:1] + sorted(set(names[1:]) - set(names[:1]))

    def nft_table(self) -> str:
        return "hako_" + self.bridges()[0]     # named after the default bridge

    def _force_cleanup(self) -> None:
        for pid in monitor_pids(self.exec_root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for point in reversed(points):
            if point.startswith(self.base) or point.startswith(self.exec_root):
                subprocess.run(["umount", "-l", point], capture_output=True)
        for root, dirs, _files in os.walk("/sys/fs/cgroup", topdown=False):
            name = os.path.basename(root)
            if name == self.cgroup_parent.strip("/") or self.cgroup_parent.strip("/") in root.split("/"):
                try:
                    os.rmdir(root)
                except OSError:
                    pass
        for bridge in self.bridges():
            subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip", self.nft_table()], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)


def network_leaks(daemon: "Daemon") -> list[str]:
    """veth pairs still plugged into the daemon's bridges, and NAT rules for published ports.
    (Network namespaces are files mounted under the exec root: the mount check sees them.)"""
    found = []
    bridges = set(daemon.bridges())
    links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout or "[]")
    for link in links:
        if link.get("master") in bridges:
            found.append(f"veth {link['ifname']} on {link['master']}")
    out = subprocess.run(["nft", "list", "chain", "ip", daemon.nft_table(), "published"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "dnat to" in line:
            found.append(f"nft rule {line.strip()}")
    return found


def monitor_pids(exec_root: str) -> list[int]:
    """Processes whose working set points into this daemon's exec root (monitors, the zygote)."""
    pids = []
    marker = os.path.join(exec_root, "m") + "/"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
                if target.startswith(marker):
                    pids.append(int(entry))
                    break
        except OSError:
            continue
    return pids


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def busybox_tar(rootfs: str, dest: str) -> str:
    with tarfile.open(dest, "w") as tar:
        tar.add(rootfs, arcname=".")
    return dest

