"""The real docker CLI against hakod: `docker network …`, `run --network/-p`, `docker port`."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.compat.polling import poll
from tests.conftest import needs_root
from tests.integration.network_helpers import WEB_CMD, ClientNamespace, free_port, host_address, http_get, wait_http

pytestmark = needs_root


def ok(hakod, *args: str) -> str:
    return hakod.docker(*args, check=True).stdout


@pytest.fixture
def net(hakod):
    name = "dnet-" + uuid.uuid4().hex[:6]
    ok(hakod, "network", "create", "--label", "suite=compat", name)
    yield name
    hakod.remove_all_containers()
    hakod.docker("network", "rm", name)


def test_network_create_ls_inspect_rm(hakod):
    name = "dnet-" + uuid.uuid4().hex[:6]
    nid = ok(hakod, "network", "create", "--subnet", "10.131.0.0/24", "--gateway", "10.131.0.254",
             "--label", "a=b", "-o", "com.example.x=1", name).strip()
    assert len(nid) == 64
    listing = ok(hakod, "network", "ls")
    assert listing.splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert any(line.split()[1:] == [name, "bridge", "local"] for line in listing.splitlines())
    assert ok(hakod, "network", "ls", "-q", "--filter", f"name={name}").strip() == nid[:12]
    assert ok(hakod, "network", "ls", "--filter", "label=a=b", "--format", "{{.Name}}").strip() == name
    data = json.loads(ok(hakod, "network", "inspect", name))[0]
    assert data["IPAM"]["Config"] == [{"Subnet": "10.131.0.0/24", "Gateway": "10.131.0.254"}]
    assert data["Labels"] == {"a": "b"} and data["Options"] == {"com.example.x": "1"}
    assert ok(hakod, "network", "inspect", "-f", "{{.Driver}} {{.Scope}}", name).strip() == "bridge local"
    assert ok(hakod, "network", "rm", name).strip() == name
    result = hakod.docker("network", "inspect", name)
    assert result.returncode == 1 and f"network {name} not found" in result.stderr


def test_two_containers_by_name_and_alias_then_disconnect(hakod, net):
    ok(hakod, "run", "-d", "--name", "p1", "--network", net, "--network-alias", "srv", "busybox", *WEB_CMD)
    ok(hakod, "run", "-d", "--name", "p2", "--network", net, "busybox", "sleep", "300")
    assert "1 packets received" in ok(hakod, "exec", "p2", "ping", "-c", "1", "p1")
    assert "1 packets received" in ok(hakod, "exec", "p1", "ping", "-c", "1", "p2")
    get = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 srv 80"
    assert "hello-from" in poll(lambda: hakod.docker("exec", "p2", "sh", "-c", get).stdout)
    members = json.loads(ok(hakod, "network", "inspect", net))[0]["Containers"]
    assert sorted(c["Name"] for c in members.values()) == ["p1", "p2"]

    ok(hakod, "network", "disconnect", net, "p1")
    assert hakod.docker("exec", "p2", "ping", "-c", "1", "-W", "1", "p1").returncode != 0
    assert hakod.docker("exec", "p2", "nslookup", "srv").returncode != 0
    ok(hakod, "network", "connect", "--alias", "again", net, "p1")
    assert "1 packets received" in ok(hakod, "exec", "p2", "ping", "-c", "1", "again")


def test_run_rm_on_a_user_network_resolves_a_peer(hakod, net):
    ok(hakod, "run", "-d", "--name", "c1", "--network", net, "busybox", "sleep", "300")
    out = ok(hakod, "run", "--rm", "--network", net, "busybox", "ping", "-c", "1", "c1")
    assert "1 packets received" in out


def test_published_port_and_docker_port(hakod):
    port = free_port()
    cid = ok(hakod, "run", "-d", "-p", f"{port}:80", "busybox", *WEB_CMD).strip()
    assert f"hello-from-{cid[:12]}" in wait_http(f"http://127.0.0.1:{port}/index.html")
    assert f"hello-from-{cid[:12]}" in http_get(f"http://{host_address()}:{port}/index.html")
    with ClientNamespace() as client:
        out = client.run("busybox", "wget", "-q", "-O", "-", f"http://{client.host_ip}:{port}/index.html").stdout
        assert f"hello-from-{cid[:12]}" in out
    assert ok(hakod, "port", cid).splitlines() == [f"80/tcp -> 0.0.0.0:{port}"]
    assert ok(hakod, "port", cid, "80/tcp").strip() == f"0.0.0.0:{port}"
    assert f"0.0.0.0:{port}->80/tcp" in ok(hakod, "ps", "--format", "{{.Ports}}", "--filter", f"id={cid}")
    assert ok(hakod, "inspect", "-f", "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}", cid).strip() == str(port)


def test_port_already_allocated(hakod):
    port = free_port()
    ok(hakod, "run", "-d", "-p", f"{port}:80", "busybox", *WEB_CMD)
    result = hakod.docker("run", "-d", "--name", "loser", "-p", f"{port}:80", "busybox", *WEB_CMD)
    assert result.returncode == 125
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in result.stderr
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "loser").strip() == "created"


def test_network_rm_with_a_running_container_and_prune(hakod, net):
    ok(hakod, "run", "-d", "--name", "busy", "--network", net, "busybox", "sleep", "300")
    result = hakod.docker("network", "rm", net)
    assert result.returncode == 1 and "has active endpoints" in result.stderr
    spare = "spare-" + uuid.uuid4().hex[:6]
    ok(hakod, "network", "create", "--label", "suite=compat", spare)
    out = ok(hakod, "network", "prune", "-f", "--filter", "label=suite=compat")
    assert out == f"Deleted Networks:\n{spare}\n\n"
    assert net in ok(hakod, "network", "ls", "--format", "{{.Name}}").split()


def test_bad_subnet_error_as_docker_prints_it(hakod, net):
    result = hakod.docker("network", "create", "--subnet", "nonsense", "x-" + uuid.uuid4().hex[:4])
    assert result.returncode == 1
    assert "invalid CIDR address: nonsense" in result.stderr
