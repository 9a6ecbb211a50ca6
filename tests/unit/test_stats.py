"""hako.containers.stats: sampling from fixture cgroup and /proc trees, Docker's rendering, and
the docker CLI's arithmetic on the result."""

from __future__ import annotations

import json
import os

import pytest

from hako.containers.stats import (V1_MEMORY_KEYS, V2_MEMORY_KEYS, ZERO_TIME, cpu_percent, figures,
                                   memory_usage_without_cache, network_counters, render, sample,
                                   system_cpu)
from hako.errdefs import NotFound

CG = "/hako/abc"
TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

PROC_STAT = """\
cpu  100 5 50 1000 10 1 2 7 0 0
cpu0 60 5 30 500 5 1 1 3 0 0
cpu1 40 0 20 500 5 0 1 4 0 0
intr 12345
ctxt 999
"""

NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0
  eth1:       7       1    0    0    0     0          0         0        9       1    0    0    0     0       0          0
"""


def write(path, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture
def proc(tmp_path):
    root = tmp_path / "proc"
    write(root / "stat", PROC_STAT)
    write(root / "meminfo", "MemTotal:        1000000 kB\nMemFree: 1 kB\n")
    write(root / "42" / "net" / "dev", NET_DEV)
    return str(root)


@pytest.fixture
def v1_tree(tmp_path):
    """A cgroup v1 host: one hierarchy per controller under <tmp>/cg, listed in a mountinfo."""
    root = tmp_path / "cg"
    controllers = ["cpu", "cpuacct", "memory", "pids", "blkio"]
    mountinfo = "".join(f"{30 + i} 25 0:{26 + i} / {root}/{c} rw,nosuid - cgroup cgroup rw,{c}\n"
                        for i, c in enumerate(controllers))
    write(tmp_path / "mountinfo", mountinfo)
    d = {c: root / c / CG.lstrip("/") for c in controllers}
    write(d["cpuacct"] / "cpuacct.usage", "3000000000\n")
    write(d["cpuacct"] / "cpuacct.usage_percpu", "1000000000 2000000000 \n")
    write(d["cpuacct"] / "cpuacct.usage_user", "2000000000\n")
    write(d["cpuacct"] / "cpuacct.usage_sys", "900000000\n")
    write(d["cpu"] / "cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 4000\n")
    write(d["memory"] / "memory.usage_in_bytes", "10485760\n")
    write(d["memory"] / "memory.max_usage_in_bytes", "20971520\n")
    write(d["memory"] / "memory.limit_in_bytes", "9223372036854771712\n")
    write(d["memory"] / "memory.failcnt", "2\n")
    write(d["memory"] / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    write(d["memory"] / "memory.stat",
          "cache 4096\nrss 8192\nshmem 1\ninactive_file 100\ntotal_inactive_file 1048576\n"
          "total_rss 8192\nhierarchical_memory_limit 9223372036854771712\n")
    write(d["pids"] / "pids.current", "3\n")
    write(d["pids"] / "pids.max", "max\n")
    write(d["blkio"] / "blkio.throttle.io_service_bytes_recursive",
          "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n"
          "8:0 Total 12288\nTotal 12288\n")
    write(d["blkio"] / "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n")
    write(d["blkio"] / "blkio.bfq.io_service_bytes_recursive", "Total 0\n")  # no BFQ data: skipped
    return {"root": str(root), "mountinfo": str(tmp_path / "mountinfo")}


@pytest.fixture
def v2_tree(tmp_path):
    root = tmp_path / "cg2"
    write(root / "cgroup.controllers", "cpu io memory pids\n")
    d = root / CG.lstrip("/")
    write(d / "cpu.stat", "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n"
                          "nr_periods 10\nnr_throttled 3\nthrottled_usec 4\n")
    write(d / "memory.current", "10485760\n")
    write(d / "memory.max", "52428800\n")
    write(d / "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
    write(d / "memory.stat", "anon 8192\nfile 4096\ninactive_file 2097152\nsock 0\nzswap 5\n")
    write(d / "pids.current", "2\n")
    write(d / "pids.max", "100\n")
    write(d / "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                         "8:16 rbytes=1 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")
    return {"root": str(root), "mountinfo": str(tmp_path / "no-mountinfo")}


# ---- sampling --------------------------------------------------------------------------------

def test_system_cpu_is_dockers_sum_of_seven_fields_in_ns(proc):
    total, online = system_cpu(proc)
    assert total == (100 + 5 + 50 + 1000 + 10 + 1 + 2) * TICK_NS  # steal (7) left out
    assert online == 2


def test_network_counters_skip_loopback(proc):
    assert network_counters(proc, 42) == {
        "eth0": {"rx_bytes": 1000, "rx_packets": 10, "rx_errors": 1, "rx_dropped": 2,
                 "tx_bytes": 2000, "tx_packets": 20, "tx_errors": 3, "tx_dropped": 4},
        "eth1": {"rx_bytes": 7, "rx_packets": 1, "rx_errors": 0, "rx_dropped": 0,
                 "tx_bytes": 9, "tx_packets": 1, "tx_errors": 0, "tx_dropped": 0}}
    assert network_counters(proc, 43) is None  # gone


def test_v1_sample(v1_tree, proc):
    s = sample(CG, 42, proc=proc, **v1_tree)
    assert s["cgroup_version"] == 1
    assert s["cpu"] == {"total": 3_000_000_000, "user": 2_000_000_000, "kernel": 900_000_000,
                        "percpu": [1_000_000_000, 2_000_000_000], "periods": 10,
                        "throttled_periods": 3, "throttled_time": 4000}
    assert s["system_cpu_usage"] == 1168 * TICK_NS and s["online_cpus"] == 2
    memory = s["memory"]
    assert (memory["usage"], memory["max_usage"], memory["failcnt"]) == (10485760, 20971520, 2)
    assert memory["limit"] == 1_024_000_000  # unlimited: the host's MemTotal
    assert set(memory["stats"]) == set(V1_MEMORY_KEYS)  # dockerd's keys; "shmem" dropped
    assert memory["stats"]["total_inactive_file"] == 1048576 and memory["stats"]["dirty"] == 0
    assert s["pids"] == {"current": 3, "limit": None}
    blkio = s["blkio"]
    assert blkio["io_service_bytes_recursive"][:2] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Write", "value": 8192}]
    assert len(blkio["io_service_bytes_recursive"]) == 6  # the per-device Total kept, the last not
    assert blkio["io_serviced_recursive"][1]["value"] == 2
    assert blkio["sectors_recursive"] == []
    assert s["networks"]["eth0"]["rx_bytes"] == 1000
    json.dumps(s)  # plain data, can cross a socket


def test_v2_sample(v2_tree, proc):
    s = sample(CG, None, proc=proc, **v2_tree)
    assert s["cgroup_version"] == 2
    assert s["cpu"] == {"total": 3_000_000_000, "user": 2_000_000_000, "kernel": 1_000_000_000,
                        "percpu": None, "periods": 10, "throttled_periods": 3,
                        "throttled_time": 4000}
    assert s["memory"]["usage"] == 10485760 and s["memory"]["limit"] == 52428800
    assert s["memory"]["max_usage"] is None and s["memory"]["failcnt"] is None
    assert set(s["memory"]["stats"]) == set(V2_MEMORY_KEYS)
    assert s["pids"] == {"current": 2, "limit": 100}
    assert s["blkio"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "read", "value": 4096},
        {"major": 8, "minor": 0, "op": "write", "value": 8192},
        {"major": 8, "minor": 16, "op": "read", "value": 1},
        {"major": 8, "minor": 16, "op": "write", "value": 0}]
    assert s["networks"] is None


def test_a_missing_cgroup_is_not_found(v2_tree, proc):
    with pytest.raises(NotFound):
        sample("/hako/other", None, proc=proc, **v2_tree)


# ---- rendering -------------------------------------------------------------------------------

def fixture_sample(version: int = 1, *, read_ns: int, total: int, system: int, online: int = 4) -> dict:
    return {
        "read_ns": read_ns, "cgroup_version": version,
        "cpu": {"total": total, "user": total // 2, "kernel": total // 4,
                "percpu": [total // 2, total // 2] if version == 1 else None,
                "periods": 0, "throttled_periods": 0, "throttled_time": 0},
        "system_cpu_usage": system, "online_cpus": online,
        "memory": {"usage": 100 * 2**20, "max_usage": 150 * 2**20 if version == 1 else None,
                   "limit": 400 * 2**20, "failcnt": 0 if version == 1 else None,
                   "stats": ({"total_inactive_file": 20 * 2**20, "inactive_file": 1}
                             if version == 1 else {"inactive_file": 40 * 2**20})},
        "pids": {"current": 5, "limit": None},
        "blkio": ({"io_service_bytes_recursive": [
                       {"major": 8, "minor": 0, "op": "Read", "value": 1000},
                       {"major": 8, "minor": 0, "op": "Write", "value": 30},
                       {"major": 8, "minor": 0, "op": "Total", "value": 1030}],
                   "io_serviced_recursive": []}
                  if version == 1 else
                  {"io_service_bytes_recursive": [{"major": 8, "minor": 0, "op": "read", "value": 7},
                                                  {"major": 8, "minor": 0, "op": "write", "value": 9}]}),
        "networks": {"eth0": {"rx_bytes": 10, "rx_packets": 1, "rx_errors": 0, "rx_dropped": 0,
                              "tx_bytes": 20, "tx_packets": 2, "tx_errors": 0, "tx_dropped": 0}},
    }


PREVIOUS = fixture_sample(read_ns=1795881600_000000000, total=1_000_000_000, system=100_000_000_000)
CURRENT = fixture_sample(read_ns=1795881601_004000000, total=1_500_000_000, system=104_000_000_000)


def test_render_has_dockers_fields_in_dockers_order():
    body = render("c0ffee", "web", CURRENT, PREVIOUS)
    assert list(body) == ["read", "preread", "pids_stats", "blkio_stats", "num_procs",
                          "storage_stats", "cpu_stats", "precpu_stats", "memory_stats", "name",
                          "id", "networks"]
    assert body["read"] == "2026-11-28T16:00:01.004Z"
    assert body["preread"] == "2026-11-28T16:00:00Z"
    assert (body["name"], body["id"], body["num_procs"], body["storage_stats"]) == ("/web", "c0ffee", 0, {})
    assert body["pids_stats"] == {"current": 5}
    assert body["cpu_stats"] == {
        "cpu_usage": {"total_usage": 1_500_000_000, "percpu_usage": [750_000_000, 750_000_000],
                      "usage_in_kernelmode": 375_000_000, "usage_in_usermode": 750_000_000},
        "system_cpu_usage": 104_000_000_000, "online_cpus": 4,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    assert body["precpu_stats"]["cpu_usage"]["total_usage"] == 1_000_000_000
    # Go's omitempty: failcnt 0 is left out
    assert body["memory_stats"] == {"usage": 100 * 2**20, "max_usage": 150 * 2**20,
                                    "stats": CURRENT["memory"]["stats"], "limit": 400 * 2**20}
    assert body["blkio_stats"]["io_serviced_recursive"] == []
    assert body["blkio_stats"]["sectors_recursive"] is None
    assert list(body["networks"]["eth0"]) == ["rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                                              "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"]


def test_render_on_cgroup_v2_leaves_out_what_dockerd_does():
    current = fixture_sample(2, read_ns=1, total=2, system=3)
    current["memory"]["max_usage"] = 99  # even if a kernel had memory.peak
    body = render("c", "web", current, None)
    assert "percpu_usage" not in body["cpu_stats"]["cpu_usage"]
    assert "max_usage" not in body["memory_stats"] and "failcnt" not in body["memory_stats"]
    assert body["blkio_stats"]["io_serviced_recursive"] is None
    assert len(body["blkio_stats"]["io_service_bytes_recursive"]) == 2


def test_first_sample_has_an_empty_precpu_and_zero_preread():
    body = render("c", "web", CURRENT, None)
    assert body["preread"] == ZERO_TIME
    assert body["precpu_stats"] == {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def test_stopped_container_gets_dockers_zeroed_body():
    body = render("c", "/web", None, None)
    assert body["read"] == ZERO_TIME and body["name"] == "/web"
    assert body["memory_stats"] == {} and body["pids_stats"] == {}
    assert all(v is None for v in body["blkio_stats"].values())
    assert "networks" not in body
    assert figures(body)["cpu_percent"] == 0.0


def test_no_networks_no_key():
    current = dict(CURRENT, networks=None)
    assert "networks" not in render("c", "web", current, None)
    current = dict(CURRENT, networks={})
    assert "networks" not in render("c", "web", current, None)


# ---- the docker CLI's arithmetic -------------------------------------------------------------

def test_cpu_percent_is_cpu_delta_over_system_delta_times_cpus():
    body = render("c", "web", CURRENT, PREVIOUS)
    # 0.5 s of container CPU over 4 s of host CPU time (all 4 CPUs), times 4 CPUs
    assert cpu_percent(body) == pytest.approx(0.5 / 4 * 4 * 100)


def test_cpu_percent_falls_back_to_percpu_length_and_guards_zero_deltas():
    current = dict(CURRENT, online_cpus=0)
    body = render("c", "web", current, PREVIOUS)
    assert "online_cpus" not in body["cpu_stats"]
    assert cpu_percent(body) == pytest.approx(0.5 / 4 * 2 * 100)
    assert cpu_percent(render("c", "web", CURRENT, CURRENT)) == 0.0
    assert cpu_percent(render("c", "web", CURRENT, None)) > 0  # first sample: since boot


def test_memory_usage_excludes_inactive_file_like_the_cli():
    v1 = render("c", "web", CURRENT, None)
    assert memory_usage_without_cache(v1["memory_stats"]) == 80 * 2**20
    v2 = render("c", "web", fixture_sample(2, read_ns=1, total=1, system=1), None)
    assert memory_usage_without_cache(v2["memory_stats"]) == 60 * 2**20
    # an inactive_file count above usage is ignored (the CLI falls through to the raw usage)
    assert memory_usage_without_cache({"usage": 10, "stats": {"total_inactive_file": 20,
                                                              "inactive_file": 30}}) == 10
    assert memory_usage_without_cache({}) == 0


def test_figures_match_docker_stats_columns():
    shown = figures(render("c", "web", CURRENT, PREVIOUS))
    assert shown == {"cpu_percent": pytest.approx(50.0), "memory_usage": 80 * 2**20,
                     "memory_limit": 400 * 2**20, "memory_percent": pytest.approx(20.0),
                     "net_rx": 10, "net_tx": 20, "block_read": 1000, "block_write": 30, "pids": 5}
    v2 = figures(render("c", "web", fixture_sample(2, read_ns=1, total=1, system=1), None))
    assert (v2["block_read"], v2["block_write"]) == (7, 9)
