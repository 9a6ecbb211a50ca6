"""The build context: an untrusted tar (maybe compressed), or a bare Dockerfile, that a build
reads its Dockerfile and COPY sources from.

    with BuildContext.open(spool, tmp_dir) as ctx:    # takes the spooled request body
        ctx.dockerfile("Dockerfile")                  # its text
        ctx.source.lstat("src/app.py")                # see sources.py
        ctx.excluded("src/secret")                    # .dockerignore says so

A compressed body is decompressed once into a file under the daemon's tmp/ (swept at start);
the tar is then indexed in place, never unpacked (sources.TarSource refuses `..`, absolute names
and entries under symlinks). Everything is removed when the build ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ..errdefs import InvalidArgument, NotFound
from . import dockerignore
from .sources import DirSource, FILE, Source, TarSource, resolve

_GZIP, _BZIP2, _XZ, _ZSTD = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"


def is_archive(head: bytes) -> bool:
    """Whether a request body is a (maybe compressed) tar rather than a bare Dockerfile."""
    if head.startswith((_GZIP, _BZIP2, _XZ, _ZSTD)):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


class BuildContext:
    def __init__(self, source: Source, cleanup):
        self.source = source
        self._cleanup = cleanup
        self.ignore = dockerignore.Rules([])
        node = source.lstat(".dockerignore")
        if node is not None and node.kind == FILE:
            with source.open(".dockerignore") as f:
                self.ignore = dockerignore.parse(f.read().decode("utf-8", "replace"))

    @classmethod
    def open(cls, spool, tmp_dir: str) -> "BuildContext":
        """From the spooled request body (a file object this context now owns)."""
        try:
            spool.seek(0)
            head = spool.read(512)
            spool.seek(0)
            if not is_archive(head):
                return cls.from_dockerfile(spool.read(), tmp_dir, also_close=spool)
            tar = spool
            if head.startswith((_GZIP, _BZIP2, _XZ, _ZSTD)):
                tar = tempfile.NamedTemporaryFile(dir=tmp_dir, prefix="build-context-")
                try:
                    _decompress(head, spool, tar)
                finally:
                    spool.close()
                tar.seek(0)
            source = TarSource(tar)
        except BaseException:
            spool.close()
            raise
        return cls(source, tar.close)

    @classmethod
    def from_dockerfile(cls, text: bytes, tmp_dir: str, also_close=None) -> "BuildContext":
        """A context that is only a Dockerfile (`docker build - < Dockerfile`)."""
        root = tempfile.mkdtemp(prefix="build-", dir=tmp_dir)
        with open(os.path.join(root, "Dockerfile"), "wb") as f:
            f.write(text)
        if also_close is not None:
            also_close.close()
        return cls(DirSource(root), lambda: shutil.rmtree(root, ignore_errors=True))

    def close(self) -> None:
        self._cleanup()

    def __enter__(self) -> "BuildContext":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def dockerfile(self, name: str) -> str:
        name = name or "Dockerfile"
        rel = resolve(self.source, name)
        node = self.source.lstat(rel)
        if (node is None or node.kind != FILE) and name == "Dockerfile":
            rel = resolve(self.source, "dockerfile")     # as Docker: the lower-case name works too
            node = self.source.lstat(rel)
        if node is None or node.kind != FILE:
            raise NotFound(f"Cannot locate specified Dockerfile: {name}")
        with self.source.open(rel) as f:
            return f.read().decode("utf-8", "replace")

    def excluded(self, rel: str) -> bool:
        return bool(self.ignore) and self.ignore.excluded(rel)


def _decompress(head: bytes, src, dst) -> None:
    if head.startswith(_GZIP):
        import gzip

        reader = gzip.GzipFile(fileobj=src, mode="rb")
    elif head.startswith(_BZIP2):
        import bz2

        reader = bz2.BZ2File(src, mode="rb")
    elif head.startswith(_XZ):
        import lzma

        reader = lzma.LZMAFile(src, mode="rb")
    else:
        try:
            import zstandard
        except ImportError:
            raise InvalidArgument("failed to read the build context: zstd compression is not supported") from None
        reader = zstandard.ZstdDecompressor().stream_reader(src)
    try:
        shutil.copyfileobj(reader, dst, 1 << 20)
    except (OSError, EOFError, ValueError) as exc:
        raise InvalidArgument(f"failed to read the build context: {exc}") from None
    dst.flush()
