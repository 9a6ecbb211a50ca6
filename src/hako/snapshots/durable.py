"""Making a finished directory survive a power cut before it is renamed into place.

A rename is atomic, so a daemon killed at any instant leaves either the old name or the new one;
but after a power cut the kernel may have written the rename before the data it points at. The
store therefore flushes a new layer's filesystem (syncfs(2): one call for all of its files, where
fsync per file would cost a journal commit each), then renames, then fsyncs the parent directory
so that the rename itself is on disk.
"""

from __future__ import annotations

import os

from ..linux import syscalls


def syncfs(path: str) -> None:
    """Flush every dirty file of the filesystem holding ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        syscalls.syncfs(fd, path)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(path: str, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` (it must not exist) with ``data``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
