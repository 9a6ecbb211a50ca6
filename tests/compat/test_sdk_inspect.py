"""Looking at containers through the docker SDK against hakod: inspect, top, stats, diff and
export, with values checked against what the kernel and the filesystem actually hold."""

from __future__ import annotations

import io
import tarfile

import docker
import pytest

from tests.conftest import needs_root
from tests.compat.polling import poll

pytestmark = needs_root

BUSY = ["sh", "-c", "while :; do :; done"]


# --- inspect ----------------------------------------------------------------------------------

def test_inspect_of_a_running_container(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True, name="inspected",
                                      environment={"A": "1"}, labels={"l": "v"})
    attrs = client.api.inspect_container(container.id)
    assert attrs["Id"] == container.id and len(attrs["Id"]) == 64
    assert attrs["Name"] == "/inspected"
    assert attrs["Path"] == "sleep" and attrs["Args"] == ["60"]
    assert attrs["Image"] == client.images.get("busybox").id
    assert attrs["Config"]["Image"] == "busybox"
    assert attrs["Config"]["Cmd"] == ["sleep", "60"]
    assert "A=1" in attrs["Config"]["Env"]
    assert attrs["Config"]["Labels"] == {"l": "v"}
    assert attrs["Config"]["Hostname"] == container.id[:12]
    state = attrs["State"]
    assert state["Status"] == "running" and state["Running"] is True
    assert state["Paused"] is False and state["Restarting"] is False and state["Dead"] is False
    assert state["ExitCode"] == 0
    assert state["StartedAt"].endswith("Z") and not state["StartedAt"].startswith("0001")
    assert state["FinishedAt"] == "0001-01-01T00:00:00Z"
    with open(f"/proc/{state['Pid']}/cmdline", "rb") as f:
        assert f.read() == b"sleep\x0060\x00"       # the Pid is the host's pid of the process
    assert attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert attrs["RestartCount"] == 0
    assert attrs["LogPath"].endswith("-json.log")


def test_inspect_of_an_exited_container(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "exit 3"], detach=True)
    container.wait(timeout=15)
    state = client.api.inspect_container(container.id)["State"]
    assert state["Status"] == "exited" and state["Running"] is False
    assert state["ExitCode"] == 3 and state["Pid"] == 0
    assert state["FinishedAt"] >= state["StartedAt"]


def test_oom_killed_is_reported(hakod):
    client = hakod.sdk()
    # tail buffers its whole input: an endless line grows until the 8 MiB limit kills it.
    container = client.containers.run("busybox", ["sh", "-c", "tail /dev/zero"], detach=True,
                                      mem_limit="8m", memswap_limit="8m")
    assert container.wait(timeout=30)["StatusCode"] == 137
    assert client.api.inspect_container(container.id)["State"]["OOMKilled"] is True


# --- top --------------------------------------------------------------------------------------

def test_top_lists_the_containers_processes(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    pid = client.api.inspect_container(container.id)["State"]["Pid"]
    result = container.top()
    titles = result["Titles"]
    assert titles[:3] == ["UID", "PID", "PPID"] and titles[-1] == "CMD"
    assert len(result["Processes"]) == 1
    row = dict(zip(titles, result["Processes"][0]))
    assert row["PID"] == str(pid)
    assert row["UID"] == "root"
    assert row["CMD"] == "sleep 60"


def test_top_sees_an_exec_and_takes_ps_args(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    container.exec_run(["sleep", "30"], detach=True, user="nobody")

    def two():
        procs = container.top()["Processes"]
        return len(procs) == 2 and procs

    commands = sorted(row[-1] for row in poll(two))
    assert commands == ["sleep 30", "sleep 60"]
    aux = container.top(ps_args="aux")
    assert aux["Titles"][0] == "USER" and aux["Titles"][-1] == "COMMAND"
    users = {row[-1]: row[0] for row in aux["Processes"]}
    assert users == {"sleep 60": "root", "sleep 30": "nobody"}


def test_top_of_a_stopped_container_is_a_409(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        container.top()
    assert info.value.status_code == 409


# --- stats ------------------------------------------------------------------------------------

def test_stats_of_a_busy_container(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", BUSY, detach=True, name="busy", mem_limit="64m")
    stats = container.stats(stream=False)
    assert stats["id"] == container.id
    assert stats["name"] == "/busy"
    cpu, precpu = stats["cpu_stats"], stats["precpu_stats"]
    assert cpu["cpu_usage"]["total_usage"] > 0
    # Two samples a second apart: the spinning shell used a good part of a CPU in between.
    assert cpu["cpu_usage"]["total_usage"] > precpu["cpu_usage"]["total_usage"] > 0
    assert cpu["system_cpu_usage"] > precpu["system_cpu_usage"] > 0
    assert cpu["online_cpus"] >= 1
    used = cpu["cpu_usage"]["total_usage"] - precpu["cpu_usage"]["total_usage"]
    assert used > 100_000_000      # > 0.1 s of CPU in the ~1 s window (it spins; the bar is low)
    memory = stats["memory_stats"]
    assert 0 < memory["usage"] < 64 * 1024 * 1024
    assert memory["limit"] == 64 * 1024 * 1024
    assert stats["pids_stats"]["current"] >= 1
    assert stats["read"] > stats["preread"]


def test_stats_stream_yields_samples_a_second_apart(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", BUSY, detach=True)
    stream = container.stats(stream=True, decode=True)
    first, second, third = next(stream), next(stream), next(stream)
    stream.close()
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    assert third["cpu_stats"]["cpu_usage"]["total_usage"] > second["cpu_stats"]["cpu_usage"]["total_usage"]
    assert first["read"] < second["read"] < third["read"]


def test_stats_one_shot_has_no_previous_sample(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    stats = container.stats(stream=False, one_shot=True)
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert not stats["precpu_stats"].get("cpu_usage", {}).get("total_usage")


def test_stats_stream_ends_when_the_container_stops(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    stream = container.stats(stream=True, decode=True)
    next(stream)
    container.kill()
    # Docker sends a last, empty sample and closes the stream.
    rest = list(stream)
    assert len(rest) < 10


# --- diff and export ------------------------------------------------------------------------

# Mount points hakod binds its own files onto; Docker keeps them out of diff with an init layer.
ETC_MOUNT_POINTS = {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}


def test_diff_of_a_fresh_container_is_empty(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["true"], detach=True)
    container.wait(timeout=15)
    assert not container.diff()


def test_diff_reports_added_changed_and_deleted(hakod):
    client = hakod.sdk()
    container = client.containers.run(
        "busybox", ["sh", "-c", "mkdir /made && echo x > /made/f && rm /bin/true && echo more >> /etc/group"],
        detach=True)
    assert container.wait(timeout=15)["StatusCode"] == 0
    changes = {c["Path"]: c["Kind"] for c in container.diff() if c["Path"] not in ETC_MOUNT_POINTS}
    # Kind: 0 changed, 1 added, 2 deleted (Docker's archive.ChangeType)
    assert changes == {"/made": 1, "/made/f": 1, "/bin": 0, "/bin/true": 2, "/etc": 0, "/etc/group": 0}


def test_export_is_the_containers_filesystem(hakod):
    client = hakod.sdk()
    container = client.containers.run(
        "busybox", ["sh", "-c", "mkdir /made && echo x > /made/f && rm /bin/true"], detach=True)
    assert container.wait(timeout=15)["StatusCode"] == 0
    data = b"".join(container.export())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {m.name.lstrip("./").rstrip("/") for m in tar.getmembers()}
        made = next(m for m in tar.getmembers() if m.name.lstrip("./") == "made/f")
        assert tar.extractfile(made).read() == b"x\n"
        busybox = next(m for m in tar.getmembers() if m.name.lstrip("./") == "bin/busybox")
        assert busybox.isfile() and busybox.size > 100_000
        sh = next(m for m in tar.getmembers() if m.name.lstrip("./") == "bin/sh")
        assert sh.issym() and sh.linkname == "/bin/busybox"
    assert "bin/true" not in names
    assert not any(".wh." in n for n in names)
    assert {"made", "etc/passwd", "tmp"} <= names


def test_export_of_a_missing_container_is_not_found(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.NotFound):
        b"".join(client.api.export("no-such-container"))
