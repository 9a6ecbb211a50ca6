"""The zygote and a container's monitor on their own, without hakod: a created container whose
start never comes (hakod died or gave up in between) is deleted, not left waiting for ever.

    zygote.spawn(spec) ──▶ monitor creates the container, reports {"created": pid, "init": pid}
    no "start" within start_timeout, or an "abort"  ──▶  runtime delete, exit.json (126), monitor ends
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import uuid

import pytest

from tests.conftest import needs_root
from tests.integration.conftest import cgroup_dirs
from tests.integration.hakod_helpers import pid_alive, wait_for

pytestmark = needs_root


@pytest.fixture
def zygote():
    from hako.monitor.zygote import Zygote

    top = tempfile.mkdtemp(prefix="hk-mon-", dir="/run")     # short: socket paths fit in 108 bytes
    z = Zygote.start(os.path.join(top, "zygote.log"))
    z.top = top
    yield z
    z.stop()
    shutil.rmtree(top, ignore_errors=True)


def _spawn(zygote, make_bundle, args: list[str], **spec) -> tuple[dict, dict]:
    cid = f"hkmon{uuid.uuid4().hex[:10]}"
    bundle = make_bundle(args, terminal=False, linux__cgroupsPath=f"/hako-test/{cid}")
    full = {"mode": "container", "id": cid, "dir": os.path.join(zygote.top, cid[-10:]),
            "runtime_root": os.path.join(zygote.top, "runtime"), "bundle": bundle, "tty": False,
            "stdin": False, "log": None, "loopback": False, **spec}
    fd = zygote.spawn(full)
    with os.fdopen(fd, "rb") as status:
        report = json.loads(status.readline())
    assert "error" not in report, report
    return full, report


def _call(directory: str, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(os.path.join(directory, "monitor.sock"))
        sock.sendall(json.dumps(request).encode() + b"\n")
        line = sock.makefile("rb").readline()
    return json.loads(line)


def _exit_record(directory: str) -> dict | None:
    try:
        with open(os.path.join(directory, "exit.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _assert_cleaned(spec: dict, report: dict) -> None:
    wait_for(lambda: not pid_alive(report["created"]), what="the monitor to end")
    assert not pid_alive(report["init"]), "the created container's init survived"
    assert not os.path.exists(os.path.join(spec["runtime_root"], spec["id"])), "runtime state left behind"
    assert cgroup_dirs(spec["id"]) == []
    assert not os.path.exists(os.path.join(spec["dir"], "monitor.sock"))


def test_a_container_never_started_is_deleted_after_the_start_timeout(zygote, make_bundle):
    spec, report = _spawn(zygote, make_bundle, ["sleep", "100"], start_timeout=1)
    assert pid_alive(report["init"]) and cgroup_dirs(spec["id"])
    record = wait_for(lambda: _exit_record(spec["dir"]), what="the monitor to give up")
    assert record["code"] == 126 and "never started" in record["error"]
    _assert_cleaned(spec, report)


def test_abort_deletes_a_created_container_at_once(zygote, make_bundle):
    spec, report = _spawn(zygote, make_bundle, ["sleep", "100"])
    reply = _call(spec["dir"], {"op": "abort", "reason": "test says no"})
    assert reply["started"] is False and reply["exit"]["code"] == 126
    assert reply["exit"]["error"] == "test says no"
    _assert_cleaned(spec, report)


def test_abort_leaves_a_started_process_alone(zygote, make_bundle):
    spec, report = _spawn(zygote, make_bundle, ["sleep", "100"])
    pid = _call(spec["dir"], {"op": "start"})["pid"]
    reply = _call(spec["dir"], {"op": "abort"})
    assert reply == {"started": True, "pid": pid, "exit": None}
    assert pid_alive(pid)
    from hako.runtime.runtime import Runtime

    Runtime(spec["runtime_root"]).kill(spec["id"], 9)
    record = wait_for(lambda: _exit_record(spec["dir"]), what="the exit record")
    assert record["code"] == 137
    _assert_cleaned(spec, report)


def test_the_process_gets_default_signal_dispositions(zygote, make_bundle, tmp_path):
    """The monitor shields itself from TERM, HUP, INT and PIPE; the container must not inherit that.
    (grep directly: busybox sh ignores SIGQUIT itself and leaks that into a command it execs.)"""
    out = tmp_path / "out"
    spec, report = _spawn(zygote, make_bundle, ["grep", "-E", "SigIgn|SigBlk", "/proc/self/status"],
                          log={"path": str(out), "max_size": None, "max_file": 1})
    _call(spec["dir"], {"op": "start"})
    record = wait_for(lambda: _exit_record(spec["dir"]), what="the exit record")
    assert record["code"] == 0
    lines = [json.loads(line)["log"] for line in out.read_text().splitlines()]
    assert lines == ["SigBlk:\t0000000000000000\n", "SigIgn:\t0000000000000000\n"]
    _assert_cleaned(spec, report)


def test_the_runtime_cli_gives_default_signal_dispositions(rt):
    cid, bundle = rt.bundle(["grep", "SigIgn", "/proc/self/status"], terminal=False)
    result = rt("run", cid, "--bundle", bundle)
    assert result.rc == 0, result
    assert result.out == "SigIgn:\t0000000000000000\n"
