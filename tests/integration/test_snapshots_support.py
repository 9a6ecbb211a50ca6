"""Helpers for the snapshot store's integration tests (no tests here): tar building, a store in a
fresh directory that is unmounted and deleted after each test, and a tree snapshot to compare views.

    def test_x(store):
        layer = store.apply_tar(tar(file("etc/hostname", b"box"), whiteout("etc/motd")), None)
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile

import pytest

from hako.snapshots import LayerStore
from hako.snapshots.mounting import mounts_under, unmount

MTIME = 1_600_000_000


def _info(name: str, type_: bytes, mode: int, uid: int = 0, gid: int = 0, mtime: int = MTIME,
          xattrs: dict[str, bytes] | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = type_, mode, uid, gid, mtime
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
    return info


def file(name: str, data: bytes = b"", mode: int = 0o644, **kw):
    info = _info(name, tarfile.REGTYPE, mode, **kw)
    info.size = len(data)
    return info, data


def directory(name: str, mode: int = 0o755, **kw):
    return _info(name, tarfile.DIRTYPE, mode, **kw), None


def symlink(name: str, target: str, **kw):
    info = _info(name, tarfile.SYMTYPE, 0o777, **kw)
    info.linkname = target
    return info, None


def hardlink(name: str, target: str, **kw):
    info = _info(name, tarfile.LNKTYPE, 0o644, **kw)
    info.linkname = target
    return info, None


def chardev(name: str, major: int, minor: int, mode: int = 0o666):
    info = _info(name, tarfile.CHRTYPE, mode)
    info.devmajor, info.devminor = major, minor
    return info, None


def fifo(name: str, mode: int = 0o600):
    return _info(name, tarfile.FIFOTYPE, mode), None


def whiteout(path: str):
    head, _, base = path.rpartition("/")
    return file(f"{head}/.wh.{base}" if head else f".wh.{base}")


def opaque(dir_path: str):
    return file(f"{dir_path}/.wh..wh..opq")


def tar(*entries) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    buf.seek(0)
    return buf


def tree(root: str) -> dict[str, tuple]:
    """Every entry under ``root`` (symlinks not followed): type, mode, owner, and content, target
    or device number; mtimes of regular files and symlinks too (directories' change as they fill)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            mode = st.st_mode
            if stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    extra = (f.read(), int(st.st_mtime))
            elif stat.S_ISLNK(mode):
                extra = (os.readlink(path),)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                extra = (os.major(st.st_rdev), os.minor(st.st_rdev))
            else:
                extra = ()
            found[rel] = (stat.S_IFMT(mode), stat.S_IMODE(mode), st.st_uid, st.st_gid, *extra)
    return found


@pytest.fixture
def store_root():
    """A fresh directory on a real filesystem; whatever is mounted below it is unmounted after the
    test (failing it), then the directory is deleted."""
    if os.geteuid() != 0:
        pytest.skip("needs root and a real kernel")
    root = tempfile.mkdtemp(prefix="hako-snap-", dir="/var/tmp")
    yield root
    left = mounts_under(root)
    for point in left:
        unmount(point)
    shutil.rmtree(root)
    assert not left, f"test left mounts behind: {left}"


@pytest.fixture
def store(store_root):
    return LayerStore(store_root)
