"""Layer compression: detection by magic, streaming decompression, parallel gzip that any gunzip
reads, and the media types hako pulls or refuses."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import zlib

import pytest
import zstandard

from hako.errdefs import InvalidArgument, Unsupported
from hako.images import compression


def sample(size: int = 3_000_000) -> bytes:
    # Half compressible text, half noise: both paths of deflate run.
    text = b"".join(b"line %d of a layer that compresses\n" % i for i in range(size // 70))
    return text + os.urandom(size - len(text))


def read_all(stream) -> bytes:
    out = bytearray()
    while chunk := stream.read(65536):
        out += chunk
    return bytes(out)


def test_detect_by_magic():
    assert compression.detect(gzip.compress(b"x")[:6]) == "gzip"
    assert compression.detect(zstandard.ZstdCompressor().compress(b"x")[:6]) == "zstd"
    assert compression.detect(b"BZh91AY") == "bzip2"
    assert compression.detect(b"\xfd7zXZ\x00") == "xz"
    assert compression.detect(b"ustar\x00") == "none"
    assert compression.detect(b"") == "none"


@pytest.mark.parametrize("kind", ["gzip", "zstd", "none", "bzip2", "xz"])
def test_open_decompressed_follows_the_bytes_whatever_the_media_type(kind):
    data = sample()
    packed = {"gzip": gzip.compress, "zstd": zstandard.ZstdCompressor().compress, "none": bytes,
              "bzip2": __import__("bz2").compress, "xz": __import__("lzma").compress}[kind](data)
    # The media type says gzip; registries are known to lie, the magic decides.
    stream = compression.open_decompressed(io.BytesIO(packed), compression.OCI_LAYER_GZIP)
    assert read_all(stream) == data


def test_concatenated_gzip_members_and_zero_padding_are_read():
    packed = gzip.compress(b"first ") + gzip.compress(b"second") + b"\0" * 100
    assert read_all(compression.open_decompressed(io.BytesIO(packed))) == b"first second"


def test_multi_frame_zstd_is_read():
    cctx = zstandard.ZstdCompressor()
    packed = cctx.compress(b"one ") + cctx.compress(b"two")
    assert read_all(compression.open_decompressed(io.BytesIO(packed))) == b"one two"


def test_truncated_or_corrupt_gzip_is_an_error_not_a_short_read():
    packed = gzip.compress(sample(500_000))
    with pytest.raises(InvalidArgument, match="unexpected end"):
        read_all(compression.open_decompressed(io.BytesIO(packed[:-100])))
    corrupt = bytearray(packed)
    corrupt[-6] ^= 0xFF          # the CRC
    with pytest.raises(InvalidArgument, match="invalid gzip data"):
        read_all(compression.open_decompressed(io.BytesIO(bytes(corrupt))))
    with pytest.raises(InvalidArgument, match="trailing garbage"):
        read_all(compression.open_decompressed(io.BytesIO(gzip.compress(b"x") + b"junk")))


@pytest.mark.parametrize("cut", [4, 5, 9, 200, -5, -1])
def test_truncated_zstd_is_an_error_not_a_short_read(cut):
    cctx = zstandard.ZstdCompressor(write_checksum=True, write_content_size=True)
    packed = cctx.compress(sample(600_000)) + cctx.compress(b"second frame")
    with pytest.raises(InvalidArgument, match="invalid zstd data"):
        read_all(compression.open_decompressed(io.BytesIO(packed[:cut])))


def test_zstd_streams_of_every_shape_are_followed_to_their_end():
    data = sample(1_000_000)
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    for cctx in (zstandard.ZstdCompressor(), zstandard.ZstdCompressor(level=19, write_checksum=True),
                 zstandard.ZstdCompressor(write_content_size=False)):
        packed = skippable + cctx.compress(data) + cctx.compress(b"") + skippable
        assert read_all(compression.open_decompressed(io.BytesIO(packed))) == data
        chunked = io.BytesIO()
        with cctx.stream_writer(chunked, closefd=False) as writer:       # no content size, many blocks
            for i in range(0, len(data), 100_000):
                writer.write(data[i:i + 100_000])
        assert read_all(compression.open_decompressed(io.BytesIO(chunked.getvalue()))) == data
    corrupt = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(data))
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises(InvalidArgument, match="invalid zstd data"):
        read_all(compression.open_decompressed(io.BytesIO(bytes(corrupt))))


def test_decompressed_output_is_bounded_by_the_read_size():
    bomb = gzip.compress(b"\0" * 50_000_000)
    stream = compression.open_decompressed(io.BytesIO(bomb))
    assert len(stream.read(10)) == 10      # no 50 MB buffer behind a 10-byte read
    assert len(stream.raw.read(4096)) <= 4096


def test_closing_the_decompressed_stream_closes_the_source():
    source = io.BytesIO(gzip.compress(b"data"))
    compression.open_decompressed(source).close()
    assert source.closed


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_compress_gzip_is_one_standard_gzip_member(threads):
    data = sample(5_300_000)             # several blocks, the last one partial
    out = io.BytesIO()
    assert compression.compress_gzip(io.BytesIO(data), out, threads=threads) == len(data)
    packed = out.getvalue()
    assert gzip.decompress(packed) == data
    assert len(packed) < len(data)
    assert zlib.decompressobj(31).decompress(packed) == data   # one member, zlib checks CRC and size
    if shutil.which("gzip"):
        assert subprocess.run(["gzip", "-t"], input=packed).returncode == 0


def test_compress_gzip_of_nothing_and_determinism():
    out = io.BytesIO()
    compression.compress_gzip(io.BytesIO(b""), out)
    assert gzip.decompress(out.getvalue()) == b""
    a, b = io.BytesIO(), io.BytesIO()
    data = sample(2_500_000)
    compression.compress_gzip(io.BytesIO(data), a, threads=1)
    compression.compress_gzip(io.BytesIO(data), b, threads=3)
    assert a.getvalue() == b.getvalue()   # same bytes, same digest, however many threads


def test_layer_media_types():
    assert compression.layer_compression(compression.DOCKER_LAYER_GZIP) == "gzip"
    assert compression.layer_compression(compression.OCI_LAYER_ZSTD) == "zstd"
    assert compression.layer_compression(compression.OCI_LAYER) == "none"
    assert compression.layer_media_type("gzip") == compression.DOCKER_LAYER_GZIP
    assert compression.layer_media_type("zstd", oci=True) == compression.OCI_LAYER_ZSTD
    with pytest.raises(Unsupported, match="foreign"):
        compression.layer_compression(compression.DOCKER_LAYER_FOREIGN_GZIP)
    with pytest.raises(Unsupported, match="non-distributable"):
        compression.layer_compression(compression.OCI_LAYER_NONDISTRIBUTABLE_GZIP)
    with pytest.raises(Unsupported, match="encrypted"):
        compression.layer_compression("application/vnd.oci.image.layer.v1.tar+gzip+encrypted")
    with pytest.raises(Unsupported, match="application/x-thing"):
        compression.layer_compression("application/x-thing")
    with pytest.raises(Unsupported):
        compression.open_decompressed(io.BytesIO(b"x"), compression.DOCKER_LAYER_FOREIGN_GZIP)
