"""Writing a directory tree as a tar stream: a layer diff or a whole root filesystem.

    digest = write_tree("/…/rw/<key>/upper", out, upper=True)    # an OCI layer: whiteouts as .wh.*
    digest = write_tree("/…/rw/<key>/merged", out, upper=False)  # `docker export`

The returned digest is the sha256 of every byte written, which for a layer is its diff_id.

Entries are in depth-first order with sorted names, PAX format, numeric owners only (no user
names: they would be looked up in the host's passwd, not the image's), whole-second mtimes, and
each inode's second and later names as hard links to its first. Sockets are left out, as tar has
no type for them. xattrs go into SCHILY.xattr.* PAX records, except overlayfs' own and SELinux
labels, which describe this host and not the content.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tarfile
from typing import BinaryIO

from . import overlayfmt
from .safefs import DIR_FLAGS, proc_path
from .tarpath import OPAQUE_MARKER, WHITEOUT_PREFIX
from .walk import Entry, walk_tree

log = logging.getLogger(__name__)

CHUNK = 1 << 20
_SKIPPED_XATTRS = ("security.selinux",)


class HashingWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.out.write(data)
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def write_tree(root: str, out: BinaryIO, *, upper: bool) -> str:
    """Write the tree under ``root`` (not ``root`` itself) to ``out`` as a tar; returns its sha256.

    ``upper``: the tree is an overlay upper directory, so its whiteout devices and opaque
    directories are written in their OCI forms.
    """
    writer = HashingWriter(out)
    root_fd = os.open(root, DIR_FLAGS)
    try:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            first_names: dict[tuple[int, int], str] = {}
            for entry in walk_tree(root_fd):
                _add_entry(tar, entry, first_names, upper)
    finally:
        os.close(root_fd)
    return writer.digest()


def _add_entry(tar: tarfile.TarFile, entry: Entry, first_names: dict, upper: bool) -> None:
    st = entry.st
    if upper and overlayfmt.is_whiteout(st):
        parent = entry.parts[:-1]
        tar.addfile(_marker(parent, WHITEOUT_PREFIX + entry.name, st))
        return
    info = _header(entry)
    if info is None:
        return
    key = (st.st_dev, st.st_ino)
    if info.isreg() and st.st_nlink > 1 and key in first_names:
        info.type, info.linkname, info.size = tarfile.LNKTYPE, first_names[key], 0
        info.pax_headers = {}        # the inode's xattrs travel with its first name
        tar.addfile(info)
        return
    if info.isreg():
        if not _add_regular(tar, entry, info):
            return
        if st.st_nlink > 1:
            first_names[key] = info.name
        return
    tar.addfile(info)
    if upper and info.isdir() and overlayfmt.is_opaque(proc_path(entry.dir_fd, entry.name)):
        tar.addfile(_marker(entry.parts, OPAQUE_MARKER, st))


def _header(entry: Entry) -> tarfile.TarInfo | None:
    st = entry.st
    mode = st.st_mode
    info = tarfile.TarInfo(entry.path)
    info.mode = stat.S_IMODE(mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    if stat.S_ISREG(mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
        info.name += "/"
    elif stat.S_ISLNK(mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(entry.name, dir_fd=entry.dir_fd)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    else:
        log.debug("not archiving %s: sockets have no tar form", entry.path)
        return None
    info.pax_headers = _xattr_records(proc_path(entry.dir_fd, entry.name))
    return info


def _add_regular(tar: tarfile.TarFile, entry: Entry, info: tarfile.TarInfo) -> bool:
    """Add a regular file's header and content; False if it vanished or changed type meanwhile."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(entry.name, flags, dir_fd=entry.dir_fd)
    except OSError:
        return False
    with open(fd, "rb") as f:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (entry.st.st_dev, entry.st.st_ino):
            return False
        info.size = opened.st_size
        tar.addfile(info, _Exactly(f, info.size))
    return True


def _marker(parent: tuple[str, ...], name: str, st: os.stat_result) -> tarfile.TarInfo:
    """An empty regular file that stands for a whiteout or an opaque mark in an OCI layer."""
    info = tarfile.TarInfo("/".join(parent + (name,)))
    info.type, info.size, info.mode = tarfile.REGTYPE, 0, 0
    info.uid, info.gid, info.mtime = st.st_uid, st.st_gid, int(st.st_mtime)
    info.uname = info.gname = ""
    return info


def _xattr_records(path: str) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    records = {}
    for name in sorted(names):
        if overlayfmt.is_reserved_xattr(name) or name in _SKIPPED_XATTRS:
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        # tarfile writes str values; surrogateescape carries arbitrary bytes (it then marks the
        # record hdrcharset=BINARY), and the reader in apply.py reverses it.
        records["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return records


class _Exactly:
    """Exactly ``size`` bytes of a file that may grow or shrink while it is read (a running
    container's), padded with zeros or cut, so the tar header written before stays true."""

    def __init__(self, f: BinaryIO, size: int):
        self.f = f
        self.left = size

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        chunks, got = [], 0
        while got < n:
            data = self.f.read(n - got)
            if not data:
                chunks.append(b"\0" * (n - got))
                break
            chunks.append(data)
            got += len(data)
        self.left -= n
        return b"".join(chunks)
