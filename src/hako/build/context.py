"""The build context: an untrusted tar (maybe compressed) unpacked into a private directory.

    with BuildContext.extract(stream, tmp_dir) as ctx:     # refuses `..`, absolute names, links out
        ctx.dockerfile("Dockerfile")                       # its text
        ctx.resolve("src/app.py")                          # a path inside ctx.root, links resolved in it

The directory lives under the daemon's data root (its tmp/, swept at start) and is removed when
the build ends. Entries whose parent is a symlink are refused too, so nothing can be written
through a link to somewhere outside. Ownership is not kept (COPY gives files to root unless
--chown says otherwise); modes, mtimes and symlinks are.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile

from ..errdefs import InvalidArgument, NotFound
from ..runtime.securejoin import secure_join
from . import dockerignore


class BuildContext:
    def __init__(self, root: str):
        self.root = root
        self.ignore = dockerignore.Rules([])
        path = os.path.join(root, ".dockerignore")
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                self.ignore = dockerignore.parse(f.read())

    @classmethod
    def extract(cls, stream, tmp_dir: str) -> "BuildContext":
        root = tempfile.mkdtemp(prefix="build-", dir=tmp_dir)
        try:
            _extract(stream, root)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(root)

    @classmethod
    def from_dockerfile(cls, text: bytes, tmp_dir: str) -> "BuildContext":
        """A context that is only a Dockerfile (`docker build - < Dockerfile`)."""
        root = tempfile.mkdtemp(prefix="build-", dir=tmp_dir)
        with open(os.path.join(root, "Dockerfile"), "wb") as f:
            f.write(text)
        return cls(root)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "BuildContext":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def dockerfile(self, name: str) -> str:
        name = name or "Dockerfile"
        path = self.resolve(name)
        if not os.path.isfile(path) and name == "Dockerfile":
            lower = self.resolve("dockerfile")     # as Docker: the lower-case name is accepted too
            path = lower if os.path.isfile(lower) else path
        if not os.path.isfile(path):
            raise NotFound(f"Cannot locate specified Dockerfile: {name}")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def resolve(self, rel: str) -> str:
        """The context path ``rel`` as a host path under root, symlinks resolved inside root."""
        return secure_join(self.root, rel)

    def excluded(self, rel: str) -> bool:
        return bool(self.ignore) and self.ignore.excluded(rel)


def _extract(stream, root: str) -> None:
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")
    except tarfile.TarError as exc:
        raise InvalidArgument(f"failed to read the build context: {exc}") from None
    links: set[str] = set()
    with tar:
        try:
            for member in tar:
                _extract_member(tar, member, root, links)
        except tarfile.TarError as exc:
            raise InvalidArgument(f"failed to read the build context: {exc}") from None


def _clean(name: str, what: str = "entry") -> str:
    if name.startswith("/") or any(part == ".." for part in name.split("/")):
        raise InvalidArgument(f"invalid build context: {what} {name!r} points outside the context")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root: str, links: set[str]) -> None:
    rel = _clean(member.name)
    if not rel:
        return
    parts = rel.split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            raise InvalidArgument(f"invalid build context: entry {member.name!r} goes through a symbolic link")
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path) and not (member.isdir() and os.path.isdir(path) and not os.path.islink(path)):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    mode = member.mode & 0o7777
    if member.isdir():
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode | 0o700)
    elif member.isreg():
        source = tar.extractfile(member)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        os.chmod(path, mode)
    elif member.issym():
        os.symlink(member.linkname, path)
        links.add(rel)
        return
    elif member.islnk():
        target = _clean(member.linkname, "link target")
        if target in links or not os.path.isfile(os.path.join(root, target)):
            raise InvalidArgument(f"invalid build context: hard link {member.name!r} to {member.linkname!r}")
        os.link(os.path.join(root, target), path)
        return
    else:
        return      # devices, fifos: not build input
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
