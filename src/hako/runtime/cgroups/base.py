"""Cgroups: the interface the runtime drives, its error, and how an implementation is picked.

A container's cgroup lives at one path (the OCI ``linux.cgroupsPath``, e.g. ``/hako/abc123``) in
every hierarchy: once per mounted v1 controller, or once in the cgroup v2 unified tree. The
runtime drives it like this::

    cg = open_cgroup(spec["linux"].get("cgroupsPath"), container_id)
    cg.create()                                  # mkdir in every hierarchy
    cg.apply(spec["linux"].get("resources", {}))  # write the limits
    cg.add_process(init_pid)
    cg.freeze(); cg.thaw(); cg.stats(); cg.pids()
    # ... once every process in it is dead (also after a failed create or apply):
    cg.destroy()                                 # rmdir the leaf; parents such as /hako stay

A later process (``hako-runtime delete``) reopens the same cgroup with the same arguments to
``open_cgroup``; nothing is kept in memory between calls except ``warnings``.

Exceptions::

    CgroupError      every failure; the message names the resource (``memory.limit``), the value
                     and, for kernel refusals, the control file and errno text

Requests that cannot be honoured on this host but change nothing essential (swap accounting off,
an absent blkio file, device rules on v2) are skipped and described in ``Cgroup.warnings``.
"""

from __future__ import annotations

import errno
import os
import time
from ...linux import mountinfo
from ..errors import HakoRuntimeError

DEFAULT_PARENT = "/hako"

# What cgroup v1 reports for an unlimited memory.limit_in_bytes (PAGE_COUNTER_MAX pages of 4 KiB).
# cgroup v2 says "max"; stats() reports this number for both so callers see one vocabulary.
MEMORY_UNLIMITED = 9223372036854771712


class CgroupError(HakoRuntimeError):
    """A cgroup could not be created, configured, frozen or removed."""


class CgroupFS:
    """The file operations cgroups need. Unit tests pass a fake kernel in its place."""

    def read(self, path: str) -> str:
        with open(path) as f:
            return f.read()

    def write(self, path: str, data: str) -> None:
        # No O_CREAT: a missing control file means the controller is absent, and a new regular
        # file must not pass for success. One write(2) per value: cgroupfs parses each write as a
        # whole value, which is also why device rules are written one per call.
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def mkdir(self, path: str) -> bool:
        """Create one directory; False when it already existed."""
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            return False
        return True

    def rmdir(self, path: str) -> None:
        # A cgroup directory is removed with rmdir(2) while its control files are still listed.
        os.rmdir(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def subdirs(self, path: str) -> list[str]:
        try:
            with os.scandir(path) as entries:
                return [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []


# ---- errors from the kernel -------------------------------------------------------------------

def write_value(fs: CgroupFS, directory: str, filename: str, value: str, resource: str) -> None:
    """Write one control file, turning the kernel's refusal into a CgroupError naming `resource`."""
    path = os.path.join(directory, filename)
    try:
        fs.write(path, value)
    except OSError as exc:
        raise write_error(resource, path, value, exc) from exc


def write_error(resource: str, path: str, value: str, exc: OSError) -> CgroupError:
    filename = os.path.basename(path)
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EINVAL, errno.ERANGE, errno.EBUSY, errno.EOVERFLOW, errno.ENOSPC):
        # EINVAL/ERANGE: out of the kernel's range (a cpu the host lacks, a period above 1 s);
        # EBUSY: memory cannot be reclaimed below the new limit.
        return CgroupError(f"cgroup {resource}: invalid value {value} ({filename}: {reason})")
    if exc.errno == errno.ENOENT:
        return CgroupError(f"cgroup {resource}: {path} does not exist (controller not available?)")
    return CgroupError(f"cgroup {resource}: cannot write {value!r} to {path}: {reason}")


def read_text(fs: CgroupFS, path: str, default: str | None = None) -> str:
    try:
        return fs.read(path).strip()
    except OSError as exc:
        if default is not None and exc.errno == errno.ENOENT:
            return default
        raise CgroupError(f"cgroup: cannot read {path}: {exc.strerror or exc}") from exc


def read_keyed(fs: CgroupFS, path: str) -> dict[str, int]:
    """A flat-keyed file such as memory.events or cpu.stat ("key value" lines); {} if absent."""
    result = {}
    for line in read_text(fs, path, default="").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            result[key] = int(value)
    return result


def read_int(fs: CgroupFS, path: str) -> int | None:
    """An integer control file; None when absent or "max"."""
    text = read_text(fs, path, default="")
    return int(text) if text.lstrip("-").isdigit() else None


# ---- lifecycle helpers shared by v1 and v2 ---------------------------------------------------

def make_dirs(fs: CgroupFS, mount: str, path: str) -> list[str]:
    """mkdir each level of `path` below `mount`; returns every level, top first."""
    levels, current = [], mount
    for component in path.strip("/").split("/"):
        current = os.path.join(current, component)
        try:
            fs.mkdir(current)
        except OSError as exc:
            raise CgroupError(f"cgroup: cannot create {current}: {exc.strerror or exc}") from exc
        levels.append(current)
    return levels


def remove_tree(fs: CgroupFS, path: str, attempts: int = 6) -> None:
    """rmdir `path` and any child cgroups the container made, deepest first; absent is fine."""
    for child in fs.subdirs(path):
        remove_tree(fs, child, attempts)
    delay = 0.01
    for attempt in range(attempts):
        try:
            fs.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            # EBUSY right after the last process died: the kernel drops a dying task from the
            # cgroup a little after its parent has reaped it, so retry briefly (runc does too).
            if exc.errno != errno.EBUSY or attempt == attempts - 1:
                raise CgroupError(f"cgroup: cannot remove {path}: {exc.strerror or exc}") from exc
            time.sleep(delay)
            delay *= 2


def read_pids(fs: CgroupFS, directory: str) -> list[int]:
    """Every pid in `directory`'s cgroup.procs and in those of its descendants."""
    found: set[int] = set()
    pending = [directory]
    while pending:
        current = pending.pop()
        procs = read_text(fs, os.path.join(current, "cgroup.procs"), default="")
        found.update(int(p) for p in procs.split())
        pending.extend(fs.subdirs(current))
    return sorted(found)


def poll(done, timeout: float) -> bool:
    """Call done() until it is True or `timeout` seconds pass, backing off from 0.1 ms to 10 ms."""
    deadline, delay = time.monotonic() + timeout, 0.0001
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


# ---- where the hierarchies are ---------------------------------------------------------------

# The mount table is read by hako.linux.mountinfo; these names stay for cgroups' callers.
Mount = mountinfo.Mount
parse_mountinfo = mountinfo.parse


def v1_mount_points(mounts: list[Mount], root: str, controllers: tuple[str, ...]) -> dict[str, str]:
    """controller -> mount point of its v1 hierarchy; co-mounted ones ("cpu,cpuacct") share one.

    A controller can be mounted more than once (bind mounts, a container's view); prefer the
    mount under `root`, else the first one listed.
    """
    found: dict[str, str] = {}
    under_root = root.rstrip("/") + "/"
    for mount in sorted(mounts, key=lambda m: not (m.mount_point + "/").startswith(under_root)):
        if mount.fstype != "cgroup":
            continue
        for controller in controllers:
            if controller in mount.super_options:
                found.setdefault(controller, mount.mount_point)
    return found


def v1_hierarchies(root: str = "/sys/fs/cgroup", mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str]]:
    """(directory name, controller options) of each v1 hierarchy mounted directly under ``root``,
    e.g. ("cpu,cpuacct", "cpu,cpuacct") or ("systemd", "name=systemd"): what a container's own
    /sys/fs/cgroup mounts again. Mounts elsewhere (binds, other views) are left out."""
    with open(mountinfo) as f:
        mounts = parse_mountinfo(f.read())
    result, seen = [], set()
    for mount in mounts:
        if mount.fstype != "cgroup" or os.path.dirname(mount.mount_point) != root.rstrip("/"):
            continue
        name = os.path.basename(mount.mount_point)
        if name not in seen:
            seen.add(name)
            options = [o for o in mount.super_options if o not in ("rw", "ro")]
            result.append((name, ",".join(options)))
    return result


# ---- the factory -----------------------------------------------------------------------------

def cgroup_version(root: str = "/sys/fs/cgroup") -> int:
    """2 when cgroup2 is mounted at `root` (pure v2), else 1 (v1 or hybrid: use v1 controllers)."""
    return 2 if os.path.exists(os.path.join(root, "cgroup.controllers")) else 1


def normalize_cgroups_path(cgroups_path: str | None, container_id: str) -> str:
    """The absolute cgroup path for a container, as runc's cgroupfs driver computes it.

    Unset means "/hako/<container_id>"; a relative path is taken from the hierarchy root ("/").
    """
    if not cgroups_path:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise CgroupError(f"cgroup path: invalid container id {container_id!r}")
        return f"{DEFAULT_PARENT}/{container_id}"
    if ":" in cgroups_path:
        raise CgroupError(
            f"cgroup path {cgroups_path!r}: the systemd slice:prefix:name form is not supported")
    parts = [p for p in cgroups_path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise CgroupError(f"cgroup path {cgroups_path!r}: must name a cgroup below the root")
    return "/" + "/".join(parts)


def open_cgroup(cgroups_path: str | None, container_id: str, *, root: str = "/sys/fs/cgroup",
                mountinfo: str = "/proc/self/mountinfo", fs: CgroupFS | None = None) -> Cgroup:
    """The cgroup of a container; nothing is created until create()."""
    path = normalize_cgroups_path(cgroups_path, container_id)
    fs = fs or CgroupFS()
    # Imported here because v1 and v2 import this module for the shared helpers.
    if cgroup_version(root) == 2:
        from .v2 import V2Cgroup
        return V2Cgroup(path, root, fs)
    from .v1 import CONTROLLERS, V1Cgroup
    mounts = parse_mountinfo(read_text(fs, mountinfo))
    mount_points = v1_mount_points(mounts, root, CONTROLLERS)
    if not mount_points:
        raise CgroupError(f"cgroup: no cgroup v1 controller is mounted (read {mountinfo})")
    return V1Cgroup(path, mount_points, fs)
