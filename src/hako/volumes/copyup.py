"""Filling a new volume with what the image has at its mount point, as Docker does.

When a container mounts an empty volume at a path where its image has files, Docker copies
them into the volume first (unless `nocopy`), keeping owners, modes, times and xattrs, and gives
the volume's root the owner and mode of the image's directory. The source is the container's
root filesystem before the process runs; it is walked by file descriptors without following
symlinks, so a link in the image is copied as a link, never followed out of the root.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat

from ..snapshots import overlayfmt
from ..snapshots.safefs import DIR_FLAGS, open_dir, proc_path
from ..snapshots.walk import walk_tree

log = logging.getLogger(__name__)


def is_empty(path: str) -> bool:
    try:
        return not os.listdir(path)
    except FileNotFoundError:
        return True


def copy_up(source_dir: str, volume_dir: str) -> bool:
    """Copy the tree under ``source_dir`` into the empty ``volume_dir``; False if there was
    nothing to copy (no such directory in the image, or the volume is not empty)."""
    try:
        src_fd = os.open(source_dir, DIR_FLAGS)
    except OSError:
        return False
    try:
        if not is_empty(volume_dir):
            return False
        dst_fd = os.open(volume_dir, DIR_FLAGS)
        try:
            _copy_tree(src_fd, dst_fd)
            st = os.fstat(src_fd)
            os.fchown(dst_fd, st.st_uid, st.st_gid)
            os.fchmod(dst_fd, stat.S_IMODE(st.st_mode))
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
    return True


def _copy_tree(src_fd: int, dst_fd: int) -> None:
    links: dict[tuple[int, int], tuple[str, ...]] = {}
    dir_times: list[tuple[tuple[str, ...], os.stat_result]] = []
    for entry in walk_tree(src_fd):
        st = entry.st
        parent = open_dir(dst_fd, entry.parts[:-1])
        try:
            key = (st.st_dev, st.st_ino)
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1 and key in links:
                first = links[key]
                first_parent = open_dir(dst_fd, first[:-1])
                try:
                    os.link(first[-1], entry.name, src_dir_fd=first_parent, dst_dir_fd=parent, follow_symlinks=False)
                finally:
                    os.close(first_parent)
                continue
            if not _make(entry, parent):
                continue
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                links[key] = entry.parts
            os.chown(entry.name, st.st_uid, st.st_gid, dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(entry.name, stat.S_IMODE(st.st_mode), dir_fd=parent)
            _copy_xattrs(proc_path(entry.dir_fd, entry.name), proc_path(parent, entry.name))
            if stat.S_ISDIR(st.st_mode):
                dir_times.append((entry.parts, st))
            else:
                os.utime(entry.name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)
    for parts, st in reversed(dir_times):
        fd = open_dir(dst_fd, parts)
        try:
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fd)


def _make(entry, parent: int) -> bool:
    st, name = entry.st, entry.name
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        os.mkdir(name, 0o700, dir_fd=parent)
    elif stat.S_ISREG(mode):
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=entry.dir_fd)
        try:
            dst = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
            try:
                with open(src, "rb", closefd=False) as fin, open(dst, "wb", closefd=False) as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
            finally:
                os.close(dst)
        finally:
            os.close(src)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(name, dir_fd=entry.dir_fd), name, dir_fd=parent)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        if overlayfmt.is_whiteout(st):
            return False
        os.mknod(name, mode, st.st_rdev, dir_fd=parent)
    else:
        return False          # a socket: Docker leaves them out too
    return True


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if overlayfmt.is_reserved_xattr(name):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                raise
