"""hako.containers.stats against the real kernel: a cgroup of our own with a busy, memory-hungry
child in it, sampled twice and rendered; the docker CLI's arithmetic must see the load.

Runs on the host's cgroup version, and also on the v2 tree of a hybrid host (cgroup2 mounted at
/sys/fs/cgroup/unified). Every cgroup is /hako-test/stats-<random>, removed afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest

from hako.containers.stats import figures, render, sample
from hako.runtime.cgroups import CgroupError, cgroup_version, open_cgroup

ROOT = "/sys/fs/cgroup"
UNIFIED = "/sys/fs/cgroup/unified"  # cgroup2 on a hybrid host
MiB = 1024 * 1024

# Touches 64 MiB (so the pages are charged), says so, then spins until killed.
BUSY = """
import sys
sys.stdin.readline()
ballast = bytearray(b"\\x01") * (64 << 20)
print("ready", flush=True)
while True:
    pass
"""


def _trees() -> list[str]:
    if os.geteuid() != 0 or not os.path.isdir(ROOT):
        return []
    trees = [ROOT]
    if cgroup_version(ROOT) == 1 and os.path.exists(os.path.join(UNIFIED, "cgroup.controllers")):
        trees.append(UNIFIED)
    return trees


pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not _trees(), reason="needs root and a cgroup filesystem")]


@pytest.fixture(params=_trees() or [ROOT])
def busy_cgroup(request):
    """(cgroup path, root, pid) of a spinning child holding 64 MiB in a cgroup of its own."""
    root = request.param
    path = f"/hako-test/stats-{secrets.token_hex(4)}"
    cgroup = open_cgroup(path, "unused", root=root)
    cgroup.create()
    child = subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    try:
        cgroup.add_process(child.pid)  # before it allocates, so its memory is charged here
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.stdout.readline() == b"ready\n"
        yield path, root, child.pid
    finally:
        child.kill()
        child.wait(timeout=10)
        try:
            cgroup.destroy()
        except CgroupError as exc:  # reported, not hidden: a leak fails below
            pytest.fail(f"cgroup {path} not removed: {exc}")
        assert not cgroup.exists()


def _has_memory_controller(root: str, path: str) -> bool:
    if cgroup_version(root) == 1:
        return True
    return os.path.exists(os.path.join(root, path.lstrip("/"), "memory.current"))


def test_sample_and_render_see_the_load(busy_cgroup):
    path, root, pid = busy_cgroup
    first = sample(path, pid, root=root)
    time.sleep(0.5)
    second = sample(path, pid, root=root)
    body = render("c0ffee", "busy", second, first)
    shown = figures(body)

    # One spinning thread: about one CPU's worth, whatever the number of CPUs.
    cpu_delta = second["cpu"]["total"] - first["cpu"]["total"]
    wall_ns = second["read_ns"] - first["read_ns"]
    assert cpu_delta > 0.3 * wall_ns
    assert 30.0 < shown["cpu_percent"] < 100.0 * os.cpu_count() + 1
    assert body["cpu_stats"]["online_cpus"] == os.sysconf("SC_NPROCESSORS_ONLN")
    assert body["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu"]["total"]
    assert body["read"] > body["preread"]

    if _has_memory_controller(root, path):
        assert shown["memory_usage"] >= 60 * MiB
        assert body["memory_stats"]["limit"] > 60 * MiB  # unlimited: the host's memory
        assert body["memory_stats"]["stats"]  # memory.stat was read
        assert shown["memory_percent"] > 0
    if cgroup_version(root) == 1:
        assert len(body["cpu_stats"]["cpu_usage"]["percpu_usage"]) >= 1
        assert body["memory_stats"]["max_usage"] >= body["memory_stats"]["usage"]
        assert "total_inactive_file" in body["memory_stats"]["stats"]
    else:
        assert "percpu_usage" not in body["cpu_stats"]["cpu_usage"]
        assert "max_usage" not in body["memory_stats"]

    if os.path.exists(os.path.join(root if cgroup_version(root) == 2 else os.path.join(root, "pids"),
                                   path.lstrip("/"), "pids.current")):
        assert body["pids_stats"]["current"] == 1
    # The child shares the host's network namespace: whatever it sees, minus loopback.
    assert "lo" not in body.get("networks", {})


def test_a_gone_process_has_no_networks(busy_cgroup):
    path, root, _pid = busy_cgroup
    assert sample(path, 2**22 + 1, root=root)["networks"] is None  # above pid_max's maximum
