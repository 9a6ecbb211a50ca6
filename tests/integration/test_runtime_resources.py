"""linux.resources enforced by the kernel: the memory limit OOM-kills, the pids limit stops forks,
and `update` changes the limits of a running container."""

from __future__ import annotations

import json
import os

import pytest

from hako.runtime.runtime import Runtime

from .conftest import cgroup_file, needs_root, read, wait_for

pytestmark = [pytest.mark.root, needs_root]

MiB = 1024 * 1024


def test_memory_limit_oom_kills(rt):
    # busybox tail keeps everything since the last newline: /dev/zero has none.
    cid, bundle = rt.bundle(["tail", "/dev/zero"],
                            linux__resources={"memory": {"limit": 32 * MiB, "swap": 32 * MiB}})
    result = rt("run", "--keep", cid, "--bundle", bundle, timeout=60)
    assert result.rc == 128 + 9, result
    assert rt.state(cid)["status"] == "stopped"
    assert int(read(cgroup_file(cid, "memory", "memory.limit_in_bytes"))) == 32 * MiB
    if os.path.exists(cgroup_file(cid, "memory", "memory.memsw.limit_in_bytes")):
        assert int(read(cgroup_file(cid, "memory", "memory.memsw.limit_in_bytes"))) == 32 * MiB
    # (memory.failcnt stays 0 on recent kernels even at the limit: the peak and the kill count tell.)
    assert int(read(cgroup_file(cid, "memory", "memory.max_usage_in_bytes"))) == 32 * MiB
    oom = dict(line.split() for line in read(cgroup_file(cid, "memory", "memory.oom_control")).splitlines())
    assert int(oom["oom_kill"]) >= 1  # counted since Linux 4.13
    stats = Runtime(rt.root).stats(cid)
    assert stats["memory"]["limit"] == 32 * MiB
    rt.ok("delete", cid)


def test_memory_limit_lets_small_processes_live(rt):
    cid, bundle = rt.bundle(["sh", "-c", "head -c 4m /dev/zero | wc -c"],
                            linux__resources={"memory": {"limit": 32 * MiB}})
    assert rt.ok("run", cid, "--bundle", bundle).out.strip() == str(4 * MiB)


def test_pids_limit_stops_forks(rt):
    # ash gives up on the first failed fork: run the loop in a child shell, and keep PID 1 (which
    # inherits the sleeps) alive without forking.
    script = "sh -c 'for i in $(seq 100); do sleep 30 & done'; echo loop-done; exec sleep 30"
    cid, bundle = rt.bundle(["sh", "-c", script], linux__resources={"pids": {"limit": 16}})
    created = rt.ok("create", cid, "--bundle", bundle)
    rt.ok("start", cid)
    procs = cgroup_file(cid, "pids", "cgroup.procs")
    most = 0

    def done() -> bool:
        nonlocal most
        most = max(most, len(read(procs).split()))
        return "loop-done" in created.reread().out

    wait_for(done, timeout=20, interval=0.002, what="the fork loop to finish")
    assert 1 < most <= 16
    assert int(read(cgroup_file(cid, "pids", "pids.current"))) <= 16
    assert read(cgroup_file(cid, "pids", "pids.max")).strip() == "16"
    peak = cgroup_file(cid, "pids", "pids.peak")
    if os.path.exists(peak):
        assert int(read(peak)) == 16
    events = dict(line.split() for line in read(cgroup_file(cid, "pids", "pids.events")).splitlines())
    assert int(events["max"]) > 0
    err = created.reread().err
    assert "can't fork" in err or "Resource temporarily unavailable" in err, err


def test_update_changes_the_cgroup(rt, tmp_path):
    cid, _, _ = rt.started(["sleep", "60"], linux__resources={"memory": {"limit": 128 * MiB},
                                                               "pids": {"limit": 100}})
    assert int(read(cgroup_file(cid, "memory", "memory.limit_in_bytes"))) == 128 * MiB
    rt.ok("update", "--memory", "64m", "--pids-limit", "50", cid)
    assert int(read(cgroup_file(cid, "memory", "memory.limit_in_bytes"))) == 64 * MiB
    assert read(cgroup_file(cid, "pids", "pids.max")).strip() == "50"

    resources = tmp_path / "resources.json"
    resources.write_text(json.dumps({"pids": {"limit": 20}, "cpu": {"shares": 512}}))
    rt.ok("update", "--resources", str(resources), cid)
    assert read(cgroup_file(cid, "pids", "pids.max")).strip() == "20"
    assert read(cgroup_file(cid, "cpu", "cpu.shares")).strip() == "512"
    assert int(read(cgroup_file(cid, "memory", "memory.limit_in_bytes"))) == 64 * MiB  # merged, kept
    state_file = os.path.join(rt.root, cid, "state.json")
    with open(state_file) as f:
        saved = json.load(f)["config"]["linux"]["resources"]
    assert saved["memory"]["limit"] == 64 * MiB and saved["pids"]["limit"] == 20


def test_update_with_bad_values_fails_cleanly(rt):
    cid, _, _ = rt.started(["sleep", "60"], linux__resources={"pids": {"limit": 100}})
    for args in (["--memory", "lots"], ["--pids-limit", "many"], ["--cpuset-cpus", "999"]):
        result = rt("update", *args, cid)
        assert result.rc != 0, result
        assert len(result.err.splitlines()) == 1, result
    assert read(cgroup_file(cid, "pids", "pids.max")).strip() == "100"
    assert rt.state(cid)["status"] == "running"


def test_update_of_a_stopped_container_fails(rt):
    cid, _, _ = rt.started(["true"])
    rt.wait_status(cid, "stopped")
    result = rt("update", "--pids-limit", "5", cid)
    assert result.rc != 0 and "not running" in result.err, result


def test_cpu_quota_is_written(rt):
    cid, _, _ = rt.started(["sleep", "60"], linux__resources={"cpu": {"quota": 20000, "period": 100000}})
    assert read(cgroup_file(cid, "cpu", "cpu.cfs_quota_us")).strip() == "20000"
    assert read(cgroup_file(cid, "cpu", "cpu.cfs_period_us")).strip() == "100000"


def test_device_cgroup_allows_only_the_standard_devices(rt):
    names = ["CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_KILL"]
    script = ("mknod /dev/null2 c 1 3 && echo x > /dev/null2 && echo null-ok; "
              "mknod /dev/mem2 c 1 1 && head -c 1 /dev/mem2 2>&1 >/dev/null; "
              "mknod /dev/kmsg2 c 1 11 && echo x 2>&1 > /dev/kmsg2")
    cid, bundle = rt.bundle(["sh", "-c", script],
                            process__capabilities={k: names for k in ("bounding", "effective", "permitted")})
    out = rt("run", cid, "--bundle", bundle).out.splitlines()
    assert out[0] == "null-ok"
    assert len(out) == 3 and all("Operation not permitted" in line for line in out[1:]), out
