"""OCI ``linux.resources`` parsed and checked once, before any control file is written.

The values keep OCI's meaning (``memory.swap`` is memory+swap, ``cpu.shares`` is the v1 scale);
v1.py and v2.py translate them into files. For the integer limits 0 means "not set" (as in runc,
whose Go structs cannot tell an absent field from zero) and -1 means "unlimited".

Whatever the kernel would refuse for every host (a negative limit, shares out of 2..262144, a CFS
period outside 1 ms..1 s) is refused here, so a bad request fails before anything is half applied;
what depends on the host (a cpu it lacks, a limit below current usage) is left to the kernel.
"""

from __future__ import annotations

from ..record import Record, factory

from .base import CgroupError

# kernel/sched: MIN_SHARES..MAX_SHARES, and the CFS bandwidth bounds (1 ms .. 1 s, quota >= 1 ms).
MIN_SHARES, MAX_SHARES = 2, 262144
MIN_CFS_US, MAX_CFS_PERIOD_US = 1000, 1_000_000


class Memory(Record):
    limit: int = 0  # bytes
    reservation: int = 0
    swap: int = 0  # memory + swap, bytes
    swappiness: int | None = None
    disable_oom_killer: bool = False


class Cpu(Record):
    shares: int = 0
    quota: int = 0  # microseconds per period; negative means unlimited
    period: int = 0
    burst: int | None = None
    idle: int | None = None
    cpus: str = ""
    mems: str = ""


class DeviceNumber(Record):
    """A block device and one value for it: a weight or a throttle rate."""

    major: int
    minor: int
    value: int

    def line(self) -> str:
        return f"{self.major}:{self.minor} {self.value}"


class BlockIO(Record):
    weight: int = 0
    leaf_weight: int = 0
    weight_device: tuple[DeviceNumber, ...] = ()
    leaf_weight_device: tuple[DeviceNumber, ...] = ()
    # throttle kind ("read_bps", "write_bps", "read_iops", "write_iops") -> devices
    throttle: dict[str, tuple[DeviceNumber, ...]] = factory(dict)


class DeviceRule(Record):
    allow: bool
    type: str = "a"  # a, b or c
    major: int | None = None  # None: any
    minor: int | None = None
    access: str = "rwm"

    def line(self) -> str:
        """The devices.allow/devices.deny syntax, e.g. "c 1:3 rwm" or "a *:* rwm"."""
        major = "*" if self.major is None else self.major
        minor = "*" if self.minor is None else self.minor
        return f"{self.type} {major}:{minor} {self.access}"


class Resources(Record):
    memory: Memory | None = None
    cpu: Cpu | None = None
    pids_limit: int | None = None  # <= 0 means unlimited
    block_io: BlockIO | None = None
    hugepages: tuple[tuple[str, int], ...] = ()  # (page size such as "2MB", limit in bytes)
    devices: tuple[DeviceRule, ...] = ()
    unified: dict[str, str] = factory(dict)
    ignored: tuple[str, ...] = ()  # accepted but deliberately not applied, for warnings


_THROTTLE_KEYS = {
    "throttleReadBpsDevice": "read_bps",
    "throttleWriteBpsDevice": "write_bps",
    "throttleReadIOPSDevice": "read_iops",
    "throttleWriteIOPSDevice": "write_iops",
}


def parse_resources(raw: dict | None) -> Resources:
    raw = _object("resources", raw)
    for key in ("network", "rdma"):
        if raw.get(key):
            raise CgroupError(f"cgroup {key}: not supported by hako")
    ignored: list[str] = []
    return Resources(
        memory=_memory(raw.get("memory"), ignored),
        cpu=_cpu(raw.get("cpu")),
        pids_limit=_pids(raw.get("pids")),
        block_io=_block_io(raw.get("blockIO")),
        hugepages=tuple(_hugepage(h) for h in _list("hugepageLimits", raw.get("hugepageLimits"))),
        devices=tuple(_device(d) for d in _list("devices", raw.get("devices"))),
        unified=_unified(raw.get("unified")),
        ignored=tuple(ignored),
    )


def _memory(raw, ignored: list[str]) -> Memory | None:
    if raw is None:
        return None
    raw = _object("memory", raw)
    for key in ("kernel", "kernelTCP"):
        if raw.get(key):
            # Kernel memory limits are deprecated (Docker ignores them since 20.10; cgroup v2
            # accounts kernel memory inside memory.max).
            ignored.append(f"memory.{key}")
    memory = Memory(
        limit=_int("memory.limit", raw.get("limit", 0), minimum=-1),
        reservation=_int("memory.reservation", raw.get("reservation", 0), minimum=-1),
        swap=_int("memory.swap", raw.get("swap", 0), minimum=-1),
        swappiness=_optional_int("memory.swappiness", raw.get("swappiness"), 0, 100),
        disable_oom_killer=_bool("memory.disableOOMKiller", raw.get("disableOOMKiller", False)),
    )
    if memory.limit > 0 and memory.swap > 0 and memory.swap < memory.limit:
        raise CgroupError(f"cgroup memory.swap: invalid value {memory.swap} "
                          f"(memory+swap must be >= memory.limit {memory.limit})")
    return memory


def _cpu(raw) -> Cpu | None:
    if raw is None:
        return None
    raw = _object("cpu", raw)
    for key in ("realtimeRuntime", "realtimePeriod"):
        if raw.get(key):
            raise CgroupError(f"cgroup cpu.{key}: real-time cpu limits are not supported")
    shares = _int("cpu.shares", raw.get("shares", 0), minimum=0)
    if shares and not MIN_SHARES <= shares <= MAX_SHARES:
        # The kernel would silently clamp; runc reports it instead, and so do we.
        raise CgroupError(f"cgroup cpu.shares: invalid value {shares} "
                          f"(allowed {MIN_SHARES}..{MAX_SHARES})")
    quota = _int("cpu.quota", raw.get("quota", 0))
    if 0 < quota < MIN_CFS_US:
        raise CgroupError(f"cgroup cpu.quota: invalid value {quota} (minimum {MIN_CFS_US})")
    period = _int("cpu.period", raw.get("period", 0), minimum=0)
    if period and not MIN_CFS_US <= period <= MAX_CFS_PERIOD_US:
        raise CgroupError(f"cgroup cpu.period: invalid value {period} "
                          f"(allowed {MIN_CFS_US}..{MAX_CFS_PERIOD_US})")
    return Cpu(
        shares=shares,
        quota=-1 if quota < 0 else quota,
        period=period,
        burst=_optional_int("cpu.burst", raw.get("burst"), 0, None),
        idle=_optional_int("cpu.idle", raw.get("idle"), 0, 1),
        cpus=_cpu_list("cpu.cpus", raw.get("cpus", "")),
        mems=_cpu_list("cpu.mems", raw.get("mems", "")),
    )


def _pids(raw) -> int | None:
    if raw is None:
        return None
    raw = _object("pids", raw)
    return _int("pids.limit", raw.get("limit", 0))


def _block_io(raw) -> BlockIO | None:
    if raw is None:
        return None
    raw = _object("blockIO", raw)
    devices = [_object("blockIO.weightDevice", d)
               for d in _list("blockIO.weightDevice", raw.get("weightDevice"))]
    return BlockIO(
        weight=_int("blockIO.weight", raw.get("weight", 0), minimum=0, maximum=65535),
        leaf_weight=_int("blockIO.leafWeight", raw.get("leafWeight", 0), minimum=0, maximum=65535),
        weight_device=tuple(_device_number("blockIO.weightDevice", d, "weight")
                            for d in devices if d.get("weight")),
        leaf_weight_device=tuple(_device_number("blockIO.weightDevice", d, "leafWeight")
                                 for d in devices if d.get("leafWeight")),
        throttle={kind: tuple(_device_number(f"blockIO.{key}", d, "rate")
                              for d in _list(f"blockIO.{key}", raw.get(key)))
                  for key, kind in _THROTTLE_KEYS.items() if raw.get(key)},
    )


def _device_number(resource: str, raw, value_key: str) -> DeviceNumber:
    raw = _object(resource, raw)
    return DeviceNumber(major=_int(f"{resource}.major", raw.get("major"), minimum=0),
                        minor=_int(f"{resource}.minor", raw.get("minor"), minimum=0),
                        value=_int(f"{resource}.{value_key}", raw.get(value_key, 0), minimum=0))


def _hugepage(raw) -> tuple[str, int]:
    raw = _object("hugepageLimits", raw)
    size = raw.get("pageSize")
    # OCI: ^[1-9][0-9]*[KMG]B$, the kernel's own names for hugetlb.<size>.* files
    if not (isinstance(size, str) and len(size) >= 3 and size[-1] == "B" and size[-2] in "KMG"
            and size[:-2].isdigit() and size[0] != "0"):
        raise CgroupError(f"cgroup hugepageLimits.pageSize: invalid value {size!r}")
    return size, _int(f"hugepageLimits.{size}.limit", raw.get("limit"), minimum=0)


def _device(raw) -> DeviceRule:
    raw = _object("devices", raw)
    rule = DeviceRule(
        allow=_bool("devices.allow", raw.get("allow")),
        type=raw.get("type") or "a",
        major=_device_id("devices.major", raw.get("major")),
        minor=_device_id("devices.minor", raw.get("minor")),
        access=raw.get("access") or "rwm",
    )
    if rule.type not in ("a", "b", "c"):
        raise CgroupError(f"cgroup devices.type: invalid value {rule.type!r}")
    if not isinstance(rule.access, str) or not set(rule.access) <= set("rwm"):
        raise CgroupError(f"cgroup devices.access: invalid value {rule.access!r}")
    return rule


def _device_id(resource: str, value) -> int | None:
    if value is None or value == -1:  # OCI: absent or -1 matches every number
        return None
    return _int(resource, value, minimum=0)


# Writing these would move processes or change the cgroup's life, not set a limit.
_UNIFIED_RESERVED = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.freeze",
                     "cgroup.kill", "cgroup.type"}


def _unified(raw) -> dict[str, str]:
    if raw is None:
        return {}
    raw = _object("unified", raw)
    for key, value in raw.items():
        controller, dot, param = str(key).partition(".")
        if not (dot and controller and param and "/" not in key) or key in _UNIFIED_RESERVED:
            raise CgroupError(f"cgroup unified: invalid key {key!r} (want CONTROLLER.PARAMETER)")
        if not isinstance(value, str):
            raise CgroupError(f"cgroup unified.{key}: invalid value {value!r} (want a string)")
    return dict(raw)


# ---- scalar checks ---------------------------------------------------------------------------

def _int(resource: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or (minimum is not None and value < minimum) \
            or (maximum is not None and value > maximum):
        shown = value if isinstance(value, int) and not isinstance(value, bool) else repr(value)
        raise CgroupError(f"cgroup {resource}: invalid value {shown}")
    return value


def _optional_int(resource: str, value, minimum: int, maximum: int | None) -> int | None:
    return None if value is None else _int(resource, value, minimum, maximum)


def _bool(resource: str, value) -> bool:
    if not isinstance(value, bool):
        raise CgroupError(f"cgroup {resource}: invalid value {value!r} (want true or false)")
    return value


def _cpu_list(resource: str, value) -> str:
    """A cpuset list such as "0-3,8"; whether the host has those cpus is the kernel's call."""
    if not isinstance(value, str) or not set(value.strip()) <= set("0123456789,-"):
        raise CgroupError(f"cgroup {resource}: invalid value {value!r}")
    return value.strip()


def _object(resource: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CgroupError(f"cgroup {resource}: invalid value {value!r} (want an object)")
    return value


def _list(resource: str, value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CgroupError(f"cgroup {resource}: invalid value {value!r} (want a list)")
    return value
