"""Unpacking an untrusted layer tar into a directory, the way overlayfs wants to see it.

    with open("layer.tar", "rb") as stream:
        applied = apply_tar(stream, "/var/lib/hako/overlay/tmp/new-x/diff")
    applied.diff_id   # "sha256:…" of every byte read from the stream
    applied.size      # sum of the regular files' sizes

This is a security boundary: image layers, `docker import` and `docker load` archives come from
anyone. Nothing written may land outside the destination, so

- member names are checked (tarpath.split_member_name): no absolute names, no ``..``;
- parents are opened component by component without following symlinks (safefs.open_dir), so a
  member under a symlink the archive made earlier is refused, never followed;
- entries are created relative to their parent's fd, regular files with O_EXCL|O_NOFOLLOW;
- a hard link's target is resolved the same way and must already exist in this layer;
- overlayfs' own xattrs (trusted.overlay.*) are never taken from an archive.

The archive is read once, as a stream, so a pull can pipe a decompressor straight into it; big
files are copied in chunks. Ownership, modes (setuid included), mtimes, device numbers and
xattrs from PAX headers (SCHILY.xattr.*) are kept. OCI whiteouts become overlay whiteouts.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from . import overlayfmt
from .errors import LayerError
from .safefs import DIR_FLAGS, NotADirectoryOnPath, lstat_at, open_dir, proc_path, remove_at
from .tarpath import is_aufs_meta, is_opaque_marker, split_member_name, whiteout_target

log = logging.getLogger(__name__)

CHUNK = 1 << 20
XATTR_PAX_PREFIX = "SCHILY.xattr."
# Errors that say something about the machine, not the archive: they stay OSError (a 500).
_HOST_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM, errno.EMFILE, errno.ENFILE}


@dataclass(frozen=True)
class Applied:
    diff_id: str   # "sha256:<hex>" of the whole stream
    size: int      # bytes in regular files (a hard-linked file counts once)


class HashingReader:
    """Reads a stream through sha256, so the digest covers exactly the bytes consumed."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data

    def drain(self) -> None:
        """Read to the end: tar's trailing zero blocks and padding belong to the digest too."""
        while chunk := self.raw.read(CHUNK):
            self.sha.update(chunk)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def hash_stream(stream: BinaryIO) -> str:
    """The diff_id of a stream, reading it without unpacking anything."""
    reader = HashingReader(stream)
    reader.drain()
    return reader.digest()


def apply_tar(stream: BinaryIO, dest: str) -> Applied:
    """Unpack the uncompressed tar ``stream`` into the existing directory ``dest``.

    Raises LayerError when the archive is malformed or tries to escape; ``dest`` is then left
    half-filled and the caller throws it away (it is always a fresh temporary directory).
    """
    reader = HashingReader(stream)
    root_fd = os.open(dest, DIR_FLAGS)
    try:
        extractor = _Extractor(root_fd)
        try:
            # "r|": a forward-only stream; members are handled as they arrive.
            with tarfile.open(fileobj=reader, mode="r|", errors="surrogateescape") as tar:
                for member in tar:
                    extractor.apply(tar, member)
            extractor.finish()
        except tarfile.TarError as exc:
            raise LayerError(f"invalid tar archive: {exc}") from exc
        finally:
            extractor.close()
        reader.drain()
    finally:
        os.close(root_fd)
    return Applied(reader.digest(), extractor.size)


class _Extractor:
    def __init__(self, root_fd: int):
        self.root_fd = root_fd
        self.size = 0
        # Only root may give files away; an unprivileged store keeps them as its own.
        self.chown = os.geteuid() == 0
        # A directory's mtime changes as entries are made in it, so it is set once, at the end.
        self.dir_times: list[tuple[tuple[str, ...], int]] = []
        # Parent directories opened already, by path: entries of a directory come together in a
        # tar, and opening a parent component by component costs one open per level. An entry
        # that removes something drops the cached directories at and under it.
        self._dirs: dict[tuple[str, ...], int] = {}

    def _parent(self, parts: tuple[str, ...]) -> int:
        fd = self._dirs.get(parts)
        if fd is None:
            if len(self._dirs) >= 256:
                self.close()
            fd = self._dirs[parts] = open_dir(self.root_fd, parts, create=True)
        return fd

    def _removed(self, parts: tuple[str, ...]) -> None:
        for key in [k for k in self._dirs if k[:len(parts)] == parts]:
            os.close(self._dirs.pop(key))

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        try:
            self._apply(tar, member)
        except NotADirectoryOnPath as exc:
            raise LayerError(f"archive entry {member.name!r}: parent {exc}") from None
        except OSError as exc:
            if exc.errno in _HOST_ERRNOS:
                raise
            raise LayerError(f"archive entry {member.name!r}: {exc.strerror or exc}") from exc

    def _apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = split_member_name(member.name)
        if not parts:
            if not member.isdir():
                raise LayerError(f"archive entry {member.name!r}: the root must be a directory")
            self._set_root_metadata(member)
            return
        *parent_parts, base = parts
        if is_aufs_meta(base):
            return
        parent_fd = self._parent(tuple(parent_parts))
        if is_opaque_marker(base):
            overlayfmt.set_opaque(parent_fd)
            return
        deleted = whiteout_target(base)
        if deleted is not None:
            self._removed((*parent_parts, deleted))
            remove_at(parent_fd, deleted)
            overlayfmt.make_whiteout(parent_fd, deleted)
            return
        self._create(tar, member, parent_fd, base, parts)

    def _create(self, tar, member: tarfile.TarInfo, parent_fd: int, base: str, parts: tuple[str, ...]) -> None:
        existing = lstat_at(parent_fd, base)
        # Tar semantics: a later entry replaces an earlier one, except a directory over a directory,
        # which keeps its contents and takes the new metadata.
        if existing is not None and not (stat.S_ISDIR(existing.st_mode) and member.isdir()):
            self._removed(tuple(parts))
            remove_at(parent_fd, base)
            existing = None
        perm = member.mode & 0o7777
        if member.isreg():
            self._write_file(tar, member, parent_fd, base)
            return
        if member.islnk():
            self._hard_link(member, parent_fd, base)
            return
        if member.isdir():
            if existing is None:
                os.mkdir(base, 0o700, dir_fd=parent_fd)
            self._set_metadata(parent_fd, base, member)
            self.dir_times.append((parts, _mtime_ns(member)))
            return
        if member.issym():
            os.symlink(member.linkname, base, dir_fd=parent_fd)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(base, kind | perm, os.makedev(member.devmajor, member.devminor), dir_fd=parent_fd)
        elif member.isfifo():
            os.mkfifo(base, perm, dir_fd=parent_fd)
        else:
            log.warning("skipping archive entry %r of unsupported type %r", member.name, member.type)
            return
        self._set_metadata(parent_fd, base, member)

    def _write_file(self, tar, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(base, flags, 0o600, dir_fd=parent_fd)
        try:
            source = tar.extractfile(member)
            with open(fd, "wb", closefd=False) as out:
                shutil.copyfileobj(source, out, CHUNK)
            if self.chown:
                os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, member.mode & 0o7777)   # after chown, which clears setuid/setgid
            self._set_xattrs(fd, member)
            ns = _mtime_ns(member)
            os.utime(fd, ns=(ns, ns))
        finally:
            os.close(fd)
        self.size += member.size

    def _hard_link(self, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        try:
            target = split_member_name(member.linkname)
        except LayerError as exc:
            raise LayerError(f"archive entry {member.name!r}: hard link target: {exc}") from None
        if not target:
            raise LayerError(f"archive entry {member.name!r}: hard link to the root")
        try:
            target_parent = open_dir(self.root_fd, target[:-1])
        except FileNotFoundError:
            raise LayerError(f"archive entry {member.name!r}: hard link target {member.linkname!r} "
                             "is not in this layer") from None
        try:
            # follow_symlinks=False: a link to a symlink links the symlink itself (linkat without
            # AT_SYMLINK_FOLLOW), never what it points to.
            os.link(target[-1], base, src_dir_fd=target_parent, dst_dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise LayerError(f"archive entry {member.name!r}: hard link target {member.linkname!r} "
                             "is not in this layer") from None
        finally:
            os.close(target_parent)

    def _set_metadata(self, parent_fd: int, base: str, member: tarfile.TarInfo) -> None:
        """Owner, mode, xattrs and (except directories) times of an entry made just now.

        The entry was created (or found to be a directory) by this extractor a moment ago in a
        private directory, so calls that follow a final symlink are safe on anything but the
        symlinks themselves, which get the *_NOFOLLOW forms.
        """
        if self.chown:
            os.chown(base, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
        if not member.issym():      # Linux has no mode on symlinks
            os.chmod(base, member.mode & 0o7777, dir_fd=parent_fd)
        self._set_xattrs(proc_path(parent_fd, base), member)
        if not member.isdir():
            ns = _mtime_ns(member)
            os.utime(base, ns=(ns, ns), dir_fd=parent_fd, follow_symlinks=False)

    def _set_root_metadata(self, member: tarfile.TarInfo) -> None:
        """A "./" entry describes the layer's root directory itself."""
        if self.chown:
            os.fchown(self.root_fd, member.uid, member.gid)
        os.fchmod(self.root_fd, member.mode & 0o7777)
        self._set_xattrs(self.root_fd, member)
        self.dir_times.append(((), _mtime_ns(member)))

    def _set_xattrs(self, target: int | str, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(XATTR_PAX_PREFIX):
                continue
            name = key[len(XATTR_PAX_PREFIX):]
            if overlayfmt.is_reserved_xattr(name):
                log.warning("archive entry %r: ignoring reserved xattr %s", member.name, name)
                continue
            # tarfile decodes PAX values as UTF-8 with surrogateescape; this gets the raw bytes back.
            raw = value.encode("utf-8", "surrogateescape")
            try:
                # An fd names its file already; for a path, the final symlink is not followed.
                os.setxattr(target, name, raw, follow_symlinks=isinstance(target, int))
            except OSError as exc:
                # Like Docker: a filesystem or namespace that refuses an xattr does not fail the pull.
                if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise
                log.warning("archive entry %r: xattr %s not kept: %s", member.name, name, exc.strerror)

    def finish(self) -> None:
        """Set directory times, deepest last-listed first, now that their contents are complete."""
        for parts, ns in reversed(self.dir_times):
            try:
                fd = open_dir(self.root_fd, parts)
            except (OSError, NotADirectoryOnPath):
                continue                  # replaced by a later entry
            try:
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)


def _mtime_ns(member: tarfile.TarInfo) -> int:
    return round(member.mtime * 1_000_000_000)
