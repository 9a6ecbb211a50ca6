"""cgroup v1: the container's path is created once per controller hierarchy.

Controllers can be mounted alone (/sys/fs/cgroup/cpu and /sys/fs/cgroup/cpuacct) or together
(/sys/fs/cgroup/cpu,cpuacct); co-mounted controllers share one directory, which is then created,
joined and removed once. See Documentation/admin-guide/cgroup-v1/ in the kernel tree.
"""

from __future__ import annotations

import errno
import os
import time

from .base import (MEMORY_UNLIMITED, CgroupError, CgroupFS, make_dirs, poll, read_int,
                   read_keyed, read_pids, read_text, remove_tree, write_error, write_value)
from .resources import BlockIO, Cpu, DeviceRule, Memory, Resources, parse_resources

# The hierarchies hako puts a container in; others (net_cls, perf_event, name=systemd) are left
# alone, so the container stays in its creator's cgroup there.
CONTROLLERS = ("cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids",
               "hugetlb")


class V1Cgroup:
    version = 1

    def __init__(self, path: str, mount_points: dict[str, str], fs: CgroupFS,
                 freeze_timeout: float = 5.0):
        self.path = path
        self.warnings: list[str] = []
        self._fs = fs
        self._mounts = {c: m for c, m in mount_points.items() if c in CONTROLLERS}
        self._dirs = {c: os.path.join(m, path.lstrip("/")) for c, m in self._mounts.items()}
        self._freeze_timeout = freeze_timeout

    # ---- lifecycle ---------------------------------------------------------------------------

    def create(self) -> None:
        levels_by_mount = {}
        for mount in dict.fromkeys(self._mounts.values()):
            levels_by_mount[mount] = make_dirs(self._fs, mount, self.path)
        if "cpuset" in self._mounts:
            mount = self._mounts["cpuset"]
            self._inherit_cpuset(mount, levels_by_mount[mount])

    def _inherit_cpuset(self, mount: str, levels: list[str]) -> None:
        # A new v1 cpuset starts with empty cpuset.cpus and cpuset.mems, and the kernel refuses
        # to move a task into it (ENOSPC) until both are set. Copy each level's from its parent,
        # top down, as runc does (cgroup.clone_children would only cover future children).
        parent = mount
        for level in levels:
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not read_text(self._fs, os.path.join(level, name)):
                    value = read_text(self._fs, os.path.join(parent, name))
                    write_value(self._fs, level, name, value, f"cpu.{name[len('cpuset.'):]}")
            parent = level

    def add_process(self, pid: int) -> None:
        for directory in self._unique_dirs():
            path = os.path.join(directory, "cgroup.procs")
            try:
                self._fs.write(path, str(pid))
            except OSError as exc:
                hint = " (cpuset.cpus or cpuset.mems empty?)" if exc.errno == errno.ENOSPC else ""
                raise CgroupError(f"cgroup: cannot add pid {pid} to {path}: "
                                  f"{exc.strerror or exc}{hint}") from exc

    def exists(self) -> bool:
        return any(self._fs.exists(d) for d in self._unique_dirs())

    def destroy(self) -> None:
        # Only the leaf goes: parents such as /hako are shared with other containers, and
        # removing one could race with a sibling being created under it (runc keeps them too).
        errors = []
        for directory in self._unique_dirs():
            try:
                remove_tree(self._fs, directory)
            except CgroupError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def pids(self) -> list[int]:
        directory = self._dirs.get("freezer") or self._unique_dirs()[0]
        return read_pids(self._fs, directory)

    # ---- resources ---------------------------------------------------------------------------

    def apply(self, resources: dict) -> None:
        res = parse_resources(resources)
        if res.unified:
            raise CgroupError("cgroup unified: cgroup v2 keys cannot be applied on cgroup v1 "
                              f"({', '.join(sorted(res.unified))})")
        self._require_controllers(res)
        self.warnings.extend(f"{name}: ignored (deprecated)" for name in res.ignored)
        if res.memory:
            self._set_memory(res.memory)
        if res.cpu:
            self._set_cpu(res.cpu)
        if res.pids_limit is not None:
            limit = str(res.pids_limit) if res.pids_limit > 0 else "max"
            self._write("pids", "pids.max", limit, "pids.limit")
        if res.block_io:
            self._set_block_io(res.block_io)
        for size, limit in res.hugepages:
            self._write_optional("hugetlb", f"hugetlb.{size}.limit_in_bytes", str(limit),
                                 f"hugepageLimits.{size}")
        self._set_devices(res.devices)

    def _require_controllers(self, res: Resources) -> None:
        """Fail before writing anything when a limit's controller is not mounted."""
        needed = []
        if res.memory:
            needed.append(("memory", "memory"))
        if res.cpu and (res.cpu.shares or res.cpu.quota or res.cpu.period):
            needed.append(("cpu", "cpu"))
        if res.cpu and (res.cpu.cpus or res.cpu.mems):
            needed.append(("cpuset", "cpu.cpus"))
        if res.pids_limit is not None:
            needed.append(("pids", "pids.limit"))
        if res.devices:
            needed.append(("devices", "devices"))
        for controller, resource in needed:
            self._dir(controller, resource)

    def _set_memory(self, memory: Memory) -> None:
        directory = self._dirs["memory"]
        swap = memory.swap
        has_swap_file = self._fs.exists(os.path.join(directory, "memory.memsw.limit_in_bytes"))
        if memory.limit == -1 and swap == 0 and has_swap_file:
            swap = -1  # unlimited memory with swap unset means unlimited memory+swap (runc)
        if swap and not has_swap_file:
            # Swap accounting is off (swapaccount=0 or no CONFIG_MEMCG_SWAP); Docker warns too.
            if swap != -1:
                self.warnings.append("memory.swap: memory.memsw.limit_in_bytes is absent "
                                     "(swap accounting disabled); swap limit not applied")
            swap = 0
        limit_step = ("memory.limit_in_bytes", memory.limit, "memory.limit")
        swap_step = ("memory.memsw.limit_in_bytes", swap, "memory.swap")
        steps = [limit_step, swap_step]
        if memory.limit and swap:
            # The kernel keeps memsw >= limit at every write (EINVAL otherwise): when the new
            # memsw exceeds the current limit write it first, else lower the limit first.
            current = read_int(self._fs, os.path.join(directory, "memory.limit_in_bytes"))
            if swap == -1 or (current is not None and current < swap):
                steps = [swap_step, limit_step]
        steps.append(("memory.soft_limit_in_bytes", memory.reservation, "memory.reservation"))
        for filename, value, resource in steps:
            if value:
                write_value(self._fs, directory, filename, str(value), resource)
        if memory.swappiness is not None:
            self._write("memory", "memory.swappiness", str(memory.swappiness), "memory.swappiness")
        if memory.disable_oom_killer:
            self._write("memory", "memory.oom_control", "1", "memory.disableOOMKiller")

    def _set_cpu(self, cpu: Cpu) -> None:
        if cpu.shares:
            self._write("cpu", "cpu.shares", str(cpu.shares), "cpu.shares")
        retry_period = False
        if cpu.period:
            directory = self._dirs["cpu"]
            try:
                self._fs.write(os.path.join(directory, "cpu.cfs_period_us"), str(cpu.period))
            except OSError as exc:
                # The kernel checks the old quota against the new period within the parent's
                # bandwidth, so a shorter period can be refused (EINVAL) until the new quota is
                # in; retry it after the quota, as runc does.
                if exc.errno != errno.EINVAL or not cpu.quota:
                    raise write_error("cpu.period", os.path.join(directory, "cpu.cfs_period_us"),
                                      str(cpu.period), exc) from exc
                retry_period = True
        if cpu.quota:
            self._write("cpu", "cpu.cfs_quota_us", str(cpu.quota), "cpu.quota")
            if retry_period:
                self._write("cpu", "cpu.cfs_period_us", str(cpu.period), "cpu.period")
        if cpu.burst is not None:
            self._write_optional("cpu", "cpu.cfs_burst_us", str(cpu.burst), "cpu.burst")
        if cpu.idle is not None:
            self._write_optional("cpu", "cpu.idle", str(cpu.idle), "cpu.idle")
        if cpu.cpus:
            self._write("cpuset", "cpuset.cpus", cpu.cpus, "cpu.cpus")
        if cpu.mems:
            self._write("cpuset", "cpuset.mems", cpu.mems, "cpu.mems")

    def _set_block_io(self, block_io: BlockIO) -> None:
        if "blkio" not in self._dirs:
            self.warnings.append("blockIO: the blkio controller is not mounted; not applied")
            return
        # CFQ kernels (before 5.0) have blkio.weight; blk-mq kernels with BFQ have
        # blkio.bfq.weight with the same syntax (runc picks the same way).
        prefix = "blkio." if self._fs.exists(
            os.path.join(self._dirs["blkio"], "blkio.weight")) else "blkio.bfq."
        if block_io.weight:
            self._write_optional("blkio", prefix + "weight", str(block_io.weight), "blockIO.weight")
        if block_io.leaf_weight:
            self._write_optional("blkio", "blkio.leaf_weight", str(block_io.leaf_weight),
                                 "blockIO.leafWeight")
        for device in block_io.weight_device:
            self._write_optional("blkio", prefix + "weight_device", device.line(),
                                 "blockIO.weightDevice")
        for device in block_io.leaf_weight_device:
            self._write_optional("blkio", "blkio.leaf_weight_device", device.line(),
                                 "blockIO.weightDevice.leafWeight")
        for kind, devices in block_io.throttle.items():
            for device in devices:
                self._write_optional("blkio", f"blkio.throttle.{kind}_device", device.line(),
                                     f"blockIO.throttle.{kind}")

    def _set_devices(self, rules: tuple[DeviceRule, ...]) -> None:
        # Rules go in the spec's order, typically "deny a *:* rwm" then the allowed devices.
        # Between the two writes the cgroup denies everything; runtimes apply devices before the
        # container's process runs, so nothing observes it (runc emulates the diff instead).
        for rule in rules:
            filename = "devices.allow" if rule.allow else "devices.deny"
            self._write("devices", filename, rule.line(), "devices")

    # ---- freezer -----------------------------------------------------------------------------

    def freeze(self) -> None:
        directory = self._dir("freezer", "freeze")
        attempts = 0

        def frozen() -> bool:
            nonlocal attempts
            attempts += 1
            if attempts % 50 == 0:
                # A v1 freeze can stay FREEZING while tasks keep forking; thawing and starting
                # over gets it unstuck (runc's experience on RHEL 7 and Ubuntu 20.04 kernels).
                self._write("freezer", "freezer.state", "THAWED", "freeze")
                time.sleep(0.01)
            # Writing FROZEN again retries the tasks that were not frozen yet.
            self._write("freezer", "freezer.state", "FROZEN", "freeze")
            return self._freezer_state() == "FROZEN"

        if not poll(frozen, self._freeze_timeout):
            self._write("freezer", "freezer.state", "THAWED", "freeze")
            raise CgroupError(f"cgroup freeze: {directory} stayed FREEZING for "
                              f"{self._freeze_timeout:g}s; thawed again")

    def thaw(self) -> None:
        self._write("freezer", "freezer.state", "THAWED", "thaw")

    def is_frozen(self) -> bool:
        return "freezer" in self._dirs and self._freezer_state() == "FROZEN"

    def _freezer_state(self) -> str:
        return read_text(self._fs, os.path.join(self._dirs["freezer"], "freezer.state"))

    # ---- stats -------------------------------------------------------------------------------

    def stats(self) -> dict:
        memory = "memory" in self._dirs
        limit = self._int("memory", "memory.limit_in_bytes")
        cpu_stat = read_keyed(self._fs, self._file("cpu", "cpu.stat"))
        oom = read_keyed(self._fs, self._file("memory", "memory.oom_control"))
        return {
            "memory": {
                "usage": self._int("memory", "memory.usage_in_bytes") or 0,
                "limit": MEMORY_UNLIMITED if limit is None else limit,
                "max_usage": self._int("memory", "memory.max_usage_in_bytes") if memory else None,
                "oom_kill": oom.get("oom_kill", 0),  # counted since Linux 4.13
            },
            "cpu": {
                "usage_total_ns": self._int("cpuacct", "cpuacct.usage") or 0,
                **self._cpu_user_kernel(),
                "throttled_periods": cpu_stat.get("nr_throttled", 0),
                "throttled_time_ns": cpu_stat.get("throttled_time", 0),  # already ns in v1
            },
            "pids": {
                "current": self._int("pids", "pids.current") or 0,
                "limit": self._int("pids", "pids.max"),
            },
        }

    def _cpu_user_kernel(self) -> dict:
        user, kernel = self._int("cpuacct", "cpuacct.usage_user"), \
            self._int("cpuacct", "cpuacct.usage_sys")
        if user is None or kernel is None:
            # Before Linux 4.6 only cpuacct.stat exists, in USER_HZ ticks.
            ticks = read_keyed(self._fs, self._file("cpuacct", "cpuacct.stat"))
            ns_per_tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            user = ticks.get("user", 0) * ns_per_tick
            kernel = ticks.get("system", 0) * ns_per_tick
        return {"usage_user_ns": user, "usage_kernel_ns": kernel}

    # ---- helpers -----------------------------------------------------------------------------

    def _unique_dirs(self) -> list[str]:
        return list(dict.fromkeys(self._dirs.values()))

    def _dir(self, controller: str, resource: str) -> str:
        try:
            return self._dirs[controller]
        except KeyError:
            raise CgroupError(
                f"cgroup {resource}: the {controller} controller is not mounted") from None

    def _file(self, controller: str, filename: str) -> str:
        """The path of a control file, or "" (read as absent) when the controller is missing."""
        directory = self._dirs.get(controller)
        return os.path.join(directory, filename) if directory else ""

    def _int(self, controller: str, filename: str) -> int | None:
        path = self._file(controller, filename)
        return read_int(self._fs, path) if path else None

    def _write(self, controller: str, filename: str, value: str, resource: str) -> None:
        write_value(self._fs, self._dir(controller, resource), filename, value, resource)

    def _write_optional(self, controller: str, filename: str, value: str, resource: str) -> None:
        """Write when this kernel has the file; otherwise skip and say so in warnings."""
        path = self._file(controller, filename)
        if not path or not self._fs.exists(path):
            self.warnings.append(f"{resource}: {filename} is not available; not applied")
            return
        write_value(self._fs, self._dirs[controller], filename, value, resource)
