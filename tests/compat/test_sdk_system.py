"""System endpoints through the docker SDK against hakod: ping, version, info, events, df."""

from __future__ import annotations

import os
import platform
import threading
import time

import docker

from tests.conftest import needs_root

pytestmark = needs_root


def test_ping(hakod):
    assert hakod.sdk().ping() is True


def test_version(hakod):
    version = hakod.sdk().version()
    api = tuple(int(x) for x in version["ApiVersion"].split("."))
    assert api >= (1, 44)
    assert tuple(int(x) for x in version["MinAPIVersion"].split(".")) <= (1, 24)
    assert version["Os"] == "linux"
    assert version["Arch"] in ("amd64", "arm64")
    assert version["KernelVersion"] == platform.release()
    assert version["Version"]
    assert any(c["Name"] == "Engine" for c in version["Components"])


def test_auto_negotiated_version(hakod):
    client = docker.DockerClient(base_url=hakod.host, version="auto")
    assert client.api.api_version == hakod.sdk().version()["ApiVersion"]


def test_info_counts_and_host_facts(hakod):
    client = hakod.sdk()
    running = client.containers.run("busybox", ["sleep", "60"], detach=True)
    paused = client.containers.run("busybox", ["sleep", "60"], detach=True)
    paused.pause()
    client.containers.create("busybox", ["true"])
    info = client.info()
    assert (info["Containers"], info["ContainersRunning"], info["ContainersPaused"], info["ContainersStopped"]) == (3, 1, 1, 1)
    assert info["Images"] == len(client.images.list())
    assert info["NCPU"] == os.cpu_count()
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    assert info["MemTotal"] == total_kb * 1024
    assert info["KernelVersion"] == platform.release()
    assert info["OSType"] == "linux"
    assert info["Name"] == platform.node()
    assert info["DockerRootDir"] == hakod.data_root
    assert info["CgroupVersion"] == ("2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1")
    assert info["ID"]
    assert info["Driver"]
    paused.unpause()
    running.kill()


def test_events_between_since_and_until(hakod):
    client = hakod.sdk()
    since = time.time() - 1
    container = client.containers.run("busybox", ["sh", "-c", "exit 2"], detach=True, name="evented",
                                      labels={"who": "events-test"})
    container.wait(timeout=15)
    container.remove()
    until = time.time() + 1
    events = list(client.events(since=since, until=until, decode=True, filters={"container": container.id}))
    actions = [e["Action"] for e in events]
    for action in ("create", "start", "die", "destroy"):
        assert action in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = next(e for e in events if e["Action"] == "die")
    assert die["Type"] == "container"
    assert die["Actor"]["ID"] == container.id
    attributes = die["Actor"]["Attributes"]
    assert attributes["name"] == "evented"
    assert attributes["image"] == "busybox"
    assert attributes["exitCode"] == "2"
    assert attributes["who"] == "events-test"         # labels travel as attributes
    assert since <= die["time"] <= until
    assert die["timeNano"] // 1_000_000_000 == die["time"]
    # The legacy fields the SDK and old clients still read
    assert die["status"] == "die" and die["id"] == container.id and die["from"] == "busybox"


def test_events_filters(hakod):
    client = hakod.sdk()
    since = time.time() - 1
    first = client.containers.run("busybox", ["true"], detach=True, labels={"pick": "yes"})
    second = client.containers.run("busybox", ["true"], detach=True)
    first.wait(timeout=15)
    second.wait(timeout=15)
    until = time.time() + 1
    picked = list(client.events(since=since, until=until, decode=True, filters={"label": "pick=yes"}))
    assert picked and {e["Actor"]["ID"] for e in picked} == {first.id}
    dies = list(client.events(since=since, until=until, decode=True, filters={"event": "die", "type": "container"}))
    assert {e["Actor"]["ID"] for e in dies} >= {first.id, second.id}
    assert {e["Action"] for e in dies} == {"die"}


def test_events_stream_live(hakod):
    client = hakod.sdk()
    stream = client.events(decode=True, filters={"type": "container"})
    seen: list[dict] = []

    def read():
        for event in stream:
            seen.append(event)
            if event["Action"] == "die":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.2)      # the subscription is made when the request lands; give it a moment
    container = client.containers.run("busybox", ["true"], detach=True)
    reader.join(15)
    stream.close()
    assert not reader.is_alive(), seen
    assert [e["Action"] for e in seen if e["Actor"]["ID"] == container.id][:3] == ["create", "start", "die"]


def test_image_events(hakod):
    client = hakod.sdk()
    since = time.time() - 1
    image = client.images.get("busybox")
    image.tag("sdk-event-tag", "v1")
    client.images.remove("sdk-event-tag:v1")
    until = time.time() + 1
    events = list(client.events(since=since, until=until, decode=True, filters={"type": "image"}))
    actions = [e["Action"] for e in events]
    assert "tag" in actions and "untag" in actions
    tag = next(e for e in events if e["Action"] == "tag")
    assert tag["Actor"]["ID"] == image.id
    assert tag["Actor"]["Attributes"]["name"] == "sdk-event-tag:v1"


def test_df(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "head -c 100000 /dev/zero > /blob"], detach=True,
                                      name="df-probe")
    container.wait(timeout=15)
    df = client.df()
    assert df["LayersSize"] > 0
    busybox = client.images.get("busybox")
    image = next(i for i in df["Images"] if i["Id"] == busybox.id)
    assert image["Containers"] == 1
    assert image["Size"] > 0
    row = next(c for c in df["Containers"] if c["Id"] == container.id)
    assert row["Names"] == ["/df-probe"]
    assert row["SizeRw"] >= 100_000
    # Other tests on the shared daemon may leave volumes and build cache; what is there has Docker's shape.
    assert all("Name" in v and "UsageData" in v for v in df.get("Volumes") or [])
    assert all("ID" in b and "Type" in b for b in df.get("BuildCache") or [])
