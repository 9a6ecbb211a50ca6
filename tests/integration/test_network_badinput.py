"""Bad input to the network API: Docker's status and message, and nothing changed or left."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


def names(daemon) -> list[str]:
    return sorted(n["Name"] for n in daemon.api("GET", "/networks").json())


def create(daemon, name: str, **body):
    return daemon.api("POST", "/networks/create", {"Name": name, **body})


@pytest.fixture
def net(hakod):
    name = "bad-" + uuid.uuid4().hex[:6]
    resp = create(hakod, name, IPAM={"Config": [{"Subnet": "10.124.0.0/16"}]})
    assert resp.status == 201, resp.body
    yield name
    hakod.remove_all_containers()
    hakod.api("DELETE", f"/networks/{name}")


@pytest.mark.parametrize("config, status, message", [
    ({"Subnet": "10.124.5.0/24"}, 403, "invalid pool request: Pool overlaps with other one on this address space"),
    ({"Subnet": "10.300.0.0/16"}, 400, "invalid CIDR address: 10.300.0.0/16"),
    ({"Subnet": "10.125.0.1/16"}, 400, "invalid subnet 10.125.0.1/16 : it should be 10.125.0.0/16"),
    ({"Subnet": "10.126.0.0/16", "Gateway": "10.127.0.1"}, 400, "no matching subnet for gateway 10.127.0.1"),
])
def test_bad_subnets_are_refused_and_nothing_is_made(hakod, net, config, status, message):
    before = names(hakod)
    resp = create(hakod, "x-" + uuid.uuid4().hex[:6], IPAM={"Config": [config]})
    assert (resp.status, resp.json()["message"]) == (status, message)
    assert names(hakod) == before


def test_a_duplicate_name_and_predefined_names(hakod, net):
    resp = create(hakod, net)
    assert (resp.status, resp.json()["message"]) == (409, f"network with name {net} already exists")
    resp = create(hakod, "bridge")
    assert resp.status == 403
    resp = hakod.api("DELETE", "/networks/bridge")
    assert (resp.status, resp.json()["message"]) == (403, "bridge is a pre-defined network and cannot be removed")
    resp = create(hakod, "x", Driver="overlay")
    assert (resp.status, resp.json()["message"]) == (404, 'plugin "overlay" not found')


def test_removing_a_network_with_a_running_container_is_refused(hakod, net):
    cid = hakod.docker("run", "-d", "--name", "holder", "--network", net, "busybox", "sleep", "300").stdout.strip()
    resp = hakod.api("DELETE", f"/networks/{net}")
    assert resp.status == 403
    assert resp.json()["message"].startswith(f"error while removing network: network {net} has active endpoints")
    assert net in names(hakod)
    assert hakod.api("GET", f"/containers/{cid}/json").json()["NetworkSettings"]["Networks"][net]["IPAddress"]


def test_unknown_network_at_create_creates_nothing(hakod):
    before = hakod.api("GET", "/containers/json?all=1").json()
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {"NetworkMode": "nonet"}})
    assert (resp.status, resp.json()["message"]) == (404, "network nonet not found")
    assert hakod.api("GET", "/containers/json?all=1").json() == before


def test_static_addresses_checked(hakod, net):
    def create_with(network: str, ip: str):
        return hakod.api("POST", "/containers/create", {
            "Image": "busybox", "HostConfig": {"NetworkMode": network},
            "NetworkingConfig": {"EndpointsConfig": {network: {"IPAMConfig": {"IPv4Address": ip}}}}})

    resp = create_with("bridge", "172.17.0.9")
    assert (resp.status, resp.json()["message"]) == (400, "user specified IP address is supported on user defined networks only")
    resp = create_with(net, "10.99.0.5")
    assert resp.status == 400 and "does not belong to any of this network's subnets" in resp.json()["message"]
    assert create_with(net, "10.124.0.5").status == 201


def test_connect_errors(hakod, net):
    resp = hakod.api("POST", f"/networks/{net}/connect", {"Container": "no-such-container"})
    assert (resp.status, resp.json()["message"]) == (404, "No such container: no-such-container")
    hakod.docker("create", "--name", "c", "--network", net, "busybox")
    resp = hakod.api("POST", f"/networks/{net}/connect", {"Container": "c"})
    assert (resp.status, resp.json()["message"]) == (403, f"endpoint with name c already exists in network {net}")
    resp = hakod.api("POST", "/networks/bridge/disconnect", {"Container": "c"})
    assert resp.status == 403 and "is not connected to network bridge" in resp.json()["message"]
    resp = hakod.api("GET", "/networks/nope")
    assert (resp.status, resp.json()["message"]) == (404, "network nope not found")


def test_a_stopped_container_whose_network_went_away_does_not_start(hakod):
    name = "gone-" + uuid.uuid4().hex[:6]
    network_id = create(hakod, name).json()["Id"]
    hakod.docker("create", "--name", "orphan", "--network", name, "busybox", "true", check=True)
    assert hakod.api("DELETE", f"/networks/{name}").status == 204      # no running container on it
    resp = hakod.api("POST", "/containers/orphan/start")
    assert (resp.status, resp.json()["message"]) == (404, f"network {network_id} not found")
    assert hakod.api("GET", "/containers/orphan/json").json()["State"]["Status"] == "created"
