"""The two engines of bench/engine_bench.py, each started privately and torn down completely.

    hako = HakoDaemon(); hako.start()          # hakod on /run/hkb/hako.sock
    docker = DockerDaemon(); docker.start()    # containerd + dockerd on /run/dkb/…
    ...
    docker.stop(); hako.stop()                 # containers removed, processes stopped by pid,
                                               # mounts under their roots unmounted, dirs and
                                               # cgroup parents removed

Both daemons get their own socket, data root, exec root and cgroup parent, so the benchmark never
touches another engineer's daemon (several run on this machine at once). Every process is stopped
by the pid we started it with; shims and monitors are found by their cmdline naming our sockets.
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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket: the cheapest possible API client, the same for both engines."""

    def __init__(self, path: str, timeout: float = 120):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class Engine:
    """What both daemons share: a socket, an API, a docker CLI environment, and teardown helpers."""

    name = "engine"

    def __init__(self, socket_path: str, dirs: list[str], cgroup_parent: str, docker_cli: str):
        self.socket_path = socket_path
        self.host = f"unix://{socket_path}"
        self.dirs = dirs  # everything we create; removed at stop
        self.cgroup_parent = cgroup_parent
        self.docker_cli = docker_cli
        self.processes: list[subprocess.Popen] = []
        self.log_path = os.path.join(dirs[0], f"{self.name}.log")
        self.env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CLI_HINTS": "false"}
        self.env.pop("DOCKER_CONTEXT", None)

    # API
    def api(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        conn = UnixHTTPConnection(self.socket_path)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def docker(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([self.docker_cli, *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} against {self.name}: {result.stderr.strip()}")
        return result

    def wait_ready(self, process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {process.returncode}: {self.log_tail()}")
            try:
                if self.api("GET", "/_ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer on {self.socket_path}: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def import_image(self, tar_path: str, tag: str = "busybox:latest") -> None:
        self.docker("import", "-c", 'CMD ["sh"]', tar_path, tag)

    def container_ids(self) -> list[str]:
        status, body = self.api("GET", "/containers/json?all=1")
        return [c["Id"] for c in json.loads(body)] if status == 200 else []

    def remove_all_containers(self, threads: int = 8) -> None:
        from concurrent.futures import ThreadPoolExecutor

        ids = self.container_ids()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: self.api("DELETE", f"/containers/{i}?force=1&v=1"), ids))

    # teardown
    def stop_process(self, process: subprocess.Popen, timeout: float = 30) -> None:
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def helper_pids(self) -> list[int]:
        """Per-container helper processes (monitors, shims) that belong to this engine."""
        return []

    def stop(self) -> list[str]:
        """Remove containers, stop our processes by pid, unmount, remove dirs; return leftovers seen."""
        leftovers: list[str] = []
        if self.processes and self.processes[-1].poll() is None:
            try:
                self.remove_all_containers()
            except (OSError, ValueError):
                pass
        for process in reversed(self.processes):
            self.stop_process(process)
        for pid in self.helper_pids():
            leftovers.append(f"{self.name}: helper process {pid} killed")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for point in mounts_under(self.dirs):
            leftovers.append(f"{self.name}: mount {point} unmounted")
            subprocess.run(["umount", "-l", point], capture_output=True)
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)
        leftovers += remove_cgroup_parent(self.cgroup_parent)
        return leftovers


class HakoDaemon(Engine):
    name = "hakod"

    def __init__(self, docker_cli: str, base: str = "/var/tmp/hkb", exec_root: str = "/run/hkb",
                 cgroup_parent: str = "/hako-bench"):
        super().__init__(os.path.join(exec_root, "hako.sock"), [base, exec_root], cgroup_parent, docker_cli)
        self.base, self.exec_root = base, exec_root

    def start(self) -> None:
        for d in self.dirs:
            if os.path.exists(d):
                raise RuntimeError(f"{d} exists: another benchmark running, or a stale one (remove it)")
        os.makedirs(self.base)
        args = [VENV_PYTHON, "-m", "hako.hakod", "-H", self.host, "--data-root", os.path.join(self.base, "data"),
                "--exec-root", self.exec_root, "--cgroup-parent", self.cgroup_parent]
        self.processes.append(_spawn(args, self.log_path, {"PYTHONPATH": os.path.join(ROOT, "src")}))
        self.wait_ready(self.processes[0])

    def stop(self) -> list[str]:
        """As Engine.stop, and then the bridges and the NAT table hakod made for its networks
        (the default bridge is named after the exec root), which outlive the daemon by design."""
        import hashlib

        status, body = 0, b"[]"
        try:
            status, body = self.api("GET", "/networks")
        except OSError:
            pass
        bridges = [n["Options"].get("com.docker.network.bridge.name") for n in json.loads(body)] if status == 200 else []
        left = super().stop()
        bridge = "hk" + hashlib.sha1(self.exec_root.encode()).hexdigest()[:8]
        for name in {bridge, *[b for b in bridges if b]}:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip", "hako_" + bridge], capture_output=True)
        return left

    def hako_cli(self) -> list[str]:
        """The hako CLI command line: the installed launcher when there is one, else the module."""
        launcher = os.path.join(ROOT, ".venv", "bin", "hako")
        if os.path.exists(launcher):
            return [launcher, "-H", self.host]
        return [VENV_PYTHON, "-m", "hako.cli.main", "-H", self.host]

    def engine_pids(self) -> list[int]:
        """hakod and its zygote (the zygote is hakod's only direct child)."""
        hakod = self.processes[0].pid
        return [hakod] + children(hakod)

    def helper_pids(self) -> list[int]:
        """Monitors: forked from the zygote (so same cmdline), reparented away, holding files in exec-root/m."""
        own = set(self.engine_pids()) if self.processes and self.processes[0].poll() is None else set()
        marker = os.path.join(self.exec_root, "m") + "/"
        pids = []
        for pid in all_pids():
            if pid in own or "hako.monitor.zygote" not in cmdline(pid):
                continue
            if any(target.startswith(marker) for target in open_files(pid)):
                pids.append(pid)
        return pids


class DockerDaemon(Engine):
    """Debian's dockerd 20.10 with a containerd of its own, both started here."""

    name = "dockerd"

    def __init__(self, docker_cli: str, base: str = "/var/tmp/dkb", exec_root: str = "/run/dkb",
                 cgroup_parent: str = "/docker-bench"):
        super().__init__(os.path.join(exec_root, "docker.sock"), [base, exec_root], cgroup_parent, docker_cli)
        self.base, self.exec_root = base, exec_root
        self.containerd_socket = os.path.join(exec_root, "containerd", "containerd.sock")

    def start(self) -> None:
        for d in self.dirs:
            if os.path.exists(d):
                raise RuntimeError(f"{d} exists: another benchmark running, or a stale one (remove it)")
        os.makedirs(self.base)
        os.makedirs(os.path.join(self.exec_root, "containerd"))
        config = os.path.join(self.base, "containerd.toml")
        with open(config, "w") as f:
            f.write(self._containerd_config())
        containerd = _spawn(["containerd", "--config", config], os.path.join(self.base, "containerd.log"))
        self.processes.append(containerd)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.containerd_socket):
            if containerd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"containerd did not start: see {self.base}/containerd.log")
            time.sleep(0.05)
        dockerd = _spawn(["dockerd", "-H", self.host, "--data-root", os.path.join(self.base, "data"),
                          "--exec-root", self.exec_root, "--pidfile", os.path.join(self.exec_root, "docker.pid"),
                          "--containerd", self.containerd_socket, "--cgroup-parent", self.cgroup_parent,
                          "--bridge", "none", "--iptables=false", "--ip-masq=false", "--ip6tables=false"],
                         self.log_path)
        self.processes.append(dockerd)
        self.wait_ready(dockerd)

    def _containerd_config(self) -> str:
        # What dockerd writes when it starts containerd itself, with every path inside our dirs:
        # no CRI plugin, and the "opt" plugin kept out of /opt/containerd.
        return f"""version = 2
root = "{self.base}/containerd"
state = "{self.exec_root}/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.containerd_socket}"
[debug]
  address = "{self.exec_root}/containerd/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.base}/containerd-opt"
"""

    def engine_pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]

    def helper_pids(self) -> list[int]:
        """containerd-shim-runc-v2 processes started for our containerd (its socket is on their cmdline)."""
        return [pid for pid in all_pids()
                if "containerd-shim" in cmdline(pid) and self.containerd_socket in cmdline(pid)]


# processes, mounts, cgroups
def _spawn(args: list[str], log_path: str, extra_env: dict | None = None) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        # A session of its own: Ctrl-C in the terminal reaches the benchmark, not the daemons,
        # so the benchmark's finally block can still talk to them while cleaning up.
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                env={**os.environ, **(extra_env or {})})


def all_pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    kids = []
    for tid in _tids(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def _tids(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def open_files(pid: int) -> list[str]:
    targets = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return targets


def mounts_under(dirs: list[str]) -> list[str]:
    """Mount points under our dirs, deepest first (mountinfo escapes spaces as \\040)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if any(point == d or point.startswith(d.rstrip("/") + "/") for d in dirs):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def remove_cgroup_parent(parent: str) -> list[str]:
    """rmdir the cgroup parent in every v1 hierarchy (and v2), children first; report what stays."""
    left = []
    name = parent.strip("/")
    top = "/sys/fs/cgroup"
    roots = [top] + [os.path.join(top, h) for h in os.listdir(top) if os.path.isdir(os.path.join(top, h))]
    for root in roots:
        path = os.path.join(root, name)
        if not os.path.isdir(path) or os.path.ismount(path):
            continue
        for sub, _dirs, _files in os.walk(path, topdown=False):
            try:
                os.rmdir(sub)
            except OSError as exc:
                left.append(f"cgroup {sub}: {exc.strerror}")
    return left


if __name__ == "__main__":
    sys.exit("a helper of bench/engine_bench.py")
