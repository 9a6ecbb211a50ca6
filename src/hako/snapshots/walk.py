"""Listing a directory tree that something else may be changing, without ever following a symlink.

A container's upper directory is written by the container while the daemon reads it (`docker diff`,
`docker export` and `commit` of a running container). A path-based walk could be tricked into
reading the host: swap a directory for a symlink to / between the listing and the descent. Here
every directory is opened by fd relative to its parent with O_NOFOLLOW, and checked to be the very
inode that was listed, so the worst a race can do is make the walk skip something.

    for entry in walk_tree(root_fd):
        print("/".join(entry.parts), stat.filemode(entry.st.st_mode))

Entries come in depth-first preorder (a directory right before its contents), names sorted, and
an explicit stack keeps arbitrarily deep trees from hitting Python's recursion limit.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from .safefs import DIR_FLAGS, lstat_at


@dataclass(frozen=True)
class Entry:
    parts: tuple[str, ...]   # path components below the root
    dir_fd: int              # the open parent directory; valid only until the walk moves on
    name: str                # parts[-1]
    st: os.stat_result       # lstat of the entry

    @property
    def path(self) -> str:
        return "/".join(self.parts)


def walk_tree(root_fd: int) -> Iterator[Entry]:
    root = os.dup(root_fd)
    stack: list[tuple[int, tuple[str, ...], Iterator[str]]] = [(root, (), iter(sorted(os.listdir(root))))]
    try:
        while stack:
            fd, parts, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                os.close(fd)
                continue
            st = lstat_at(fd, name)
            if st is None:
                continue                     # removed since the listing
            entry = Entry(parts + (name,), fd, name, st)
            yield entry
            if stat.S_ISDIR(st.st_mode):
                child = _open_same_dir(fd, name, st)
                if child is not None:
                    stack.append((child, entry.parts, iter(sorted(os.listdir(child)))))
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def _open_same_dir(parent_fd: int, name: str, st: os.stat_result) -> int | None:
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        return None
    return fd
