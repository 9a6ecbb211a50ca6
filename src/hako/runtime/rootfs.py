"""The container's filesystem view, built inside its new mount namespace by the init process.

Order (as runc): make / a slave so nothing propagates to the host, bind the rootfs onto itself,
mount the config's mounts and devices under it, then (after hooks) pivot_root into it, and
finally apply read-only root, masked and read-only paths.
"""

from __future__ import annotations

import errno
import os
import stat

from ..linux import mountinfo
from ..linux import syscalls as sc
from . import mountopts
from .cgroups import cgroup_version, v1_hierarchies
from .devices import DEFAULT_DEVICES
from .errors import ContainerError
from .securejoin import secure_join

DEV_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)


def prepare(config: dict, rootfs: str, *, in_userns: bool) -> None:
    """Everything before pivot_root: propagation, the rootfs bind, mounts, devices."""
    linux = config.get("linux", {})
    propagation = linux.get("rootfsPropagation") or "rslave"
    _mount(None, "/", None, mountopts.PROPAGATION.get("r" + propagation.lstrip("r"), sc.MS_SLAVE | sc.MS_REC))
    if "shared" in propagation:          # otherwise / was made a slave: nothing is shared
        _make_parent_private(rootfs)
    _mount(rootfs, rootfs, None, sc.MS_BIND | sc.MS_REC)
    has_dev_mount = False
    for m in config.get("mounts", []):
        _mount_entry(m, rootfs, in_userns)
        has_dev_mount |= os.path.normpath(m["destination"]) == "/dev"
    devices = {d[0]: {"path": d[0], "type": d[1], "major": d[2], "minor": d[3], "fileMode": 0o666}
               for d in DEFAULT_DEVICES}
    for dev in linux.get("devices", []):
        devices[dev["path"]] = dev
    if has_dev_mount:
        for dev in devices.values():
            _make_device(dev, rootfs, in_userns)
        _dev_symlinks(rootfs)
    else:
        for dev in linux.get("devices", []):
            _make_device(dev, rootfs, in_userns)


def _make_parent_private(rootfs: str) -> None:
    """With a shared rootfsPropagation the mount holding the rootfs is shared too, and
    pivot_root(2) refuses a new root whose parent mount is shared (EINVAL): make that one mount
    private, as runc does (rootfsParentMountPrivate)."""
    best, shared = "", False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = mountinfo.unescape(fields[4])
            inside = rootfs == point or rootfs.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best = point
                shared = any(x.startswith("shared:") for x in fields[6:fields.index("-", 6)])
    if best and shared:
        _mount(None, best, None, sc.MS_PRIVATE)


def pivot(rootfs: str, no_pivot: bool) -> None:
    os.chdir(rootfs)
    if no_pivot:
        # For ramdisk roots where pivot_root is impossible: move the root over / and chroot.
        _mount(rootfs, "/", None, sc.MS_MOVE)
        os.chroot(".")
    else:
        # pivot_root(".", ".") stacks the old root under the new one; unmounting "." afterwards
        # removes it without needing a put_old directory inside the image (as runc does). The
        # cwd goes back to the old root first (runc's fchdir(oldroot)): made rslave there, the
        # change stays off the new root's mounts, whose propagation (rshared binds) is kept.
        old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        try:
            sc.pivot_root(".", ".")
            os.fchdir(old_root)
        finally:
            os.close(old_root)
        _mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
        sc.umount(".", sc.MNT_DETACH)
    os.chdir("/")


def finish(config: dict) -> None:
    """After pivot_root: sysctls, read-only root, masked and read-only paths."""
    linux = config.get("linux", {})
    for key, value in linux.get("sysctl", {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(value)
        except OSError as exc:
            raise ContainerError(f"linux.sysctl.{key}: {exc.strerror}") from None
    if config.get("root", {}).get("readonly"):
        _remount_readonly("/")
    for path in linux.get("maskedPaths", []):
        _mask(path)
    for path in linux.get("readonlyPaths", []):
        if os.path.exists(path):
            _mount(path, path, None, sc.MS_BIND | sc.MS_REC)
            _remount_readonly(path)


def set_hostname(config: dict) -> None:
    if config.get("hostname"):
        sc.sethostname(config["hostname"])
    if config.get("domainname"):
        sc.setdomainname(config["domainname"])


def _mount(source, target, fstype, flags, data=None) -> None:
    try:
        sc.mount(source, target, fstype, flags, data)
    except OSError as exc:
        raise ContainerError(f"mount {source or fstype or ''} to {target}: {exc.strerror}") from None


def _mount_entry(m: dict, rootfs: str, in_userns: bool) -> None:
    dest = m["destination"]
    opts = mountopts.parse(m.get("options", []))
    kind = m.get("type") or ("bind" if opts.is_bind else "")
    source = m.get("source") or kind
    target = secure_join(rootfs, dest)
    if kind == "bind" or opts.is_bind:
        if not os.path.exists(source):
            raise ContainerError(f"mount {source} to {dest}: source does not exist")
        _ensure_target(target, is_dir=os.path.isdir(source))
        _mount(source, target, None, opts.flags & (sc.MS_BIND | sc.MS_REC) or sc.MS_BIND)
        remount_flags = opts.flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
        if remount_flags:
            _remount_bind(target, remount_flags)
    elif kind == "cgroup":
        _mount_cgroup(target, opts, in_userns)
    else:
        _ensure_target(target, is_dir=True)
        try:
            sc.mount(source, target, kind, opts.flags, opts.data_string)
        except OSError as exc:
            if kind == "sysfs" and exc.errno == errno.EPERM:
                # A sysfs needs a network namespace owned by our user namespace; as runc does,
                # fall back to the host's /sys read-only.
                _mount("/sys", target, None, sc.MS_BIND | sc.MS_REC)
                _remount_bind(target, sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
            elif kind == "mqueue" and exc.errno == errno.EPERM:
                _mount("/dev/mqueue", target, None, sc.MS_BIND | sc.MS_REC)
            else:
                raise ContainerError(f"mount {source} to {dest} ({kind}): {exc.strerror}") from None
    for flag in opts.propagation:
        _mount(None, target, None, flag)


def _mount_cgroup(target: str, opts: mountopts.MountOptions, in_userns: bool) -> None:
    """cgroup v2: one cgroup2 mount. v1: a tmpfs with one mount per hierarchy, as runc lays it out."""
    _ensure_target(target, is_dir=True)
    flags = opts.flags | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    if cgroup_version() == 2:
        _mount("cgroup2", target, "cgroup2", flags)
        return
    _mount("tmpfs", target, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "mode=755")
    for name, options in v1_hierarchies():
        sub = os.path.join(target, name)
        os.makedirs(sub, exist_ok=True)
        try:
            sc.mount("cgroup", sub, "cgroup", flags, options)
        except OSError as exc:
            raise ContainerError(f"mount cgroup {options} to {sub}: {exc.strerror}") from None
        if "," in name:  # co-mounted controllers get one link per name, e.g. cpu -> cpu,cpuacct
            for alias in name.split(","):
                link = os.path.join(target, alias)
                if not os.path.lexists(link):
                    os.symlink(name, link)
    if opts.flags & sc.MS_RDONLY:
        _remount_bind(target, sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)


def _ensure_target(target: str, is_dir: bool) -> None:
    if os.path.lexists(target):
        return
    try:
        if is_dir:
            os.makedirs(target, 0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            with open(target, "a"):
                pass
    except OSError as exc:
        raise ContainerError(f"create mount point {target}: {exc.strerror}") from None


def _locked_flags(path: str) -> int:
    """Flags a bind remount must keep; dropping a locked one gives EPERM (mount(2), EPERM)."""
    f_flag = os.statvfs(path).f_flag
    keep = 0
    for st_flag, ms_flag in ((os.ST_RDONLY, sc.MS_RDONLY), (os.ST_NOSUID, sc.MS_NOSUID),
                             (os.ST_NODEV, sc.MS_NODEV), (os.ST_NOEXEC, sc.MS_NOEXEC),
                             (os.ST_NOATIME, sc.MS_NOATIME), (os.ST_NODIRATIME, sc.MS_NODIRATIME),
                             (os.ST_RELATIME, sc.MS_RELATIME)):
        if f_flag & st_flag:
            keep |= ms_flag
    return keep


def _remount_bind(target: str, flags: int) -> None:
    try:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | flags)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise ContainerError(f"remount {target}: {exc.strerror}") from None
        _mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | flags | _locked_flags(target))


def _remount_readonly(path: str) -> None:
    # No new bind of "/" onto itself: the root already is the rootfs bind made in prepare(), and a
    # second one would stack a writable, unmasked copy of the tree on top, which `exec`'s setns
    # into the mount namespace then lands in (setns(2) resolves the root with LOOKUP_DOWN).
    _remount_bind(path, sc.MS_RDONLY)


def _mask(path: str) -> None:
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        _mount("tmpfs", path, "tmpfs", sc.MS_RDONLY, "size=0k")
    else:
        _mount("/dev/null", path, None, sc.MS_BIND)


def _make_device(dev: dict, rootfs: str, in_userns: bool) -> None:
    target = secure_join(rootfs, dev["path"])
    os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)
    kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[dev["type"]]
    mode = dev.get("fileMode", 0o666) & 0o7777
    if in_userns:
        # mknod is not allowed in a user namespace: bind the host's node, as runc does.
        with open(target, "a"):
            pass
        _mount(dev["path"], target, None, sc.MS_BIND)
        return
    try:
        os.mknod(target, mode | kind, os.makedev(dev.get("major", 0), dev.get("minor", 0)))
        os.chmod(target, mode)
        os.chown(target, dev.get("uid", 0), dev.get("gid", 0))
    except OSError as exc:
        raise ContainerError(f"create device {dev['path']}: {exc.strerror}") from None


def _dev_symlinks(rootfs: str) -> None:
    links = list(DEV_SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    if os.path.isdir(os.path.join(rootfs, "dev/pts")):
        links.append(("pts/ptmx", "/dev/ptmx"))
    for source, link in links:
        target = secure_join(rootfs, link)
        if os.path.lexists(target):
            if link != "/dev/ptmx":
                continue
            os.unlink(target)
        os.symlink(source, target)
