"""Published ports with the real kernel: NAT rules, the userland proxy for loopback, host ports.

A busybox httpd published with -p answers on 127.0.0.1 (the proxy), on the host's own
non-loopback address (DNAT in the output hook), and from a client in a network namespace the test
makes (DNAT in prerouting, as for a remote machine). Traffic stays on this host.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from tests.conftest import needs_root
from tests.integration.network_helpers import (WEB_CMD, ClientNamespace, free_port, host_address, http_get,
                                               netns_files, nft_published, wait_http)

pytestmark = needs_root


def hako_ok(daemon, *args: str) -> str:
    result = daemon.hako(*args)
    assert result.returncode == 0, f"hako {' '.join(args)}: {result.stderr}"
    return result.stdout


def inspect(daemon, ref: str) -> dict:
    return json.loads(hako_ok(daemon, "inspect", ref))[0]


def test_a_published_httpd_answers_on_loopback_host_address_and_from_another_namespace(hakod):
    port = free_port()
    cid = hako_ok(hakod, "run", "-d", "-p", f"{port}:80", "busybox", *WEB_CMD).strip()
    expected = f"hello-from-{cid[:12]}"
    assert expected in wait_http(f"http://127.0.0.1:{port}/index.html")
    assert expected in http_get(f"http://{host_address()}:{port}/index.html")
    with ClientNamespace() as client:
        out = client.run("busybox", "wget", "-q", "-O", "-", f"http://{client.host_ip}:{port}/index.html").stdout
        assert expected in out
    assert f"dport {port} dnat to" in nft_published(hakod.nft_table())
    assert hako_ok(hakod, "port", cid) == f"80/tcp -> 0.0.0.0:{port}\n"
    assert hako_ok(hakod, "port", cid, "80") == f"0.0.0.0:{port}\n"

    hako_ok(hakod, "rm", "-f", cid)
    assert f"dport {port}" not in nft_published(hakod.nft_table())
    with socket.socket() as s:      # the proxy let go of the port (TIME_WAIT aside)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(1)
    assert netns_files(hakod) == []


def test_random_host_ports_and_publish_all(hakod):
    cid = hako_ok(hakod, "run", "-d", "-p", "80", "--expose", "81", "-P", "busybox", *WEB_CMD).strip()
    ports = inspect(hakod, cid)["NetworkSettings"]["Ports"]
    assert set(ports) == {"80/tcp", "81/tcp"}
    host_port = int(ports["80/tcp"][0]["HostPort"])
    low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert low <= host_port <= high
    assert f"hello-from-{cid[:12]}" in wait_http(f"http://127.0.0.1:{host_port}/index.html")
    summary = [c for c in hakod.api("GET", "/containers/json").json() if c["Id"] == cid][0]
    assert {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": host_port, "Type": "tcp"} in summary["Ports"]


def test_a_port_bound_to_one_address(hakod):
    port = free_port()
    cid = hako_ok(hakod, "run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", *WEB_CMD).strip()
    assert f"hello-from-{cid[:12]}" in wait_http(f"http://127.0.0.1:{port}/index.html")
    assert inspect(hakod, cid)["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]


def test_udp_port(hakod):
    """busybox has no UDP server: a UDP echo the test runs inside the container's namespace
    (its SandboxKey) stands in for one."""
    port = free_port()
    cid = hako_ok(hakod, "run", "-d", "-p", f"{port}:5353/udp", "busybox", "sleep", "300").strip()
    sandbox = inspect(hakod, cid)["NetworkSettings"]["SandboxKey"]
    echo = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5353))\n"
            "while True:\n    data, peer = s.recvfrom(100); s.sendto(b'pong:' + data, peer)")
    server = subprocess.Popen(["nsenter", f"--net={sandbox}", sys.executable, "-c", echo])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            for _ in range(40):
                s.sendto(b"ping", ("127.0.0.1", port))
                try:
                    data = s.recv(100)
                    break
                except socket.timeout:
                    continue
            else:
                raise AssertionError("no UDP answer through the published port")
        assert data == b"pong:ping"
    finally:
        server.kill()
        server.wait()


def test_a_port_in_use_fails_the_start_and_leaves_nothing(hakod):
    port = free_port()
    first = hako_ok(hakod, "run", "-d", "-p", f"{port}:80", "busybox", *WEB_CMD).strip()
    before = sorted(hakod.leaks())          # what the first container holds, legitimately
    result = hakod.hako("run", "-d", "--name", "second", "-p", f"{port}:80", "busybox", *WEB_CMD)
    assert result.returncode != 0
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in result.stderr
    assert inspect(hakod, "second")["State"]["Status"] == "created"
    assert len(netns_files(hakod)) == 1 and sorted(hakod.leaks()) == before
    assert nft_published(hakod.nft_table()).count("dnat to") == 1
    hako_ok(hakod, "rm", "-f", first)

    with socket.socket() as holder:     # held by someone else than hako
        holder.bind(("0.0.0.0", port))
        holder.listen(1)
        result = hakod.hako("start", "second")
        assert result.returncode != 0 and "address already in use" in result.stderr
        assert inspect(hakod, "second")["State"]["Status"] == "created"
    assert netns_files(hakod) == [] and not hakod.leaks()
    hako_ok(hakod, "start", "second")
    assert "hello-from" in wait_http(f"http://127.0.0.1:{port}/index.html")


def test_a_container_reaches_another_ones_port_through_the_host_address(hakod):
    """Traffic from a bridge to the host's own address is not DNATed on that bridge: the proxy
    listening on every address answers it (as docker-proxy does)."""
    port = free_port()
    cid = hako_ok(hakod, "run", "-d", "-p", f"{port}:80", "busybox", *WEB_CMD).strip()
    wait_http(f"http://127.0.0.1:{port}/index.html")
    get = f"printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host_address()} {port}"
    result = hakod.hako("run", "--rm", "busybox", "sh", "-c", get)
    assert f"hello-from-{cid[:12]}" in result.stdout, result.stderr


def test_a_host_port_range_takes_the_next_free_port(hakod):
    first = free_port()
    span = f"{first}-{first + 20}"
    a = hako_ok(hakod, "run", "-d", "-p", f"{span}:80", "busybox", *WEB_CMD).strip()
    b = hako_ok(hakod, "run", "-d", "-p", f"{span}:80", "busybox", *WEB_CMD).strip()
    port_a = int(inspect(hakod, a)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    port_b = int(inspect(hakod, b)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    assert first <= port_a <= first + 20 and first <= port_b <= first + 20 and port_a != port_b
    assert f"hello-from-{b[:12]}" in wait_http(f"http://127.0.0.1:{port_b}/index.html")
