"""OCI hooks run as real processes (no root needed): state on stdin, args and env, failures and
timeouts."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from hako.runtime.errors import ContainerError
from hako.runtime.hooks import run_hooks, run_poststop

STATE = {"ociVersion": "1.0.2", "id": "c1", "pid": 42, "status": "creating", "bundle": "/b"}


def script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_state_on_stdin_args_and_env(tmp_path):
    out = tmp_path / "out"
    hook = script(tmp_path, "save.sh", 'echo "$1 $GREETING" > "$2.args"; exec /bin/cat > "$2"')
    run_hooks([{"path": hook, "args": ["named", "first", str(out)], "env": ["GREETING=hi"]}], "prestart", STATE)
    assert json.loads(out.read_text()) == STATE
    # ($0 of a script is its path, whatever args[0] says: the kernel runs the interpreter on it.)
    assert (tmp_path / "out.args").read_text() == "first hi\n"


def test_hooks_run_in_order_and_stop_at_the_first_failure(tmp_path):
    ok = script(tmp_path, "ok.sh", f'echo ok >> {tmp_path}/log')
    bad = script(tmp_path, "bad.sh", 'echo "first line" >&2; echo "the reason" >&2; exit 4')
    later = script(tmp_path, "later.sh", f'echo later >> {tmp_path}/log')
    with pytest.raises(ContainerError) as info:
        run_hooks([{"path": ok}, {"path": bad}, {"path": later}], "createRuntime", STATE)
    assert str(info.value) == f"createRuntime hook #1 ({bad}): exit status 4: the reason"
    assert (tmp_path / "log").read_text() == "ok\n"


def test_missing_hook_binary(tmp_path):
    with pytest.raises(ContainerError, match="prestart hook #0 .*No such file"):
        run_hooks([{"path": str(tmp_path / "absent")}], "prestart", STATE)


def test_timeout_kills_the_hook_and_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    hook = script(tmp_path, "slow.sh", f'sleep 30 & echo $! > {pid_file}; wait')
    started = time.monotonic()
    with pytest.raises(ContainerError, match=r"createRuntime hook #0 .*timed out after 1s"):
        run_hooks([{"path": hook, "timeout": 1}], "createRuntime", STATE)
    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child):
        assert time.monotonic() < deadline, "the hook's child survived the timeout"
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def test_poststop_failures_only_warn(tmp_path):
    bad = script(tmp_path, "bad.sh", "exit 1")
    ok = script(tmp_path, "ok.sh", f"touch {tmp_path}/ran")
    warnings = []
    run_poststop([{"path": bad}, {"path": ok}], dict(STATE, status="stopped"), warnings.append)
    assert len(warnings) == 1 and "poststop hook #0" in warnings[0]
    assert os.path.exists(tmp_path / "ran")
