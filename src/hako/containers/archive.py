"""`docker cp` inside a container's filesystem: resolve a path, stat it, tar it out, untar into it.

The container's filesystem is its root directory plus its binds and volumes, each a host
directory (or file) standing at a destination inside it:

    fs = ContainerFS("/…/rw/<id>/merged", [Mounted("/data", "/…/volumes/v/_data", rw=True)])
    target = fs.resolve_request("/data/link/")     # Docker's ResolvePath
    fs.stat(target)                                 # the X-Docker-Container-Path-Stat fields
    fs.write_tar(target, out)                       # GET /containers/{id}/archive
    fs.extract(target, stream, …)                   # PUT /containers/{id}/archive

Paths are resolved the way Docker's are (symlink.FollowSymlinkInScope): symlinks are followed,
but an absolute target or a `..` starts again at, or stops at, the container's root, so no path
ever leads out of it; a path through a mount destination continues in the mount's host source.
The host path found is then opened one component at a time without following symlinks
(safefs), so a symlink swapped in by a running container between the two steps is refused
rather than followed. Archives written into a container are untrusted: member names may not be
absolute or climb with `..`, and each member's parent is resolved inside the container again.
"""

from __future__ import annotations

import datetime
import errno
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from ..errdefs import InvalidArgument, NotFound
from ..snapshots import overlayfmt, tarwrite
from ..snapshots.errors import LayerError
from ..snapshots.safefs import DIR_FLAGS, NotADirectoryOnPath, lstat_at, open_dir, proc_path, remove_at
from ..snapshots.tarpath import split_member_name
from ..snapshots.walk import Entry, walk_tree
from ..runtime.securejoin import resolve_in_scope

CHUNK = 1 << 20

# Go's os.FileMode bits, which the stat header carries (Docker marshals a Go FileMode).
GO_DIR, GO_SYMLINK, GO_DEVICE, GO_PIPE, GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
GO_SETUID, GO_SETGID, GO_CHARDEV, GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


@dataclass(frozen=True)
class Mounted:
    destination: str      # absolute, normalized, inside the container
    source: str           # the host directory or file
    rw: bool = True


@dataclass(frozen=True)
class Target:
    """A requested path, resolved: ``parts`` below the container's root; ``name`` what Docker
    calls it (the base of the cleaned request: "." for a `dir/.` request)."""
    parts: tuple[str, ...]
    name: str
    contents_only: bool       # the request ended in "/.": copy what is in the directory


class ContainerFS:
    def __init__(self, root: str, mounts: list[Mounted], readonly_root: bool = False):
        self.root = root
        self.mounts = sorted(mounts, key=lambda m: m.destination.count("/"), reverse=True)
        self.readonly_root = readonly_root

    # ---- where a container path lives on the host -------------------------------------------

    def mount_for(self, parts: tuple[str, ...]) -> tuple[Mounted | None, tuple[str, ...]]:
        """The deepest mount holding ``parts`` and the parts below its destination."""
        path = "/" + "/".join(parts)
        for m in self.mounts:
            if path == m.destination or path.startswith(m.destination.rstrip("/") + "/"):
                below = tuple(p for p in path[len(m.destination):].split("/") if p)
                return m, below
        return None, parts

    def host_path(self, parts: tuple[str, ...]) -> str:
        m, below = self.mount_for(parts)
        base = m.source if m else self.root
        return os.path.join(base, *below) if below else base

    def resolve(self, parts: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """Follow symlinks inside the container (FollowSymlinkInScope): never out of its root."""
        def readlink(candidate: tuple[str, ...]) -> str | None:
            try:
                return os.readlink(self.host_path(candidate))
            except OSError:
                return None

        try:
            return tuple(resolve_in_scope(parts, readlink))
        except OSError:
            raise InvalidArgument("too many links") from None

    def resolve_request(self, path: str) -> Target:
        """Docker's ResolvePath: the directory part is resolved fully, the last element is not
        followed unless the request ends in "/" or "/."; `..` is cleaned away lexically first."""
        clean = posixpath.normpath("/" + path.lstrip("/"))
        contents_only = path == "." or path.endswith("/.")
        trailing_sep = path.endswith("/")
        dir_part, base = posixpath.split(clean)
        if contents_only or trailing_sep or clean == "/":
            parts = self.resolve(tuple(clean.split("/")))
            name = "." if contents_only else (base or "/")
        else:
            parts = self.resolve(tuple(dir_part.split("/"))) + (base,)
            name = base
        return Target(parts, name, contents_only)

    # ---- stat ---------------------------------------------------------------------------------

    def lstat(self, target: Target) -> os.stat_result:
        try:
            fd, name = self._open_parent(target.parts)
        except (FileNotFoundError, NotADirectoryError, NotADirectoryOnPath):
            raise FileNotFoundError(errno.ENOENT, "no such file", "/" + "/".join(target.parts)) from None
        try:
            st = lstat_at(fd, name)
        finally:
            os.close(fd)
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", "/" + "/".join(target.parts))
        return st

    def stat(self, target: Target) -> dict:
        """The fields of X-Docker-Container-Path-Stat, as Docker's types.ContainerPathStat."""
        st = self.lstat(target)
        link_target = ""
        if stat.S_ISLNK(st.st_mode):
            link_target = "/" + "/".join(self.resolve(target.parts))
        return {"name": target.name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
                "mtime": go_time(st.st_mtime_ns), "linkTarget": link_target}

    # ---- tar out ------------------------------------------------------------------------------

    def write_tar(self, target: Target, out: BinaryIO) -> None:
        """The archive Docker's GET /archive sends: the target under its requested name (or, for
        "dir/.", the directory's contents under "."), with what volumes mounted below it hold."""
        st = self.lstat(target)
        prefix = target.name if target.name not in ("/",) else "."
        writer = _Unpadded(out)
        tar = tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT)
        try:
            self._write_entries(tar, target, st, prefix)
        finally:
            writer.limit = tar.offset + 2 * tarfile.BLOCKSIZE
            tar.close()

    def _write_entries(self, tar, target: Target, st: os.stat_result, prefix: str) -> None:
        first_names: dict = {}
        parent_fd, base = self._open_parent(target.parts)
        try:
            tarwrite._add_entry(tar, Entry((prefix,), parent_fd, base, st), first_names, upper=False)
        finally:
            os.close(parent_fd)
        if not stat.S_ISDIR(st.st_mode):
            return
        self._add_tree(tar, target.parts, (prefix,), first_names)
        container_path = "/" + "/".join(target.parts)
        for m in reversed(self.mounts):
            inside = m.destination.startswith(container_path.rstrip("/") + "/")
            if inside and m.destination != container_path:
                rel = tuple(p for p in m.destination[len(container_path):].split("/") if p)
                self._add_tree(tar, tuple(m.destination.strip("/").split("/")), (prefix,) + rel, first_names)

    def _open_parent(self, parts: tuple[str, ...]) -> tuple[int, str]:
        """An fd for the directory holding ``parts`` and the name in it. The root and a mount's
        source are host paths hakod chose; anything below them is opened without following."""
        m, below = self.mount_for(parts)
        if not parts or (m is not None and not below):
            host = m.source if m else self.root
            return os.open(os.path.dirname(host), DIR_FLAGS), os.path.basename(host)
        return self._open_dir(parts[:-1]), parts[-1]

    def _add_tree(self, tar, parts: tuple[str, ...], prefix: tuple[str, ...], first_names: dict) -> None:
        try:
            fd = self._open_dir(parts)
        except (OSError, NotADirectoryOnPath):
            return
        try:
            for entry in walk_tree(fd):
                named = Entry(prefix + entry.parts, entry.dir_fd, entry.name, entry.st)
                tarwrite._add_entry(tar, named, first_names, upper=False)
        finally:
            os.close(fd)

    def _open_dir(self, parts: tuple[str, ...], create: bool = False) -> int:
        """An fd for the directory at container ``parts`` (already resolved), opened below its
        mount's source (or the root) without following any symlink."""
        m, below = self.mount_for(parts)
        base_fd = os.open(m.source if m else self.root, DIR_FLAGS)
        try:
            return open_dir(base_fd, below, create=create)
        finally:
            os.close(base_fd)

    # ---- tar in -------------------------------------------------------------------------------

    def check_writable(self, parts: tuple[str, ...]) -> None:
        m, _ = self.mount_for(parts)
        if m is not None and not m.rw:
            raise InvalidArgument("mounted volume is marked read-only")
        if m is None and self.readonly_root:
            raise InvalidArgument("container rootfs is marked read-only")

    def extract(self, target: Target, stream: BinaryIO, no_overwrite_dir_non_dir: bool,
                chown_to: tuple[int, int] | None) -> None:
        """Docker's PUT /archive: the target must be a directory (a symlink to one is followed,
        inside the container); the archive's members land in it."""
        dest = self.resolve(target.parts)
        st = self.lstat(Target(dest, target.name, False))
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidArgument("extraction point is not a directory")
        self.check_writable(dest)
        extractor = _Extractor(self, dest, no_overwrite_dir_non_dir, chown_to)
        try:
            with tarfile.open(fileobj=stream, mode="r|*", errors="surrogateescape") as tar:
                for member in tar:
                    extractor.apply(tar, member)
        except tarfile.TarError as exc:
            raise InvalidArgument(f"invalid tar archive: {exc}") from None
        extractor.finish()


class _Unpadded:
    """Ends the archive after its two zero blocks, as Go's archive/tar (and so Docker) does;
    Python's tarfile pads it to a 10 KiB record, and docker cp reports the size it got.
    ``limit`` is set just before the TarFile closes: what comes past it is that padding."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.written = 0
        self.limit: int | None = None

    def write(self, data: bytes) -> int:
        size = len(data)
        if self.limit is not None:
            data = data[:max(0, self.limit - self.written)]
        self.out.write(data)
        self.written += len(data)
        return size


class _Extractor:
    def __init__(self, fs: ContainerFS, dest: tuple[str, ...], no_overwrite: bool, chown_to):
        self.fs, self.dest, self.no_overwrite, self.chown_to = fs, dest, no_overwrite, chown_to
        self.dir_times: list[tuple[tuple[str, ...], int]] = []

    def apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        try:
            parts = split_member_name(member.name)
        except LayerError as exc:
            raise InvalidArgument(str(exc)) from None
        if not parts:
            return          # the archive's root: the extraction point itself stays as it is
        # The member's parent, resolved inside the container: a symlink there (the container's
        # or one this archive made) leads somewhere inside the root, never out of it.
        parent = self.fs.resolve(self.dest + parts[:-1])
        self.fs.check_writable(parent + parts[-1:])
        try:
            fd = self.fs._open_dir(parent, create=True)
        except NotADirectoryOnPath as exc:
            raise InvalidArgument(f"archive entry {member.name!r}: {exc}") from None
        except NotADirectoryError:
            raise InvalidArgument(f"archive entry {member.name!r}: a parent is not a directory") from None
        try:
            self._create(tar, member, fd, parts[-1], parent + parts[-1:])
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
                raise
            raise InvalidArgument(f"archive entry {member.name!r}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    def _create(self, tar, member: tarfile.TarInfo, parent_fd: int, base: str, parts: tuple[str, ...]) -> None:
        existing = lstat_at(parent_fd, base)
        if existing is not None:
            is_dir = stat.S_ISDIR(existing.st_mode)
            if self.no_overwrite and is_dir and not member.isdir():
                raise InvalidArgument(f'cannot overwrite directory "{"/" + "/".join(parts)}" with non-directory "{member.name}"')
            if self.no_overwrite and not is_dir and member.isdir():
                raise InvalidArgument(f'cannot overwrite non-directory "{"/" + "/".join(parts)}" with directory "{member.name}"')
            if not (is_dir and member.isdir()):
                remove_at(parent_fd, base)
        uid, gid = self.chown_to if self.chown_to else (member.uid, member.gid)
        if member.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent_fd)
            try:
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(tar.extractfile(member), out, CHUNK)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, member.mode & 0o7777)
                os.utime(fd, ns=(_ns(member), _ns(member)))
            finally:
                os.close(fd)
            self._xattrs(proc_path(parent_fd, base), member)
            return
        if member.islnk():
            self._hard_link(member, parent_fd, base)
            return
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                os.mkdir(base, 0o700, dir_fd=parent_fd)
            self.dir_times.append((parts, _ns(member)))
        elif member.issym():
            os.symlink(member.linkname, base, dir_fd=parent_fd)
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(base, kind | (member.mode & 0o7777), os.makedev(member.devmajor, member.devminor), dir_fd=parent_fd)
        elif member.isfifo():
            os.mkfifo(base, member.mode & 0o7777, dir_fd=parent_fd)
        else:
            return
        os.chown(base, uid, gid, dir_fd=parent_fd, follow_symlinks=False)
        if not member.issym():
            os.chmod(base, member.mode & 0o7777, dir_fd=parent_fd)
            self._xattrs(proc_path(parent_fd, base), member)
        if not member.isdir():
            os.utime(base, ns=(_ns(member), _ns(member)), dir_fd=parent_fd, follow_symlinks=False)

    def _hard_link(self, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
        try:
            target = split_member_name(member.linkname)
        except LayerError as exc:
            raise InvalidArgument(f"archive entry {member.name!r}: hard link target: {exc}") from None
        if not target:
            raise InvalidArgument(f"archive entry {member.name!r}: hard link to the extraction point")
        target_parent = self.fs.resolve(self.dest + target[:-1])
        fd = self.fs._open_dir(target_parent)
        try:
            os.link(target[-1], base, src_dir_fd=fd, dst_dir_fd=parent_fd, follow_symlinks=False)
        finally:
            os.close(fd)

    def _xattrs(self, path: str, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if overlayfmt.is_reserved_xattr(name):
                continue
            try:
                os.setxattr(path, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise

    def finish(self) -> None:
        for parts, ns in reversed(self.dir_times):
            try:
                fd = self.fs._open_dir(parts)
            except (OSError, NotADirectoryOnPath):
                continue
            try:
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)


def _ns(member: tarfile.TarInfo) -> int:
    return round(member.mtime * 1_000_000_000)


def go_file_mode(mode: int) -> int:
    """A Unix st_mode as Go's os.FileMode (io/fs), the type Docker puts in the stat header."""
    result = stat.S_IMODE(mode) & 0o777
    if stat.S_ISDIR(mode):
        result |= GO_DIR
    elif stat.S_ISLNK(mode):
        result |= GO_SYMLINK
    elif stat.S_ISFIFO(mode):
        result |= GO_PIPE
    elif stat.S_ISSOCK(mode):
        result |= GO_SOCKET
    elif stat.S_ISCHR(mode):
        result |= GO_DEVICE | GO_CHARDEV
    elif stat.S_ISBLK(mode):
        result |= GO_DEVICE
    if mode & stat.S_ISUID:
        result |= GO_SETUID
    if mode & stat.S_ISGID:
        result |= GO_SETGID
    if mode & stat.S_ISVTX:
        result |= GO_STICKY
    return result


def go_time(ns: int) -> str:
    """RFC 3339 with nanoseconds, as Go's time.Time marshals to JSON (UTC here)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    text = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    return text + (f".{frac}" if frac else "") + "Z"


def not_found(path: str, container_ref: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {container_ref}")
