"""Networking, hakod side by side with Docker (dockerd 20.10 + containerd, its bridge enabled).

    sudo .venv/bin/python bench/network_bench.py [-n 15] [--requests 500] [--mb 200] [--json out.json]

  run      `docker run --rm busybox true` on the default bridge and with `--network none`, the real
           docker CLI against each engine, interleaved; the cost of the bridge is the difference
  small    many small HTTP requests (one connection each, busybox httpd) through a published port
           on 127.0.0.1: requests per second
  large    one large transfer through the same port: MB/s

Both engines publish loopback ports through a userland proxy (hakod's in-process one, docker-proxy).
dockerd runs with its own bridge (`hkbdock0`, 10.199.0.1/24) and --iptables=false, so it changes
nothing else on the host; both engines' bridges, NAT tables and dirs are removed at the end.
Prints medians and ratios (hako / docker); not a test, nothing asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from engine_daemons import DockerDaemon, HakoDaemon  # noqa: E402
from hako.images.busybox import build_rootfs  # noqa: E402

DOCKER_BRIDGE, DOCKER_BIP = "hkbdock0", "10.199.0.1/24"
WEB = ["sh", "-c", "mkdir -p /www && echo small > /www/s && dd if=/dev/zero of=/www/big bs=1M count={mb} 2>/dev/null "
       "&& exec httpd -f -p 80 -h /www"]


class BridgedDocker(DockerDaemon):
    """The benchmark's dockerd with a bridge of its own (the engine bench runs it with none)."""

    def start(self) -> None:
        subprocess.run(["ip", "link", "add", DOCKER_BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", DOCKER_BIP, "dev", DOCKER_BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", DOCKER_BRIDGE, "up"], check=True)
        original = subprocess.Popen

        def popen(args, *a, **kw):
            if args and args[0] == "dockerd":
                args = [x for x in args if x not in ("--bridge", "none")]
                args += ["--bridge", DOCKER_BRIDGE]
            return original(args, *a, **kw)

        subprocess.Popen = popen
        try:
            super().start()
        finally:
            subprocess.Popen = original

    def stop(self) -> list[str]:
        left = super().stop()
        subprocess.run(["ip", "link", "del", DOCKER_BRIDGE], capture_output=True)
        return left


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_costs(engines, n: int) -> dict:
    samples = {e.name: {"bridge": [], "none": []} for e in engines}
    for _ in range(n):
        for engine in engines:
            for mode in ("bridge", "none"):
                args = ["run", "--rm"] + (["--network", "none"] if mode == "none" else []) + ["busybox", "true"]
                samples[engine.name][mode].append(timed(lambda: engine.docker(*args)))
    return samples


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        size = 0
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
        return size
    finally:
        conn.close()


def wait_http(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if get(port, "/s"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"no web server on port {port}")
        time.sleep(0.1)


def throughput(engines, requests: int, mb: int, rounds: int = 3) -> dict:
    ports = {}
    for i, engine in enumerate(engines):
        port = 18900 + i
        cmd = [WEB[0], WEB[1], WEB[2].format(mb=mb)]
        engine.docker("run", "-d", "--name", "bench-web", "-p", f"127.0.0.1:{port}:80", "busybox", *cmd)
        ports[engine.name] = port
    for engine in engines:
        wait_http(ports[engine.name])
        get(ports[engine.name], "/big")         # warm: the file exists, page cache filled
    out = {e.name: {"small_rps": [], "large_mbps": []} for e in engines}
    for _ in range(rounds):
        for engine in engines:
            port = ports[engine.name]
            elapsed = timed(lambda: [get(port, "/s") for _ in range(requests)])
            out[engine.name]["small_rps"].append(requests / elapsed)
            size = [0]
            elapsed = timed(lambda: size.__setitem__(0, get(port, "/big")))
            out[engine.name]["large_mbps"].append(size[0] / elapsed / 1e6)
    for engine in engines:
        engine.docker("rm", "-f", "bench-web")
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--json")
    args = parser.parse_args()
    docker_cli = shutil.which("docker", path="/usr/local/bin:/usr/bin") or "docker"
    hako, docker = HakoDaemon(docker_cli), BridgedDocker(docker_cli)
    top = tempfile.mkdtemp(prefix="hkb-net-")
    results: dict = {}
    try:
        rootfs = build_rootfs(os.path.join(top, "rootfs"))
        tar_path = os.path.join(top, "busybox.tar")
        with tarfile.open(tar_path, "w") as tar:
            tar.add(rootfs, arcname=".")
        engines = [hako, docker]
        for engine in engines:
            engine.start()
            engine.import_image(tar_path)
            engine.docker("run", "--rm", "busybox", "true")   # warm
        results["run"] = run_costs(engines, args.n)
        results["throughput"] = throughput(engines, args.requests, args.mb)
    finally:
        left = docker.stop() + hako.stop()
        shutil.rmtree(top, ignore_errors=True)
        if left:
            print("cleaned:", left, file=sys.stderr)
    med = statistics.median
    print("| measure | hakod | dockerd | hako / docker |\n|---|---|---|---|")
    run = results["run"]
    for mode in ("none", "bridge"):
        h, d = med(run["hakod"][mode]) * 1000, med(run["dockerd"][mode]) * 1000
        print(f"| run --rm ({mode}), ms | {h:.0f} | {d:.0f} | {h / d:.2f} |")
    h = (med(run["hakod"]["bridge"]) - med(run["hakod"]["none"])) * 1000
    d = (med(run["dockerd"]["bridge"]) - med(run["dockerd"]["none"])) * 1000
    print(f"| bridge cost (bridge − none), ms | {h:.1f} | {d:.1f} | {h / d:.2f} |" if d else f"| bridge cost, ms | {h:.1f} | {d:.1f} | - |")
    tp = results["throughput"]
    for key, label in (("small_rps", f"small HTTP requests/s ({args.requests}, 127.0.0.1)"),
                       ("large_mbps", f"one {args.mb} MB transfer, MB/s (127.0.0.1)")):
        h, d = med(tp["hakod"][key]), med(tp["dockerd"][key])
        print(f"| {label} | {h:.0f} | {d:.0f} | {h / d:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
