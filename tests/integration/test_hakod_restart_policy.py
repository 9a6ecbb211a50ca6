"""Restart policies, as Docker applies them: on exit, on `docker stop`, and when hakod starts again.

    no              never restarted
    on-failure[:N]  restarted after a non-zero exit, at most N times (RestartCount)
    always          restarted after any exit; `docker stop` holds it until hakod itself restarts
    unless-stopped  like always, but a manual stop holds across hakod restarts too
"""

from __future__ import annotations

import signal
import time

from tests.conftest import needs_root
from tests.integration.hakod_helpers import (docker_ok, events, inspect, own_daemon, pid_alive, run_detached, state,
                                             wait_exit, wait_for)

pytestmark = needs_root


def _policy(name: str, count: int = 0) -> dict:
    return {"HostConfig": {"RestartPolicy": {"Name": name, "MaximumRetryCount": count}}}


def _settled(daemon, cid: str) -> dict | None:
    """The state once the container is exited and no restart is pending (not `restarting`)."""
    st = state(daemon, cid)
    return st if st["Status"] == "exited" else None


def test_on_failure_restarts_exactly_the_maximum_count(hakod):
    since = time.time()
    cid = run_detached(hakod, "sh", "-c", "echo run; exit 1", **_policy("on-failure", 2))
    wait_for(lambda: inspect(hakod, cid)["RestartCount"] == 2 and _settled(hakod, cid),
             what="two restarts, then exited")
    info = inspect(hakod, cid)
    assert info["State"]["ExitCode"] == 1
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    # `exited` (not `restarting`) means no third restart is pending; the log shows three runs.
    assert hakod.api("GET", f"/containers/{cid}/logs?stdout=1").body.count(b"run\n") == 3
    starts = [e for e in events(hakod, since, type=["container"], container=[cid]) if e["Action"] == "start"]
    assert len(starts) == 3


def test_on_failure_does_not_restart_a_clean_exit(hakod):
    cid = run_detached(hakod, "true", **_policy("on-failure", 3))
    assert wait_exit(hakod, cid) == 0
    wait_for(lambda: _settled(hakod, cid), what="exited")
    assert inspect(hakod, cid)["RestartCount"] == 0


def test_no_policy_is_never_restarted(hakod):
    cid = run_detached(hakod, "sh", "-c", "exit 3", **_policy("no"))
    assert wait_exit(hakod, cid) == 3
    st = wait_for(lambda: _settled(hakod, cid), what="exited")
    assert st["ExitCode"] == 3 and inspect(hakod, cid)["RestartCount"] == 0


def test_always_restarts_after_a_clean_exit_until_stopped(hakod):
    cid = run_detached(hakod, "sh", "-c", "echo run; sleep 0.3", **_policy("always"))
    wait_for(lambda: inspect(hakod, cid)["RestartCount"] >= 2 and state(hakod, cid)["Running"],
             what="two restarts of an always container")
    docker_ok(hakod, "stop", "-t", "1", cid)
    st = state(hakod, cid)
    assert st["Status"] == "exited", st        # not `restarting`: the stop holds
    count = inspect(hakod, cid)["RestartCount"]
    time.sleep(1.0)   # longer than any backoff so far: nothing may bring it back meanwhile
    st = state(hakod, cid)
    assert st["Status"] == "exited" and inspect(hakod, cid)["RestartCount"] == count


def test_stop_during_the_restart_backoff_holds(hakod):
    cid = run_detached(hakod, "sh", "-c", "exit 1", **_policy("always"))
    wait_for(lambda: inspect(hakod, cid)["RestartCount"] >= 3, what="three quick restarts")
    docker_ok(hakod, "stop", cid)
    assert wait_for(lambda: _settled(hakod, cid), what="exited")["ExitCode"] == 1


def test_always_and_unless_stopped_across_hakod_restarts(busybox_image_tar, tmp_path):
    trigger = tmp_path / "t"
    trigger.mkdir()
    with own_daemon(busybox_image_tar) as daemon:
        running = run_detached(daemon, "sleep", "1000", name="always-running", **_policy("always"))
        stopped_always = run_detached(daemon, "sleep", "1000", name="always-stopped", **_policy("always"))
        stopped_unless = run_detached(daemon, "sleep", "1000", name="unless-stopped", **_policy("unless-stopped"))
        dies_meanwhile = run_detached(daemon, "sh", "-c", "[ -e /t/go ] && exec sleep 1000; "
                                      "while [ ! -e /t/go ]; do sleep 0.05; done; exit 0",
                                      name="always-dies", HostConfig={"Binds": [f"{trigger}:/t"],
                                                                      "RestartPolicy": {"Name": "always"}})
        never_started = daemon.api("POST", "/containers/create?name=never", {
            "Image": "busybox", "Cmd": ["sleep", "1000"], **_policy("always")}).json()["Id"]
        docker_ok(daemon, "stop", "-t", "0", "always-stopped", "unless-stopped")
        pid = state(daemon, running)["Pid"]
        dying_pid = state(daemon, dies_meanwhile)["Pid"]

        daemon.kill9()
        (trigger / "go").touch()
        wait_for(lambda: not pid_alive(dying_pid), what="the always container to exit while hakod is down")
        daemon.launch()

        assert state(daemon, running)["Pid"] == pid, "a running container is kept, not restarted"
        # Docker: `always` comes back at daemon start even after a manual stop; unless-stopped not.
        st = wait_for(lambda: (s := state(daemon, stopped_always))["Running"] and s, what="always-stopped to run")
        assert st["Status"] == "running"
        assert state(daemon, stopped_unless)["Status"] == "exited"
        wait_for(lambda: state(daemon, dies_meanwhile)["Running"], what="the exit during the downtime to be restarted")
        assert state(daemon, dies_meanwhile)["Pid"] != dying_pid
        assert state(daemon, never_started)["Status"] == "created"

        # A clean SIGTERM of hakod stops nothing; the next hakod keeps the same processes.
        pids = {cid: state(daemon, cid)["Pid"] for cid in (running, stopped_always, dies_meanwhile)}
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=30) == 0
        daemon.launch()
        assert {cid: state(daemon, cid)["Pid"] for cid in pids} == pids
        assert state(daemon, stopped_unless)["Status"] == "exited"
