"""cgroup v2: the container's path is one directory in the unified tree.

A controller's files appear in a cgroup only when its parent lists the controller in
cgroup.subtree_control, so create() enables what it needs on every ancestor on the way down.
See Documentation/admin-guide/cgroup-v2.rst in the kernel tree.
"""

from __future__ import annotations

import errno
import os

from .base import (MEMORY_UNLIMITED, CgroupError, CgroupFS, make_dirs, poll, read_int,
                   read_keyed, read_pids, read_text, remove_tree, write_error, write_value)
from .resources import BlockIO, Cpu, Memory, Resources, parse_resources

# Known gap: device access on v2 is decided by an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
# attached to the cgroup, not by a file, and hako does not load one yet. linux.resources.devices
# is therefore skipped on v2 (with an entry in Cgroup.warnings): the container still sees only
# the device nodes the runtime puts in its /dev, but nothing stops a process with CAP_MKNOD from
# creating and opening another.
DEVICES_ENFORCED_ON_V2 = False

# Controllers hako enables for containers when the parent offers them.
CONTROLLERS = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids")


def shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default 100), as runc."""
    return 1 + ((shares - 2) * 9999) // 262142 if shares else 0


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight (10..1000) to io.weight (1..10000), runc's formula."""
    return max(1, 1 + ((weight - 10) * 9999) // 990) if weight else 0


def swap_max(swap: int, limit: int) -> str | None:
    """memory.swap.max for OCI's memory+swap total `swap`; None leaves it as it is.

    Both OCI values use 0 for unset and -1 for unlimited; memory.swap.max counts swap alone.
    """
    if limit == -1 and swap == 0:
        return "max"  # unlimited memory with swap unset means unlimited swap too (runc)
    if swap == 0:
        return None
    if swap == -1:
        return "max"
    if limit in (0, -1):
        raise CgroupError(f"cgroup memory.swap: invalid value {swap} "
                          "(a swap limit needs a memory limit on cgroup v2)")
    return str(swap - limit)  # "0" when equal: no swap at all


def _limit(value: int) -> str:
    return "max" if value == -1 else str(value)


class V2Cgroup:
    version = 2

    def __init__(self, path: str, root: str, fs: CgroupFS, freeze_timeout: float = 5.0):
        self.path = path
        self.warnings: list[str] = []
        self._fs = fs
        self._root = root
        self._dir = os.path.join(root, path.lstrip("/"))
        self._freeze_timeout = freeze_timeout

    # ---- lifecycle ---------------------------------------------------------------------------

    def create(self) -> None:
        parent = self._root
        for component in self.path.strip("/").split("/"):
            self._enable_controllers(parent)
            parent = make_dirs(self._fs, parent, component)[0]

    def _enable_controllers(self, directory: str) -> None:
        offered = read_text(self._fs, os.path.join(directory, "cgroup.controllers")).split()
        enabled = read_text(self._fs, os.path.join(directory, "cgroup.subtree_control")).split()
        missing = [c for c in CONTROLLERS if c in offered and c not in enabled]
        if not missing:
            return
        path = os.path.join(directory, "cgroup.subtree_control")
        try:
            self._fs.write(path, " ".join("+" + c for c in missing))
            return
        except OSError:
            pass
        # One refusal fails the whole write (e.g. EBUSY for a controller that a parent with
        # processes cannot delegate: the "no internal processes" rule); enable the rest one by
        # one, and let apply() report a limit whose controller stayed off.
        for controller in missing:
            try:
                self._fs.write(path, "+" + controller)
            except OSError as exc:
                self.warnings.append(f"cgroup: cannot enable {controller} in {path}: "
                                     f"{exc.strerror or exc}")

    def add_process(self, pid: int) -> None:
        path = os.path.join(self._dir, "cgroup.procs")
        try:
            self._fs.write(path, str(pid))
        except OSError as exc:
            raise CgroupError(f"cgroup: cannot add pid {pid} to {path}: "
                              f"{exc.strerror or exc}") from exc

    def exists(self) -> bool:
        return self._fs.exists(self._dir)

    def destroy(self) -> None:
        # Only the leaf goes; parents such as /hako are shared with other containers (as runc).
        remove_tree(self._fs, self._dir)

    def pids(self) -> list[int]:
        return read_pids(self._fs, self._dir)

    # ---- resources ---------------------------------------------------------------------------

    def apply(self, resources: dict) -> None:
        res = parse_resources(resources)
        swap = swap_max(res.memory.swap, res.memory.limit) if res.memory else None  # may raise
        self._require_controllers(res)
        self.warnings.extend(f"{name}: ignored (deprecated)" for name in res.ignored)
        if res.memory:
            self._set_memory(res.memory, swap)
        if res.cpu:
            self._set_cpu(res.cpu)
        if res.pids_limit is not None:
            limit = str(res.pids_limit) if res.pids_limit > 0 else "max"
            self._write("pids.max", limit, "pids.limit")
        if res.block_io:
            self._set_io(res.block_io)
        for size, limit in res.hugepages:
            self._write_optional(f"hugetlb.{size}.max", str(limit), f"hugepageLimits.{size}")
        if res.devices:
            self.warnings.append("devices: not enforced on cgroup v2 (DEVICES_ENFORCED_ON_V2)")
        # Last, so raw keys override the translated ones (runc's order).
        for key, value in res.unified.items():
            self._write_unified(key, value)

    def _require_controllers(self, res: Resources) -> None:
        """Fail before writing anything when a limit's controller is not enabled here."""
        needed = []
        if res.memory:
            needed.append(("memory", "memory"))
        if res.cpu and (res.cpu.shares or res.cpu.quota or res.cpu.period):
            needed.append(("cpu", "cpu"))
        if res.cpu and (res.cpu.cpus or res.cpu.mems):
            needed.append(("cpuset", "cpu.cpus"))
        if res.pids_limit is not None:
            needed.append(("pids", "pids.limit"))
        if not needed:
            return
        enabled = read_text(self._fs, self._file("cgroup.controllers"), default="").split()
        for controller, resource in needed:
            if controller not in enabled:
                raise CgroupError(f"cgroup {resource}: the {controller} controller is not "
                                  f"enabled for {self._dir} (see its parent's "
                                  "cgroup.subtree_control)")

    def _set_memory(self, memory: Memory, swap: str | None) -> None:
        if swap is not None:
            if self._fs.exists(os.path.join(self._dir, "memory.swap.max")):
                self._write("memory.swap.max", swap, "memory.swap")
            elif swap != "max":
                # No swap accounting (CONFIG_MEMCG_SWAP off or swapaccount=0); Docker warns too.
                self.warnings.append("memory.swap: memory.swap.max is absent "
                                     "(swap accounting disabled); swap limit not applied")
        if memory.limit:
            self._write("memory.max", _limit(memory.limit), "memory.limit")
        if memory.reservation:
            self._write("memory.low", _limit(memory.reservation), "memory.reservation")
        if memory.swappiness is not None:
            self.warnings.append("memory.swappiness: no per-cgroup swappiness on cgroup v2; "
                                 "not applied")
        if memory.disable_oom_killer:
            self.warnings.append("memory.disableOOMKiller: the OOM killer cannot be disabled "
                                 "on cgroup v2; not applied")

    def _set_cpu(self, cpu: Cpu) -> None:
        if cpu.shares:
            self._write("cpu.weight", str(shares_to_weight(cpu.shares)), "cpu.shares")
        if cpu.quota or cpu.period:
            # "$MAX $PERIOD"; a lone "$MAX" keeps the current period.
            value = str(cpu.quota) if cpu.quota > 0 else "max"
            if cpu.period:
                value += f" {cpu.period}"
            self._write("cpu.max", value, "cpu.quota")
        if cpu.burst is not None:
            self._write_optional("cpu.max.burst", str(cpu.burst), "cpu.burst")
        if cpu.idle is not None:
            self._write_optional("cpu.idle", str(cpu.idle), "cpu.idle")
        if cpu.cpus:
            self._write("cpuset.cpus", cpu.cpus, "cpu.cpus")
        if cpu.mems:
            self._write("cpuset.mems", cpu.mems, "cpu.mems")

    def _set_io(self, block_io: BlockIO) -> None:
        # With the BFQ scheduler io.bfq.weight takes blkio's 1..1000 scale and per-device
        # weights; otherwise io.weight takes 1..10000 and has no per-device form (runc's rules).
        bfq = self._fs.exists(os.path.join(self._dir, "io.bfq.weight"))
        if block_io.weight:
            if bfq:
                self._write("io.bfq.weight", str(block_io.weight), "blockIO.weight")
            else:
                self._write_optional("io.weight", str(blkio_weight_to_io_weight(block_io.weight)),
                                     "blockIO.weight")
        if block_io.leaf_weight or block_io.leaf_weight_device:
            self.warnings.append("blockIO.leafWeight: not available on cgroup v2; not applied")
        for device in block_io.weight_device:
            if bfq:
                self._write("io.bfq.weight", device.line(), "blockIO.weightDevice")
            else:
                self.warnings.append(f"blockIO.weightDevice: {device.major}:{device.minor} "
                                     "needs the BFQ scheduler; not applied")
        names = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops",
                 "write_iops": "wiops"}
        for kind, devices in block_io.throttle.items():
            for device in devices:
                line = f"{device.major}:{device.minor} {names[kind]}={device.value}"
                self._write_optional("io.max", line, f"blockIO.throttle.{kind}")

    def _write_unified(self, key: str, value: str) -> None:
        path = os.path.join(self._dir, key)
        try:
            self._fs.write(path, value)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise CgroupError(f"cgroup unified.{key}: {path} does not exist (controller "
                                  f"{key.split('.')[0]!r} not enabled?)") from exc
            raise write_error(f"unified.{key}", path, value, exc) from exc

    # ---- freezer -----------------------------------------------------------------------------

    def freeze(self) -> None:
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def is_frozen(self) -> bool:
        return read_keyed(self._fs, os.path.join(self._dir, "cgroup.events")).get("frozen") == 1

    def _set_frozen(self, frozen: bool) -> None:
        operation = "freeze" if frozen else "thaw"
        if not self._fs.exists(os.path.join(self._dir, "cgroup.freeze")):
            raise CgroupError(f"cgroup {operation}: {self._dir}/cgroup.freeze is absent "
                              "(the v2 freezer needs Linux 5.2)")
        self._write("cgroup.freeze", "1" if frozen else "0", operation)
        # The write only starts it: cgroup.events says "frozen 1" once every task has stopped.
        if not poll(lambda: self.is_frozen() == frozen, self._freeze_timeout):
            if frozen:
                self._write("cgroup.freeze", "0", operation)
            raise CgroupError(f"cgroup {operation}: {self._dir} did not reach frozen="
                              f"{int(frozen)} within {self._freeze_timeout:g}s")

    # ---- stats -------------------------------------------------------------------------------

    def stats(self) -> dict:
        cpu = read_keyed(self._fs, self._file("cpu.stat"))
        events = read_keyed(self._fs, self._file("memory.events"))
        limit = read_int(self._fs, self._file("memory.max"))
        return {
            "memory": {
                "usage": read_int(self._fs, self._file("memory.current")) or 0,
                "limit": MEMORY_UNLIMITED if limit is None else limit,  # None: "max"
                "max_usage": read_int(self._fs, self._file("memory.peak")),  # Linux 5.19+
                "oom_kill": events.get("oom_kill", 0),
            },
            "cpu": {  # cpu.stat counts microseconds
                "usage_total_ns": cpu.get("usage_usec", 0) * 1000,
                "usage_user_ns": cpu.get("user_usec", 0) * 1000,
                "usage_kernel_ns": cpu.get("system_usec", 0) * 1000,
                "throttled_periods": cpu.get("nr_throttled", 0),
                "throttled_time_ns": cpu.get("throttled_usec", 0) * 1000,
            },
            "pids": {
                "current": read_int(self._fs, self._file("pids.current")) or 0,
                "limit": read_int(self._fs, self._file("pids.max")),
            },
        }

    # ---- helpers -----------------------------------------------------------------------------

    def _file(self, filename: str) -> str:
        return os.path.join(self._dir, filename)

    def _write(self, filename: str, value: str, resource: str) -> None:
        write_value(self._fs, self._dir, filename, value, resource)

    def _write_optional(self, filename: str, value: str, resource: str) -> None:
        """Write when the file exists (controller enabled, kernel new enough); else warn."""
        if not self._fs.exists(self._file(filename)):
            self.warnings.append(f"{resource}: {filename} is not available; not applied")
            return
        self._write(filename, value, resource)
