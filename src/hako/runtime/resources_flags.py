"""`update`'s flags (runc's) turned into an OCI linux.resources object."""

from __future__ import annotations

from .errors import ConfigError
from .spec import read_json_argument

_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(value: str) -> int:
    """"512m", "1g", "1048576", "-1" -> bytes, as docker's RAMInBytes reads them."""
    text = value.strip().lower()
    if text == "-1":
        return -1
    text = text.removesuffix("b")
    unit = 1
    if text and text[-1] in _UNITS:
        unit, text = _UNITS[text[-1]], text[:-1]
    try:
        return int(float(text) * unit)
    except ValueError:
        raise ConfigError(f"invalid size: {value!r}") from None


def _int(value: str, flag: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--{flag}: invalid number {value!r}") from None


def resources_from_flags(args) -> dict:
    if args.resources:
        return read_json_argument(args.resources, "--resources")
    res: dict = {}
    memory = {}
    for flag, key in (("memory", "limit"), ("memory_reservation", "reservation"), ("memory_swap", "swap"),
                      ("kernel_memory", "kernel")):
        if getattr(args, flag):
            memory[key] = parse_bytes(getattr(args, flag))
    if memory:
        res["memory"] = memory
    cpu = {}
    for flag, key in (("cpu_shares", "shares"), ("cpu_quota", "quota"), ("cpu_period", "period"),
                      ("cpu_rt_period", "realtimePeriod"), ("cpu_rt_runtime", "realtimeRuntime")):
        if getattr(args, flag):
            cpu[key] = _int(getattr(args, flag), flag.replace("_", "-"))
    if args.cpuset_cpus:
        cpu["cpus"] = args.cpuset_cpus
    if args.cpuset_mems:
        cpu["mems"] = args.cpuset_mems
    if cpu:
        res["cpu"] = cpu
    if args.pids_limit:
        res["pids"] = {"limit": _int(args.pids_limit, "pids-limit")}
    if args.blkio_weight:
        res["blockIO"] = {"weight": _int(args.blkio_weight, "blkio-weight")}
    return res
