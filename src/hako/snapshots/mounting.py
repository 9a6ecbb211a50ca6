"""Performing Mount descriptions and reading the mount table.

The store describes overlay mounts (model.Mount); these helpers are what turns one into a
mount(2) in the calling process's mount namespace, and what tells whether a path is a mount point
there, from /proc/self/mountinfo (proc(5)), where field 5 is the mount point with space, tab,
newline and backslash written as octal escapes (\\040 …).
"""

from __future__ import annotations

import errno

from ..linux import mountinfo, syscalls
from .model import Mount

# Words of mount(8)'s -o that are mount flags, not filesystem data.
_FLAGS = {"ro": syscalls.MS_RDONLY, "nosuid": syscalls.MS_NOSUID, "nodev": syscalls.MS_NODEV,
          "noexec": syscalls.MS_NOEXEC, "noatime": syscalls.MS_NOATIME, "relatime": syscalls.MS_RELATIME}
# The kernel copies mount data into one page; longer data is refused (EINVAL) or cut.
MAX_MOUNT_DATA = 4095


unescape_mountinfo = mountinfo.unescape


def parse_mount_points(mountinfo_text: str) -> list[str]:
    """Mount points listed in a mountinfo text, in order (a path may appear more than once)."""
    return [m.mount_point for m in mountinfo.parse(mountinfo_text)]


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        return parse_mount_points(f.read())


def is_mount_point(path: str) -> bool:
    return path in mount_points()


def mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path``, deepest first, the order to unmount them in."""
    prefix = path.rstrip("/") + "/"
    found = {p for p in mount_points() if p == path or p.startswith(prefix)}
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def split_options(options: list[str]) -> tuple[int, str]:
    """mount(2)'s flags and data for a Mount's options."""
    flags, data = 0, []
    for option in options:
        if option in _FLAGS:
            flags |= _FLAGS[option]
        else:
            data.append(option)
    return flags, ",".join(data)


def mount(m: Mount) -> None:
    flags, data = split_options(m.options)
    if len(data) > MAX_MOUNT_DATA:
        raise OSError(errno.E2BIG, f"mount options of {m.target} exceed one page ({len(data)} bytes): "
                                   "too many layers", m.target)
    syscalls.mount(m.source, m.target, m.type, flags, data)


def unmount(path: str) -> None:
    """Unmount every mount stacked on ``path``; a busy one is detached (MNT_DETACH) instead.

    Not being mounted is fine. Detaching takes the mount out of the namespace at once; the kernel
    lets go of the filesystem when its last user does.
    """
    for _ in range(100):                   # bounded: mounts can be stacked, not endlessly
        if not is_mount_point(path):
            return
        try:
            syscalls.umount(path)
        except OSError as exc:
            if exc.errno == errno.EINVAL:      # raced with another unmount
                continue
            if exc.errno != errno.EBUSY:
                raise
            syscalls.umount(path, syscalls.MNT_DETACH)
    raise OSError(errno.EBUSY, "cannot unmount", path)


def unmount_all_under(path: str) -> None:
    for point in mounts_under(path):
        unmount(point)
