"""Bridge networks with the real kernel: addresses, routes, names, and the files that go with them.

Driven through the `hako` CLI (network create/connect/disconnect/rm, run --network …); what is
checked is what the containers see (ip, nslookup, ping, an HTTP request with nc) and what the
host holds (veths on the bridge, netns files).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import uuid

import pytest

from tests.conftest import needs_root
from tests.integration.hakod_helpers import wait_for
from tests.integration.network_helpers import WEB_CMD, netns_files, veths_on

pytestmark = needs_root

HTTP_GET = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {} 80"


def hako(daemon, *args: str) -> str:
    result = daemon.hako(*args)
    assert result.returncode == 0, f"hako {' '.join(args)}: {result.stderr}"
    return result.stdout


def run(daemon, *args: str) -> tuple[int, str]:
    result = daemon.hako("run", "--rm", *args)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def network(hakod):
    name = "net-" + uuid.uuid4().hex[:8]
    hako(hakod, "network", "create", name)
    yield name
    hakod.remove_all_containers()
    hakod.hako("network", "rm", name)


def inspect(daemon, ref: str) -> dict:
    return json.loads(hako(daemon, "inspect", ref))[0]


def test_default_bridge_gives_an_address_a_default_route_and_hosts_entry(hakod):
    bridge = json.loads(hako(hakod, "network", "inspect", "bridge"))[0]
    subnet = ipaddress.ip_network(bridge["IPAM"]["Config"][0]["Subnet"])
    gateway = bridge["IPAM"]["Config"][0]["Gateway"]
    code, out = run(hakod, "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts")
    assert code == 0, out
    address = out.split("inet ")[1].split("/")[0]
    assert ipaddress.ip_address(address) in subnet
    assert f"default via {gateway} dev eth0" in out
    assert f"{address}\t" in out                   # /etc/hosts maps the hostname to it
    assert netns_files(hakod) == []
    wait_for(lambda: veths_on(bridge["Options"]["com.docker.network.bridge.name"]) == [], what="the veth to go")


def test_the_default_bridge_has_no_embedded_dns(hakod):
    code, out = run(hakod, "busybox", "cat", "/etc/resolv.conf")
    assert code == 0 and "127.0.0.11" not in out


def test_containers_reach_each_other_by_name_and_alias_until_disconnected(hakod, network):
    hako(hakod, "run", "-d", "--name", "srv", "--network", network, "--network-alias", "web", "busybox", *WEB_CMD)
    srv = inspect(hakod, "srv")
    address = srv["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert address and srv["NetworkSettings"]["Networks"][network]["Aliases"] == ["web"]
    hako(hakod, "run", "-d", "--name", "cli", "--network", network, "busybox", "sleep", "300")

    def exec_sh(script: str) -> tuple[int, str]:
        result = hakod.hako("exec", "cli", "sh", "-c", script)
        return result.returncode, result.stdout + result.stderr

    assert f"Address: {address}" in exec_sh("nslookup srv 127.0.0.11")[1]
    assert f"Address: {address}" in exec_sh(f"nslookup {srv['Id'][:12]}")[1]
    for name in ("srv", "web"):
        code, out = exec_sh(f"ping -c 1 -W 2 {name}")
        assert code == 0 and f"({address})" in out, out
    body = wait_for(lambda: "hello-from" in (out := exec_sh(HTTP_GET.format("web"))[1]) and out, what="httpd")
    assert "200 OK" in body and f"hello-from-{srv['Id'][:12]}" in body
    assert exec_sh("cat /etc/resolv.conf")[1].startswith("nameserver 127.0.0.11")

    hako(hakod, "network", "disconnect", network, "srv")
    assert network not in inspect(hakod, "srv")["NetworkSettings"]["Networks"]
    code, out = exec_sh("nslookup srv")
    assert code != 0 and address not in out.split("Server:")[-1].split("Name:")[-1]
    assert exec_sh(f"ping -c 1 -W 1 {address}")[0] != 0


def test_connect_a_running_container_adds_an_interface_and_a_name(hakod, network):
    hako(hakod, "run", "-d", "--name", "late", "busybox", "sleep", "300")
    hako(hakod, "network", "connect", "--alias", "joined", network, "late")
    late = inspect(hakod, "late")
    address = late["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert address and late["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    code, out = hakod.hako("exec", "late", "ip", "-o", "-4", "addr", "show", "eth1").returncode, \
        hakod.hako("exec", "late", "ip", "-o", "-4", "addr", "show", "eth1").stdout
    assert code == 0 and address in out
    code, out = run(hakod, "--network", network, "busybox", "nslookup", "joined")
    assert code == 0 and f"Address: {address}" in out


def test_static_ip_and_30_concurrent_runs_get_distinct_addresses(hakod):
    name = "ipam-" + uuid.uuid4().hex[:8]
    hako(hakod, "network", "create", "--subnet", "10.123.0.0/24", "--ip-range", "10.123.0.128/25", name)
    try:
        code, out = run(hakod, "--network", name, "--ip", "10.123.0.7", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
        assert code == 0 and "10.123.0.7/24" in out, out

        def one(_):
            return run(hakod, "--network", name, "busybox", "ip", "-o", "-4", "addr", "show", "eth0")

        with concurrent.futures.ThreadPoolExecutor(30) as pool:
            results = list(pool.map(one, range(30)))
        assert all(code == 0 for code, _ in results), [out for code, out in results if code]
        addresses = [out.split("inet ")[1].split("/")[0] for _, out in results]
        assert len(set(addresses)) == 30
        assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.123.0.128/25") for a in addresses)
        # the allocator rolls on: a freed address is not handed out to the next container
        code, out = run(hakod, "--network", name, "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
        assert out.split("inet ")[1].split("/")[0] not in addresses
    finally:
        hakod.hako("network", "rm", name)


def test_internal_network_has_no_default_route(hakod):
    name = "int-" + uuid.uuid4().hex[:8]
    hako(hakod, "network", "create", "--internal", name)
    try:
        code, out = run(hakod, "--network", name, "busybox", "ip", "route")
        assert code == 0 and "default" not in out and "eth0" in out
    finally:
        hakod.hako("network", "rm", name)


def test_etc_files_follow_the_flags(hakod):
    code, out = run(hakod, "--hostname", "box1", "--add-host", "db.local:10.9.8.7", "--dns", "10.0.0.53",
                    "--dns-search", "corp.example", "busybox", "sh", "-c",
                    "hostname; cat /etc/hosts /etc/resolv.conf")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "box1"
    assert "10.9.8.7\tdb.local" in out
    assert "nameserver 10.0.0.53" in out and "search corp.example" in out


def test_host_and_none_modes(hakod):
    code, out = run(hakod, "--network", "none", "busybox", "ip", "-o", "link")
    assert code == 0 and "lo" in out and "eth0" not in out
    code, out = run(hakod, "--network", "host", "busybox", "ip", "-o", "link")
    host_links = open("/proc/net/dev").read()
    assert code == 0 and all(name.split(":")[0].strip() in out for name in host_links.splitlines()[2:])


def test_container_mode_shares_the_network_namespace(hakod):
    hako(hakod, "run", "-d", "--name", "owner", "busybox", "sleep", "300")
    address = inspect(hakod, "owner")["NetworkSettings"]["IPAddress"]
    code, out = run(hakod, "--network", "container:owner", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
    assert code == 0 and address in out


def test_network_ls_filters_and_prune(hakod):
    keep, drop = "keep-" + uuid.uuid4().hex[:6], "drop-" + uuid.uuid4().hex[:6]
    hako(hakod, "network", "create", "--label", "t=keep", keep)
    hako(hakod, "network", "create", "--label", "t=drop", drop)
    try:
        hako(hakod, "create", "--network", keep, "busybox")           # a container keeps it in use
        out = hako(hakod, "network", "ls", "--filter", "label=t", "--format", "{{.Name}} {{.Driver}}")
        assert sorted(out.splitlines()) == [f"{drop} bridge", f"{keep} bridge"]
        assert hako(hakod, "network", "ls", "-q", "--filter", "type=builtin").count("\n") == 3
        out = hako(hakod, "network", "prune", "-f")
        assert drop in out and keep not in out
        assert keep in hako(hakod, "network", "ls", "--format", "{{.Name}}").split()
    finally:
        hakod.remove_all_containers()
        hakod.hako("network", "rm", keep, drop)
