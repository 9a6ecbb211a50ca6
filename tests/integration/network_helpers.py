"""Helpers for the network tests: a busybox web server, waiting for it, and a client namespace
that stands in for another machine (connected to the host by a veth pair the test makes)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid

WEB_CMD = ["sh", "-c", "mkdir -p /www && echo hello-from-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"]


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {result.stderr}")
    return result


def http_get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def wait_http(url: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http_get(url, timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def host_address() -> str:
    """One of this host's own non-loopback IPv4 addresses (not on a bridge hako made)."""
    data = json.loads(sh("ip", "-j", "-4", "addr", "show", "scope", "global").stdout)
    for link in data:
        name = link["ifname"]
        if name.startswith(("hk", "br-", "hako", "docker", "veth")):
            continue
        for addr in link.get("addr_info", []):
            return addr["local"]
    raise AssertionError("this host has no non-loopback IPv4 address")


def veths_on(bridge: str) -> list[str]:
    data = json.loads(sh("ip", "-j", "link", "show").stdout)
    return [link["ifname"] for link in data if link.get("master") == bridge]


class ClientNamespace:
    """`ip netns` namespace with a veth to the host: host side 10.251.N.1/30, inside .2, default
    route to the host. Traffic from it to the host's address crosses the host's prerouting hook
    as a remote machine's would."""

    def __init__(self):
        token = uuid.uuid4().hex[:6]
        self.name = f"hako-client-{token}"
        self.host_if = f"hkc{token}"
        third = int(token[:2], 16)
        self.host_ip, self.ns_ip = f"10.251.{third}.1", f"10.251.{third}.2"

    def __enter__(self):
        sh("ip", "netns", "add", self.name)
        try:
            sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "eth0", "netns", self.name)
            sh("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            sh("ip", "link", "set", self.host_if, "up")
            self.run("ip", "link", "set", "lo", "up")
            self.run("ip", "addr", "add", f"{self.ns_ip}/30", "dev", "eth0")
            self.run("ip", "link", "set", "eth0", "up")
            self.run("ip", "route", "add", "default", "via", self.host_ip)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.name, *args, check=check)

    def __exit__(self, *exc):
        sh("ip", "link", "del", self.host_if, check=False)
        sh("ip", "netns", "del", self.name, check=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def nft_published(table: str) -> str:
    return sh("nft", "list", "chain", "ip", table, "published", check=False).stdout


def netns_files(daemon) -> list[str]:
    path = os.path.join(daemon.exec_root, "netns")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []
