"""What happens to the container's processes: OOM, stop and kill signals, pause, --init, and the
security switches (--read-only, --cap-drop ALL, --privileged), through the real docker CLI."""

from __future__ import annotations

import time

from tests.conftest import needs_root
from tests.integration.hakod_helpers import (docker_ok, events, exec_output, inspect, log_text, pid_alive,
                                             run_detached, state, wait_exit, wait_for)

pytestmark = needs_root

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done"


def _lines(daemon, cid: str) -> int:
    return len(log_text(daemon, cid).split())


def _trapping(daemon, trap: str, **body) -> str:
    """A container whose shell has installed ``trap`` (it says so) and then waits for ever."""
    cid = run_detached(daemon, "sh", "-c", f"{trap}; echo trap-set; while true; do sleep 0.05; done", **body)
    wait_for(lambda: "trap-set" in log_text(daemon, cid), what="the trap to be installed")
    return cid


def _settled_lines(daemon, cid: str) -> int:
    """The log's line count once it stops changing (output still in the pipe has landed)."""
    previous = -1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        count = _lines(daemon, cid)
        if count == previous:
            return count
        previous = count
        time.sleep(0.2)
    raise AssertionError("the log kept growing: the container is not frozen")


def test_a_memory_hog_is_oom_killed(hakod):
    since = time.time()
    result = hakod.docker("run", "--name", "hog", "-m", "8m", "busybox",
                          "sh", "-c", "x=a; while true; do x=$x$x; done")
    assert result.returncode == 137, result.stderr
    st = state(hakod, "hog")
    assert st["OOMKilled"] is True and st["ExitCode"] == 137 and st["Status"] == "exited", st
    assert "oom" in [e["Action"] for e in events(hakod, since, container=["hog"])]


def test_a_normal_exit_is_not_oom(hakod):
    hakod.docker("run", "--name", "fine", "-m", "8m", "busybox", "true")
    assert state(hakod, "fine")["OOMKilled"] is False


def test_stop_sends_term_first_and_kill_after_the_timeout(hakod):
    cid = _trapping(hakod, 'trap "echo got-term" TERM')
    docker_ok(hakod, "stop", "-t", "1", cid)
    st = state(hakod, cid)
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st     # the trap kept it alive: SIGKILL
    assert "got-term" in log_text(hakod, cid), "TERM never reached the container's process"


def test_stop_of_a_process_that_exits_on_term(hakod):
    cid = _trapping(hakod, 'trap "exit 42" TERM')
    docker_ok(hakod, "stop", "-t", "30", cid)
    assert state(hakod, cid)["ExitCode"] == 42


def test_stop_signal_from_the_create_options(hakod):
    cid = _trapping(hakod, 'trap "exit 9" USR1', StopSignal="SIGUSR1")
    docker_ok(hakod, "stop", "-t", "30", cid)
    assert state(hakod, cid)["ExitCode"] == 9


def test_kill_with_a_harmless_signal_does_not_stop_it(hakod):
    cid = _trapping(hakod, 'trap "echo usr1" USR1')
    pid = state(hakod, cid)["Pid"]
    docker_ok(hakod, "kill", "-s", "USR1", cid)
    docker_ok(hakod, "kill", "-s", "WINCH", cid)
    wait_for(lambda: "usr1" in log_text(hakod, cid), what="the trap to run")
    st = state(hakod, cid)
    assert st["Running"] and st["Pid"] == pid
    docker_ok(hakod, "kill", cid)
    assert wait_exit(hakod, cid) == 137
    assert hakod.docker("kill", cid).returncode != 0, "killing a stopped container is an error"


def test_pause_freezes_the_processes(hakod):
    cid = run_detached(hakod, "sh", "-c", COUNTER)
    wait_for(lambda: _lines(hakod, cid) > 2, what="some output")
    docker_ok(hakod, "pause", cid)
    st = state(hakod, cid)
    assert st["Status"] == "paused" and st["Paused"] and st["Running"]
    frozen = _settled_lines(hakod, cid)
    time.sleep(0.5)    # ten ticks of the counter, were it running
    assert _lines(hakod, cid) == frozen
    assert hakod.docker("exec", cid, "true").returncode != 0, "exec into a paused container is refused"
    docker_ok(hakod, "unpause", cid)
    wait_for(lambda: _lines(hakod, cid) > frozen + 2, what="the counter to go on")
    # stop and rm of a paused container work too
    docker_ok(hakod, "pause", cid)
    docker_ok(hakod, "stop", "-t", "1", cid)
    assert state(hakod, cid)["Status"] == "exited"


def test_force_remove_of_a_paused_container(hakod):
    cid = run_detached(hakod, "sleep", "1000")
    pid = state(hakod, cid)["Pid"]
    docker_ok(hakod, "pause", cid)
    docker_ok(hakod, "rm", "-f", cid)
    wait_for(lambda: not pid_alive(pid), what="the paused process to die")


def test_init_runs_tini_as_pid_1(hakod):
    out = docker_ok(hakod, "run", "--rm", "--init", "busybox", "ps", "-o", "pid,args")
    first = out.splitlines()[1].split(None, 1)
    assert first[0] == "1" and first[1].startswith("/sbin/docker-init -- ps")
    # and tini reaps an orphan and forwards the exit code
    result = hakod.docker("run", "--rm", "--init", "busybox", "sh", "-c", "(sleep 0.1 &); exit 6")
    assert result.returncode == 6


def test_read_only_root(hakod):
    result = hakod.docker("run", "--rm", "--read-only", "busybox", "touch", "/newfile")
    assert result.returncode == 1 and "Read-only file system" in result.stderr
    # the writable places Docker keeps: /dev/shm, and the binds of /etc/hosts and friends
    docker_ok(hakod, "run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /dev/shm/x && echo x >> /etc/hosts")


def test_cap_drop_all(hakod):
    out = docker_ok(hakod, "run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "Cap", "/proc/self/status")
    caps = dict(line.split(":\t") for line in out.splitlines())
    assert all(int(v, 16) == 0 for v in caps.values()), caps
    result = hakod.docker("run", "--rm", "--cap-drop", "ALL", "busybox", "chown", "1:1", "/tmp")
    assert result.returncode != 0 and "Operation not permitted" in result.stderr


def test_default_capabilities_are_dockers(hakod):
    out = docker_ok(hakod, "run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status")
    assert int(out.split()[1], 16) == 0xA80425FB     # Docker's default set, as bits


def test_privileged(hakod):
    with open("/proc/self/status") as f:
        ours = next(line.split()[1] for line in f if line.startswith("CapEff"))
    out = docker_ok(hakod, "run", "--rm", "--privileged", "busybox", "sh", "-c",
                    "grep CapEff /proc/self/status; mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted; "
                    "ls /dev | wc -l")
    lines = out.split("\n")
    assert lines[0].split()[1] == ours, "a privileged container gets every capability hakod has"
    assert "mounted" in lines
    assert int(lines[2]) > 20, "the host's devices"
    result = hakod.docker("run", "--rm", "busybox", "sh", "-c", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m")
    assert result.returncode != 0


def test_exec_and_top_see_the_containers_processes(hakod):
    cid = run_detached(hakod, "sleep", "1000")
    code, out = exec_output(hakod, cid, "sh", "-c", "echo $$; cat /proc/1/cmdline")
    assert code == 0 and out.split("\n")[1] == "sleep\x001000\x00"
    resp = hakod.api("GET", f"/containers/{cid}/top")
    assert resp.status == 200 and any("sleep 1000" in " ".join(p) for p in resp.json()["Processes"])
    assert inspect(hakod, cid)["State"]["Pid"] > 1
