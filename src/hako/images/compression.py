"""Layer compression: recognising it, undoing it as a stream, and gzip for the layers we push.

    compression.detect(head)                          # "gzip", "zstd", "bzip2", "xz" or "none"
    tar = compression.open_decompressed(blob, media_type)   # a stream of the uncompressed tar
    compression.compress_gzip(tar_file, writer)       # for a push of a layer made here

The bytes decide, not the media type, as containerd's DecompressStream does: registries are known to
serve uncompressed layers under a gzip media type. The media type only rejects what hako cannot pull
at all (foreign and non-distributable layers, encrypted ones) with a clear Unsupported error.

gzip output is made in parallel, pigz-style: the input is cut into blocks, each block is deflated in
a thread (zlib drops the GIL) primed with the 32 KiB before it, and the blocks are joined into one
ordinary gzip member, so any gunzip reads it. Level 1: deflate's cost dominates a push of a layer
made here and the higher levels buy little on the data layers hold (see the report figures).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from ..errdefs import InvalidArgument, Unsupported

# Layer media types, Docker's and OCI's.
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"            # seldom seen, but pushed by some tools
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

_LAYER_COMPRESSION = {
    DOCKER_LAYER: "none", DOCKER_LAYER_GZIP: "gzip", DOCKER_LAYER_ZSTD: "zstd",
    OCI_LAYER: "none", OCI_LAYER_GZIP: "gzip", OCI_LAYER_ZSTD: "zstd",
}
_FOREIGN = {DOCKER_LAYER_FOREIGN_GZIP, OCI_LAYER_NONDISTRIBUTABLE, OCI_LAYER_NONDISTRIBUTABLE_GZIP,
            OCI_LAYER_NONDISTRIBUTABLE_ZSTD}

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"

CHUNK = 1 << 20
GZIP_LEVEL = 1
_GZIP_BLOCK = 1 << 20          # per thread; the 32 KiB dictionary costs ~1% of ratio at this size
_WINDOW = 32 * 1024


# ---- media types -------------------------------------------------------------------------------

def is_layer_media_type(media_type: str) -> bool:
    return media_type in _LAYER_COMPRESSION or media_type in _FOREIGN or _is_encrypted(media_type)


def layer_compression(media_type: str) -> str:
    """"gzip", "zstd" or "none" for a layer media type hako can unpack; Unsupported otherwise."""
    media_type = (media_type or "").split(";", 1)[0].strip()
    if media_type in _LAYER_COMPRESSION:
        return _LAYER_COMPRESSION[media_type]
    if media_type in _FOREIGN:
        raise Unsupported(f"foreign (non-distributable) layers are not supported: {media_type}")
    if _is_encrypted(media_type):
        raise Unsupported(f"encrypted layers are not supported: {media_type}")
    raise Unsupported(f"unsupported layer media type: {media_type or '(none)'}")


def layer_media_type(compression: str, oci: bool = False) -> str:
    """The media type of a layer with this compression, in Docker's or OCI's vocabulary."""
    table = ({"none": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD} if oci else
             {"none": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD})
    try:
        return table[compression]
    except KeyError:
        raise InvalidArgument(f"unknown layer compression {compression!r}") from None


def _is_encrypted(media_type: str) -> bool:
    return media_type.endswith("+encrypted")


# ---- detection and decompression ---------------------------------------------------------------

def detect(head: bytes) -> str:
    """What compresses a stream that starts with ``head`` (6 bytes are enough)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC) or (len(head) >= 4 and int.from_bytes(head[:4], "little") & ~0xF == 0x184D2A50):
        return "zstd"            # a frame, or a skippable frame (containerd detects both)
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    return "none"


def open_decompressed(fileobj: BinaryIO, media_type: str | None = None) -> BinaryIO:
    """A stream of ``fileobj``'s bytes, decompressed by what its first bytes say it is.

    ``media_type``, when given, must be a layer type hako supports (else Unsupported). Closing the
    result closes ``fileobj``.
    """
    if media_type is not None and is_layer_media_type(media_type.split(";", 1)[0].strip()):
        layer_compression(media_type)
    head = _read_exactly(fileobj, 6)
    source = _Prefixed(head, fileobj)
    kind = detect(head)
    if kind == "gzip":
        return io.BufferedReader(_GzipReader(source), CHUNK)
    if kind == "zstd":
        import zstandard    # lazily: most pulls never need it
        reader = zstandard.ZstdDecompressor().stream_reader(_ZstdFrames(source), read_size=CHUNK,
                                                           read_across_frames=True, closefd=True)
        return io.BufferedReader(_ZstdErrors(reader), CHUNK)
    if kind == "bzip2":
        import bz2
        return bz2.BZ2File(source)
    if kind == "xz":
        import lzma
        return lzma.LZMAFile(source)
    return source


def _read_exactly(fileobj: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = fileobj.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


class _Prefixed(io.RawIOBase):
    """``head`` (already read from ``raw``) followed by the rest of ``raw``."""

    def __init__(self, head: bytes, raw: BinaryIO):
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._raw.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _GzipReader(io.RawIOBase):
    """gunzip as a stream: several members one after another (pigz, concatenated files), zero
    padding after the last one; a stream that ends inside a member is an error, not a short read.
    zlib checks each member's CRC and length."""

    def __init__(self, source: BinaryIO):
        self._source = source
        self._decoder = zlib.decompressobj(31)
        self._pending = b""        # input read but not yet given to the decoder
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = len(buffer)
        while not self._done and want:
            if self._decoder.eof:
                self._next_member()
                continue
            data = self._decoder.unconsumed_tail or self._pending or self._source.read(CHUNK)
            self._pending = b""
            if not data:
                raise InvalidArgument("invalid gzip data: unexpected end of stream")
            try:
                out = self._decoder.decompress(data, want)
            except zlib.error as exc:
                raise InvalidArgument(f"invalid gzip data: {exc}") from exc
            if out:
                buffer[:len(out)] = out
                return len(out)
        return 0

    def _next_member(self) -> None:
        rest = self._decoder.unused_data
        while True:
            rest = rest.lstrip(b"\x00")
            if rest:
                break
            rest = self._source.read(CHUNK)
            if not rest:
                self._done = True
                return
        if not rest.startswith(GZIP_MAGIC[:len(rest)]):
            raise InvalidArgument("invalid gzip data: trailing garbage after the compressed stream")
        self._decoder = zlib.decompressobj(31)
        self._pending = rest

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


class _ZstdFrames(io.RawIOBase):
    """Passes a zstd stream through, following its frame and block headers, so that a stream
    ending inside a frame is an error: zstandard's stream reader takes it for a short stream.
    Costs a few Python operations per block (up to 128 KiB), not per byte."""

    _SKIPPABLE = range(0x184D2A50, 0x184D2A60)

    def __init__(self, source: BinaryIO):
        self._source = source
        self._header = b""         # header bytes gathered so far
        self._want = 4             # header bytes needed to take the next step
        self._step = self._on_magic
        self._skip = 0             # payload bytes to pass over
        self._checksum = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if not data:
            if self._skip or self._header or self._step != self._on_magic:
                raise InvalidArgument("invalid zstd data: unexpected end of stream")
            return data
        view, position = memoryview(data), 0
        while position < len(data):
            if self._skip:
                taken = min(self._skip, len(data) - position)
                self._skip -= taken
                position += taken
                continue
            taken = min(self._want - len(self._header), len(data) - position)
            self._header += bytes(view[position:position + taken])
            position += taken
            if len(self._header) == self._want:
                header, self._header = self._header, b""
                self._step(header)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _on_magic(self, header: bytes) -> None:
        magic = int.from_bytes(header, "little")
        if header == ZSTD_MAGIC:
            self._want, self._step = 1, self._on_descriptor
        elif magic in self._SKIPPABLE:
            self._want, self._step = 4, self._on_skippable_size
        else:
            raise InvalidArgument("invalid zstd data: not a zstd frame")

    def _on_skippable_size(self, header: bytes) -> None:
        self._skip = int.from_bytes(header, "little")
        self._want, self._step = 4, self._on_magic

    def _on_descriptor(self, header: bytes) -> None:
        descriptor = header[0]
        single_segment = descriptor >> 5 & 1
        self._checksum = bool(descriptor >> 2 & 1)
        content_size = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
        rest = (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3] + content_size
        self._skip, self._want, self._step = rest, 3, self._on_block

    def _on_block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, value >> 1 & 3, value >> 3
        if kind == 3:
            raise InvalidArgument("invalid zstd data: reserved block type")
        self._skip = 1 if kind == 1 else size
        if last:
            self._skip += 4 if self._checksum else 0
            self._want, self._step = 4, self._on_magic

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


class _ZstdErrors(io.RawIOBase):
    """zstandard's errors as InvalidArgument, like gzip's."""

    def __init__(self, reader):
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        import zstandard
        try:
            return self._reader.readinto(buffer)
        except zstandard.ZstdError as exc:
            raise InvalidArgument(f"invalid zstd data: {exc}") from exc

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


# ---- compression ---------------------------------------------------------------------------------

def compress_gzip(src: BinaryIO, dst, level: int = GZIP_LEVEL, threads: int | None = None) -> int:
    """gzip ``src`` into ``dst`` (anything with ``write``); the number of bytes read.

    Blocking; blocks of the input are deflated on ``threads`` threads (default: one per CPU).
    """
    threads = threads or os.cpu_count() or 1
    dst.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")   # no name, no mtime: reproducible
    crc = 0
    total = 0
    previous = b""
    in_flight = []
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gzip") as pool:
        block = _read_exactly(src, _GZIP_BLOCK)
        while True:
            following = _read_exactly(src, _GZIP_BLOCK) if block else b""
            last = not following
            crc = zlib.crc32(block, crc)
            total += len(block)
            in_flight.append(pool.submit(_deflate_block, block, previous[-_WINDOW:], level, last))
            while len(in_flight) > threads * 2 or (last and in_flight):
                dst.write(in_flight.pop(0).result())
            if last:
                break
            previous, block = block, following
    dst.write(struct.pack("<II", crc, total & 0xFFFFFFFF))
    return total


def _deflate_block(block: bytes, dictionary: bytes, level: int, last: bool) -> bytes:
    if dictionary:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=dictionary)
    else:
        deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    # A sync flush ends a block on a byte boundary without the final-block bit, so the next
    # block's deflate stream can simply follow it.
    return deflater.compress(block) + deflater.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
