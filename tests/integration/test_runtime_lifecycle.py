"""The container lifecycle through `create`, `start`, `state`, `list`, `ps`, `kill`, `pause`, `resume`
and `delete`: the statuses, runc's errors for operations out of turn, and the lifecycle hooks."""

from __future__ import annotations

import json
import os
import signal
import stat
import time

import pytest

from hako.runtime.create import CreateOptions
from hako.runtime.errors import InvalidState, NotFound
from hako.runtime.runtime import Runtime

from .conftest import cgroup_dirs, cgroup_file, gone, needs_root, processes_mentioning, read, wait_for

pytestmark = [pytest.mark.root, needs_root]


# ---- 12. state, list, ps -----------------------------------------------------------------------

def test_state_through_created_running_stopped(rt, tmp_path):
    cid, bundle = rt.bundle(["sleep", "60"], annotations={"org.example/k": "v"})
    pid_file = tmp_path / "init.pid"
    rt.ok("create", cid, "--bundle", bundle, "--pid-file", str(pid_file))
    created = rt.state(cid)
    assert created["ociVersion"].startswith("1.")
    assert created["id"] == cid
    assert created["status"] == "created"
    assert created["pid"] > 0 and created["pid"] == int(pid_file.read_text())
    assert created["bundle"] == bundle
    assert created["annotations"] == {"org.example/k": "v"}
    assert os.path.exists(f"/proc/{created['pid']}")

    listed = json.loads(rt.ok("list", "-f", "json").out)
    assert [(s["id"], s["status"], s["pid"]) for s in listed] == [(cid, "created", created["pid"])]
    table = rt.ok("list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert table[1].split()[:3] == [cid, str(created["pid"]), "created"]
    assert rt.ok("list", "-q").out.split() == [cid]
    assert created["pid"] in json.loads(rt.ok("ps", "--format", "json", cid).out)

    rt.ok("start", cid)
    assert rt.state(cid)["status"] == "running"
    ps_table = rt.ok("ps", cid).out.splitlines()
    assert "PID" in ps_table[0] and any(str(created["pid"]) in line for line in ps_table[1:])

    rt.ok("kill", cid, "KILL")
    stopped = rt.wait_status(cid, "stopped")
    assert stopped["pid"] == 0
    assert json.loads(rt.ok("list", "-f", "json").out)[0]["status"] == "stopped"
    assert json.loads(rt.ok("ps", "--format", "json", cid).out) == []
    rt.ok("delete", cid)
    assert rt.ok("list", "-q").out == ""
    assert cgroup_dirs(cid) == []
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_process_exiting_by_itself_is_stopped(rt):
    cid, _, pid = rt.started(["true"])
    rt.wait_status(cid, "stopped")
    assert rt("kill", cid).rc != 0
    rt.ok("delete", cid)  # no --force needed


def test_kill_by_name_and_number_and_all(rt):
    cid, _, pid = rt.started(["sh", "-c", "trap 'echo usr1 > /dev/shm/sig' USR1; touch /dev/shm/ready; "
                                          "while true; do sleep 0.02; done"])
    root = f"/proc/{pid}/root/dev/shm/sig"
    # PID 1 ignores signals it has no handler for: the trap must be set before the signal comes.
    wait_for(lambda: os.path.exists(f"/proc/{pid}/root/dev/shm/ready"), what="the trap to be set")
    rt.ok("kill", cid, "USR1")
    wait_for(lambda: os.path.exists(root), what="the trap to run")
    assert rt("kill", cid, "NOSUCHSIG").rc != 0
    rt.ok("kill", "--all", cid, "9")
    rt.wait_status(cid, "stopped")


# ---- 11. operations out of turn fail as runc's do ---------------------------------------------------

def test_lifecycle_errors(rt):
    cid, bundle, pid = rt.started(["sleep", "60"])

    again = rt("start", cid)
    assert again.rc != 0
    assert "running" in again.err or "already" in again.err, again

    delete = rt("delete", cid)
    assert delete.rc != 0 and "running" in delete.err, delete
    assert rt.state(cid)["status"] == "running" and os.path.exists(f"/proc/{pid}")

    exists = rt("create", cid, "--bundle", bundle)
    assert exists.rc != 0 and "exists" in exists.err, exists
    assert rt.state(cid)["status"] == "running"

    unknown = rt("state", "hk-no-such-container")
    assert unknown.rc != 0 and "does not exist" in unknown.err, unknown
    assert rt("delete", "hk-no-such-container").rc != 0
    assert rt("delete", "--force", "hk-no-such-container").rc == 0  # as runc: nothing to do

    assert rt("resume", cid).rc != 0  # not paused

    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    stopped = rt("kill", cid)
    assert stopped.rc != 0 and "container not running" in stopped.err, stopped
    assert rt("pause", cid).rc != 0
    assert rt("start", cid).rc != 0
    for result in (again, delete, exists, unknown, stopped):
        assert len(result.err.splitlines()) == 1, result


def test_invalid_container_id(rt):
    _, bundle = rt.bundle(["true"])
    result = rt("create", "../escape", "--bundle", bundle)
    assert result.rc != 0 and "invalid container id" in result.err, result
    assert not os.path.exists(os.path.join(os.path.dirname(rt.root), "escape"))


def test_delete_force_kills_a_running_container_and_its_cgroup(rt):
    cid, _, pid = rt.started(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    wait_for(lambda: len(read(cgroup_file(cid, "pids", "cgroup.procs")).split()) == 3, what="the children")
    rt.ok("delete", "--force", cid)
    assert gone(pid)
    assert cgroup_dirs(cid) == []
    assert rt("state", cid).rc != 0


def test_delete_force_of_a_created_container(rt):
    cid, bundle = rt.bundle(["true"])
    rt.ok("create", cid, "--bundle", bundle)
    pid = rt.state(cid)["pid"]
    rt.ok("delete", cid)  # created is deletable without --force, as runc
    assert gone(pid)
    assert cgroup_dirs(cid) == []


# ---- 10. pause and resume ------------------------------------------------------------------------

COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /dev/shm/c; usleep 10000; done"


def counter(pid: int) -> str:
    """The counter as the file holds it; "" for a moment while the shell rewrites it."""
    return read(f"/proc/{pid}/root/dev/shm/c").strip()


def test_pause_and_resume(rt):
    cid, _, pid = rt.started(["sh", "-c", COUNTER])
    wait_for(lambda: os.path.exists(f"/proc/{pid}/root/dev/shm/c") and int(counter(pid) or 0) > 2,
             what="the counter")
    rt.ok("pause", cid)
    assert rt.state(cid)["status"] == "paused"
    assert read(cgroup_file(cid, "freezer", "freezer.state")).strip() == "FROZEN"
    frozen_at = counter(pid)
    time.sleep(0.3)
    assert counter(pid) == frozen_at
    assert rt("pause", cid).rc != 0  # already paused
    assert rt("exec", cid, "true").rc != 0  # runc refuses exec into a paused container

    rt.ok("resume", cid)
    assert rt.state(cid)["status"] == "running"
    wait_for(lambda: int(counter(pid) or 0) > int(frozen_at or 0) + 5, what="the counter to advance")


def test_delete_force_of_a_paused_container(rt):
    cid, _, pid = rt.started(["sleep", "60"])
    rt.ok("pause", cid)
    started = time.monotonic()
    rt.ok("delete", "--force", cid)
    assert time.monotonic() - started < 3  # thawed before waiting for the frozen init to die
    assert gone(pid)
    assert cgroup_dirs(cid) == []


def test_library_pause_resume_kill_delete(rt):
    cid, bundle = rt.bundle(["sh", "-c", COUNTER])
    runtime = Runtime(rt.root)
    state = runtime.create(cid, bundle, CreateOptions())
    assert state.status == "created" and state.pid > 0
    runtime.start(cid)
    wait_for(lambda: os.path.exists(f"/proc/{state.pid}/root/dev/shm/c"), what="the counter")
    runtime.pause(cid)
    assert runtime.state(cid).status == "paused"
    with pytest.raises(InvalidState):
        runtime.pause(cid)
    runtime.resume(cid)
    assert runtime.state(cid).status == "running"
    assert state.pid in runtime.pids(cid)
    with pytest.raises(InvalidState):
        runtime.delete(cid)
    runtime.kill(cid, signal.SIGKILL)
    wait_for(lambda: runtime.state(cid).status == "stopped", what="stopped")
    runtime.delete(cid)
    with pytest.raises(NotFound):
        runtime.state(cid)
    assert cgroup_dirs(cid) == []


# ---- 13. hooks ------------------------------------------------------------------------------------

def hook_script(bundle: str, name: str, body: str) -> str:
    path = os.path.join(bundle, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def with_hooks(rt, bundle: str, hooks: dict) -> None:
    config = rt.make_bundle.read(bundle)
    config["hooks"] = hooks
    rt.make_bundle.write(bundle, config)


def test_hooks_receive_the_state(rt, tmp_path):
    cid, bundle = rt.bundle(["sleep", "60"])
    out = tmp_path / "hooks"
    out.mkdir()
    save = hook_script(bundle, "save.sh", 'exec /bin/cat > "$1"')
    with_hooks(rt, bundle, {
        kind: [{"path": save, "args": ["save.sh", str(out / kind)], "env": ["HOOK=1"], "timeout": 5}]
        for kind in ("prestart", "createRuntime", "poststart", "poststop")
    })
    rt.ok("create", cid, "--bundle", bundle)
    pid = rt.state(cid)["pid"]
    for kind in ("prestart", "createRuntime"):
        state = json.loads((out / kind).read_text())
        assert (state["id"], state["pid"], state["status"], state["bundle"]) == (cid, pid, "creating", bundle) \
            or (state["id"], state["pid"], state["status"]) == (cid, pid, "created"), state
    assert not (out / "poststart").exists()
    rt.ok("start", cid)
    state = json.loads((out / "poststart").read_text())
    assert (state["id"], state["pid"], state["status"]) == (cid, pid, "running")
    assert not (out / "poststop").exists()
    rt.ok("delete", "--force", cid)
    state = json.loads((out / "poststop").read_text())
    assert state["id"] == cid and state["status"] == "stopped"


def test_hook_timeout_fails_create_and_leaves_nothing(rt):
    cid, bundle = rt.bundle(["sleep", "60"])
    # The child shell names the script ("$0"), so a leftover would show in processes_mentioning.
    slow = hook_script(bundle, "slow.sh", "/bin/sh -c 'sleep 10; true' \"$0\"")
    with_hooks(rt, bundle, {"createRuntime": [{"path": slow, "timeout": 1}]})
    started = time.monotonic()
    result = rt("create", cid, "--bundle", bundle)
    assert result.rc != 0
    assert "createRuntime" in result.err and "timed out" in result.err, result
    assert len(result.err.splitlines()) == 1
    assert time.monotonic() - started < 5  # the hook's children must not keep create waiting
    assert processes_mentioning(slow) == []  # the hook's whole process group is killed
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert cgroup_dirs(cid) == []


def test_failing_create_runtime_hook_aborts_create(rt, tmp_path):
    cid, bundle = rt.bundle(["sleep", "60"])
    fail = hook_script(bundle, "fail.sh", "echo 'no network for you' >&2; exit 3")
    never = hook_script(bundle, "never.sh", f"touch {tmp_path}/ran")
    with_hooks(rt, bundle, {"createRuntime": [{"path": fail}, {"path": never}]})
    result = rt("create", cid, "--bundle", bundle)
    assert result.rc != 0
    assert "createRuntime" in result.err and "no network for you" in result.err, result
    assert len(result.err.splitlines()) == 1
    assert not (tmp_path / "ran").exists()
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert cgroup_dirs(cid) == []


def test_failing_poststart_hook_is_only_a_warning(rt):
    cid, bundle = rt.bundle(["sleep", "60"])
    fail = hook_script(bundle, "fail.sh", "exit 1")
    with_hooks(rt, bundle, {"poststart": [{"path": fail}]})
    rt.ok("create", cid, "--bundle", bundle)
    result = rt("start", cid)
    assert rt.state(cid)["status"] == "running"
    assert "poststart" in result.err
