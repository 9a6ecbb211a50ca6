"""`hako-runtime exec`: a second process inside a running container, in all its namespaces and its
cgroup, with runc's flags; and the library's Runtime.exec."""

from __future__ import annotations

import json
import os

import pytest

from hako.runtime.exec import ExecOptions
from hako.runtime.runtime import Runtime

from .conftest import cgroup_file, needs_root, read, wait_for

pytestmark = [pytest.mark.root, needs_root]

NAMESPACES = ("pid", "mnt", "uts", "ipc", "net", "cgroup")


def test_exec_joins_every_namespace_of_the_container(rt):
    cid, _, pid = rt.started(["sleep", "60"], hostname="exec-box")
    script = "; ".join(f"readlink /proc/self/ns/{ns}" for ns in NAMESPACES) + "; hostname"
    out = rt.ok("exec", cid, "sh", "-c", script).out.splitlines()
    assert out[:-1] == [os.readlink(f"/proc/{pid}/ns/{ns}") for ns in NAMESPACES]
    assert all(os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}") for ns in NAMESPACES)
    assert out[-1] == "exec-box"


def test_exec_sees_the_container_filesystem_and_pid_1(rt):
    cid, _, _ = rt.started(["sh", "-c", "echo made-by-init > /dev/shm/mark; exec sleep 60"])
    wait_for(lambda: rt("exec", cid, "test", "-e", "/dev/shm/mark").rc == 0, what="init to write its mark")
    out = rt.ok("exec", cid, "sh", "-c", "cat /dev/shm/mark; cat /proc/1/comm; "
                                         "touch /written 2>&1 || true").out.splitlines()
    assert out[0] == "made-by-init"
    assert out[1] == "sleep"
    assert "Read-only file system" in out[2]  # the same read-only root as the init


def test_exec_exit_code_env_cwd_and_user(rt):
    cid, _, _ = rt.started(["sleep", "60"], process__env=["PATH=/bin:/sbin:/usr/bin", "FROM_CONFIG=1"])
    assert rt("exec", cid, "sh", "-c", "exit 7").rc == 7
    env = rt.ok("exec", "-e", "FOO=bar", cid, "env").out.splitlines()
    assert "FOO=bar" in env and "FROM_CONFIG=1" in env
    assert rt.ok("exec", "--cwd", "/tmp", cid, "pwd").out == "/tmp\n"
    assert rt.ok("exec", "--user", "1000:1000", cid, "sh", "-c", "id -u; id -g").out.split() == ["1000", "1000"]
    assert rt.ok("exec", cid, "--", "sh", "-c", "echo $0", "dashdash").out == "dashdash\n"


def test_exec_process_file(rt, tmp_path):
    cid, _, _ = rt.started(["sleep", "60"])
    process = {"args": ["sh", "-c", "echo $GREETING from $(pwd) as $(id -u); exit 4"],
               "env": ["PATH=/bin", "GREETING=hello"], "cwd": "/dev", "user": {"uid": 5, "gid": 5},
               "terminal": False}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(process))
    result = rt("exec", "--process", str(path), cid)
    assert result.rc == 4, result
    assert result.out == "hello from /dev as 5\n"
    result = rt("exec", "--process", "-", cid, input=json.dumps(dict(process, args=["echo", "stdin"])))
    assert result.rc == 0 and result.out == "stdin\n", result


def test_exec_into_a_stopped_container_fails(rt):
    cid, _, _ = rt.started(["true"])
    rt.wait_status(cid, "stopped")
    result = rt("exec", cid, "true")
    assert result.rc != 0
    assert "stopped" in result.err and len(result.err.splitlines()) == 1, result


def test_exec_missing_binary(rt):
    cid, _, _ = rt.started(["sleep", "60"])
    result = rt("exec", cid, "no-such-binary")
    assert result.rc != 0
    assert "executable file not found in $PATH" in result.err and len(result.err.splitlines()) == 1, result
    assert rt.state(cid)["status"] == "running"


def test_exec_detached_with_pid_file(rt, tmp_path):
    cid, _, _ = rt.started(["sleep", "60"])
    pid_file = tmp_path / "exec.pid"
    rt.ok("exec", "-d", "--pid-file", str(pid_file), cid, "sleep", "61")
    pid = int(pid_file.read_text())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"61"]
    assert str(pid) in read(cgroup_file(cid, "pids", "cgroup.procs")).split()
    assert pid in json.loads(rt.ok("ps", "--format", "json", cid).out)


def test_library_exec(rt):
    cid, _, init_pid = rt.started(["sleep", "60"])
    runtime = Runtime(rt.root)
    process = dict(runtime.state(cid).config["process"], args=["sh", "-c", "echo $$ > /dev/shm/lib; exec sleep 62"])
    pid = runtime.exec(cid, process, ExecOptions())
    mark = f"/proc/{init_pid}/root/dev/shm/lib"
    ns_pid = wait_for(lambda: os.path.exists(mark) and read(mark).strip(), what="the exec'd process to run")
    with open(f"/proc/{pid}/status") as f:
        nspid = next(line for line in f if line.startswith("NSpid:")).split()
    assert nspid[1:] == [str(pid), ns_pid]  # host pid, then its pid inside the container
    assert str(pid) in read(cgroup_file(cid, "pids", "cgroup.procs")).split()
