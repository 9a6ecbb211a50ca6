"""Where COPY reads from: the build context (a tar, read in place) or a directory (another
stage's mounted root, heredoc files). Both answer the same few questions.

    source.lstat("src/app.py")      # Node(kind="file", mode=0o644, size=…, mtime=…) or None
    source.resolve("link/to/x")     # the path with symlinks followed, never leaving the root
    source.listdir("src")           # sorted names
    source.open("src/app.py")       # a binary file object

The context is not unpacked: TarSource indexes the (uncompressed) tar once, by seeking from
header to header, and reads a file's bytes from their offset when a COPY needs them. Unpacking
thousands of small files would cost more than the whole cached build.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ..errdefs import InvalidArgument
from ..runtime.securejoin import resolve_in_scope

FILE, DIR, LINK = "file", "dir", "link"


@dataclass
class Node:
    kind: str           # FILE, DIR or LINK
    mode: int           # permission bits
    size: int = 0
    mtime: float = 0
    link: str = ""      # a symlink's target


class Source(Protocol):
    def lstat(self, rel: str) -> Node | None: ...
    def listdir(self, rel: str) -> list[str]: ...
    def open(self, rel: str) -> BinaryIO: ...


def clean(rel: str) -> str:
    """A relative path without "." and empty parts; ".." stays for resolve to handle."""
    return "/".join(p for p in rel.split("/") if p not in ("", "."))


def resolve(source: Source, rel: str) -> str:
    """Follow symlinks in ``rel`` inside the source, as filepath-securejoin does: an absolute
    target restarts at the root, ".." stops there. The result may not exist."""
    def readlink(candidate: tuple[str, ...]) -> str | None:
        node = source.lstat("/".join(candidate))
        return node.link if node is not None and node.kind == LINK else None

    try:
        return "/".join(resolve_in_scope(rel.split("/"), readlink))
    except OSError:
        raise InvalidArgument(f"too many levels of symbolic links: {rel}") from None


class DirSource:
    """A directory on this host, taken as the root."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, rel: str) -> str:
        rel = clean(rel)
        if any(p == ".." for p in rel.split("/")):
            raise InvalidArgument(f"invalid path {rel!r}")
        return os.path.join(self.root, rel) if rel else self.root

    def lstat(self, rel: str) -> Node | None:
        try:
            st = os.lstat(self._path(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            return Node(LINK, mode, 0, st.st_mtime, os.readlink(self._path(rel)))
        if stat.S_ISDIR(st.st_mode):
            return Node(DIR, mode, 0, st.st_mtime)
        if stat.S_ISREG(st.st_mode):
            return Node(FILE, mode, st.st_size, st.st_mtime)
        return None

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self._path(rel)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def open(self, rel: str) -> BinaryIO:
        fd = os.open(self._path(rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        return os.fdopen(fd, "rb")


class TarSource:
    """An uncompressed tar file, indexed in place. Untrusted: names with ".." or a leading "/"
    and entries under a symlink are refused; later entries replace earlier ones, as unpacking
    would."""

    def __init__(self, fileobj: BinaryIO):
        self.fileobj = fileobj
        self.nodes: dict[str, Node] = {"": Node(DIR, 0o755)}
        self.offsets: dict[str, int] = {}
        self.children: dict[str, set[str]] = {"": set()}
        self._index()

    def _index(self) -> None:
        try:
            tar = tarfile.open(fileobj=self.fileobj, mode="r:")
        except tarfile.TarError as exc:
            raise InvalidArgument(f"failed to read the build context: {exc}") from None
        try:
            for member in tar:
                self._add(member)
        except tarfile.TarError as exc:
            raise InvalidArgument(f"failed to read the build context: {exc}") from None

    def _add(self, member: tarfile.TarInfo) -> None:
        name = member.name
        if name.startswith("/") or any(p == ".." for p in name.split("/")):
            raise InvalidArgument(f"invalid build context: entry {name!r} points outside the context")
        rel = clean(name)
        if not rel:
            return
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            node = self.nodes.get(parent)
            if node is not None and node.kind == LINK:
                raise InvalidArgument(f"invalid build context: entry {name!r} goes through a symbolic link")
            if node is None or node.kind != DIR:
                self._put(parent, Node(DIR, 0o755, 0, member.mtime))
        mode = member.mode & 0o7777
        if member.isdir():
            self._put(rel, Node(DIR, mode, 0, member.mtime))
        elif member.isreg():
            self._put(rel, Node(FILE, mode, member.size, member.mtime))
            self.offsets[rel] = member.offset_data
        elif member.issym():
            self._put(rel, Node(LINK, 0o777, 0, member.mtime, member.linkname))
        elif member.islnk():
            target = member.linkname
            if target.startswith("/") or any(p == ".." for p in target.split("/")):
                raise InvalidArgument(f"invalid build context: hard link {name!r} to {target!r}")
            target = clean(target)
            node = self.nodes.get(target)
            if node is None or node.kind != FILE:
                raise InvalidArgument(f"invalid build context: hard link {name!r} to {target!r}")
            self._put(rel, Node(FILE, node.mode, node.size, node.mtime))
            self.offsets[rel] = self.offsets[target]

    def _put(self, rel: str, node: Node) -> None:
        old = self.nodes.get(rel)
        if old is not None and old.kind == DIR and node.kind != DIR:
            self._drop_under(rel)
        self.nodes[rel] = node
        self.offsets.pop(rel, None)
        parent, _, base = rel.rpartition("/")
        self.children.setdefault(parent, set()).add(base)
        if node.kind == DIR:
            self.children.setdefault(rel, set())

    def _drop_under(self, rel: str) -> None:
        for name in self.children.pop(rel, set()):
            child = f"{rel}/{name}"
            self._drop_under(child)
            self.nodes.pop(child, None)
            self.offsets.pop(child, None)

    def lstat(self, rel: str) -> Node | None:
        return self.nodes.get(clean(rel))

    def listdir(self, rel: str) -> list[str]:
        return sorted(self.children.get(clean(rel), ()))

    def open(self, rel: str) -> BinaryIO:
        rel = clean(rel)
        node = self.nodes.get(rel)
        if node is None or node.kind != FILE:
            raise FileNotFoundError(rel)
        return _Slice(self.fileobj, self.offsets[rel], node.size)


class _Slice(io.RawIOBase):
    """``size`` bytes of a shared file from ``offset``, read with pread (no shared position)."""

    def __init__(self, fileobj: BinaryIO, offset: int, size: int):
        self.fd = fileobj.fileno()
        self.offset, self.end = offset, offset + size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.end - self.offset)
        if n <= 0:
            return 0
        data = os.pread(self.fd, n, self.offset)
        buffer[:len(data)] = data
        self.offset += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        n = self.end - self.offset if size is None or size < 0 else min(size, self.end - self.offset)
        if n <= 0:
            return b""
        data = os.pread(self.fd, n, self.offset)
        self.offset += len(data)
        return data
