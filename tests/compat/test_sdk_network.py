"""The docker SDK against hakod: networks, connect/disconnect, published ports, attrs."""

from __future__ import annotations

import uuid

import docker
import pytest

from tests.compat.polling import poll
from tests.conftest import needs_root
from tests.integration.network_helpers import WEB_CMD, free_port, wait_http

pytestmark = needs_root


@pytest.fixture
def client(hakod):
    c = hakod.sdk()
    yield c
    c.close()


def test_network_lifecycle_and_container_connections(hakod, client):
    name = "snet-" + uuid.uuid4().hex[:6]
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.132.0.0/24")])
    network = client.networks.create(name, driver="bridge", ipam=ipam, labels={"k": "v"})
    try:
        assert network.attrs["IPAM"]["Config"][0]["Subnet"] == "10.132.0.0/24"
        assert client.networks.get(name).id == network.id
        assert [n.name for n in client.networks.list(names=[name])] == [name]
        web = client.containers.run("busybox", WEB_CMD, detach=True, name="sweb", network=name)
        other = client.containers.run("busybox", ["sleep", "300"], detach=True, name="sother")
        network.connect(other, aliases=["buddy"], ipv4_address="10.132.0.50")
        network.reload()
        assert set(network.attrs["Containers"]) == {web.id, other.id}
        other.reload()
        assert other.attrs["NetworkSettings"]["Networks"][name]["IPAddress"] == "10.132.0.50"
        code, out = web.exec_run(["ping", "-c", "1", "buddy"])
        assert code == 0 and b"10.132.0.50" in out
        get = "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 sweb 80"
        assert poll(lambda: b"hello-from" in other.exec_run(["sh", "-c", get]).output)
        network.disconnect(other)
        assert other.exec_run(["ping", "-c", "1", "-W", "1", "sweb"]).exit_code != 0
        with pytest.raises(docker.errors.APIError) as err:
            network.remove()
        assert err.value.status_code == 403
    finally:
        for c in client.containers.list(all=True):
            c.remove(force=True)
        client.networks.get(name).remove()
    with pytest.raises(docker.errors.NotFound):
        client.networks.get(name)


def test_ports_and_prune(hakod, client):
    port = free_port()
    c = client.containers.run("busybox", WEB_CMD, detach=True, ports={"80/tcp": port})
    assert "hello-from" in wait_http(f"http://127.0.0.1:{port}/index.html")
    c.reload()
    assert c.ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    c2 = client.containers.run("busybox", WEB_CMD, detach=True, ports={"80/tcp": None})
    c2.reload()
    assert int(c2.ports["80/tcp"][0]["HostPort"]) > 0
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.run("busybox", WEB_CMD, detach=True, ports={"80/tcp": port})
    assert "port is already allocated" in str(err.value)
    name = "prunable-" + uuid.uuid4().hex[:6]
    client.networks.create(name, labels={"prune": "me"})
    result = client.networks.prune(filters={"label": "prune=me"})
    assert result["NetworksDeleted"] == [name]
