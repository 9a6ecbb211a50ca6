"""`hako update`: change the resource limits or restart policy of containers.

The body is docker's UpdateConfig: the Resources fields (unset pointer fields as null) plus
RestartPolicy.
"""

from __future__ import annotations

from ..command import Command, StatusError, at_least
from ..containeropts import OptionError, restart_policy
from ..flags import INT, STRING, Flag
from ..optvalues import BYTES, DECIMAL, MEMSWAP, UINT16
from .common import finish, for_each

_FLAG_NAMES = ("blkio_weight", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime",
               "cpu_shares", "cpus", "cpuset_cpus", "cpuset_mems", "memory", "memory_reservation",
               "memory_swap", "pids_limit", "restart")


def update_body(opts) -> dict:
    body = {
        "CpuShares": opts["cpu_shares"],
        "Memory": opts["memory"],
        "NanoCpus": opts["cpus"],
        "CgroupParent": "",
        "BlkioWeight": opts["blkio_weight"],
        "BlkioWeightDevice": None,
        "BlkioDeviceReadBps": None,
        "BlkioDeviceWriteBps": None,
        "BlkioDeviceReadIOps": None,
        "BlkioDeviceWriteIOps": None,
        "CpuPeriod": opts["cpu_period"],
        "CpuQuota": opts["cpu_quota"],
        "CpuRealtimePeriod": opts["cpu_rt_period"],
        "CpuRealtimeRuntime": opts["cpu_rt_runtime"],
        "CpusetCpus": opts["cpuset_cpus"],
        "CpusetMems": opts["cpuset_mems"],
        "Devices": None,
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": opts["memory_reservation"],
        "MemorySwap": opts["memory_swap"],
        "MemorySwappiness": None,
        "OomKillDisable": None,
        "PidsLimit": opts["pids_limit"],
        "Ulimits": None,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
    }
    body["RestartPolicy"] = restart_policy(opts["restart"])
    return body


def update(cli, opts, args) -> int:
    if all(opts[name] in (0, "", None) for name in _FLAG_NAMES):
        raise StatusError(1, "you must provide one or more flags when using this command")
    try:
        body = update_body(opts)
    except OptionError as exc:
        raise StatusError(1, str(exc)) from None
    return finish(for_each(cli, args, lambda n: cli.client.post_json(f"/containers/{n}/update", None, body)))


UPDATE = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
                 flags=(Flag("blkio-weight", None, UINT16, help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
                        Flag("cpu-period", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
                        Flag("cpu-quota", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
                        Flag("cpu-rt-period", None, INT, help="Limit the CPU real-time period in microseconds"),
                        Flag("cpu-rt-runtime", None, INT, help="Limit the CPU real-time runtime in microseconds"),
                        Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
                        Flag("cpus", None, DECIMAL, help="Number of CPUs"),
                        Flag("cpuset-cpus", None, STRING, help="CPUs in which to allow execution (0-3, 0,1)"),
                        Flag("cpuset-mems", None, STRING, help="MEMs in which to allow execution (0-3, 0,1)"),
                        Flag("memory", "m", BYTES, help="Memory limit"),
                        Flag("memory-reservation", None, BYTES, help="Memory soft limit"),
                        Flag("memory-swap", None, MEMSWAP, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
                        Flag("pids-limit", None, INT, default=None, help="Tune container pids limit (set -1 for unlimited)"),
                        Flag("restart", None, STRING, help="Restart policy to apply when a container exits")),
                 args=at_least(1), action=update, aliases=("container update", "update"))
