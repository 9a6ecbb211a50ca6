"""Live restore: containers outlive hakod (DESIGN.md, decision 2).

A `kill -9` of hakod leaves every container running under its monitor, with its log still being
written; a new hakod finds them again, records the exits that happened while it was away, and
serves attach, exec, stop and rm as before. Each test runs a hakod of its own, so it may kill it.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.conftest import needs_root
from tests.integration.hakod_helpers import (attach, create, docker_ok, exec_output, inspect, own_daemon, pid_alive,
                                             run_detached, start, state, wait_exit, wait_for)

pytestmark = needs_root

COUNTER = "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done"


def test_kill9_leaves_containers_running_and_a_new_hakod_finds_them(busybox_image_tar, tmp_path):
    trigger = tmp_path / "trigger"
    trigger.mkdir()
    with own_daemon(busybox_image_tar) as daemon:
        counter = run_detached(daemon, "sh", "-c", COUNTER, name="counter")
        # Exits with 5 once the test creates /trigger/go: the exit happens while hakod is away.
        exiter = run_detached(daemon, "sh", "-c", "while [ ! -e /trigger/go ]; do sleep 0.05; done; exit 5",
                              name="exiter", HostConfig={"Binds": [f"{trigger}:/trigger"]})
        shell = create(daemon, {"Cmd": ["sh"], "Tty": True, "OpenStdin": True, "AttachStdin": True}, "shell")
        start(daemon, shell)
        pids = {cid: state(daemon, cid)["Pid"] for cid in (counter, exiter, shell)}
        log_path = inspect(daemon, counter)["LogPath"]
        wait_for(lambda: os.path.getsize(log_path) > 0, what="the counter's first line")

        daemon.kill9()
        assert all(pid_alive(pid) for pid in pids.values()), "a container died with hakod"
        (trigger / "go").touch()
        wait_for(lambda: not pid_alive(pids[exiter]), what="the exiter to exit while hakod is down")
        size = os.path.getsize(log_path)
        wait_for(lambda: os.path.getsize(log_path) > size, what="the log to grow while hakod is down")

        daemon.launch()
        for cid in (counter, shell):
            st = state(daemon, cid)
            assert st["Running"] and st["Status"] == "running", st
            assert st["Pid"] == pids[cid]
        st = state(daemon, exiter)
        assert st["Status"] == "exited" and st["ExitCode"] == 5 and st["Pid"] == 0, st
        assert "Exited (5)" in docker_ok(daemon, "ps", "-a", "--filter", "name=exiter", "--format", "{{.Status}}")
        assert wait_exit(daemon, exiter) == 5

        # The log kept everything: the lines written while hakod was away are in `docker logs`.
        lines = docker_ok(daemon, "logs", "counter").split()
        numbers = [int(line[4:]) for line in lines]
        assert numbers == list(range(len(numbers))), "lines lost or reordered across the restart"
        assert len(lines) > 1

        # attach works again: the counter's next line, and the TTY shell answers.
        stream = attach(daemon, counter, stdin=False)
        try:
            stream.read_until(b"tick")
        finally:
            stream.close()
        stream = attach(daemon, shell)
        try:
            stream.send(b"echo restored-$((40+2))\n")
            stream.read_until(b"restored-42")
        finally:
            stream.close()
        code, output = exec_output(daemon, counter, "echo", "exec-after-restore")
        assert (code, output) == (0, "exec-after-restore\n")

        docker_ok(daemon, "stop", "-t", "1", "counter")
        assert state(daemon, counter)["Status"] == "exited"
        assert not pid_alive(pids[counter])
        docker_ok(daemon, "rm", "-f", "shell", "counter", "exiter")
        assert daemon.api("GET", "/containers/json?all=1").json() == []
        assert not pid_alive(pids[shell])


def test_sigterm_stops_hakod_cleanly_and_leaves_containers_running(busybox_image_tar):
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000", name="sleeper")
        pid = state(daemon, cid)["Pid"]
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=30) == 0, daemon.log()
        assert not os.path.exists(daemon.socket), "hakod left its socket behind"
        assert pid_alive(pid)
        daemon.launch()
        st = state(daemon, cid)
        assert st["Running"] and st["Pid"] == pid, st
        assert docker_ok(daemon, "ps", "-q", "--no-trunc").split() == [cid]
        docker_ok(daemon, "kill", "sleeper")
        assert wait_exit(daemon, cid) == 137


def test_a_container_that_exits_during_a_restart_reports_to_a_waiting_client(busybox_image_tar, tmp_path):
    """`wait` after the restart sees the exit that happened between two hakods."""
    trigger = tmp_path / "t"
    trigger.mkdir()
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sh", "-c", "while [ ! -e /t/go ]; do sleep 0.05; done; echo bye; exit 7",
                           HostConfig={"Binds": [f"{trigger}:/t"]})
        pid = state(daemon, cid)["Pid"]
        daemon.kill9()
        daemon.launch()
        assert state(daemon, cid)["Pid"] == pid
        (trigger / "go").touch()
        assert wait_exit(daemon, cid) == 7        # the new hakod watches the monitor again
        st = state(daemon, cid)
        assert st["Status"] == "exited" and st["ExitCode"] == 7
        resp = daemon.api("GET", f"/containers/{cid}/logs?stdout=1")
        assert b"bye\n" in resp.body


@pytest.mark.parametrize("kill", ["kill9", "sigterm"])
def test_restarts_in_a_row_keep_one_monitor_per_container(busybox_image_tar, kill):
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000")
        pid = state(daemon, cid)["Pid"]
        for _ in range(3):
            if kill == "kill9":
                daemon.kill9()
            else:
                daemon.process.send_signal(signal.SIGTERM)
                daemon.process.wait(timeout=30)
            daemon.launch()
        assert state(daemon, cid)["Pid"] == pid
        from tests.daemon import monitor_pids

        assert len(monitor_pids(daemon.exec_root)) == 1, "one container, one monitor (the zygote holds nothing)"
        docker_ok(daemon, "rm", "-f", cid)


# ---- a start cut short by hakod's death ------------------------------------------------------------
# hakod mounts the root, has the zygote fork a monitor that creates the container, then tells it
# to start and saves the record. A kill -9 in between leaves a monitor the record does not know.

def _set_status(daemon, cid: str, status: str) -> None:
    """Rewrite the container's saved state while hakod is down, as if its last save never ran."""
    import json
    import sqlite3

    db = sqlite3.connect(os.path.join(daemon.data_root, "hako.db"))
    try:
        (data,) = db.execute("SELECT data FROM containers WHERE id = ?", (cid,)).fetchone()
        record = json.loads(data)
        record["state"].update(status=status, pid=0)
        with db:
            db.execute("UPDATE containers SET data = ? WHERE id = ?", (json.dumps(record), cid))
    finally:
        db.close()


def test_a_process_started_just_before_the_crash_is_adopted(busybox_image_tar):
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000")
        pid = state(daemon, cid)["Pid"]
        daemon.kill9()
        _set_status(daemon, cid, "created")     # the start ran, its save did not
        daemon.launch()
        st = state(daemon, cid)
        assert st["Status"] == "running" and st["Pid"] == pid, st
        docker_ok(daemon, "kill", cid)
        assert wait_exit(daemon, cid) == 137


def test_a_monitor_left_waiting_for_start_is_told_to_give_up(busybox_image_tar):
    from hako.monitor.zygote import Zygote
    from hako.snapshots import LayerStore

    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000")
        bundle = os.path.join(daemon.exec_root, "containers", cid, "bundle")
        docker_ok(daemon, "stop", "-t", "0", cid)
        daemon.kill9()
        # Redo hakod's first steps of a start by hand: mount the root, a monitor creates the container.
        LayerStore(os.path.join(daemon.data_root, "overlay")).mount(cid)
        # (in a network namespace of its own: the one the bundle names went away with the stop)
        import json as jsonlib

        config_path = os.path.join(bundle, "config.json")
        with open(config_path) as f:
            config = jsonlib.load(f)
        for ns in config["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns.pop("path", None)
        with open(config_path, "w") as f:
            jsonlib.dump(config, f)
        monitor_dir = os.path.join(daemon.exec_root, "m", cid[:24])
        zygote = Zygote.start(os.path.join(daemon.base, "test-zygote.log"))
        try:
            fd = zygote.spawn({"mode": "container", "id": cid, "dir": monitor_dir, "bundle": bundle,
                               "runtime_root": os.path.join(daemon.exec_root, "runtime"), "tty": False,
                               "stdin": False, "log": None, "loopback": True})
            with os.fdopen(fd, "rb") as status:
                import json

                report = json.loads(status.readline())
        finally:
            zygote.stop()
        assert pid_alive(report["init"]) and daemon.leaks(), "the half-made start is there"

        daemon.launch()
        wait_for(lambda: not daemon.leaks(), what="the monitor, its container and the root mount to go")
        assert not pid_alive(report["init"])
        st = state(daemon, cid)
        assert st["Status"] == "exited" and st["ExitCode"] == 137, st
        start(daemon, cid)                      # and the container starts as usual afterwards
        assert state(daemon, cid)["Running"]
        docker_ok(daemon, "rm", "-f", cid)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_a_dead_zygote_is_replaced_and_running_containers_do_not_care(busybox_image_tar):
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000")
        pid = state(daemon, cid)["Pid"]
        (zygote,) = [p for p in _children(daemon.process.pid)
                     if b"hako.monitor.zygote" in open(f"/proc/{p}/cmdline", "rb").read()]
        os.kill(zygote, signal.SIGKILL)
        wait_for(lambda: not pid_alive(zygote), what="the zygote to die")
        result = daemon.docker("run", "--rm", "busybox", "echo", "still-here")
        assert (result.returncode, result.stdout) == (0, "still-here\n"), result.stderr
        assert state(daemon, cid)["Pid"] == pid and pid_alive(pid)
        code, out = exec_output(daemon, cid, "echo", "exec-ok")
        assert (code, out) == (0, "exec-ok\n")


def test_an_exec_that_ends_while_hakod_is_down_leaves_no_directory(busybox_image_tar, tmp_path):
    trigger = tmp_path / "t"
    trigger.mkdir()
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000", HostConfig={"Binds": [f"{trigger}:/t"]})
        exec_id = daemon.api("POST", f"/containers/{cid}/exec",
                             {"Cmd": ["sh", "-c", "while [ ! -e /t/go ]; do sleep 0.05; done"]}).json()["Id"]
        assert daemon.api("POST", f"/exec/{exec_id}/start", {"Detach": True}).status == 200
        monitor_dirs = os.path.join(daemon.exec_root, "m")
        exec_dir = os.path.join(monitor_dirs, "x" + exec_id[:23])
        assert os.path.isdir(exec_dir)
        daemon.kill9()
        (trigger / "go").touch()
        wait_for(lambda: not os.path.exists(os.path.join(exec_dir, "monitor.sock")), what="the exec to end")
        daemon.launch()
        assert not os.path.exists(exec_dir)
        assert os.listdir(monitor_dirs) == [cid[:24]]


def test_a_killed_monitor_takes_its_container_with_it(hakod):
    """A monitor that dies without an exit record (kill -9) must not leave its container running
    behind a record that says exited: hakod deletes it through the runtime."""
    cid = run_detached(hakod, "sleep", "1000")
    pid = state(hakod, cid)["Pid"]
    with open(f"/proc/{pid}/stat") as f:
        monitor = int(f.read().rsplit(")", 1)[1].split()[1])     # the init's parent: the monitor
    os.kill(monitor, signal.SIGKILL)
    st = wait_for(lambda: (s := state(hakod, cid))["Status"] == "exited" and s, what="the exit to be recorded")
    assert st["ExitCode"] == 255
    wait_for(lambda: not pid_alive(pid), what="the orphaned container to be killed")
    wait_for(lambda: not hakod.leaks(), what="its cgroup and mount to go")
