"""The docker SDK drives a container through its life against hakod: create, start, wait,
stop, kill, pause, rename, update, remove, list with filters, and prune."""

from __future__ import annotations

import os
import threading
import time

import docker
import pytest

from tests.conftest import needs_root
from tests.compat.polling import poll

pytestmark = needs_root

# A shell that exits with the number of the signal it got, so a test can tell which one arrived;
# PID 1 ignores signals it has no handler for, so the traps are what make it stoppable at all.
TRAPPING = ["sh", "-c", "trap 'exit 15' TERM; trap 'exit 10' USR1; trap 'exit 2' INT; "
                        "echo ready; while true; do sleep 0.05; done"]


def ready(container) -> None:
    """Wait until the shell has set its traps (it prints "ready" after them)."""
    poll(lambda: b"ready" in container.logs())


def ids(containers) -> set[str]:
    return {c.id for c in containers}


# --- create, start, wait ----------------------------------------------------------------------

def test_create_then_start_then_wait(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["sh", "-c", "exit 7"], name="lifecycle-one")
    assert container.status == "created"
    assert container.name == "lifecycle-one"
    assert client.containers.get("lifecycle-one").id == container.id
    assert client.containers.get(container.id[:12]).id == container.id
    container.start()
    result = container.wait(timeout=15)
    assert result["StatusCode"] == 7
    assert not result.get("Error")
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 7
    # Both set; their order is not checked: for a process that exits at once, StartedAt (taken by
    # the daemon when start returns) can trail FinishedAt (taken at the exit), in Docker too
    # (moby/moby#45445).
    assert not container.attrs["State"]["StartedAt"].startswith("0001")
    assert not container.attrs["State"]["FinishedAt"].startswith("0001")


def test_starting_a_running_container_again_is_fine(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True)
    container.start()     # Docker answers 304 Not Modified, which the SDK accepts silently
    container.reload()
    assert container.status == "running"


def test_wait_next_exit_waits_for_a_start(hakod):
    """condition=next-exit on a created container returns only after it has run and exited."""
    client = hakod.sdk()
    container = client.containers.create("busybox", ["sh", "-c", "exit 4"])
    result: dict = {}
    waiter = threading.Thread(target=lambda: result.update(container.wait(condition="next-exit", timeout=20)))
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive() and not result
    container.start()
    waiter.join(20)
    assert result["StatusCode"] == 4


def test_wait_removed_returns_when_the_container_is_gone(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "0.3"], detach=True, auto_remove=True)
    assert container.wait(condition="removed", timeout=20)["StatusCode"] == 0
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)


def test_wait_on_an_exited_container_returns_at_once(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "exit 5"], detach=True)
    assert container.wait(timeout=15)["StatusCode"] == 5
    assert container.wait(timeout=5)["StatusCode"] == 5


def test_wait_bad_condition_is_a_400(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        container.wait(condition="sometime")
    assert info.value.status_code == 400


# --- stop, kill ------------------------------------------------------------------------------

def test_stop_sends_sigterm_first(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", TRAPPING, detach=True)
    ready(container)
    container.stop(timeout=10)
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 15


def test_stop_kills_after_the_timeout(hakod):
    client = hakod.sdk()
    # sleep as PID 1 ignores SIGTERM (no handler), so only the SIGKILL after the timeout ends it.
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    started = time.monotonic()
    container.stop(timeout=1)
    assert time.monotonic() - started >= 0.9
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 137


def test_stop_uses_the_containers_stop_signal(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", TRAPPING, detach=True, stop_signal="SIGUSR1")
    ready(container)
    container.stop(timeout=10)
    assert container.wait(timeout=5)["StatusCode"] == 10


@pytest.mark.parametrize("signal, code", [("SIGUSR1", 10), ("USR1", 10), (2, 2), ("SIGKILL", 137)])
def test_kill_with_a_signal(hakod, signal, code):
    client = hakod.sdk()
    container = client.containers.run("busybox", TRAPPING, detach=True)
    ready(container)
    container.kill(signal=signal)
    assert container.wait(timeout=15)["StatusCode"] == code


def test_kill_a_stopped_container_is_a_409(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        container.kill()
    assert info.value.status_code == 409


def test_kill_with_a_bad_signal_is_a_400(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True)
    with pytest.raises(docker.errors.APIError) as info:
        container.kill(signal="SIGNOPE")
    assert info.value.status_code == 400


def test_restart_gives_a_new_process_without_counting_as_a_policy_restart(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", TRAPPING, detach=True)
    ready(container)
    first = client.api.inspect_container(container.id)["State"]
    container.restart(timeout=10)
    second = client.api.inspect_container(container.id)
    assert second["State"]["Status"] == "running"
    assert second["State"]["Pid"] != first["Pid"]
    assert second["State"]["StartedAt"] > first["StartedAt"]
    assert second["RestartCount"] == 0      # only restarts made by a policy count
    poll(lambda: container.logs().count(b"ready") == 2)


# --- pause, unpause ----------------------------------------------------------------------------

def test_pause_freezes_the_processes(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "while true; do echo tick; sleep 0.05; done"],
                                      detach=True)
    poll(lambda: container.logs().count(b"tick") >= 2)
    container.pause()
    container.reload()
    assert container.status == "paused"
    assert container.attrs["State"]["Paused"] is True
    frozen = container.logs().count(b"tick")
    time.sleep(0.4)
    assert container.logs().count(b"tick") <= frozen + 1    # one may have been in flight
    with pytest.raises(docker.errors.APIError) as info:
        container.pause()
    assert info.value.status_code == 409
    container.unpause()
    container.reload()
    assert container.status == "running"
    after = container.logs().count(b"tick")
    poll(lambda: container.logs().count(b"tick") > after + 2)


@pytest.mark.parametrize("how", ["stop", "kill", "remove"])
def test_a_paused_container_can_be_stopped_killed_or_removed(hakod, how):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True)
    container.pause()
    if how == "stop":
        container.stop(timeout=1)
        assert container.wait(timeout=15)["StatusCode"] == 137
    elif how == "kill":
        container.kill()
        assert container.wait(timeout=15)["StatusCode"] == 137
    else:
        container.remove(force=True)
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container.id)
        return
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["Paused"] is False


def test_unpause_a_running_container_is_a_409(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True)
    with pytest.raises(docker.errors.APIError) as info:
        container.unpause()
    assert info.value.status_code == 409


# --- rename, update --------------------------------------------------------------------------

def test_rename(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"], name="before-rename")
    client.containers.create("busybox", ["true"], name="taken-name")
    container.rename("after-rename")
    assert client.containers.get("after-rename").id == container.id
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("before-rename")
    with pytest.raises(docker.errors.APIError) as info:
        container.rename("taken-name")
    assert info.value.status_code == 409
    # the name is free again: Docker reserves names by record, not history
    assert client.containers.create("busybox", ["true"], name="before-rename").name == "before-rename"


def test_update_changes_limits_of_a_running_container(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True, mem_limit="64m")
    result = container.update(mem_limit="128m", memswap_limit="256m",
                              restart_policy={"Name": "on-failure", "MaximumRetryCount": 3})
    assert "Warnings" in result
    # The SDK's update() has no pids_limit; the API takes PidsLimit since 1.32.
    assert hakod.api("POST", f"/containers/{container.id}/update", {"PidsLimit": 50}).status == 200
    container.reload()
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 128 * 1024 * 1024
    assert host["PidsLimit"] == 50
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    parent = hakod.cgroup_parent.strip("/")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        memory, pids = f"/sys/fs/cgroup/{parent}/{container.id}/memory.max", f"/sys/fs/cgroup/{parent}/{container.id}/pids.max"
    else:
        memory = f"/sys/fs/cgroup/memory/{parent}/{container.id}/memory.limit_in_bytes"
        pids = f"/sys/fs/cgroup/pids/{parent}/{container.id}/pids.max"
    with open(memory) as f:
        assert int(f.read()) == 128 * 1024 * 1024
    with open(pids) as f:
        assert f.read().strip() == "50"


def test_update_of_a_created_container_applies_at_start(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["sleep", "30"])
    container.update(mem_limit="96m")
    container.start()
    parent = hakod.cgroup_parent.strip("/")
    path = (f"/sys/fs/cgroup/{parent}/{container.id}/memory.max"
            if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
            else f"/sys/fs/cgroup/memory/{parent}/{container.id}/memory.limit_in_bytes")
    with open(path) as f:
        assert int(f.read()) == 96 * 1024 * 1024


def test_update_of_a_missing_container_is_not_found(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.NotFound):
        client.api.update_container("no-such-container", mem_limit="64m")


# --- remove -----------------------------------------------------------------------------------

def test_names_must_be_unique_and_valid(hakod):
    client = hakod.sdk()
    client.containers.create("busybox", ["true"], name="unique-name")
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.create("busybox", ["true"], name="unique-name")
    assert info.value.status_code == 409
    assert "already in use" in str(info.value)
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.create("busybox", ["true"], name="bad name!")
    assert info.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.get("unique-name").rename("also bad!")
    assert info.value.status_code == 400


def test_remove_running_needs_force(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True)
    with pytest.raises(docker.errors.APIError) as info:
        container.remove()
    assert info.value.status_code == 409
    container.remove(force=True, v=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)


def test_remove_missing_is_not_found(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.NotFound):
        client.api.remove_container("no-such-container")


def test_get_missing_is_not_found_with_dockers_message(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.NotFound) as info:
        client.containers.get("no-such-container")
    assert info.value.status_code == 404
    assert "No such container: no-such-container" in str(info.value)


def test_ambiguous_id_prefix_is_not_a_match(hakod):
    client = hakod.sdk()
    made = [client.containers.create("busybox", ["true"]) for _ in range(17)]
    # Among 17 ids two share a first hex digit (pigeonhole): that prefix names no single container.
    by_digit: dict[str, list] = {}
    for c in made:
        by_digit.setdefault(c.id[0], []).append(c)
    digit = next(d for d, cs in by_digit.items() if len(cs) > 1)
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.get(digit)
    assert info.value.status_code in (400, 404, 409)


# --- list and filters ------------------------------------------------------------------------

def test_list_filters(hakod):
    client = hakod.sdk()
    running = client.containers.run("busybox", ["sleep", "30"], detach=True, name="list-running",
                                    labels={"tier": "web", "group": "a"})
    exited = client.containers.run("busybox", ["sh", "-c", "exit 3"], detach=True, name="list-exited",
                                   labels={"tier": "db"})
    created = client.containers.create("busybox", ["true"], name="list-created", labels={"group": "a"})
    exited.wait(timeout=15)

    assert ids(client.containers.list()) == {running.id}
    assert ids(client.containers.list(all=True)) == {running.id, exited.id, created.id}
    assert ids(client.containers.list(all=True, filters={"name": "list-ex"})) == {exited.id}
    assert ids(client.containers.list(all=True, filters={"name": "^/list-(running|created)$"})) == {running.id, created.id}
    assert ids(client.containers.list(all=True, filters={"label": "group=a"})) == {running.id, created.id}
    assert ids(client.containers.list(all=True, filters={"label": "tier"})) == {running.id, exited.id}
    assert ids(client.containers.list(all=True, filters={"label": ["tier", "group=a"]})) == {running.id}
    assert ids(client.containers.list(filters={"status": "exited"})) == {exited.id}
    assert ids(client.containers.list(filters={"status": "created"})) == {created.id}
    assert ids(client.containers.list(filters={"status": ["created", "running"]})) == {created.id, running.id}
    assert ids(client.containers.list(all=True, filters={"exited": 3})) == {exited.id}
    assert ids(client.containers.list(all=True, filters={"exited": 0})) == set()
    assert ids(client.containers.list(all=True, filters={"id": running.id[:10]})) == {running.id}
    assert ids(client.containers.list(all=True, filters={"ancestor": "busybox"})) == {running.id, exited.id, created.id}
    assert ids(client.containers.list(all=True, filters={"ancestor": "busybox:latest"})) == {running.id, exited.id, created.id}
    image_id = client.images.get("busybox").id
    assert ids(client.containers.list(all=True, filters={"ancestor": image_id})) == {running.id, exited.id, created.id}
    assert client.containers.list(all=True, filters={"ancestor": "no-such-image"}) == []
    assert ids(client.containers.list(all=True, limit=1)) == {created.id}     # the newest first
    assert ids(client.containers.list(all=True, filters={"before": created.id})) == {running.id, exited.id}
    assert ids(client.containers.list(all=True, filters={"since": running.id})) == {exited.id, created.id}


def test_list_summary_fields(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "30"], detach=True, name="summary")
    (summary,) = client.api.containers(filters={"id": container.id})
    assert summary["Id"] == container.id
    assert summary["Names"] == ["/summary"]
    assert summary["Image"] == "busybox"
    assert summary["ImageID"] == client.images.get("busybox").id
    assert summary["Command"] == "sleep 30"
    assert summary["State"] == "running"
    assert summary["Status"].startswith("Up ")
    assert isinstance(summary["Created"], int) and abs(summary["Created"] - time.time()) < 600


def test_list_with_a_bad_filter_is_a_400(hakod):
    client = hakod.sdk()
    client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.list(filters={"colour": "blue"})
    assert info.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.list(filters={"status": "sleepy"})
    assert info.value.status_code == 400


def test_list_with_a_bad_filter_is_a_400_even_with_no_containers(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.APIError) as info:
        client.containers.list(all=True, filters={"colour": "blue"})
    assert info.value.status_code == 400


# --- prune ------------------------------------------------------------------------------------

def test_prune_removes_stopped_containers_only(hakod):
    client = hakod.sdk()
    running = client.containers.run("busybox", ["sleep", "30"], detach=True)
    stopped = client.containers.run("busybox", ["true"], detach=True)
    created = client.containers.create("busybox", ["true"])
    kept = client.containers.create("busybox", ["true"], labels={"keep": "yes"})
    stopped.wait(timeout=15)
    result = client.containers.prune(filters={"label!": "keep"})
    assert set(result["ContainersDeleted"]) == {stopped.id, created.id}
    assert isinstance(result["SpaceReclaimed"], int)
    assert ids(client.containers.list(all=True)) == {running.id, kept.id}
    assert client.containers.prune()["ContainersDeleted"] == [kept.id]
    assert client.containers.prune()["ContainersDeleted"] in (None, [])
