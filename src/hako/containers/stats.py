"""Container resource usage: samples read from cgroups and /proc, rendered as Docker's stats.

A *sample* is what one look at the kernel tells: the container's cgroup counters (CPU time,
memory, pids, block I/O), the host's CPU time from /proc/stat, and the network counters seen
from inside the container's network namespace. Docker's ``/containers/{id}/stats`` reports two
samples at once, the current one and the previous one, because CPU % is a rate::

    first = sample(cgroup_path, pid)           # dockerd takes them about a second apart
    time.sleep(1)
    current = sample(cgroup_path, pid)
    body = render(container_id, "web", current, first)
    figures(body)  # what `docker stats` prints: {"cpu_percent": 12.5, "memory_usage": ...}

Samples are plain JSON-ready dicts, so a process that samples can hand them to one that renders.
The rendered body follows dockerd 20.10 field by field, including which fields cgroup v2 leaves
out (``percpu_usage``, ``max_usage``, ``failcnt``, most of ``blkio_stats``) and Go's
``omitempty`` rules (a zero ``memory_stats.usage`` is absent, not 0).
"""

from __future__ import annotations

import os
import time

from ..errdefs import NotFound
from ..runtime.cgroups import open_cgroup
from ..runtime.cgroups.base import CgroupFS, parse_mountinfo, read_int, read_keyed, read_text, \
    v1_mount_points
from ..runtime.cgroups.v1 import CONTROLLERS
from .logs import rfc3339nano  # Go's RFC3339Nano, as dockerd marshals "read"

# The memory.stat keys dockerd 20.10 reports on each cgroup version (others are dropped, missing
# ones are 0). On v1 the CLI subtracts total_inactive_file, on v2 inactive_file, from usage.
_V1_MEMORY_KEYS = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
    "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit")
V1_MEMORY_KEYS = _V1_MEMORY_KEYS + tuple(
    "total_" + k for k in _V1_MEMORY_KEYS if not k.startswith("hierarchical"))
V2_MEMORY_KEYS = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty",
    "file_writeback", "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault",
    "workingset_refault", "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan",
    "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc",
    "thp_collapse_alloc")

# blkio_stats fields and the cgroup v1 files that feed them, best first: the CFQ files (kernels
# before 5.0), BFQ's, then the throttle layer's, which every kernel has.
BLKIO_FIELDS = {
    "io_service_bytes_recursive": ("blkio.io_service_bytes_recursive",
                                   "blkio.bfq.io_service_bytes_recursive",
                                   "blkio.throttle.io_service_bytes_recursive",
                                   "blkio.throttle.io_service_bytes"),
    "io_serviced_recursive": ("blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                              "blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"),
    "io_queue_recursive": ("blkio.io_queued_recursive",),
    "io_service_time_recursive": ("blkio.io_service_time_recursive",),
    "io_wait_time_recursive": ("blkio.io_wait_time_recursive",),
    "io_merged_recursive": ("blkio.io_merged_recursive",),
    "io_time_recursive": ("blkio.time_recursive",),
    "sectors_recursive": ("blkio.sectors_recursive",),
}

_NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
               "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")

# What Go's zero time.Time marshals to: dockerd's "preread" before a previous sample exists.
ZERO_TIME = "0001-01-01T00:00:00Z"


# ---- sampling --------------------------------------------------------------------------------

def sample(cgroup_path: str, pid: int | None, *, root: str = "/sys/fs/cgroup", proc: str = "/proc",
           mountinfo: str = "/proc/self/mountinfo") -> dict:
    """One sample of a running container: its cgroup at ``cgroup_path`` (the OCI cgroupsPath),
    and network counters from ``pid``'s network namespace (None: no networks, as for
    ``--network host``, whose counters are the host's). NotFound if the cgroup does not exist.

    ``root``, ``proc`` and ``mountinfo`` point elsewhere in tests, or at a hybrid host's v2 tree.
    """
    fs = CgroupFS()
    cgroup = open_cgroup(cgroup_path, "", root=root, mountinfo=mountinfo, fs=fs)
    if not cgroup.exists():
        raise NotFound(f"cgroup {cgroup_path} does not exist")
    dirs = _directories(cgroup, root, mountinfo, fs)
    basics = cgroup.stats()
    read_ns = time.time_ns()
    system_ns, online = system_cpu(proc)
    if cgroup.version == 1:
        extra = _v1_extra(dirs, fs)
    else:
        extra = _v2_extra(dirs[""], fs)
    limit = basics["memory"]["limit"]
    host = host_memory(proc)
    return {
        "read_ns": read_ns,
        "cgroup_version": cgroup.version,
        "cpu": {
            "total": basics["cpu"]["usage_total_ns"],
            "user": basics["cpu"]["usage_user_ns"],
            "kernel": basics["cpu"]["usage_kernel_ns"],
            **extra["cpu"],
        },
        "system_cpu_usage": system_ns,
        "online_cpus": online,
        "memory": {
            "usage": basics["memory"]["usage"],
            "max_usage": basics["memory"]["max_usage"] if cgroup.version == 1 else None,
            # Unlimited (or above the host's memory): dockerd reports the host's MemTotal.
            "limit": min(limit, host) if host else limit,
            **extra["memory"],
        },
        "pids": {"current": basics["pids"]["current"], "limit": basics["pids"]["limit"]},
        "blkio": extra["blkio"],
        "networks": network_counters(proc, pid) if pid else None,
    }


def _directories(cgroup, root: str, mountinfo: str, fs: CgroupFS) -> dict[str, str]:
    """controller -> the container's directory (v1), or {"": directory} (v2)."""
    relative = cgroup.path.lstrip("/")
    if cgroup.version == 2:
        return {"": os.path.join(root, relative)}
    mounts = v1_mount_points(parse_mountinfo(read_text(fs, mountinfo)), root, CONTROLLERS)
    return {c: os.path.join(m, relative) for c, m in mounts.items()}


def _v1_extra(dirs: dict[str, str], fs: CgroupFS) -> dict:
    def path(controller: str, name: str) -> str:
        return os.path.join(dirs[controller], name) if controller in dirs else ""

    throttling = read_keyed(fs, path("cpu", "cpu.stat"))
    percpu = read_text(fs, path("cpuacct", "cpuacct.usage_percpu"), default="").split()
    memory_stat = read_keyed(fs, path("memory", "memory.stat"))
    return {
        "cpu": {
            "percpu": [int(v) for v in percpu] or None,
            "periods": throttling.get("nr_periods", 0),
            "throttled_periods": throttling.get("nr_throttled", 0),
            "throttled_time": throttling.get("throttled_time", 0),  # ns on v1
        },
        "memory": {
            "failcnt": read_int(fs, path("memory", "memory.failcnt")) if "memory" in dirs else None,
            "stats": {k: memory_stat.get(k, 0) for k in V1_MEMORY_KEYS} if memory_stat else {},
        },
        "blkio": {field: _v1_blkio(fs, path("blkio", ""), names) if "blkio" in dirs else []
                  for field, names in BLKIO_FIELDS.items()},
    }


def _v1_blkio(fs: CgroupFS, directory: str, names: tuple[str, ...]) -> list[dict]:
    """Entries of the first file in ``names`` that has any: "8:0 Read 4096" lines, or
    "8:0 4096" for the time and sector counts (op ""). The "Total" line is dropped."""
    for name in names:
        entries = []
        for line in read_text(fs, os.path.join(directory, name), default="").splitlines():
            fields = line.split()
            if len(fields) not in (2, 3) or ":" not in fields[0] or not fields[-1].isdigit():
                continue
            major, _, minor = fields[0].partition(":")
            entries.append({"major": int(major), "minor": int(minor),
                            "op": fields[1] if len(fields) == 3 else "", "value": int(fields[-1])})
        if entries:
            return entries
    return []


def _v2_extra(directory: str, fs: CgroupFS) -> dict:
    throttling = read_keyed(fs, os.path.join(directory, "cpu.stat"))
    memory_stat = read_keyed(fs, os.path.join(directory, "memory.stat"))
    return {
        "cpu": {
            "percpu": None,  # cgroup v2 has no per-CPU usage
            "periods": throttling.get("nr_periods", 0),
            "throttled_periods": throttling.get("nr_throttled", 0),
            "throttled_time": throttling.get("throttled_usec", 0) * 1000,
        },
        "memory": {
            "failcnt": None,
            "stats": {k: memory_stat.get(k, 0) for k in V2_MEMORY_KEYS} if memory_stat else {},
        },
        "blkio": {"io_service_bytes_recursive": _v2_io(fs, os.path.join(directory, "io.stat"))},
    }


def _v2_io(fs: CgroupFS, path: str) -> list[dict] | None:
    """io.stat's "8:0 rbytes=1 wbytes=2 rios=…" lines as dockerd reports them: a read and a
    write entry per device; None (JSON null) when there is no I/O accounting."""
    entries = []
    for line in read_text(fs, path, default="").splitlines():
        device, *pairs = line.split() or [""]
        major, _, minor = device.partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        counters = dict(pair.partition("=")[::2] for pair in pairs)
        for op, key in (("read", "rbytes"), ("write", "wbytes")):
            entries.append({"major": int(major), "minor": int(minor), "op": op,
                            "value": int(counters.get(key, 0))})
    return entries or None


def system_cpu(proc: str = "/proc") -> tuple[int, int]:
    """(host CPU time in ns, online CPUs) from /proc/stat, computed as dockerd does: the first
    seven fields of the "cpu" line (user to softirq; not steal or guest) in USER_HZ ticks, and
    the number of "cpuN" lines (only online CPUs are listed)."""
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    total, online = 0, 0
    with open(os.path.join(proc, "stat")) as f:
        for line in f:
            fields = line.split()
            if not fields or not fields[0].startswith("cpu"):
                continue
            if fields[0] == "cpu":
                total = sum(int(v) for v in fields[1:8]) * 1_000_000_000 // ticks_per_second
            else:
                online += 1
    return total, online


def host_memory(proc: str = "/proc") -> int:
    """MemTotal in bytes: the limit dockerd reports for a container without one."""
    try:
        with open(os.path.join(proc, "meminfo")) as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def network_counters(proc: str, pid: int) -> dict[str, dict[str, int]] | None:
    """Per-interface counters in ``pid``'s network namespace, loopback left out as Docker only
    reports the container's endpoints; None if the process is gone."""
    try:
        with open(os.path.join(proc, str(pid), "net", "dev")) as f:
            text = f.read()
    except OSError:
        return None
    networks = {}
    for line in text.splitlines()[2:]:  # two header lines
        name, _, counters = line.partition(":")
        name = name.strip()
        values = counters.split()
        if name == "lo" or len(values) < 16:
            continue
        # receive: bytes packets errs drop fifo frame compressed multicast; transmit: 8 more
        rx, tx = [int(v) for v in values[0:4]], [int(v) for v in values[8:12]]
        networks[name] = dict(zip(_NET_FIELDS, rx + tx))
    return networks


# ---- rendering -------------------------------------------------------------------------------

def render(container_id: str, name: str, current: dict | None, previous: dict | None) -> dict:
    """Docker's stats body (API 1.41, as dockerd 20.10 fills it) for ``current``, with
    ``previous`` as precpu_stats. ``current=None`` gives what dockerd answers for a container
    that is not running: every counter zero."""
    v2 = current is not None and current["cgroup_version"] == 2
    body = {
        "read": _time(current),
        "preread": _time(previous),
        "pids_stats": _pids(current),
        "blkio_stats": _blkio(current),
        "num_procs": 0,  # Windows only
        "storage_stats": {},  # Windows only
        "cpu_stats": _cpu(current),
        "precpu_stats": _cpu(previous),
        "memory_stats": _memory(current, v2),
        "name": "/" + name.lstrip("/"),
        "id": container_id,
    }
    networks = current and current.get("networks")
    if networks:  # omitempty: no key without networks
        body["networks"] = {k: {f: v[f] for f in _NET_FIELDS} for k, v in networks.items()}
    return body


def _time(sample_: dict | None) -> str:
    return rfc3339nano(sample_["read_ns"]) if sample_ else ZERO_TIME


def _pids(sample_: dict | None) -> dict:
    body = {}
    if sample_ and sample_["pids"]["current"]:
        body["current"] = sample_["pids"]["current"]
    if sample_ and sample_["pids"]["limit"]:  # "max" is no limit, omitted
        body["limit"] = sample_["pids"]["limit"]
    return body


def _blkio(sample_: dict | None) -> dict:
    found = sample_["blkio"] if sample_ else {}
    return {field: found.get(field) for field in BLKIO_FIELDS}


def _cpu(sample_: dict | None) -> dict:
    if sample_ is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    cpu = sample_["cpu"]
    usage = {"total_usage": cpu["total"]}
    if cpu["percpu"]:
        usage["percpu_usage"] = cpu["percpu"]
    usage["usage_in_kernelmode"] = cpu["kernel"]
    usage["usage_in_usermode"] = cpu["user"]
    body = {"cpu_usage": usage}
    if sample_["system_cpu_usage"]:
        body["system_cpu_usage"] = sample_["system_cpu_usage"]
    if sample_["online_cpus"]:
        body["online_cpus"] = sample_["online_cpus"]
    body["throttling_data"] = {"periods": cpu["periods"],
                               "throttled_periods": cpu["throttled_periods"],
                               "throttled_time": cpu["throttled_time"]}
    return body


def _memory(sample_: dict | None, v2: bool) -> dict:
    if sample_ is None:
        return {}
    memory = sample_["memory"]
    fields = {"usage": memory["usage"], "max_usage": None if v2 else memory["max_usage"],
              "stats": memory["stats"], "failcnt": None if v2 else memory["failcnt"],
              "limit": memory["limit"]}
    return {k: v for k, v in fields.items() if v}  # Go's omitempty


# ---- what `docker stats` shows ---------------------------------------------------------------

def figures(stats: dict) -> dict:
    """The numbers the docker CLI (20.10) derives from one stats body for `docker stats`."""
    memory = stats.get("memory_stats", {})
    usage = memory_usage_without_cache(memory)
    limit = memory.get("limit", 0)
    read = write = 0
    for entry in stats.get("blkio_stats", {}).get("io_service_bytes_recursive") or []:
        op = entry.get("op", "")[:1].lower()
        if op == "r":
            read += entry["value"]
        elif op == "w":
            write += entry["value"]
    networks = stats.get("networks") or {}
    return {
        "cpu_percent": cpu_percent(stats),
        "memory_usage": usage,
        "memory_limit": limit,
        "memory_percent": usage / limit * 100.0 if limit else 0.0,
        "net_rx": sum(n["rx_bytes"] for n in networks.values()),
        "net_tx": sum(n["tx_bytes"] for n in networks.values()),
        "block_read": read,
        "block_write": write,
        "pids": stats.get("pids_stats", {}).get("current", 0),
    }


def cpu_percent(stats: dict) -> float:
    """CPU % as the CLI computes it: container CPU time over host CPU time between the two
    samples, times the number of CPUs (so one busy core on a 4-CPU host is 100%)."""
    cpu, pre = stats["cpu_stats"], stats["precpu_stats"]
    cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * cpus * 100.0
    return 0.0


def memory_usage_without_cache(memory_stats: dict) -> int:
    """MEM USAGE as the CLI shows it: usage less inactive file pages (v1: total_inactive_file,
    v2: inactive_file), which the kernel can drop at once."""
    usage = memory_stats.get("usage", 0)
    stats = memory_stats.get("stats") or {}
    inactive = stats.get("total_inactive_file")  # present on v1 only
    if inactive is not None and inactive < usage:
        return usage - inactive
    inactive = stats.get("inactive_file", 0)
    return usage - inactive if inactive < usage else usage
