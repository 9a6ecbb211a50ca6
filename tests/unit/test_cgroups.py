"""hako.runtime.cgroups against a fake cgroupfs in tmp_path: v1 (split and co-mounted cpu,cpuacct)
and v2. No root needed.

FakeKernel is a CgroupFS whose mkdir fills a new cgroup with its controllers' control files, whose
writes replace (or, for cgroup.procs and device rules, append to) a file like cgroupfs does, and
which can be told to refuse a value with an errno, the way the kernel does.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hako.runtime.cgroups import (DEVICES_ENFORCED_ON_V2, MEMORY_UNLIMITED, CgroupError,
                                  CgroupFS, cgroup_version, open_cgroup, shares_to_weight)
from hako.runtime.cgroups.base import normalize_cgroups_path, parse_mountinfo, v1_mount_points
from hako.runtime.cgroups.v2 import blkio_weight_to_io_weight, swap_max

UNL = str(MEMORY_UNLIMITED)
MiB = 1024 * 1024

V1_FILES = {
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "cpu": {"cpu.shares": "1024", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000",
            "cpu.cfs_burst_us": "0",
            "cpu.stat": "nr_periods 7\nnr_throttled 3\nthrottled_time 5000\n"},
    "cpuacct": {"cpuacct.usage": "123456", "cpuacct.usage_user": "100000",
                "cpuacct.usage_sys": "23456", "cpuacct.stat": "user 10\nsystem 2\n"},
    "memory": {"memory.limit_in_bytes": UNL, "memory.memsw.limit_in_bytes": UNL,
               "memory.soft_limit_in_bytes": UNL, "memory.swappiness": "60",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
               "memory.usage_in_bytes": "4096", "memory.max_usage_in_bytes": "8192"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
    "freezer": {"freezer.state": "THAWED"},
    "blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
              "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": ""},
    "pids": {"pids.max": "max", "pids.current": "1"},
}
V2_FILES = {
    "cpu": {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {"memory.max": "max", "memory.high": "max", "memory.low": "0",
               "memory.swap.max": "max",
               "memory.current": "4096", "memory.peak": "8192",
               "memory.events": "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n"},
    "io": {"io.weight": "default 100", "io.max": ""},
    "pids": {"pids.max": "max", "pids.current": "1"},
}
V2_CORE = {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.freeze": "0",
           "cgroup.events": "populated 0\nfrozen 0\n",
           "cpu.stat": "usage_usec 10\nuser_usec 7\nsystem_usec 3\nnr_periods 4\n"
                       "nr_throttled 2\nthrottled_usec 9\n"}
APPENDING = {"cgroup.procs", "devices.allow", "devices.deny", "blkio.bfq.weight_device",
             "io.max"} | {f"blkio.throttle.{k}_device" for k in
                          ("read_bps", "write_bps", "read_iops", "write_iops")}


class FakeKernel(CgroupFS):
    def __init__(self, v1: dict[str, tuple[str, ...]] | None = None, v2_root: str | None = None):
        self.v1 = v1 or {}  # mount point -> controllers
        self.v2_root = v2_root
        self.writes: list[tuple[str, str]] = []  # (file name, value), in order
        self.refuse: dict[tuple[str, str], int] = {}  # (file name, value) -> errno
        self.busy: dict[str, int] = {}  # directory -> EBUSY answers to rmdir left

    # -- hierarchy roots, as mounted at boot
    def mount_v1(self, mount: str, controllers: tuple[str, ...]) -> None:
        os.makedirs(mount)
        self._populate_v1(mount, controllers)
        if "cpuset" in controllers:
            Path(mount, "cpuset.cpus").write_text("0-1\n")
            Path(mount, "cpuset.mems").write_text("0\n")

    def mount_v2(self, offered=("cpuset", "cpu", "io", "memory", "pids")) -> None:
        os.makedirs(self.v2_root)
        for name, value in V2_CORE.items():
            Path(self.v2_root, name).write_text(value)
        Path(self.v2_root, "cgroup.controllers").write_text(" ".join(offered) + "\n")
        for name in ("cpuset.cpus", "cpuset.mems"):
            Path(self.v2_root, name).write_text("0-1\n" if name.endswith("cpus") else "0\n")

    def _populate_v1(self, directory, controllers):
        Path(directory, "cgroup.procs").write_text("")
        for controller in controllers:
            for name, value in V1_FILES.get(controller, {}).items():
                Path(directory, name).write_text(value)

    # -- the CgroupFS operations
    def mkdir(self, path: str) -> bool:
        created = super().mkdir(path)
        if created and self.v2_root:
            enabled = Path(path).parent.joinpath("cgroup.subtree_control").read_text().split()
            for name, value in V2_CORE.items():
                Path(path, name).write_text(value)
            Path(path, "cgroup.controllers").write_text(" ".join(enabled))
            for controller in enabled:
                for name, value in V2_FILES.get(controller, {}).items():
                    Path(path, name).write_text(value)
        elif created:
            mount = max((m for m in self.v1 if path.startswith(m + "/")), key=len)
            self._populate_v1(path, self.v1[mount])
        return created

    def write(self, path: str, data: str) -> None:
        name = os.path.basename(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        if (name, data) in self.refuse:
            code = self.refuse[(name, data)]
            raise OSError(code, os.strerror(code), path)
        self._check_memsw(path, name, data)
        self.writes.append((name, data))
        file = Path(path)
        if name in APPENDING:
            file.write_text(file.read_text() + data + "\n")
        elif name == "cgroup.subtree_control":
            enabled = file.read_text().split()
            for word in data.split():
                if word[0] == "+" and word[1:] not in enabled:
                    enabled.append(word[1:])
            file.write_text(" ".join(enabled))
        elif name.startswith("memory.") and name.endswith("limit_in_bytes") and data == "-1":
            file.write_text(UNL)  # the kernel shows "unlimited" as its page-counter maximum
        elif name == "cgroup.freeze":
            file.write_text(data)
            file.with_name("cgroup.events").write_text(f"populated 1\nfrozen {data}\n")
        else:
            file.write_text(data)

    def _check_memsw(self, path, name, data):
        # The v1 kernel keeps memory.memsw.limit_in_bytes >= memory.limit_in_bytes.
        other = {"memory.limit_in_bytes": "memory.memsw.limit_in_bytes",
                 "memory.memsw.limit_in_bytes": "memory.limit_in_bytes"}.get(name)
        if not other or not os.path.exists(os.path.join(os.path.dirname(path), other)):
            return
        value = MEMORY_UNLIMITED if data == "-1" else int(data)
        current = int(Path(os.path.dirname(path), other).read_text())
        if (value > current) if name == "memory.limit_in_bytes" else (value < current):
            raise OSError(errno.EINVAL, "Invalid argument", path)

    def rmdir(self, path: str) -> None:
        if self.busy.get(path):
            self.busy[path] -= 1
            raise OSError(errno.EBUSY, "Device or resource busy", path)
        procs = Path(path, "cgroup.procs")
        if procs.exists() and procs.read_text().strip():
            raise OSError(errno.EBUSY, "Device or resource busy", path)
        for entry in os.scandir(path):
            if entry.is_file():
                os.unlink(entry.path)
        os.rmdir(path)


# ---- layouts -------------------------------------------------------------------------------

def make_v1(tmp_path: Path, comount: bool, without=()):
    root = str(tmp_path / "cgroup")
    groups = [("cpuset",), ("cpu", "cpuacct") if comount else ("cpu",), ("memory",),
              ("devices",), ("freezer",), ("blkio",), ("pids",)]
    if not comount:
        groups.insert(2, ("cpuacct",))
    groups = [g for g in groups if g[0] not in without]
    kernel = FakeKernel(v1={f"{root}/{','.join(g)}": g for g in groups})
    lines = [f"30 23 0:27 / {root} rw,nosuid - tmpfs tmpfs rw,mode=755"]
    for i, (mount, controllers) in enumerate(kernel.v1.items()):
        kernel.mount_v1(mount, controllers)
        lines.append(f"{31 + i} 30 0:{28 + i} / {mount} rw,nosuid shared:{9 + i} - cgroup cgroup "
                     f"rw,{','.join(controllers)}")
    lines.append(f"50 30 0:50 / {root}/systemd rw - cgroup cgroup rw,xattr,name=systemd")
    lines.append(f"51 30 0:51 / {root}/unified rw - cgroup2 cgroup2 rw,nsdelegate")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("\n".join(lines) + "\n")
    return root, str(mountinfo), kernel


def make_v2(tmp_path: Path, offered=("cpuset", "cpu", "io", "memory", "pids")):
    root = str(tmp_path / "cgroup")
    kernel = FakeKernel(v2_root=root)
    kernel.mount_v2(offered)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 23 0:27 / {root} rw - cgroup2 cgroup2 rw,nsdelegate\n")
    return root, str(mountinfo), kernel


@pytest.fixture(params=[False, True], ids=["split", "cpu,cpuacct"])
def v1(tmp_path, request):
    root, mountinfo, kernel = make_v1(tmp_path, comount=request.param)
    cg = open_cgroup(None, "c1", root=root, mountinfo=mountinfo, fs=kernel)
    return cg, root, kernel, request.param


@pytest.fixture
def v2(tmp_path):
    root, mountinfo, kernel = make_v2(tmp_path)
    cg = open_cgroup("/hako/c1", "c1", root=root, mountinfo=mountinfo, fs=kernel)
    return cg, root, kernel


def read(root, rel):
    return Path(root, rel).read_text().strip()


RESOURCES = {
    "memory": {"limit": 64 * MiB, "reservation": 32 * MiB, "swap": 128 * MiB, "swappiness": 10,
               "disableOOMKiller": True, "kernel": 1234},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0"},
    "pids": {"limit": 10},
    "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
    "devices": [{"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
}


# ---- paths and detection -------------------------------------------------------------------

def test_normalize_cgroups_path():
    assert normalize_cgroups_path(None, "abc") == "/hako/abc"
    assert normalize_cgroups_path("", "abc") == "/hako/abc"
    assert normalize_cgroups_path("foo/bar", "abc") == "/foo/bar"  # relative: from the root
    assert normalize_cgroups_path("/a//b/", "abc") == "/a/b"
    for bad in ("/", "/a/../../etc", "system.slice:docker:abc"):
        with pytest.raises(CgroupError):
            normalize_cgroups_path(bad, "abc")
    with pytest.raises(CgroupError):
        normalize_cgroups_path(None, "../x")


def test_version_detection(tmp_path):
    v1_root, _, _ = make_v1(tmp_path / "a", comount=False)
    v2_root, _, _ = make_v2(tmp_path / "b")
    assert cgroup_version(v1_root) == 1  # hybrid: cgroup2 only at .../unified
    assert cgroup_version(v2_root) == 2


def test_mountinfo_parsing_escapes_and_prefers_root():
    text = ("40 31 0:38 / /sys/fs/cgroup/cpu,cpuacct rw shared:4 - cgroup cgroup rw,cpu,cpuacct\n"
            "41 31 0:39 /docker /other/my\\040mem rw - cgroup cgroup rw,memory\n"
            "42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            "43 31 0:40 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    mounts = parse_mountinfo(text)
    assert mounts[1].mount_point == "/other/my mem" and mounts[1].root == "/docker"
    points = v1_mount_points(mounts, "/sys/fs/cgroup", ("cpu", "cpuacct", "memory", "pids"))
    assert points == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                      "memory": "/sys/fs/cgroup/memory"}


def test_real_fs_write_never_creates_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        CgroupFS().write(str(tmp_path / "memory.max"), "1")
    assert not (tmp_path / "memory.max").exists()


# ---- v1 ------------------------------------------------------------------------------------

def test_v1_create_in_every_hierarchy_and_copy_cpuset(v1):
    cg, root, kernel, comount = v1
    assert (cg.version, cg.path) == (1, "/hako/c1")
    cg.create()
    cpu_dirs = ["cpu,cpuacct"] if comount else ["cpu", "cpuacct"]
    for hierarchy in ["cpuset", "memory", "devices", "freezer", "blkio", "pids", *cpu_dirs]:
        assert Path(root, hierarchy, "hako/c1").is_dir(), hierarchy
    assert not Path(root, "systemd", "hako").exists()  # named hierarchies are left alone
    for level in ("cpuset/hako", "cpuset/hako/c1"):
        assert read(root, f"{level}/cpuset.cpus") == "0-1"
        assert read(root, f"{level}/cpuset.mems") == "0"
    assert cg.exists()


def test_v1_add_process_joins_each_directory_once(v1):
    cg, root, kernel, comount = v1
    cg.create()
    cg.add_process(4242)
    procs = [name for name, value in kernel.writes if name == "cgroup.procs"]
    assert len(procs) == (7 if comount else 8)
    assert read(root, "memory/hako/c1/cgroup.procs") == "4242"
    assert cg.pids() == [4242]


def test_v1_apply_writes_exact_values(v1):
    cg, root, kernel, comount = v1
    cpu = "cpu,cpuacct" if comount else "cpu"
    cg.create()
    cg.apply(RESOURCES)
    leaf = "hako/c1"
    assert read(root, f"memory/{leaf}/memory.limit_in_bytes") == str(64 * MiB)
    assert read(root, f"memory/{leaf}/memory.memsw.limit_in_bytes") == str(128 * MiB)
    assert read(root, f"memory/{leaf}/memory.soft_limit_in_bytes") == str(32 * MiB)
    assert read(root, f"memory/{leaf}/memory.swappiness") == "10"
    assert read(root, f"memory/{leaf}/memory.oom_control") == "1"
    assert read(root, f"{cpu}/{leaf}/cpu.shares") == "512"
    assert read(root, f"{cpu}/{leaf}/cpu.cfs_quota_us") == "50000"
    assert read(root, f"{cpu}/{leaf}/cpu.cfs_period_us") == "100000"
    assert read(root, f"cpuset/{leaf}/cpuset.cpus") == "1"
    assert read(root, f"cpuset/{leaf}/cpuset.mems") == "0"
    assert read(root, f"pids/{leaf}/pids.max") == "10"
    # this kernel has BFQ: blkio.bfq.* instead of blkio.weight
    assert read(root, f"blkio/{leaf}/blkio.bfq.weight") == "300"
    assert read(root, f"blkio/{leaf}/blkio.bfq.weight_device") == "8:0 200"
    assert read(root, f"blkio/{leaf}/blkio.throttle.read_bps_device") == "8:0 1048576"
    assert read(root, f"devices/{leaf}/devices.deny") == "a *:* rwm"
    assert read(root, f"devices/{leaf}/devices.allow") == "c 1:3 rwm"
    assert cg.warnings == ["memory.kernel: ignored (deprecated)"]


def test_v1_memsw_order_follows_the_kernel_rule(v1):
    cg, root, kernel, _ = v1
    cg.create()
    names = lambda: [n for n, _ in kernel.writes if n.startswith("memory.")]  # noqa: E731
    cg.apply({"memory": {"limit": 64 * MiB, "swap": 128 * MiB}})  # from unlimited: limit first
    assert names() == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    kernel.writes.clear()
    cg.apply({"memory": {"limit": 256 * MiB, "swap": 512 * MiB}})  # raising: memsw first
    assert names() == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    kernel.writes.clear()
    cg.apply({"memory": {"limit": 32 * MiB, "swap": 64 * MiB}})  # lowering: limit first
    assert names() == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    assert read(root, "memory/hako/c1/memory.memsw.limit_in_bytes") == str(64 * MiB)


def test_v1_unlimited_values(v1):
    cg, root, kernel, comount = v1
    cpu = "cpu,cpuacct" if comount else "cpu"
    cg.create()
    cg.apply({"memory": {"limit": 64 * MiB, "swap": 64 * MiB}, "pids": {"limit": 5}})
    cg.apply({"memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": 0}})
    assert read(root, "memory/hako/c1/memory.limit_in_bytes") == UNL
    assert read(root, "memory/hako/c1/memory.memsw.limit_in_bytes") == UNL
    assert ("memory.memsw.limit_in_bytes", "-1") in kernel.writes  # swap follows memory
    assert ("memory.limit_in_bytes", "-1") in kernel.writes
    assert read(root, f"{cpu}/hako/c1/cpu.cfs_quota_us") == "-1"
    assert read(root, "pids/hako/c1/pids.max") == "max"
    cg.apply({"pids": {"limit": -1}})
    assert read(root, "pids/hako/c1/pids.max") == "max"


def test_v1_swap_without_accounting_is_a_warning(v1):
    cg, root, kernel, _ = v1
    cg.create()
    os.unlink(Path(root, "memory/hako/c1/memory.memsw.limit_in_bytes"))
    cg.apply({"memory": {"limit": 64 * MiB, "swap": 128 * MiB}})
    assert read(root, "memory/hako/c1/memory.limit_in_bytes") == str(64 * MiB)
    assert any("memory.swap" in w for w in cg.warnings)


@pytest.mark.parametrize("resources, message", [
    ({"cpu": {"shares": -5}}, "cgroup cpu.shares: invalid value -5"),
    ({"cpu": {"shares": 1}}, "cgroup cpu.shares: invalid value 1"),
    ({"memory": {"limit": -5}}, "cgroup memory.limit: invalid value -5"),
    ({"memory": {"limit": "64m"}}, "cgroup memory.limit: invalid value '64m'"),
    ({"memory": {"swappiness": 101}}, "cgroup memory.swappiness: invalid value 101"),
    ({"memory": {"limit": 64 * MiB, "swap": MiB}}, "cgroup memory.swap: invalid value"),
    ({"cpu": {"quota": 500}}, "cgroup cpu.quota: invalid value 500"),
    ({"cpu": {"period": 2_000_000}}, "cgroup cpu.period: invalid value 2000000"),
    ({"cpu": {"realtimeRuntime": 1000}}, "cgroup cpu.realtimeRuntime"),
    ({"cpu": {"cpus": "0;1"}}, "cgroup cpu.cpus: invalid value '0;1'"),
    ({"devices": [{"allow": True, "access": "rwx"}]}, "cgroup devices.access"),
    ({"unified": {"memory.high": "1G"}}, "cgroup unified"),
    ({"network": {"classID": 1}}, "cgroup network"),
    ({"hugepageLimits": [{"pageSize": "2XB", "limit": 1}]}, "cgroup hugepageLimits.pageSize"),
])
def test_v1_invalid_values_fail_before_any_write(v1, resources, message):
    cg, root, kernel, _ = v1
    cg.create()
    kernel.writes.clear()
    with pytest.raises(CgroupError) as info:
        cg.apply({"pids": {"limit": 10}, **resources})
    assert str(info.value).startswith(message)
    assert kernel.writes == []


def test_v1_kernel_refusal_names_the_resource(v1):
    cg, root, kernel, _ = v1
    cg.create()
    kernel.refuse[("cpuset.cpus", "99")] = errno.EINVAL
    with pytest.raises(CgroupError, match=r"^cgroup cpu.cpus: invalid value 99 "
                                          r"\(cpuset.cpus: Invalid argument\)$"):
        cg.apply({"cpu": {"cpus": "99"}})
    kernel.refuse[("memory.limit_in_bytes", "4096")] = errno.EBUSY
    with pytest.raises(CgroupError, match="^cgroup memory.limit: invalid value 4096"):
        cg.apply({"memory": {"limit": 4096}})


def test_v1_missing_controller_fails_before_writing(tmp_path):
    root, mountinfo, kernel = make_v1(tmp_path, comount=False, without=("pids",))
    cg = open_cgroup(None, "c1", root=root, mountinfo=mountinfo, fs=kernel)
    cg.create()
    kernel.writes.clear()
    with pytest.raises(CgroupError, match="cgroup pids.limit: the pids controller is not mounted"):
        cg.apply({"memory": {"limit": 64 * MiB}, "pids": {"limit": 10}})
    assert kernel.writes == []


def test_v1_absent_blkio_files_are_warnings(v1):
    cg, root, kernel, _ = v1
    cg.create()
    os.unlink(Path(root, "blkio/hako/c1/blkio.throttle.write_iops_device"))
    cg.apply({"blockIO": {"leafWeight": 50,
                          "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}]}})
    assert any("blkio.leaf_weight" in w for w in cg.warnings)
    assert any("blkio.throttle.write_iops_device" in w for w in cg.warnings)


def test_v1_freeze_thaw_pids_stats(v1):
    cg, root, kernel, _ = v1
    cg.create()
    cg.add_process(11)
    kernel.mkdir(str(Path(root, "freezer/hako/c1/nested")))
    Path(root, "freezer/hako/c1/nested/cgroup.procs").write_text("12\n13\n")
    assert cg.pids() == [11, 12, 13]
    assert not cg.is_frozen()
    cg.freeze()
    assert cg.is_frozen() and read(root, "freezer/hako/c1/freezer.state") == "FROZEN"
    cg.thaw()
    assert not cg.is_frozen()
    assert cg.stats() == {
        "memory": {"usage": 4096, "limit": MEMORY_UNLIMITED, "max_usage": 8192, "oom_kill": 2},
        "cpu": {"usage_total_ns": 123456, "usage_user_ns": 100000, "usage_kernel_ns": 23456,
                "throttled_periods": 3, "throttled_time_ns": 5000},
        "pids": {"current": 1, "limit": None},
    }


def test_v1_destroy_removes_leaf_and_children_keeps_parent(v1):
    cg, root, kernel, _ = v1
    cg.create()
    kernel.mkdir(str(Path(root, "memory/hako/c1/nested")))
    kernel.busy[str(Path(root, "pids/hako/c1"))] = 2  # a dying task lingers briefly
    cg.destroy()
    assert not cg.exists()
    leftovers = [str(p.relative_to(root)) for p in Path(root).glob("*/hako/*") if p.is_dir()]
    assert leftovers == []
    assert Path(root, "memory/hako").is_dir()  # shared parent stays, as with runc
    cg.destroy()  # idempotent


def test_v1_destroy_with_live_process_fails_clearly(v1):
    cg, root, kernel, _ = v1
    cg.create()
    Path(root, "pids/hako/c1/cgroup.procs").write_text("11\n")  # still running
    with pytest.raises(CgroupError, match="cannot remove .*pids/hako/c1: Device or resource busy"):
        cg.destroy()
    assert not Path(root, "memory/hako/c1").exists()  # the others are removed regardless


# ---- v2 ------------------------------------------------------------------------------------

def test_v2_create_enables_controllers_down_the_tree(v2):
    cg, root, kernel = v2
    assert cg.version == 2
    cg.create()
    assert read(root, "cgroup.subtree_control") == "cpuset cpu io memory pids"
    assert read(root, "hako/cgroup.subtree_control") == "cpuset cpu io memory pids"
    assert read(root, "hako/c1/cgroup.controllers") == "cpuset cpu io memory pids"
    assert read(root, "hako/c1/cgroup.subtree_control") == ""  # the leaf delegates nothing
    assert Path(root, "hako/c1/memory.max").exists()


def test_v2_apply_writes_exact_values(v2):
    cg, root, kernel = v2
    cg.create()
    cg.apply({**RESOURCES, "unified": {"memory.high": "50000000"}})
    assert read(root, "hako/c1/memory.max") == str(64 * MiB)
    assert read(root, "hako/c1/memory.low") == str(32 * MiB)
    assert read(root, "hako/c1/memory.swap.max") == str(64 * MiB)  # swap - limit
    assert read(root, "hako/c1/memory.high") == "50000000"
    assert read(root, "hako/c1/cpu.weight") == "20"  # 1 + (510 * 9999) // 262142
    assert read(root, "hako/c1/cpu.max") == "50000 100000"
    assert read(root, "hako/c1/cpuset.cpus") == "1"
    assert read(root, "hako/c1/pids.max") == "10"
    assert read(root, "hako/c1/io.weight") == str(1 + (290 * 9999) // 990)
    assert read(root, "hako/c1/io.max") == "8:0 rbps=1048576"
    assert DEVICES_ENFORCED_ON_V2 is False
    assert any(w.startswith("devices: not enforced") for w in cg.warnings)
    assert any("swappiness" in w for w in cg.warnings)
    assert any("disableOOMKiller" in w for w in cg.warnings)


def test_v2_unified_keys_are_applied_last(v2):
    cg, root, kernel = v2
    cg.create()
    cg.apply({"memory": {"limit": 64 * MiB}, "unified": {"memory.max": "100000000"}})
    assert read(root, "hako/c1/memory.max") == "100000000"


def test_shares_to_weight_matches_runc():
    assert [shares_to_weight(s) for s in (0, 2, 512, 1024, 262144)] == [0, 1, 20, 39, 10000]
    assert blkio_weight_to_io_weight(10) == 1 and blkio_weight_to_io_weight(1000) == 10000


def test_swap_math():
    assert swap_max(0, 0) is None
    assert swap_max(0, -1) == "max"
    assert swap_max(-1, 64) == "max"
    assert swap_max(128, 64) == "64"
    assert swap_max(64, 64) == "0"  # memory == memory+swap: no swap
    with pytest.raises(CgroupError, match="cgroup memory.swap: invalid value 128"):
        swap_max(128, 0)


def test_v2_unlimited_values(v2):
    cg, root, kernel = v2
    cg.create()
    cg.apply({"memory": {"limit": 64 * MiB}, "cpu": {"quota": 20000, "period": 50000},
              "pids": {"limit": 3}})
    cg.apply({"memory": {"limit": -1}, "cpu": {"quota": -1, "period": 100000},
              "pids": {"limit": 0}})
    assert read(root, "hako/c1/memory.max") == "max"
    assert read(root, "hako/c1/memory.swap.max") == "max"
    assert read(root, "hako/c1/cpu.max") == "max 100000"
    assert read(root, "hako/c1/pids.max") == "max"
    cg.apply({"cpu": {"quota": -1}})
    assert read(root, "hako/c1/cpu.max") == "max"


def test_v2_errors(v2):
    cg, root, kernel = v2
    cg.create()
    kernel.writes.clear()
    with pytest.raises(CgroupError, match="^cgroup memory.swap: invalid value"):
        cg.apply({"memory": {"swap": 128 * MiB}, "pids": {"limit": 1}})
    with pytest.raises(CgroupError, match="^cgroup unified: invalid key 'cgroup.procs'"):
        cg.apply({"unified": {"cgroup.procs": "1"}})
    assert kernel.writes == []
    with pytest.raises(CgroupError, match=r"^cgroup unified.hugetlb.2MB.max: .*not enabled"):
        cg.apply({"unified": {"hugetlb.2MB.max": "0"}})
    kernel.refuse[("cpuset.cpus", "99")] = errno.ERANGE
    with pytest.raises(CgroupError, match=r"^cgroup cpu.cpus: invalid value 99 \(cpuset.cpus: "):
        cg.apply({"cpu": {"cpus": "99"}})


def test_v2_controller_not_offered_fails_before_writing(tmp_path):
    root, mountinfo, kernel = make_v2(tmp_path, offered=("cpu", "memory"))
    cg = open_cgroup("/hako/c1", "c1", root=root, mountinfo=mountinfo, fs=kernel)
    cg.create()
    kernel.writes.clear()
    with pytest.raises(CgroupError, match="cgroup pids.limit: the pids controller is not enabled"):
        cg.apply({"memory": {"limit": 64 * MiB}, "pids": {"limit": 10}})
    assert kernel.writes == []


def test_v2_freeze_thaw_pids_stats_destroy(v2):
    cg, root, kernel = v2
    cg.create()
    cg.add_process(21)
    kernel.mkdir(str(Path(root, "hako/c1/nested")))
    Path(root, "hako/c1/nested/cgroup.procs").write_text("22\n")
    assert cg.pids() == [21, 22]
    cg.freeze()
    assert cg.is_frozen() and read(root, "hako/c1/cgroup.freeze") == "1"
    cg.thaw()
    assert not cg.is_frozen()
    assert cg.stats() == {
        "memory": {"usage": 4096, "limit": MEMORY_UNLIMITED, "max_usage": 8192, "oom_kill": 1},
        "cpu": {"usage_total_ns": 10000, "usage_user_ns": 7000, "usage_kernel_ns": 3000,
                "throttled_periods": 2, "throttled_time_ns": 9000},
        "pids": {"current": 1, "limit": None},
    }
    Path(root, "hako/c1/cgroup.procs").write_text("")
    Path(root, "hako/c1/nested/cgroup.procs").write_text("")
    cg.destroy()
    assert not cg.exists() and Path(root, "hako").is_dir()
    cg.destroy()
