"""hako.runtime.cgroups on the real kernel: a uniquely named cgroup per test, removed afterwards.

Needs root and a writable cgroupfs; works on v1 (including hybrid hosts) and on v2.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from hako.runtime.cgroups import CgroupError, cgroup_version, open_cgroup
from hako.runtime.cgroups.base import parse_mountinfo, v1_mount_points
from hako.runtime.cgroups.v1 import CONTROLLERS

ROOT = "/sys/fs/cgroup"
MiB = 1024 * 1024


def _hierarchies() -> dict[str, str]:
    """controller -> mount point (v1), or {"": ROOT} on v2."""
    if cgroup_version(ROOT) == 2:
        return {"": ROOT}
    return v1_mount_points(parse_mountinfo(Path("/proc/self/mountinfo").read_text()), ROOT,
                           CONTROLLERS)


def _writable() -> bool:
    if os.geteuid() != 0 or not os.path.isdir(ROOT):
        return False
    mounts = _hierarchies()
    return bool(mounts) and all(os.access(m, os.W_OK) for m in mounts.values())


pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not _writable(), reason="needs root and a writable cgroupfs")]


def _leftovers(path: str) -> list[str]:
    return [m + path for m in set(_hierarchies().values()) if os.path.exists(m + path)]


def _file(controller: str, path: str, name: str) -> str:
    mount = _hierarchies()[controller if cgroup_version(ROOT) == 1 else ""]
    return Path(mount + path, name).read_text().strip()


@pytest.fixture
def children():
    """Processes started by the test; killed and reaped afterwards whatever happens."""
    started: list[subprocess.Popen] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


@pytest.fixture
def cgroup(children):
    path = f"/hako-test-{secrets.token_hex(4)}"
    cg = open_cgroup(path, "unused")
    yield cg
    try:
        cg.thaw()  # a frozen task cannot die
    except CgroupError:
        pass
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    cg.destroy()
    assert _leftovers(path) == []


def _start_sleeper(cg, children) -> int:
    """A `sleep 60` whose memory is charged to `cg`: joined before it execs, then let go."""
    child = subprocess.Popen(["sh", "-c", "read go; exec sleep 60"], stdin=subprocess.PIPE)
    children.append(child)
    cg.add_process(child.pid)
    child.stdin.write(b"go\n")
    child.stdin.close()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/comm").read_text().strip() != "sleep":
        assert time.monotonic() < deadline, "sleep did not start"
        time.sleep(0.01)
    return child.pid


def test_lifecycle_limits_freeze_stats_destroy(cgroup, children):
    cg = cgroup
    cg.create()
    assert cg.exists()
    pid = _start_sleeper(cg, children)
    resources = {
        "memory": {"limit": 64 * MiB},
        "pids": {"limit": 10},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    }
    if cg.version == 1:
        resources["devices"] = [{"allow": False, "access": "rwm"},
                                {"allow": True, "type": "c", "major": 1, "minor": 3,
                                 "access": "rwm"}]
    cg.apply(resources)

    if cg.version == 1:
        assert _file("memory", cg.path, "memory.limit_in_bytes") == str(64 * MiB)
        assert _file("pids", cg.path, "pids.max") == "10"
        assert _file("cpu", cg.path, "cpu.shares") == "512"
        assert _file("cpu", cg.path, "cpu.cfs_quota_us") == "50000"
        assert _file("cpu", cg.path, "cpu.cfs_period_us") == "100000"
        assert _file("devices", cg.path, "devices.list") == "c 1:3 rwm"
        # copied from the parent at create(), or the kernel would have refused the pid
        assert _file("cpuset", cg.path, "cpuset.cpus") == _file("cpuset", "", "cpuset.cpus")
    else:
        assert _file("", cg.path, "memory.max") == str(64 * MiB)
        assert _file("", cg.path, "pids.max") == "10"
        assert _file("", cg.path, "cpu.weight") == "20"
        assert _file("", cg.path, "cpu.max") == "50000 100000"

    assert pid in cg.pids()
    cg.freeze()
    assert cg.is_frozen()
    if cg.version == 1:
        assert _file("freezer", cg.path, "freezer.state") == "FROZEN"
    else:
        assert "frozen 1" in _file("", cg.path, "cgroup.events")
    cg.thaw()
    assert not cg.is_frozen()
    assert children[0].poll() is None

    stats = cg.stats()
    assert stats["memory"]["usage"] > 0
    assert stats["memory"]["limit"] == 64 * MiB
    assert stats["pids"] == {"current": 1, "limit": 10}
    assert stats["cpu"]["usage_total_ns"] > 0

    children[0].kill()
    children[0].wait(timeout=10)
    cg.destroy()
    assert not cg.exists()
    assert _leftovers(cg.path) == []
    cg.destroy()  # idempotent


def test_swap_limit_when_accounted(cgroup):
    cg = cgroup
    cg.create()
    cg.apply({"memory": {"limit": 64 * MiB, "swap": 128 * MiB}})
    cg.apply({"memory": {"limit": 256 * MiB, "swap": 512 * MiB}})  # memsw must move first
    if cg.version == 1 and not cg.warnings:
        assert _file("memory", cg.path, "memory.memsw.limit_in_bytes") == str(512 * MiB)
        assert _file("memory", cg.path, "memory.limit_in_bytes") == str(256 * MiB)
    elif cg.version == 2 and not cg.warnings:
        assert _file("", cg.path, "memory.swap.max") == str(256 * MiB)


@pytest.mark.parametrize("resources, message", [
    ({"cpu": {"cpus": "99"}}, "cgroup cpu.cpus: invalid value 99"),
    ({"cpu": {"shares": -5}}, "cgroup cpu.shares: invalid value -5"),
    ({"memory": {"limit": -5}}, "cgroup memory.limit: invalid value -5"),
    ({"cpu": {"quota": 500}}, "cgroup cpu.quota: invalid value 500"),
])
def test_impossible_values_raise(cgroup, resources, message):
    cgroup.create()
    with pytest.raises(CgroupError) as info:
        cgroup.apply(resources)
    assert str(info.value).startswith(message)


def test_memory_limit_below_usage_raises(cgroup, children):
    cg = cgroup
    cg.create()
    _start_sleeper(cg, children)
    if cg.version == 1 and Path("/proc/swaps").read_text().count("\n") > 1:
        pytest.skip("with swap the kernel can page the sleeper out and accept the limit")
    try:
        cg.apply({"memory": {"limit": 4096}})
    except CgroupError as exc:
        assert str(exc).startswith("cgroup memory.limit: invalid value 4096")
    else:
        # cgroup v2 accepts any memory.max and reclaims or OOM-kills instead; nothing to check.
        assert cg.version == 2


def test_failed_apply_then_destroy_leaves_nothing(cgroup):
    cg = cgroup
    cg.create()
    with pytest.raises(CgroupError, match="cgroup cpu.cpus"):
        cg.apply({"memory": {"limit": 64 * MiB}, "pids": {"limit": 5}, "cpu": {"cpus": "99"}})
    cg.destroy()
    assert _leftovers(cg.path) == []


def test_default_path_is_under_hako():
    cg = open_cgroup(None, "abc123")
    assert cg.path == "/hako/abc123"
    assert not cg.exists()  # opening creates nothing


UNIFIED = "/sys/fs/cgroup/unified"  # hybrid hosts: cgroup2 with no controllers, but a freezer


@pytest.mark.skipif(cgroup_version(ROOT) == 2 or cgroup_version(UNIFIED) != 2
                    or not os.access(UNIFIED, os.W_OK), reason="needs a hybrid host")
def test_v2_core_on_the_hybrid_unified_mount(children):
    """The v2 code path against a real cgroup2 tree: create, join, freeze, thaw, destroy."""
    cg = open_cgroup(f"/hako-test-{secrets.token_hex(4)}", "unused", root=UNIFIED)
    assert cg.version == 2
    try:
        cg.create()
        pid = _start_sleeper(cg, children)
        assert cg.pids() == [pid]
        with pytest.raises(CgroupError, match="cgroup pids.limit: the pids controller is not "
                                              "enabled"):
            cg.apply({"pids": {"limit": 10}})  # every controller is bound to v1 here
        cg.freeze()
        assert cg.is_frozen()
        assert Path(UNIFIED + cg.path, "cgroup.freeze").read_text().strip() == "1"
        cg.thaw()
        assert not cg.is_frozen()
        assert cg.stats()["cpu"]["usage_total_ns"] > 0  # cpu.stat is core on v2
    finally:
        if cg.is_frozen():
            cg.thaw()
        for child in children:
            child.kill()
            child.wait(timeout=10)
        cg.destroy()
    assert not os.path.exists(UNIFIED + cg.path)
