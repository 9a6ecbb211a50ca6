"""Walking a directory tree by file descriptors, never following a symlink.

Every path below a root is opened one component at a time, each with O_NOFOLLOW relative to the
directory opened before it (openat(2)), so a symlink anywhere on the way is refused rather than
followed out of the root, and no path string is ever resolved by the kernel in one go:

    fd = open_dir(root_fd, ("usr", "lib"), create=True)    # root/usr/lib, made if missing
    try:
        os.mknod("x", ..., dir_fd=fd)
    finally:
        os.close(fd)
"""

from __future__ import annotations

import errno
import os
import shutil
import stat

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class NotADirectoryOnPath(Exception):
    """A component on the way is a symlink or not a directory; ``kind`` says which."""

    def __init__(self, parts: tuple[str, ...], kind: str):
        super().__init__(f"{'/'.join(parts)} is {kind}")
        self.parts = parts
        self.kind = kind


def open_dir(root_fd: int, parts: tuple[str, ...] | list[str], create: bool = False, mode: int = 0o755) -> int:
    """A new fd for the directory root/parts…; missing ones are made with ``mode`` if ``create``.

    Raises FileNotFoundError (missing, not ``create``) or NotADirectoryOnPath.
    """
    fd = os.dup(root_fd)
    try:
        for i, name in enumerate(parts):
            next_fd = _open_child_dir(fd, name, create, mode, tuple(parts[:i + 1]))
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_child_dir(fd: int, name: str, create: bool, mode: int, parts: tuple[str, ...]) -> int:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        # O_NOFOLLOW|O_DIRECTORY on a symlink gives ENOTDIR or ELOOP depending on the kernel.
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        st = lstat_at(fd, name)
        kind = "a symlink" if st is not None and stat.S_ISLNK(st.st_mode) else "not a directory"
        raise NotADirectoryOnPath(parts, kind) from None
    try:
        os.mkdir(name, mode, dir_fd=fd)
        os.chmod(name, mode, dir_fd=fd)     # the daemon's umask must not decide a layer's modes
    except FileExistsError:
        pass
    return _open_child_dir(fd, name, False, mode, parts)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(dir_fd: int, name: str) -> None:
    """Remove ``name`` in the directory ``dir_fd``, a whole tree if it is a directory; absent is fine."""
    st = lstat_at(dir_fd, name)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)   # fd-based and symlink-safe since 3.11
    else:
        os.unlink(name, dir_fd=dir_fd)


def proc_path(dir_fd: int, name: str) -> str:
    """A path naming ``name`` in ``dir_fd`` for the calls that take no dir_fd (l*xattr).

    The kernel resolves /proc/self/fd/N to the very directory the fd holds, so only ``name`` is
    looked up; callers pass follow_symlinks=False so that a final symlink is not followed either.
    """
    return f"/proc/self/fd/{dir_fd}/{name}"
